"""Anisotropy of contextual embeddings: measuring it, finding rogue dimensions, standardizing.

Page ``08_anisotropy``; assignment a4_representations.

In an isotropic space random directions are equally likely and the expected cosine of two random
vectors is 0. Contextual embeddings are anisotropic (Ethayarajh, 2019): two *unrelated* words have a
high average cosine, growing with depth. Timkey & van Schijndel (2021) showed that this cosine is
dominated by one to three "rogue" dimensions with huge mean and variance. Because

    cos(u, v) = sum_k u_k v_k / (|u| |v|),

each dimension k contributes E[u_k v_k / (|u| |v|)] to the expected cosine of random pairs; those
contributions add up to the average cosine and show which dimensions carry it.

The remedy taught here is z-scoring each dimension, z = (x - mean) / SD, with the mean and the
standard deviation (not the variance) fitted on a sample of embeddings and applied to new vectors.
Mean-centering alone (x - mean) is the comparison point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _matrix(vectors: np.ndarray, name: str = "vectors") -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n, dim), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def cosine_similarity(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two equally shaped arrays (the angle, not the length, of the vectors)."""
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if u.shape != v.shape:
        raise ValueError(f"u and v must have the same shape, got {u.shape} and {v.shape}")
    norms = np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1)
    if np.any(norms == 0):
        raise ValueError("cosine is undefined for a zero vector")
    return (u * v).sum(axis=-1) / norms


def random_pairs(labels: Sequence[object], n_pairs: int, seed: int = 0) -> np.ndarray:
    """``n_pairs`` random index pairs (i, j), i != j, whose labels differ (e.g. different words).

    Returns an int array shaped (n_pairs, 2). Labels are typically the word of each token, so that
    "bank" is never compared with another "bank".
    """
    labels = list(labels)
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be at least 1, got {n_pairs}")
    if len(set(labels)) < 2:
        raise ValueError("random pairs of different words need at least two distinct labels")
    codes = np.unique(np.array([str(label) for label in labels]), return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    pairs = np.empty((0, 2), dtype=np.int64)
    while len(pairs) < n_pairs:
        draw = rng.integers(0, len(labels), size=(2 * n_pairs, 2))
        draw = draw[codes[draw[:, 0]] != codes[draw[:, 1]]]
        pairs = np.concatenate([pairs, draw])
    return pairs[:n_pairs]


def average_cosine(vectors: np.ndarray, pairs: np.ndarray) -> float:
    """Mean cosine over the given index pairs (0 expected in an isotropic space)."""
    vectors = _matrix(vectors)
    return float(cosine_similarity(vectors[pairs[:, 0]], vectors[pairs[:, 1]]).mean())


def cosine_contributions(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Each dimension's contribution E[u_k v_k / (|u||v|)] to the average cosine (sums to it)."""
    vectors = _matrix(vectors)
    u, v = vectors[pairs[:, 0]], vectors[pairs[:, 1]]
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    if np.any(norms == 0):
        raise ValueError("cosine is undefined for a zero vector")
    return (u * v / norms[:, None]).mean(axis=0)


def top_dimensions(contributions: np.ndarray, k: int = 3) -> tuple[np.ndarray, float]:
    """The ``k`` dimensions contributing most to the average cosine, and their share of it."""
    contributions = np.asarray(contributions, dtype=np.float64)
    order = np.argsort(-contributions)[:k]
    total = contributions.sum()
    share = float(contributions[order].sum() / total) if total != 0 else float("nan")
    return order, share


@dataclass
class Standardizer:
    """Per-dimension z-scoring z = (x - mean) / SD, fitted on one sample and applied to others.

    ``scale=False`` gives mean-centering only. A dimension with zero standard deviation in the fitting
    sample carries no information; it is centered and left unscaled (its z-scores are x - mean, which
    is 0 on the fitting sample) instead of dividing by zero.
    """

    scale: bool = True
    mean_: np.ndarray | None = None
    sd_: np.ndarray | None = None

    def fit(self, vectors: np.ndarray) -> Standardizer:
        vectors = _matrix(vectors)
        if len(vectors) < 2:
            raise ValueError("need at least two vectors to estimate a standard deviation")
        self.mean_ = vectors.mean(axis=0)
        sd = vectors.std(axis=0)  # the standard deviation (square root of the variance), ddof=0
        self.sd_ = np.where(sd > 0, sd, 1.0)
        return self

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        if self.mean_ is None or self.sd_ is None:
            raise ValueError("Standardizer must be fitted before transform")
        array = np.asarray(vectors, dtype=np.float64)
        if array.shape[-1] != self.mean_.shape[0]:
            raise ValueError(
                f"expected vectors of dimension {self.mean_.shape[0]}, got {array.shape}"
            )
        centered = array - self.mean_
        return centered / self.sd_ if self.scale else centered

    def fit_transform(self, vectors: np.ndarray) -> np.ndarray:
        return self.fit(vectors).transform(vectors)


def isotropy_summary(
    layer_states: np.ndarray,
    labels: Sequence[object],
    *,
    n_pairs: int = 5000,
    fit_fraction: float = 0.5,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Per layer: average random-pair cosine raw, mean-centered and z-scored, and rogue-dimension share.

    ``layer_states`` is (n_words, L+1, dim). The first ``fit_fraction`` of a seeded permutation of the
    words fits the mean/SD; random pairs of different words are drawn from the rest, so the statistics
    are applied to vectors they were not fitted on.
    """
    states = np.asarray(layer_states, dtype=np.float64)
    if states.ndim != 3 or len(states) != len(labels):
        raise ValueError(f"expected states (n, layers, dim) with n labels, got {states.shape}")
    if not 0 < fit_fraction < 1:
        raise ValueError(f"fit_fraction must be in (0, 1), got {fit_fraction}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(states))
    cut = int(len(states) * fit_fraction)
    fit_rows, eval_rows = order[:cut], order[cut:]
    pairs = random_pairs([labels[i] for i in eval_rows], n_pairs, seed=seed)
    rows = []
    for layer in range(states.shape[1]):
        fit, held_out = states[fit_rows, layer], states[eval_rows, layer]
        contributions = cosine_contributions(held_out, pairs)
        top, share = top_dimensions(contributions, 3)
        rows.append(
            {
                "layer": layer,
                "raw": average_cosine(held_out, pairs),
                "centered": average_cosine(
                    Standardizer(scale=False).fit(fit).transform(held_out), pairs
                ),
                "z-scored": average_cosine(Standardizer().fit(fit).transform(held_out), pairs),
                "top-1 dim": int(top[0]),
                "top-3 share": share,
            }
        )
    return rows
