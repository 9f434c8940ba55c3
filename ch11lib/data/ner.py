"""Named-entity data in BIO format: silver WordNet NER offline, CoNLL-2003 from the hub online.

Pages ``10_sequence_labelling`` and ``11_span_based``; assignment a5_finetuning.

No package we can install ships gold English NER annotations under a licence we may use (CoNLL-2003
belongs to Reuters; spaCy's English models on PyPI are only old mirrors), so the offline data set is
**silver**: real English sentences tagged automatically by a gazetteer. Exactly:

* **Sentences**: the glosses (definitions) and usage examples of WordNet 3.0, split into words with
  NLTK's Treebank tokenizer (no data files needed).
* **Gazetteer**: the lemma names of WordNet's *instance* nouns (the 7.7k synsets such as
  ``Paris.n.01`` or ``Lincoln.n.01`` that are instances rather than kinds), typed by their lexicographer
  file: ``noun.person`` -> PER; ``noun.location`` and ``noun.object`` (rivers, mountains, continents)
  -> LOC; ``noun.group`` -> ORG; anything else (events, works, artefacts such as the Taj Mahal) -> MISC.
  Because WordNet has few organisation *instances*, the capitalised lemma names of ordinary
  ``noun.group`` synsets below ``organization.n.01`` (e.g. *Federal Bureau of Investigation*) are added
  as ORG. A name with several types takes its most frequent type; on a tie, the type of its first WordNet
  sense (WordNet lists the most common sense first: *France* is the country before Anatole France).
* **Tagging**: longest match first, case-sensitive, left to right; a one-word name that starts a
  sentence and is also an ordinary lower-case WordNet word (*Fall*, *Creation*) is not matched.

Silver tags are noisy (a name missing from WordNet stays ``O``), which the pages say where it matters.
Building the data takes a few minutes (WordNet closures), so it was done once by
``python scripts/build_ner_assets.py`` and ships in ``ch11lib/assets/ner_wordnet_silver.jsonl.gz``.
Splits are deterministic and grouped by synset (a gloss and its examples never straddle two splits).

``resources.load_dataset("ner")`` returns a ``datasets.DatasetDict`` with ``train``/``validation``/``test``
splits and the columns ``tokens`` (list of words) and ``ner_tags`` (a sequence of
``ClassLabel(names=NER_LABELS)``). With ``CH11_SOURCE=hub`` it returns CoNLL-2003 in the same schema.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ch11lib import resources
from ch11lib.data.splits import SPLITS, hash_split
from ch11lib.errors import MissingResourceError

# The label order of CoNLL-2003 on the hub, so both sources share ids as well as names.
NER_LABELS: tuple[str, ...] = (
    "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC",
)  # fmt: skip
ENTITY_TYPES: tuple[str, ...] = ("PER", "LOC", "ORG", "MISC")  # last tie-break, after sense order
ASSET_PATH = resources.ASSETS_DIR / "ner_wordnet_silver.jsonl.gz"
CONLL2003_HUB_ID = resources.HUB_DATASET_IDS["ner"][0]

_LEXNAME_TYPE = {
    "noun.person": "PER",
    "noun.location": "LOC",
    "noun.object": "LOC",
    "noun.group": "ORG",
}


# --------------------------------------------------------------------------------------------------
# Tokenising and gazetteer tagging (pure functions, testable without WordNet)
# --------------------------------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Split English text into words with NLTK's Treebank tokenizer (rule-based, no data files)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _treebank().tokenize(text)


@functools.cache
def _treebank() -> Any:
    from nltk.tokenize import TreebankWordTokenizer

    return TreebankWordTokenizer()


def lemma_to_words(lemma_name: str) -> tuple[str, ...]:
    """A WordNet lemma name (``New_York_Stock_Exchange``) as the words the tokenizer would produce."""
    return tuple(tokenize(lemma_name.replace("_", " ")))


def is_capitalised_name(words: Sequence[str]) -> bool:
    """True if the name starts with an upper-case letter (case-sensitive matching needs that)."""
    return bool(words) and words[0][:1].isupper()


def tag_with_gazetteer(
    words: Sequence[str],
    gazetteer: Mapping[tuple[str, ...], str],
    common_words: frozenset[str] = frozenset(),
    longest: int | None = None,
) -> list[str]:
    """BIO tags for ``words`` by longest-first, case-sensitive, left-to-right gazetteer matching.

    ``gazetteer`` maps a tuple of words to an entity type (``"PER"``...). A one-word match at position 0
    whose lower-case form is in ``common_words`` is skipped (a capitalised ordinary word).
    ``longest`` (the longest name, in words) is computed from the gazetteer when not given.
    """
    if not gazetteer:
        return ["O"] * len(words)
    longest = longest or max(len(name) for name in gazetteer)
    tags = ["O"] * len(words)
    position = 0
    while position < len(words):
        matched = 0
        for width in range(min(longest, len(words) - position), 0, -1):
            candidate = tuple(words[position : position + width])
            if candidate not in gazetteer:
                continue
            if width == 1 and position == 0 and candidate[0].lower() in common_words:
                continue
            entity_type = gazetteer[candidate]
            tags[position] = f"B-{entity_type}"
            for inside in range(position + 1, position + width):
                tags[inside] = f"I-{entity_type}"
            matched = width
            break
        position += matched or 1
    return tags


def resolve_types(
    votes: Mapping[tuple[str, ...], Counter],
    first_sense: Mapping[tuple[str, ...], str] | None = None,
) -> dict[tuple[str, ...], str]:
    """One type per name: the most frequent.

    Ties go to ``first_sense[name]`` (the type of the name's first WordNet sense, the most common
    one) when it is among the tied types, then to the order PER, LOC, ORG, MISC.
    """
    first_sense = first_sense or {}

    def rank(name: tuple[str, ...], counts: Counter, entity_type: str) -> tuple[int, int, int]:
        not_first = 0 if first_sense.get(name) == entity_type else 1
        return (-counts[entity_type], not_first, ENTITY_TYPES.index(entity_type))

    return {
        name: min(counts, key=lambda t, n=name, c=counts: rank(n, c, t))
        for name, counts in votes.items()
    }


def split_of(group: str, validation_share: int = 1, test_share: int = 1) -> str:
    """Deterministic split for a group key (a synset name): tenths by MD5, stable across runs."""
    shares = [("test", test_share), ("validation", validation_share)]
    return hash_split(group, [*shares, ("train", 10 - test_share - validation_share)], 10)


# --------------------------------------------------------------------------------------------------
# Building the silver data from WordNet (slow: run once by scripts/build_ner_assets.py)
# --------------------------------------------------------------------------------------------------


def build_gazetteer(wordnet: Any) -> dict[tuple[str, ...], str]:
    """Names -> entity type from WordNet instance nouns (and organisation names), see module doc."""
    votes: dict[tuple[str, ...], Counter] = {}
    best_sense: dict[tuple[str, ...], tuple[int, str]] = {}  # name -> (sense rank, its type)

    def vote(lemma_name: str, entity_type: str, synset: Any) -> None:
        words = lemma_to_words(lemma_name)
        if is_capitalised_name(words):
            votes.setdefault(words, Counter())[entity_type] += 1
            senses = [s.name() for s in wordnet.synsets(lemma_name, pos="n")]
            sense_rank = senses.index(synset.name()) if synset.name() in senses else len(senses)
            best_sense[words] = min(best_sense.get(words, (sense_rank, entity_type)),
                                    (sense_rank, entity_type))  # fmt: skip

    organization = wordnet.synset("organization.n.01")
    for synset in wordnet.all_synsets("n"):
        if synset.instance_hypernyms():
            entity_type = _LEXNAME_TYPE.get(synset.lexname(), "MISC")
            for lemma_name in synset.lemma_names():
                vote(lemma_name, entity_type, synset)
        elif synset.lexname() == "noun.group":
            names = [n for n in synset.lemma_names() if all(w[:1].isupper() for w in n.split("_"))]
            if names and organization in synset.closure(lambda s: s.hypernyms()):
                for lemma_name in names:
                    vote(lemma_name, "ORG", synset)
    return resolve_types(
        votes, {name: entity_type for name, (_, entity_type) in best_sense.items()}
    )


def build_silver_ner(
    wordnet: Any,
    n_train: int = 8000,
    n_validation: int = 1000,
    n_test: int = 1000,
    share_without_entities: float = 0.2,
    seed: int = 0,
) -> dict[str, list[dict[str, Any]]]:
    """Tag WordNet glosses and examples with the gazetteer; return records per split.

    Each split keeps sentences with at least one entity plus ``share_without_entities`` of its size
    in sentences without any (real NER data has many of those), sampled with ``seed``.
    """
    import numpy as np

    if not 0.0 <= share_without_entities < 1.0:
        raise ValueError(f"share_without_entities must be in [0, 1), got {share_without_entities}")
    gazetteer = build_gazetteer(wordnet)
    common = frozenset(name.lower() for name in wordnet.all_lemma_names() if name.islower())
    longest = max(len(name) for name in gazetteer)
    tokenizer = _treebank()
    pools: dict[str, dict[bool, list[dict[str, Any]]]] = {s: {True: [], False: []} for s in SPLITS}
    seen: set[tuple[str, ...]] = set()
    for synset in wordnet.all_synsets():
        split = split_of(synset.name())
        for text in [synset.definition(), *synset.examples()]:
            words = tuple(tokenizer.tokenize(text))
            if not 3 <= len(words) <= 40 or words in seen:
                continue
            seen.add(words)
            tags = tag_with_gazetteer(words, gazetteer, common, longest)
            record = {"tokens": list(words), "ner_tags": tags, "synset": synset.name()}
            pools[split][any(t != "O" for t in tags)].append(record)
    rng = np.random.default_rng(seed)
    sizes = {"train": n_train, "validation": n_validation, "test": n_test}
    result: dict[str, list[dict[str, Any]]] = {}
    for split, size in sizes.items():
        n_empty = int(round(size * share_without_entities))
        chosen = []
        for has_entity, count in ((True, size - n_empty), (False, n_empty)):
            pool = pools[split][has_entity]
            picks = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
            chosen.extend(pool[i] for i in sorted(picks))
        order = rng.permutation(len(chosen))
        result[split] = [chosen[i] for i in order]
    return result


def write_records(records: Mapping[str, list[dict[str, Any]]], path: Path = ASSET_PATH) -> None:
    """Write ``{split: records}`` as gzipped JSON lines (one record per line, with its split)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the file byte-identical across rebuilds
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        for split in SPLITS:
            for record in records[split]:
                line = json.dumps({"split": split, **record}, ensure_ascii=False)
                handle.write((line + "\n").encode())


