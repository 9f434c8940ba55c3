"""Sense-tagged examples for word sense disambiguation (chapter 07, ``07_contextual_embeddings_wsd``).

WordNet's own example sentences: an example belongs to a synset ("he sat on the bank of the river" is
an example of ``bank.n.01``); when it contains one of its synset's lemmas (inflections found with
WordNet's morphy, multiword lemmas such as ``take_off`` matched word by word) it is a sense-tagged
occurrence of that lemma. About 39k such examples exist; they are split into train/validation/test
deterministically by a hash of the example's id (so the split never depends on order). Reading all of
WordNet takes a minute, so the extracted examples ship as a small asset
(``assets/wsd/wordnet_examples.jsonl.gz``, rebuilt by ``scripts/build_wsd_examples.py``).
The method that uses them is :mod:`ch11lib.wsd`.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ch11lib.data.splits import hash_split
from ch11lib.resources import ASSETS_DIR

EXAMPLES_ASSET = ASSETS_DIR / "wsd" / "wordnet_examples.jsonl.gz"
POS_NAMES = {"n": "noun", "v": "verb", "a": "adjective", "r": "adverb"}
# Of examples, by hash: 20% test, 15% validation, 65% train.
TEST_PERCENT, VALIDATION_PERCENT = 20, 15
TOKEN_PATTERN = re.compile(r"\w+(?:-\w+)*")


@dataclass(frozen=True)
class SenseExample:
    """One sense-tagged occurrence: ``sentence[start:end]`` is ``lemma`` used in sense ``synset``."""

    id: str  # "<synset>#<example number>"
    synset: str
    lemma: str  # WordNet lemma name, lower case, underscores for multiword lemmas
    pos: str  # n, v, a (adjectives, satellites included) or r
    sentence: str
    start: int
    end: int
    split: str  # train, validation or test
    candidates: tuple[str, ...]  # the synsets of (lemma, pos) in WordNet order: [0] is the MFS

    @property
    def target(self) -> str:
        return self.sentence[self.start : self.end]

    @property
    def lemma_key(self) -> str:
        return f"{self.lemma}.{self.pos}"


def split_of(example_id: str) -> str:
    """Deterministic split of an example by the MD5 of its id: 'test', 'validation' or 'train'."""
    shares = [("test", TEST_PERCENT), ("validation", VALIDATION_PERCENT)]
    return hash_split(
        example_id, [*shares, ("train", 100 - TEST_PERCENT - VALIDATION_PERCENT)], 100
    )


def normalize_pos(pos: str) -> str:
    """WordNet's satellite adjectives ('s') count as adjectives ('a')."""
    if pos not in ("n", "v", "a", "s", "r"):
        raise ValueError(f"expected a WordNet part of speech n, v, a, s or r, got {pos!r}")
    return "a" if pos == "s" else pos


# --------------------------------------------------------------------------------------------------
# Locating a lemma in a sentence
# --------------------------------------------------------------------------------------------------


def locate_lemma(sentence: str, lemma: str, pos: str, wn=None) -> tuple[int, int] | None:
    """Character span of the first occurrence of ``lemma`` (any inflection) in ``sentence``, or None.

    Each word of a multiword lemma (``"take_off"``) must match a token, exactly or through WordNet's
    morphy ("took" -> "take", "banks" -> "bank", "better" -> "good" for adjectives).
    """
    parts = lemma.lower().split("_")
    tokens = [(m.group().lower(), m.start(), m.end()) for m in TOKEN_PATTERN.finditer(sentence)]
    for i in range(len(tokens) - len(parts) + 1):
        window = tokens[i : i + len(parts)]
        if all(
            _matches(tok, part, pos, wn) for (tok, _, _), part in zip(window, parts, strict=True)
        ):
            return window[0][1], window[-1][2]
    return None


def _matches(token: str, part: str, pos: str, wn) -> bool:
    if token == part:
        return True
    return part in _base_forms(token, normalize_pos(pos), wn)


@functools.lru_cache(maxsize=200_000)
def _base_forms_cached(token: str, pos: str) -> tuple[str, ...]:
    from ch11lib.data.wordnet import load_wordnet

    return tuple(load_wordnet()._morphy(token, pos))


def _base_forms(token: str, pos: str, wn) -> tuple[str, ...]:
    if wn is None:
        return _base_forms_cached(token, pos)
    return tuple(wn._morphy(token, pos))


# --------------------------------------------------------------------------------------------------
# Building and loading the data
# --------------------------------------------------------------------------------------------------


def candidate_senses(lemma: str, pos: str, wn=None) -> tuple[str, ...]:
    """Synsets that have ``lemma`` as one of their lemmas, for this part of speech, in WordNet order."""
    if wn is None:
        from ch11lib.data.wordnet import load_wordnet

        wn = load_wordnet()
    pos = normalize_pos(pos)
    lemma = lemma.lower()
    return tuple(
        s.name()
        for s in wn.synsets(lemma, pos=pos)
        if normalize_pos(s.pos()) == pos and lemma in (name.lower() for name in s.lemma_names())
    )


def examples_from_synsets(synsets: Iterable, wn) -> list[SenseExample]:
    """The sense-tagged examples of the given synsets (one per example sentence that has a lemma)."""
    out = []
    for synset in synsets:
        pos = normalize_pos(synset.pos())
        for k, sentence in enumerate(synset.examples()):
            for lemma in synset.lemma_names():
                span = locate_lemma(sentence, lemma, pos, wn)
                if span is None:
                    continue
                example_id = f"{synset.name()}#{k}"
                out.append(
                    SenseExample(
                        example_id,
                        synset.name(),
                        lemma.lower(),
                        pos,
                        sentence,
                        span[0],
                        span[1],
                        split_of(example_id),
                        candidate_senses(lemma, pos, wn),
                    )  # fmt: skip
                )
                break
    return out


def build_examples(wn=None) -> list[SenseExample]:
    """Extract every sense-tagged example from WordNet (takes about a minute)."""
    if wn is None:
        from ch11lib.data.wordnet import load_wordnet

        wn = load_wordnet()
    return examples_from_synsets(wn.all_synsets(), wn)


def write_examples_asset(examples: Sequence[SenseExample], path: Path = EXAMPLES_ASSET) -> Path:
    """Write examples as gzipped JSON lines (deterministic bytes: fixed gzip mtime)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        for example in examples:
            handle.write((json.dumps(asdict(example), ensure_ascii=False) + "\n").encode())
    return path


@functools.cache
def _load_examples_cached(path: str) -> tuple[SenseExample, ...]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return tuple(SenseExample(**{**row, "candidates": tuple(row["candidates"])}) for row in rows)


def load_examples(path: Path = EXAMPLES_ASSET) -> list[SenseExample]:
    """The shipped sense-tagged WordNet examples (rebuilt from WordNet if the asset is missing)."""
    if not Path(path).is_file():
        write_examples_asset(build_examples(), path)
    return list(_load_examples_cached(str(path)))
