"""Exponentiated sampling of languages for multilingual pretraining (XLM-R style).

Page ``06_multilingual``; assignment a4_representations.

A multilingual corpus is dominated by a few high-resource languages. If training batches are drawn in
proportion to corpus size p_i, the vocabulary and the model see little of the low-resource languages.
XLM-R (Conneau et al., 2020) draws language i with probability

    q_i = p_i ** alpha / sum_j p_j ** alpha,     0 < alpha <= 1,

which flattens the distribution: alpha = 1 keeps p, alpha -> 0 tends to uniform; XLM-R uses 0.3.
This module computes q from counts or probabilities, the upweighting factor q_i / p_i, and a seedable
sampler that draws the language of each training example (or batch) with probabilities q.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

_SUM_TOLERANCE = 1e-6


def _as_probabilities(values: Sequence[float] | np.ndarray, *, counts: bool) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"expected a non-empty 1-D sequence of {'counts' if counts else 'probabilities'}, "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("counts/probabilities must be finite numbers")
    if np.any(array < 0):
        raise ValueError(f"counts/probabilities must be non-negative, got minimum {array.min()}")
    total = array.sum()
    if total == 0:
        raise ValueError("counts/probabilities are all zero: no language to sample from")
    if counts:
        return array / total
    if np.any(array > 1) or abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(
            f"probabilities must lie in [0, 1] and sum to 1, got sum {total:.6g}; "
            "pass counts=True (or use probabilities_from_counts) for raw sizes"
        )
    return array / total


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating | np.integer):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    alpha = float(alpha)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    return alpha


def probabilities_from_counts(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    """p_i = n_i / sum_j n_j for non-negative sizes (tokens, bytes, sentences...)."""
    return _as_probabilities(counts, counts=True)


def exponentiated_probabilities(
    values: Sequence[float] | np.ndarray, alpha: float = 0.3, *, counts: bool = False
) -> np.ndarray:
    """q_i = p_i^alpha / sum_j p_j^alpha.

    Args:
        values: probabilities p (summing to 1) or, with ``counts=True``, non-negative sizes.
        alpha: the exponent, in (0, 1]; 1 returns p unchanged, smaller values flatten it.
        counts: whether ``values`` are raw sizes to be normalized first.

    A language with p_i = 0 keeps q_i = 0 (there is nothing to sample from it).
    """
    alpha = _check_alpha(alpha)
    p = _as_probabilities(values, counts=counts)
    # The exponent is applied to the *normalized* probabilities and the result is renormalized;
    # normalizing counts first or not gives the same q, since the constant cancels.
    powered = p**alpha  # 0 ** alpha = 0 for alpha > 0, so empty languages stay at 0
    return powered / powered.sum()


def upweighting_factors(
    values: Sequence[float] | np.ndarray, alpha: float = 0.3, *, counts: bool = False
) -> np.ndarray:
    """q_i / p_i: how many times more often language i is seen than under size-proportional sampling.

    Languages with p_i = 0 get a factor of 0 (they are never sampled either way).
    """
    p = _as_probabilities(values, counts=counts)
    q = exponentiated_probabilities(p, alpha)
    factors = np.zeros_like(p)
    np.divide(q, p, out=factors, where=p > 0)
    return factors


class LanguageSampler:
    """Draws the language of each training example (or batch) with exponentiated probabilities.

    >>> sampler = LanguageSampler({"en": 900, "sw": 100}, alpha=0.5, seed=0)
    >>> sampler.probabilities["sw"] > 0.1
    True
    """

    def __init__(
        self, sizes: Mapping[str, float], alpha: float = 0.3, seed: int | None = 0
    ) -> None:
        if not isinstance(sizes, Mapping) or not sizes:
            raise ValueError("sizes must be a non-empty mapping from language to corpus size")
        self.languages: list[str] = list(sizes)
        self.alpha = _check_alpha(alpha)
        q = exponentiated_probabilities(list(sizes.values()), self.alpha, counts=True)
        self.probabilities: dict[str, float] = dict(zip(self.languages, q.tolist(), strict=True))
        self._q = q
        self._rng = np.random.default_rng(seed)

    def sample(self, n: int) -> list[str]:
        """The languages of the next ``n`` examples."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        indices = self._rng.choice(len(self.languages), size=int(n), p=self._q)
        return [self.languages[i] for i in indices]

    def sample_batches(
        self, corpora: Mapping[str, Sequence[str]], n_batches: int, batch_size: int
    ) -> list[tuple[str, list[str]]]:
        """``n_batches`` single-language batches: pick a language with q, then ``batch_size`` of its texts.

        XLM-style training draws each batch from one language; texts are drawn with replacement, so a
        small corpus is revisited (that is what upweighting means in practice).
        """
        if set(corpora) != set(self.languages):
            raise ValueError(
                f"corpora must have exactly the sampler's languages {sorted(self.languages)}, "
                f"got {sorted(corpora)}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        batches = []
        for language in self.sample(n_batches):
            texts = corpora[language]
            if len(texts) == 0:
                raise ValueError(f"language {language!r} was drawn but its corpus is empty")
            picks = self._rng.integers(0, len(texts), size=batch_size)
            batches.append((language, [texts[i] for i in picks]))
        return batches

    def resample_corpus(self, corpora: Mapping[str, Sequence[str]], total: int) -> list[str]:
        """A training corpus of ``total`` texts whose languages follow q (texts drawn with replacement)."""
        if set(corpora) != set(self.languages):
            raise ValueError(
                f"corpora must have exactly the sampler's languages {sorted(self.languages)}, "
                f"got {sorted(corpora)}"
            )
        counts = dict.fromkeys(self.languages, 0)
        for language in self.sample(total):
            counts[language] += 1
        texts: list[str] = []
        for language, k in counts.items():
            pool = corpora[language]
            if k and len(pool) == 0:
                raise ValueError(f"language {language!r} was drawn but its corpus is empty")
            if k:
                texts.extend(pool[i] for i in self._rng.integers(0, len(pool), size=k))
        order = self._rng.permutation(len(texts))
        return [texts[i] for i in order]


# --------------------------------------------------------------------------------------------------
# A shared WordPiece vocabulary and what each language gets from it
# --------------------------------------------------------------------------------------------------


def train_wordpiece(texts: Sequence[str], vocab_size: int = 4000, limit_alphabet: int = 300):
    """A shared, BERT-style (lower-cased, accents kept) WordPiece tokenizer trained on ``texts``.

    ``limit_alphabet`` keeps only the most frequent characters as the alphabet, as multilingual BERT
    vocabularies must: characters of a language the trainer rarely saw become [UNK]. The same in
    every run; see :func:`ch11lib.wordpiece.train_wordpiece`.
    """
    from ch11lib.wordpiece import train_wordpiece as train

    return train(texts, vocab_size, limit_alphabet)


def tokenization_stats(tokenizer, texts: Sequence[str]) -> dict[str, float]:
    """Fertility (subwords per pre-tokenized word), subwords per character and the [UNK] rate.

    Words are the tokenizer's own pre-tokenized words (whitespace and punctuation); for languages
    written without spaces (Chinese, Japanese, Thai) a "word" is a whole run of characters, so
    compare those by subwords per character instead.
    """
    if not texts:
        raise ValueError("no texts to measure")
    unk_id = tokenizer.token_to_id("[UNK]")
    words = pieces = unknown = chars = 0
    for encoding in tokenizer.encode_batch(list(texts)):
        ids = encoding.ids
        word_ids = {w for w in encoding.word_ids if w is not None}
        words += len(word_ids)
        pieces += len(ids)
        unknown += sum(i == unk_id for i in ids)
    chars = sum(len("".join(t.split())) for t in texts)
    if words == 0:
        raise ValueError("the texts contain no words")
    return {
        "fertility": pieces / words,
        "pieces_per_char": pieces / max(chars, 1),
        "unk_rate": unknown / max(pieces, 1),
    }


def split_texts(texts: Sequence[str], test_every: int = 5) -> tuple[list[str], list[str]]:
    """Deterministic train/held-out split: every ``test_every``-th text is held out."""
    if test_every < 2:
        raise ValueError(f"test_every must be at least 2, got {test_every}")
    held_out = [t for i, t in enumerate(texts) if i % test_every == test_every - 1]
    train = [t for i, t in enumerate(texts) if i % test_every != test_every - 1]
    return train, held_out
