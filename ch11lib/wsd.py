"""Word sense disambiguation with contextual embeddings and WordNet, fully offline.

Sense-tagged data: WordNet's own example sentences. An example belongs to a synset ("he sat on the
bank of the river" is an example of ``bank.n.01``); when it contains one of its synset's lemmas
(inflections found with WordNet's morphy, multiword lemmas such as ``take_off`` matched word by word)
it is a sense-tagged occurrence of that lemma. About 39k such examples exist; they are split into
train/dev/test deterministically by a hash of the example's id (so the split never depends on order).
Reading all of WordNet takes a minute, so the extracted examples ship as a small asset
(``assets/wsd/wordnet_examples.jsonl.gz``, rebuilt by :func:`build_examples` / ``write_examples_asset``).

The method (Loureiro & Jorge 2019, LMMS, simplified): a sense embedding v_s is the mean contextual
embedding of the sense's training occurrences; a sense without any training occurrence falls back to
an embedding of its gloss ("bank: sloping land beside a body of water"). At test time the target's
contextual embedding t is compared by cosine with v_s for each candidate sense (the synsets of the same
lemma and part of speech) and the most similar one is chosen (1-nearest-neighbour).

Baselines: the most frequent sense (WordNet's first sense, ordered by SemCor counts), a random sense,
and NLTK's simplified Lesk. :func:`one_sense_per_discourse` post-processes predictions by a vote.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ch11lib.cache import atomic_save, cache_dir, cache_key
from ch11lib.resources import ASSETS_DIR

EXAMPLES_ASSET = ASSETS_DIR / "wsd" / "wordnet_examples.jsonl.gz"
POS_NAMES = {"n": "noun", "v": "verb", "a": "adjective", "r": "adverb"}
TEST_PERCENT, DEV_PERCENT = 20, 15  # of examples, by hash: 20% test, 15% dev, 65% train
_TOKEN = re.compile(r"\w+(?:-\w+)*")


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
    split: str  # train, dev or test
    candidates: tuple[str, ...]  # the synsets of (lemma, pos) in WordNet order: [0] is the MFS

    @property
    def target(self) -> str:
        return self.sentence[self.start : self.end]

    @property
    def lemma_key(self) -> str:
        return f"{self.lemma}.{self.pos}"


def split_of(example_id: str) -> str:
    """Deterministic split of an example by the MD5 of its id: 'test', 'dev' or 'train'."""
    bucket = int(hashlib.md5(example_id.encode()).hexdigest(), 16) % 100
    if bucket < TEST_PERCENT:
        return "test"
    return "dev" if bucket < TEST_PERCENT + DEV_PERCENT else "train"


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
    tokens = [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(sentence)]
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
    from ch11lib.wordnet import load_wordnet

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
        from ch11lib.wordnet import load_wordnet

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
        from ch11lib.wordnet import load_wordnet

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


def gloss_text(lemma: str, definition: str) -> tuple[str, tuple[int, int]]:
    """A context for embedding a sense from its gloss: ``"bank: sloping land ..."`` and the lemma's span."""
    words = lemma.replace("_", " ")
    return f"{words}: {definition}", (0, len(words))


def sample_lemmas(
    examples: Sequence[SenseExample], n: int, seed: int = 0, split: str = "test"
) -> list[str]:
    """A seeded sample of ``n`` polysemous lemma keys ("bank.n") that have examples in ``split``."""
    keys = sorted({e.lemma_key for e in examples if e.split == split and len(e.candidates) > 1})
    if n >= len(keys):
        return keys
    rng = np.random.default_rng(seed)
    return sorted(keys[i] for i in rng.choice(len(keys), size=n, replace=False))


# --------------------------------------------------------------------------------------------------
# Sense embeddings and 1-NN disambiguation
# --------------------------------------------------------------------------------------------------