def read_records(path: Path = ASSET_PATH) -> dict[str, list[dict[str, Any]]]:
    """Read the gzipped JSON lines written by :func:`write_records`."""
    if not path.is_file():
        raise MissingResourceError(
            f"The silver NER data {path} is missing. Restore it with "
            f"`git checkout -- {path.name}` or rebuild it: python scripts/build_ner_assets.py"
        )
    records: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            records[record.pop("split")].append(record)
    return records


# --------------------------------------------------------------------------------------------------
# The data sets in the common schema
# --------------------------------------------------------------------------------------------------


def ner_features():
    """The shared schema: ``tokens`` (strings) and ``ner_tags`` (ClassLabel with the BIO names)."""
    from datasets import ClassLabel, Features, Sequence, Value

    return Features(
        {
            "tokens": Sequence(Value("string")),
            "ner_tags": Sequence(ClassLabel(names=list(NER_LABELS))),
        }
    )


def validate_tags(tags: Iterable[str]) -> None:
    """Raise ValueError unless every tag is one of :data:`NER_LABELS`."""
    unknown = sorted(set(tags) - set(NER_LABELS))
    if unknown:
        raise ValueError(f"unknown NER tags {unknown}; expected tags from {list(NER_LABELS)}")


def records_to_datasetdict(records: Mapping[str, Sequence[Mapping[str, Any]]]):
    """``{split: [{"tokens": [...], "ner_tags": [tag names]}]}`` -> ``DatasetDict`` in the schema."""
    from datasets import Dataset, DatasetDict

    label_id = {name: index for index, name in enumerate(NER_LABELS)}
    splits = {}
    for split, rows in records.items():
        tokens, tags = [], []
        for row in rows:
            if len(row["tokens"]) != len(row["ner_tags"]):
                raise ValueError(
                    f"a record has {len(row['tokens'])} tokens but {len(row['ner_tags'])} tags"
                )
            validate_tags(row["ner_tags"])
            tokens.append(list(row["tokens"]))
            tags.append([label_id[t] for t in row["ner_tags"]])
        splits[split] = Dataset.from_dict(
            {"tokens": tokens, "ner_tags": tags}, features=ner_features()
        )
    return DatasetDict(splits)


