"""Tests for ch11lib.data.tasks: the embedded task data (provenance, splits, balance) and the hub adapters."""

from __future__ import annotations

import random

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from ch11lib import resources
from ch11lib.data import tasks
from ch11lib.data.tasks import adapt_multinli, adapt_sst2, balance, substitute


@pytest.fixture(scope="module")
def supersense() -> DatasetDict:
    return resources.load_dataset("supersense")


@pytest.fixture(scope="module")
def nli() -> DatasetDict:
    return resources.load_dataset("nli")


# ---------------------------------------------------------------- substitution rules (no WordNet)


def test_substitute_replaces_one_whole_word_and_fixes_the_article() -> None:
    assert substitute("the dog barked all night", "dog", "puppy") == "the puppy barked all night"
    assert (
        substitute("he needs a car to work", "car", "automobile")
        == "he needs an automobile to work"
    )
    assert substitute("An owl sat there", "owl", "bird") == "A bird sat there"
    assert substitute("the doghouse and the dog", "dog", "cat") == "the doghouse and the cat"


@pytest.mark.parametrize(
    "sentence",
    [
        "the dog did not bark",  # negation reverses hypernym entailment
        "no dog barked",
        "every dog barks",  # universal quantifier just before the word
        "the hot-dog stand",  # part of a hyphenated compound
        "the cat sat",  # word absent
        "the Dog barked",  # case-sensitive: a capitalised word may be a name
    ],
)
def test_substitute_refuses_unsafe_contexts(sentence: str) -> None:
    assert substitute(sentence, "dog", "animal") is None