GlossMode = Literal["fallback", "mix", "none", "only"]


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def sense_embeddings(vectors: np.ndarray, senses: Sequence[str]) -> dict[str, np.ndarray]:
    """v_s = the mean of the contextual embeddings of the training occurrences of each sense s."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) != len(senses):
        raise ValueError(
            f"expected vectors shaped (n, dim) with one sense per row, got {vectors.shape} "
            f"and {len(senses)} senses"
        )
    groups: dict[str, list[int]] = defaultdict(list)
    for i, sense in enumerate(senses):
        groups[sense].append(i)
    return {sense: vectors[rows].mean(axis=0) for sense, rows in groups.items()}


def candidate_vectors(
    lemma: str,
    candidates: Sequence[str],
    example_means: Mapping[str, np.ndarray],
    gloss_vectors: Mapping[tuple[str, str], np.ndarray] | None = None,
    mode: GlossMode = "fallback",
) -> tuple[list[str], np.ndarray]:
    """The senses of a target that have an embedding, and their vectors (rows).

    mode: ``none`` examples only (senses without training data cannot be chosen); ``fallback`` the
    gloss embedding only for senses without examples; ``mix`` the average of the unit example mean and
    the unit gloss embedding (gloss alone when there are no examples); ``only`` glosses only.
    Gloss vectors are keyed by (lemma, synset) since the gloss context names the lemma.
    """
    if mode not in ("fallback", "mix", "none", "only"):
        raise ValueError(f"mode must be fallback, mix, none or only, got {mode!r}")
    if mode != "none" and gloss_vectors is None:
        raise ValueError(f"mode {mode!r} needs gloss_vectors")
    names, rows = [], []
    for sense in candidates:
        gloss = None if gloss_vectors is None else gloss_vectors.get((lemma, sense))
        example = None if mode == "only" else example_means.get(sense)
        if example is not None and (mode in ("none", "fallback") or gloss is None):
            vector = np.asarray(example, dtype=np.float64)
        elif example is not None:  # mix
            vector = (unit(example) + unit(gloss)) / 2
        elif gloss is not None and mode != "none":
            vector = np.asarray(gloss, dtype=np.float64)
        else:
            continue
        names.append(sense)
        rows.append(vector)
    return names, np.array(rows)


def nearest_sense(
    target: np.ndarray, names: Sequence[str], vectors: np.ndarray
) -> tuple[str, float]:
    """1-NN: the sense whose embedding has the highest cosine with the target, and that cosine."""
    if len(names) == 0:
        raise ValueError("no candidate sense has an embedding")
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 1 or vectors.shape != (len(names), target.shape[0]):
        raise ValueError(f"expected a target (dim,) and vectors (k, dim), got {target.shape}, "
                         f"{vectors.shape}")  # fmt: skip
    cosines = unit(vectors) @ unit(target)
    best = int(np.argmax(cosines))
    return names[best], float(cosines[best])


def disambiguate(
    examples: Sequence[SenseExample],
    target_vectors: np.ndarray,
    example_means: Mapping[str, np.ndarray],
    gloss_vectors: Mapping[tuple[str, str], np.ndarray] | None = None,
    mode: GlossMode = "fallback",
) -> tuple[list[str], list[float]]:
    """Predicted synsets (and their cosines) for each example; MFS when no candidate has a vector."""
    predictions, scores = [], []
    for example, vector in zip(examples, target_vectors, strict=True):
        names, vectors = candidate_vectors(
            example.lemma, example.candidates, example_means, gloss_vectors, mode
        )
        if names:
            sense, score = nearest_sense(vector, names, vectors)
        else:
            sense, score = example.candidates[0], float("-inf")
        predictions.append(sense)
        scores.append(score)
    return predictions, scores


# --------------------------------------------------------------------------------------------------
# Baselines, discourse post-processing and evaluation
# --------------------------------------------------------------------------------------------------


def most_frequent_sense(examples: Sequence[SenseExample]) -> list[str]:
    """WordNet's first sense of the target's lemma and part of speech (ordered by SemCor counts)."""
    return [e.candidates[0] for e in examples]


def random_sense(examples: Sequence[SenseExample], seed: int = 0) -> list[str]:
    """A uniformly random candidate sense per example (seeded)."""
    rng = np.random.default_rng(seed)
    return [e.candidates[int(rng.integers(len(e.candidates)))] for e in examples]


def lesk_senses(examples: Sequence[SenseExample]) -> list[str]:
    """NLTK's simplified Lesk (gloss/context word overlap), restricted to the target's candidates."""
    from nltk.wsd import lesk

    from ch11lib.wordnet import load_wordnet

    wn = load_wordnet()
    out = []
    for e in examples:
        synsets = [wn.synset(name) for name in e.candidates]
        context = [m.group() for m in _TOKEN.finditer(e.sentence)]
        chosen = lesk(context, e.lemma, synsets=synsets)
        out.append(chosen.name() if chosen is not None else e.candidates[0])
    return out


def one_sense_per_discourse(
    predictions: Sequence[str],
    lemma_keys: Sequence[str],
    discourse_ids: Sequence[object],
    scores: Sequence[float] | None = None,
) -> list[str]:
    """Give every occurrence of a lemma in a discourse the sense most often predicted for it there.

    Ties are broken by the summed cosine of the tied senses (if ``scores`` is given), then by first
    appearance.
    """
    if not len(predictions) == len(lemma_keys) == len(discourse_ids):
        raise ValueError("predictions, lemma_keys and discourse_ids must have the same length")
    if scores is not None and len(scores) != len(predictions):
        raise ValueError("scores must have one value per prediction")
    groups: dict[tuple[object, str], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(discourse_ids, lemma_keys, strict=True)):
        groups[key].append(i)
    out = list(predictions)
    for rows in groups.values():
        votes = Counter(predictions[i] for i in rows)
        strength: dict[str, float] = defaultdict(float)
        if scores is not None:
            for i in rows:
                strength[predictions[i]] += float(scores[i])
        order = {sense: -n for n, sense in enumerate(dict.fromkeys(predictions[i] for i in rows))}
        winner = max(votes, key=lambda s: (votes[s], strength[s], order[s]))
        for i in rows:
            out[i] = winner
    return out


def make_discourses(
    examples: Sequence[SenseExample], size: int = 3, same_sense: bool = True, seed: int = 0
) -> list[int]:
    """Artificial discourses: groups of ``size`` examples of the same lemma (and, if ``same_sense``,
    the same gold sense), shuffled with a seed. Returns a discourse id per example; leftovers form
    smaller groups. WordNet examples are single sentences, so this only simulates documents."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    rng = np.random.default_rng(seed)
    pools: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        pools[(e.lemma_key, e.synset if same_sense else "")].append(i)
    ids = [0] * len(examples)
    next_id = 0
    for key in sorted(pools):
        rows = [pools[key][j] for j in rng.permutation(len(pools[key]))]
        for begin in range(0, len(rows), size):
            for i in rows[begin : begin + size]:
                ids[i] = next_id
            next_id += 1
    return ids


