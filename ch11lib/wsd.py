"""Word sense disambiguation with contextual embeddings and WordNet, fully offline.

Chapter 07 (``07_contextual_embeddings_wsd``); assignment a4. Sense-tagged data: WordNet's own
example sentences, built and split by :mod:`ch11lib.data.wsd_examples` (its names are imported here,
so ``wsd.load_examples()`` works as before).

The method (Loureiro & Jorge 2019, LMMS, simplified): a sense embedding v_s is the mean contextual
embedding of the sense's training occurrences; a sense without any training occurrence falls back to
an embedding of its gloss ("bank: sloping land beside a body of water"). At test time the target's
contextual embedding t is compared by cosine with v_s for each candidate sense (the synsets of the same
lemma and part of speech) and the most similar one is chosen (1-nearest-neighbour).

Baselines: the most frequent sense (WordNet's first sense, ordered by SemCor counts), a random sense,
and NLTK's simplified Lesk. :func:`one_sense_per_discourse` post-processes predictions by a vote.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ch11lib.cache import atomic_save, cache_dir, cache_key
from ch11lib.data.wsd_examples import (  # noqa: F401  (the data of this method, re-exported)
    EXAMPLES_ASSET,
    POS_NAMES,
    TOKEN_PATTERN,
    SenseExample,
    build_examples,
    candidate_senses,
    examples_from_synsets,
    load_examples,
    locate_lemma,
    normalize_pos,
    split_of,
    write_examples_asset,
)
from ch11lib.embeddings import CharSpan, span_states


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

    from ch11lib.data.wordnet import load_wordnet

    wn = load_wordnet()
    out = []
    for e in examples:
        synsets = [wn.synset(name) for name in e.candidates]
        context = [m.group() for m in TOKEN_PATTERN.finditer(e.sentence)]
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
    spans: Sequence[CharSpan],
    *,
    layers: Sequence[int] | None = None,
    cache: bool = True,
    **options: Any,
) -> dict[str, np.ndarray]:
    """:func:`ch11lib.embeddings.span_states`, cached in ``~/.cache/ch11lib/embeddings`` by a hash of
    every model weight and the data (:func:`ch11lib.cache.cache_key`).

    ``options`` are ``span_states``' keywords (``poolings``, default here ``("mean", "first")``;
    ``batch_size``, default here 64; ``max_length``; ``progress``). ``layers`` keeps only those
    hidden-state indices (saves space).
    """
    options = {"poolings": ("mean", "first"), "batch_size": 64, **options}
    poolings = options["poolings"] = tuple(options["poolings"])
    parts = [list(texts), [list(span) for span in spans], list(poolings), layers]
    key = cache_key(model, *parts, options.get("max_length"))
    path = cache_dir() / "embeddings" / f"spans_{key}.npz"
    if cache and path.is_file():
        with np.load(path) as stored:
            return {p: stored[p] for p in poolings}
    states = span_states(model, tokenizer, texts, spans, **options)
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
        from ch11lib.data.wordnet import load_wordnet

        wn = load_wordnet()
    keys = sorted({(e.lemma, s) for e in examples for s in e.candidates})
    texts, spans = [], []
    for lemma, synset in keys:
        text, span = gloss_text(lemma, wn.synset(synset).definition())
        texts.append(text)
        spans.append(span)
    return keys, texts, spans