def test_substitute_allows_distant_universal_and_checks_types() -> None:
    assert substitute("the dog barked all night", "dog", "animal") == "the animal barked all night"
    with pytest.raises(TypeError):
        substitute("a dog", "dog", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        substitute("a dog", "", "cat")


def test_balance_keeps_equal_label_counts_deterministically() -> None:
    rows = [{"id": f"r{i}", "label": label} for i, label in enumerate("aaaaabbbc" * 3)]
    kept = balance(rows)
    assert sorted(row["label"] for row in kept) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    assert balance(shuffled) == kept


# ---------------------------------------------------------------- embedded data sets


def _ids(dataset: DatasetDict, split: str) -> set[str]:
    return set(dataset[split]["id"])


def test_supersense_schema_splits_and_balance(supersense: DatasetDict) -> None:
    assert list(supersense) == ["train", "validation", "test"]
    names = supersense["train"].features["label"].names
    assert len(names) == 25 and "noun.Tops" not in names and "noun.animal" in names
    assert supersense["train"].column_names == ["id", "text", "label"]
    for a, b in [("train", "validation"), ("train", "test"), ("validation", "test")]:
        assert not _ids(supersense, a) & _ids(supersense, b)
        assert not set(supersense[a]["text"]) & set(supersense[b]["text"])
    counts = [supersense["test"]["label"].count(i) for i in range(len(names))]
    assert min(counts) >= 5 and max(counts) <= 3 * sorted(counts)[len(counts) // 2]
    assert resources.load_dataset("supersense")["test"]["id"] == supersense["test"]["id"]


def test_nli_schema_splits_and_balance(nli: DatasetDict) -> None:
    assert nli["train"].features["label"].names == ["entailment", "neutral", "contradiction"]
    assert nli["train"].column_names == ["id", "premise", "hypothesis", "label", "relation"]
    for split in nli:
        labels = nli[split]["label"]
        assert labels.count(0) == labels.count(1) == labels.count(2) > 50
        for row in nli[split].select(range(0, len(nli[split]), 97)):
            assert row["premise"] != row["hypothesis"]
    premises = {split: set(nli[split]["premise"]) for split in nli}
    assert not premises["train"] & premises["test"]
    assert not premises["train"] & premises["validation"]
    relation_label = {
        (rel, lab) for rel, lab in zip(nli["train"]["relation"], nli["train"]["label"], strict=True)
    }
    assert relation_label == {("hypernym", 0), ("hyponym", 1), ("cohyponym", 2), ("antonym", 2)}


def test_embedded_rows_come_from_wordnet(supersense: DatasetDict, nli: DatasetDict) -> None:
    from ch11lib.data.wordnet import load_wordnet

    wordnet = load_wordnet()
    names = supersense["test"].features["label"].names
    for row in supersense["test"].shuffle(seed=0).select(range(25)):
        synset = wordnet.synset(row["id"])
        assert synset.definition().strip() == row["text"]
        assert synset.lexname() == names[row["label"]]
    for row in nli["test"].shuffle(seed=0).select(range(25)):
        synset = wordnet.synset(row["id"].split(":")[0])
        rebuilt = {
            (p["premise"], p["hypothesis"], p["relation"]) for p in tasks.pairs_for_synset(synset)
        }
        assert (row["premise"], row["hypothesis"], row["relation"]) in rebuilt


# ---------------------------------------------------------------- hub adapters, on records shaped like the hub's


def test_adapt_sst2_on_hub_shaped_records(supersense: DatasetDict) -> None:
    glue_features = Features(
        {
            "sentence": Value("string"),
            "label": ClassLabel(names=["negative", "positive"]),
            "idx": Value("int32"),
        }
    )
    sentences = [f"a {'fine' if i % 2 else 'dull'} film number {i} " for i in range(10)]
    raw = DatasetDict(
        {
            "train": Dataset.from_dict(
                {
                    "sentence": sentences,
                    "label": [i % 2 for i in range(10)],
                    "idx": list(range(10)),
                },
                features=glue_features,
            ),
            "validation": Dataset.from_dict(
                {"sentence": ["it 's great", "boring"], "label": [1, 0], "idx": [0, 1]},
                features=glue_features,
            ),
            "test": Dataset.from_dict(
                {"sentence": ["unknown"], "label": [-1], "idx": [0]}, features=glue_features
            ),
        }
    )
    adapted = adapt_sst2(raw, validation_size=3)
    assert {split: len(adapted[split]) for split in adapted} == {
        "train": 7,
        "validation": 3,
        "test": 2,
    }
    assert adapted["test"][0] == {"id": "sst2-0", "text": "it 's great", "label": 1}
    assert adapted["train"].column_names == supersense["train"].column_names
    assert adapted["train"].features["label"].names == ["negative", "positive"]
    assert not _ids(adapted, "train") & _ids(adapted, "validation")
    with pytest.raises(ValueError, match="validation"):
        adapt_sst2(DatasetDict({"train": raw["train"]}))


def test_adapt_multinli_on_hub_shaped_records(nli: DatasetDict) -> None:
    hub_features = Features(
        {
            "promptID": Value("int32"),
            "pairID": Value("string"),
            "premise": Value("string"),
            "premise_binary_parse": Value("string"),
            "premise_parse": Value("string"),
            "hypothesis": Value("string"),
            "hypothesis_binary_parse": Value("string"),
            "hypothesis_parse": Value("string"),
            "genre": Value("string"),
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
        }
    )

    def split(labels: list[int], genre: str) -> Dataset:
        n = len(labels)
        return Dataset.from_dict(
            {
                "promptID": list(range(n)),
                "pairID": [f"{i}e" for i in range(n)],
                "premise": [f"premise {i}" for i in range(n)],
                "premise_binary_parse": [""] * n,
                "premise_parse": [""] * n,
                "hypothesis": [f"hypothesis {i}" for i in range(n)],
                "hypothesis_binary_parse": [""] * n,
                "hypothesis_parse": [""] * n,
                "genre": [genre] * n,
                "label": labels,
            },
            features=hub_features,
        )

    raw = DatasetDict(
        {
            "train": split([0, 1, 2, 2], "fiction"),
            "validation_matched": split([1, -1, 0], "government"),
            "validation_mismatched": split([2], "letters"),
        }
    )
    adapted = adapt_multinli(raw)
    assert {name: len(adapted[name]) for name in adapted} == {
        "train": 4,
        "validation": 2,
        "test": 1,
    }
    assert adapted["train"].features == nli["train"].features
    assert adapted["test"][0] == {
        "id": "mnli-0e",
        "premise": "premise 0",
        "hypothesis": "hypothesis 0",
        "label": 2,
        "relation": "mnli:letters",
    }
    with pytest.raises(ValueError, match="splits"):
        adapt_multinli(DatasetDict({"train": raw["train"]}))


def test_every_label_either_source_gives_has_a_zero_shot_description(
    supersense: DatasetDict,
) -> None:
    # chapter 09's zero-shot classifier describes each label; hub mode's labels are SST-2's
    for name in [*supersense["train"].features["label"].names, *tasks.SST2_LABELS]:
        assert tasks.LABEL_DESCRIPTIONS[name].strip(), name


def test_relations_of_lists_the_offline_relations_in_order_then_other_kinds(
    nli: DatasetDict,
) -> None:
    assert tasks.relations_of(nli["test"]) == list(tasks.NLI_RELATION_LABEL)
    genres = Dataset.from_dict({"relation": ["mnli:travel", "mnli:fiction", "mnli:travel"]})
    assert tasks.relations_of(genres) == ["mnli:fiction", "mnli:travel"]
    mixed = Dataset.from_dict({"relation": ["other", "antonym", "hypernym"]})
    assert tasks.relations_of(mixed) == ["hypernym", "antonym", "other"]