def accuracy(predictions: Sequence[str], gold: Sequence[str]) -> float:
    """Share of predictions equal to the gold sense."""
    if len(predictions) != len(gold) or not gold:
        raise ValueError(
            f"expected equally long non-empty lists, got {len(predictions)}/{len(gold)}"
        )
    return float(np.mean([p == g for p, g in zip(predictions, gold, strict=True)]))


def senses_bucket(n: int) -> str:
    """A label for the number of candidate senses: '2', '3-4', '5-9', '10+'."""
    return "2" if n <= 2 else "3-4" if n <= 4 else "5-9" if n <= 9 else "10+"


def breakdown(
    examples: Sequence[SenseExample], systems: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Accuracy of each system overall, by part of speech and by number of senses.

    Returns ``{group: {system: accuracy, "n": count}}`` with groups "all", "pos=noun", "senses=2"...
    """
    gold = [e.synset for e in examples]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups["all"].append(i)
        groups[f"pos={POS_NAMES[e.pos]}"].append(i)
        groups[f"senses={senses_bucket(len(e.candidates))}"].append(i)
    table: dict[str, dict[str, float]] = {}
    for group, rows in groups.items():
        row: dict[str, float] = {"n": float(len(rows))}
        for name, predictions in systems.items():
            row[name] = accuracy([predictions[i] for i in rows], [gold[i] for i in rows])
        table[group] = row
    return table


# --------------------------------------------------------------------------------------------------
# Embedding examples and glosses (cached)
# --------------------------------------------------------------------------------------------------


def cached_span_states(
    model,
    tokenizer,
    texts: Sequence[str],
    spans: Sequence[tuple[int, int]],
    *,
    poolings: Sequence[str] = ("mean", "first"),
    layers: Sequence[int] | None = None,
    cache: bool = True,
    batch_size: int = 64,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """:func:`ch11lib.embeddings.span_states`, cached in ``~/.cache/ch11lib/embeddings`` by a hash of
    every model weight and the data (:func:`ch11lib.cache.cache_key`). ``layers`` keeps only those
    hidden-state indices (saves space)."""
    from ch11lib.embeddings import span_states

    key = cache_key(model, list(texts), [list(span) for span in spans], list(poolings), layers)
    path = cache_dir() / "embeddings" / f"spans_{key}.npz"
    if cache and path.is_file():
        with np.load(path) as stored:
            return {p: stored[p] for p in poolings}
    states = span_states(
        model, tokenizer, texts, spans, poolings=tuple(poolings), batch_size=batch_size,
        progress=progress,
    )  # fmt: skip
    if layers is not None:
        states = {p: s[:, list(layers)] for p, s in states.items()}
    if cache:
        atomic_save(path, lambda partial: np.savez(partial, **states))
    return states


def gloss_contexts(
    examples: Sequence[SenseExample], wn=None
) -> tuple[list[tuple[str, str]], list[str], list[tuple[int, int]]]:
    """The (lemma, synset) pairs of every candidate sense of the examples' targets, with their gloss
    texts ("bank: sloping land ...") and the lemma's span in each text."""
    if wn is None:
        from ch11lib.wordnet import load_wordnet

        wn = load_wordnet()
    keys = sorted({(e.lemma, s) for e in examples for s in e.candidates})
    texts, spans = [], []
    for lemma, synset in keys:
        text, span = gloss_text(lemma, wn.synset(synset).definition())
        texts.append(text)
        spans.append(span)
    return keys, texts, spans
