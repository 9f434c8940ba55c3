"""Tests for ch11lib.data.ner: gazetteer tagging, the shipped silver data, the CoNLL-2003 adapter."""

from __future__ import annotations

from collections import Counter

import datasets
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

from ch11lib import resources
from ch11lib.data import ner as ner_data
from ch11lib.tagging import get_entities

GAZETTEER = {
    ("Paris",): "LOC",
    ("United", "Airlines"): "ORG",
    ("United", "Airlines", "Holding"): "ORG",
    ("Abraham", "Lincoln"): "PER",
    ("Fall",): "MISC",
}


def test_gazetteer_tagging_is_longest_first_and_case_sensitive():
    words = "Abraham Lincoln flew United Airlines Holding to Paris , not paris".split()
    tags = ner_data.tag_with_gazetteer(words, GAZETTEER, frozenset({"fall"}))
    assert tags == [
        "B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "O", "O", "O",
    ]  # fmt: skip
    # a capitalised ordinary word at the start of a sentence is not a name, elsewhere it is
    assert ner_data.tag_with_gazetteer(["Fall", "came"], GAZETTEER, frozenset({"fall"}))[0] == "O"
    assert ner_data.tag_with_gazetteer(["after", "Fall"], GAZETTEER, frozenset({"fall"})) == [
        "O",
        "B-MISC",
    ]
    assert ner_data.tag_with_gazetteer(["Paris"], {}) == ["O"]


def test_tokenize_and_types():
    assert ner_data.tokenize("He left St. Louis (Missouri).") == [
        "He", "left", "St.", "Louis", "(", "Missouri", ")", ".",
    ]  # fmt: skip
    assert ner_data.lemma_to_words("New_York_Stock_Exchange") == (
        "New",
        "York",
        "Stock",
        "Exchange",
    )
    votes = {("Washington",): Counter({"LOC": 2, "PER": 2}), ("Nile",): Counter({"LOC": 1})}
    assert ner_data.resolve_types(votes) == {("Washington",): "PER", ("Nile",): "LOC"}
    # a tie goes to the type of the first (most common) WordNet sense: France the country
    france = {("France",): Counter({"PER": 1, "LOC": 1})}
    assert ner_data.resolve_types(france, {("France",): "LOC"}) == {("France",): "LOC"}
    assert ner_data.resolve_types(france, {("France",): "MISC"}) == {("France",): "PER"}
    more_votes = {("France",): Counter({"PER": 2, "LOC": 1})}
    assert ner_data.resolve_types(more_votes, {("France",): "LOC"}) == {("France",): "PER"}
    assert ner_data.split_of("paris.n.01") == ner_data.split_of("paris.n.01")
    shares = Counter(ner_data.split_of(f"s{i}") for i in range(2000))
    assert 150 < shares["test"] < 250 and 150 < shares["validation"] < 250
    with pytest.raises(TypeError):
        ner_data.tokenize(3)


@pytest.fixture(scope="module")
def silver():
    return resources.load_dataset("ner")


def test_silver_data_schema_sizes_and_well_formed_tags(silver):
    assert set(silver) == {"train", "validation", "test"}
    assert len(silver["train"]) >= 5000 and len(silver["test"]) >= 500
    names = silver["train"].features["ner_tags"].feature.names
    assert names == list(ner_data.NER_LABELS)
    for split in silver.values():
        for row in split.select(range(300)):
            assert len(row["tokens"]) == len(row["ner_tags"]) > 0
            tags = [names[t] for t in row["ner_tags"]]
            for previous, tag in zip(["O", *tags], tags, strict=False):
                if tag.startswith("I-"):
                    assert previous[2:] == tag[2:], tags  # gazetteer output is always valid BIO
    types = Counter(
        t for row in silver["train"] for *_, t in get_entities([names[i] for i in row["ner_tags"]])
    )
    assert {"PER", "LOC", "ORG", "MISC"} <= set(types) and types["PER"] > 500
    without = sum(all(t == 0 for t in row["ner_tags"]) for row in silver["test"])
    assert 0 < without < len(silver["test"]) / 2


def test_splits_do_not_share_sentences(silver):
    sentences = {split: {tuple(r) for r in silver[split]["tokens"]} for split in silver}
    assert not sentences["train"] & sentences["test"]
    assert not sentences["train"] & sentences["validation"]


POS_NAMES = ['"', "''", "#", "$", "(", ")", ",", ".", ":", "``", "CC", "CD", "DT", "NNP", "VBD"]
CHUNK_NAMES = ["O", "B-ADJP", "I-ADJP", "B-NP", "I-NP", "B-VP", "I-VP"]


def _hub_like(ner_names):
    """A tiny DatasetDict shaped like CoNLL-2003 on the hub (id, tokens, pos, chunk, ner)."""
    features = Features(
        {
            "id": Value("string"),
            "tokens": Sequence(Value("string")),
            "pos_tags": Sequence(ClassLabel(names=POS_NAMES)),
            "chunk_tags": Sequence(ClassLabel(names=CHUNK_NAMES)),
            "ner_tags": Sequence(ClassLabel(names=ner_names)),
        }
    )
    rows = [
        (["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]),
        (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
        (["BRUSSELS", "1996-08-22"], ["B-LOC", "O"]),
    ]
    data = {
        "id": [str(i) for i in range(len(rows))],
        "tokens": [words for words, _ in rows],
        "pos_tags": [[13] * len(words) for words, _ in rows],
        "chunk_tags": [[3] * len(words) for words, _ in rows],
        "ner_tags": [[ner_names.index(t) for t in tags] for _, tags in rows],
    }
    split = Dataset.from_dict(data, features=features)
    return DatasetDict({"train": split, "validation": split, "test": split}), rows


@pytest.mark.parametrize("order", ["hub", "shuffled"])
def test_conll2003_adapter_maps_to_the_schema(order):
    names = list(ner_data.NER_LABELS)
    if order == "shuffled":
        names = names[::-1]
    hub, rows = _hub_like(names)
    adapted = ner_data.adapt_conll2003(hub)
    assert adapted["train"].column_names == ["tokens", "ner_tags"]
    assert adapted["train"].features == ner_data.ner_features()
    label_names = adapted["train"].features["ner_tags"].feature.names
    for row, (words, tags) in zip(adapted["test"], rows, strict=True):
        assert row["tokens"] == words
        assert [label_names[t] for t in row["ner_tags"]] == tags


def test_adapter_rejects_unknown_labels_and_wrong_types():
    hub, _ = _hub_like(
        ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "B-XXX"]
    )
    with pytest.raises(ValueError, match="B-XXX"):
        ner_data.adapt_conll2003(hub)
    with pytest.raises(TypeError, match="DatasetDict"):
        ner_data.adapt_conll2003({"train": []})


def test_hub_source_goes_through_the_adapter(monkeypatch):
    hub, rows = _hub_like(list(ner_data.NER_LABELS))
    requested = []
    monkeypatch.setattr(
        datasets, "load_dataset", lambda name, *a, **k: requested.append(name) or hub
    )
    monkeypatch.setenv(resources.SOURCE_ENV, "hub")
    adapted = resources.load_dataset("ner")
    assert requested == [ner_data.CONLL2003_HUB_ID]
    assert adapted["train"]["tokens"] == [words for words, _ in rows]