def load_silver_ner(path: Path = ASSET_PATH):
    """The embedded silver WordNet NER data as a ``DatasetDict`` (train/validation/test)."""
    return records_to_datasetdict(read_records(path))


def adapt_conll2003(dataset_dict: Any):
    """Map CoNLL-2003 as the hub serves it (``id, tokens, pos_tags, chunk_tags, ner_tags``) to the schema.

    Tags are mapped through their ClassLabel *names*, so a copy with another label order still maps
    correctly; a copy without names must already use :data:`NER_LABELS` ids.
    """
    from datasets import DatasetDict

    if not isinstance(dataset_dict, DatasetDict):
        raise TypeError(f"expected a datasets.DatasetDict, got {type(dataset_dict).__name__}")
    adapted = {}
    for split, dataset in dataset_dict.items():
        missing = {"tokens", "ner_tags"} - set(dataset.column_names)
        if missing:
            raise ValueError(f"split {split!r} lacks the columns {sorted(missing)}")
        feature = dataset.features["ner_tags"]
        inner = getattr(feature, "feature", None)
        names = getattr(inner, "names", None) or list(NER_LABELS)
        validate_tags(names)
        remap = [NER_LABELS.index(name) for name in names]
        records = [
            {"tokens": row["tokens"], "ner_tags": [NER_LABELS[remap[t]] for t in row["ner_tags"]]}
            for row in dataset
        ]
        adapted[split] = records
    return records_to_datasetdict(adapted)


def load_conll2003_from_hub():
    """CoNLL-2003 from the Hugging Face hub (online users), in the shared schema."""
    import datasets

    revision = resources.HUB_DATASET_REVISIONS["ner"]  # parquet: main is a loading script
    return adapt_conll2003(datasets.load_dataset(CONLL2003_HUB_ID, revision=revision))
