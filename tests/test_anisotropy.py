"""Tests for ch11lib.anisotropy: random-pair cosine, rogue dimensions, z-scoring."""

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from ch11lib.anisotropy import (
    Standardizer,
    average_cosine,
    cosine_contributions,
    cosine_similarity,
    isotropy_summary,
    random_pairs,
    top_dimensions,
)


def _rogue_space(n=2000, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim))
    x[:, 5] += 25.0  # one rogue dimension with a huge mean
    return x


def test_random_pairs_never_pair_the_same_word():
    labels = ["a", "a", "b", "c", "a"]
    pairs = random_pairs(labels, 500, seed=1)
    assert pairs.shape == (500, 2)
    assert all(labels[i] != labels[j] for i, j in pairs)
    np.testing.assert_array_equal(pairs, random_pairs(labels, 500, seed=1))
    with pytest.raises(ValueError, match="distinct"):
        random_pairs(["a", "a"], 3)


def test_isotropic_gaussian_has_average_cosine_near_zero():
    x = np.random.default_rng(0).normal(size=(3000, 64))
    pairs = random_pairs(range(3000), 5000)
    assert abs(average_cosine(x, pairs)) < 0.02


def test_rogue_dimension_carries_the_cosine_and_contributions_sum_to_it():
    x = _rogue_space()
    pairs = random_pairs(range(len(x)), 4000)
    avg = average_cosine(x, pairs)
    contributions = cosine_contributions(x, pairs)
    assert avg > 0.3
    assert contributions.sum() == pytest.approx(avg)
    top, share = top_dimensions(contributions, 1)
    assert top[0] == 5 and share > 0.9
    # matches a loop written by hand
    u, v = x[pairs[0, 0]], x[pairs[0, 1]]
    assert cosine_similarity(u, v) == pytest.approx(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def test_standardizer_matches_sklearn_and_uses_sd_not_variance():
    rng = np.random.default_rng(1)
    fit, new = rng.normal(3, 4, size=(500, 8)), rng.normal(3, 4, size=(50, 8))
    ours = Standardizer().fit(fit)
    reference = StandardScaler().fit(fit)
    np.testing.assert_allclose(ours.transform(new), reference.transform(new))
    z = ours.transform(fit)
    np.testing.assert_allclose(z.std(axis=0), 1.0)  # dividing by the variance would give 1/4
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)


def test_zero_variance_dimension_and_centering():
    fit = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    z = Standardizer().fit(fit)
    np.testing.assert_allclose(z.transform(fit)[:, 1], 0.0)
    np.testing.assert_allclose(z.transform([[3.0, 9.0]]), [[0.0, 2.0]])
    assert np.all(np.isfinite(z.transform(fit)))
    np.testing.assert_allclose(
        StandardScaler().fit(fit).transform([[3.0, 9.0]]), [[0.0, 2.0]]
    )  # same convention as scikit-learn
    np.testing.assert_allclose(Standardizer(scale=False).fit(fit).transform(fit)[:, 0], [-2, 0, 2])


def test_standardizer_errors():
    with pytest.raises(ValueError, match="fitted"):
        Standardizer().transform(np.ones((2, 2)))
    with pytest.raises(ValueError, match="two vectors"):
        Standardizer().fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="dimension"):
        Standardizer().fit(np.eye(3)).transform(np.ones((1, 4)))
    with pytest.raises(ValueError, match="2-D"):
        Standardizer().fit(np.ones(3))


def test_isotropy_summary_standardizing_removes_rogue_cosine():
    x = _rogue_space()
    states = np.stack([np.random.default_rng(2).normal(size=x.shape), x], axis=1)
    rows = isotropy_summary(states, list(range(len(x))), n_pairs=3000)
    assert len(rows) == 2
    assert abs(rows[0]["raw"]) < 0.05
    assert rows[1]["raw"] > 0.3 and rows[1]["top-1 dim"] == 5
    assert abs(rows[1]["z-scored"]) < 0.05 and abs(rows[1]["centered"]) < 0.05
