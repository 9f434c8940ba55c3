"""CH11_SOURCE=hub: a user's own offline switches are kept, and models download from a (local) hub.

The hub is :mod:`localhub`, on 127.0.0.1: ``HF_ENDPOINT`` points at it, so the real download code of
``huggingface_hub`` and ``transformers`` runs (HEAD/GET of ``resolve`` URLs, the cache layout), in a
fresh interpreter whose every connection beyond the loopback is blocked and logged (``netblock``).
It serves a tiny BERT under the ids ``ch11lib.resources`` names for the hub.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import netblock
import pytest
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
        assert f'``"{name}"``' in doc and f"``{spec.hub_id}``" in doc, name
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
