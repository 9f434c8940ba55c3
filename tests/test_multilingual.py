"""Tests for ch11lib.multilingual: exponentiated language sampling."""

from collections import Counter

import numpy as np
import pytest

from ch11lib.multilingual import (
    LanguageSampler,
    exponentiated_probabilities,
    probabilities_from_counts,
    upweighting_factors,
)


def test_alpha_one_returns_p():
    p = np.array([0.7, 0.2, 0.1])
    np.testing.assert_allclose(exponentiated_probabilities(p, 1.0), p)


def test_matches_hand_computation_from_counts():
    counts = [900, 90, 10]
    p = np.array(counts) / 1000
    expected = p**0.3 / (p**0.3).sum()
    np.testing.assert_allclose(exponentiated_probabilities(counts, 0.3, counts=True), expected)
    # normalizing before or after exponentiating counts gives the same q
    raw = np.array(counts, float) ** 0.3
    np.testing.assert_allclose(expected, raw / raw.sum())


def test_small_alpha_flattens_toward_uniform_and_keeps_order():
    p = probabilities_from_counts([1000, 100, 10, 1])
    q = exponentiated_probabilities(p, 0.01)
    assert np.all(np.diff(q) < 0)  # still ordered by size
    np.testing.assert_allclose(q, 0.25, atol=0.03)
    assert q.sum() == pytest.approx(1.0)


def test_entropy_decreases_with_alpha():
    p = probabilities_from_counts([5000, 300, 20, 7])
    entropies = []
    for alpha in (0.1, 0.3, 0.7, 1.0):
        q = exponentiated_probabilities(p, alpha)
        entropies.append(-(q * np.log(q)).sum())
    assert entropies == sorted(entropies, reverse=True)


def test_upweighting_factor_low_resource_up_high_resource_down():
    f = upweighting_factors([1000, 10], 0.3, counts=True)
    assert f[0] < 1 < f[1]
    p = np.array([1000, 10]) / 1010
    np.testing.assert_allclose(f * p, exponentiated_probabilities(p, 0.3))


def test_single_language_and_zero_languages():
    np.testing.assert_allclose(exponentiated_probabilities([1.0], 0.3), [1.0])
    q = exponentiated_probabilities([10, 0, 5], 0.5, counts=True)
    assert q[1] == 0 and q.sum() == pytest.approx(1.0)
    assert upweighting_factors([10, 0, 5], 0.5, counts=True)[1] == 0


@pytest.mark.parametrize("alpha", [0, -0.5, 1.5, float("nan")])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        exponentiated_probabilities([0.5, 0.5], alpha)


@pytest.mark.parametrize(
    "values,counts",
    [([], True), ([0, 0], True), ([-1, 2], True), ([0.5, 0.6], False), ([[0.5, 0.5]], False)],
)
def test_bad_values(values, counts):
    with pytest.raises(ValueError):
        exponentiated_probabilities(values, 0.3, counts=counts)


def test_sampler_frequencies_follow_q_and_are_seeded():
    sizes = {"en": 10_000, "fr": 1_000, "yo": 10}
    sampler = LanguageSampler(sizes, alpha=0.3, seed=1)
    draws = sampler.sample(20_000)
    freq = Counter(draws)
    for language, q in sampler.probabilities.items():
        assert freq[language] / 20_000 == pytest.approx(q, abs=0.015)
    assert LanguageSampler(sizes, 0.3, seed=1).sample(50) == draws[:50]


def test_sample_batches_are_single_language():
    corpora = {"en": [f"en{i}" for i in range(100)], "yo": ["yo0", "yo1"]}
    sampler = LanguageSampler({k: len(v) for k, v in corpora.items()}, alpha=0.3, seed=0)
    batches = sampler.sample_batches(corpora, n_batches=40, batch_size=4)
    assert len(batches) == 40
    for language, texts in batches:
        assert len(texts) == 4 and all(t.startswith(language) for t in texts)
    assert {language for language, _ in batches} == {"en", "yo"}
    with pytest.raises(ValueError, match="languages"):
        sampler.sample_batches({"en": corpora["en"]}, 2, 2)


def test_resample_corpus_upweights_small_language():
    corpora = {"en": [f"en{i}" for i in range(990)], "yo": [f"yo{i}" for i in range(10)]}
    sampler = LanguageSampler({k: len(v) for k, v in corpora.items()}, alpha=0.3, seed=0)
    texts = sampler.resample_corpus(corpora, 2000)
    share = sum(t.startswith("yo") for t in texts) / len(texts)
    assert share == pytest.approx(sampler.probabilities["yo"], abs=0.03)
    assert share > 0.1  # 1% of the data, but about a fifth of the draws


def test_chatterbot_corpus_loads_skewed_languages():
    from ch11lib import resources

    corpora = resources.load_dataset("chatterbot-multilingual")
    assert len(corpora) >= 20 and {"english", "yoruba", "telugu"} <= set(corpora)
    sizes = sorted(sum(map(len, texts)) for texts in corpora.values())
    assert sizes[-1] > 100 * sizes[0]  # very unequal sizes
    assert all(isinstance(t, str) and t for texts in corpora.values() for t in texts)


def test_wordpiece_training_and_stats_match_tokenizers():
    from ch11lib.multilingual import split_texts, tokenization_stats, train_wordpiece

    texts = ["the cat sat on the mat", "the dog sat on the log", "cats and dogs"] * 20
    tokenizer = train_wordpiece(texts, vocab_size=60, limit_alphabet=30)
    held_out = ["the cat and the dog", "zebras sat"]
    stats = tokenization_stats(tokenizer, held_out)
    encodings = [tokenizer.encode(t) for t in held_out]
    pieces = sum(len(e.tokens) for e in encodings)
    words = sum(len(tokenizer.pre_tokenizer.pre_tokenize_str(t)) for t in held_out)
    unknown = sum(tok == "[UNK]" for e in encodings for tok in e.tokens)
    assert stats["fertility"] == pytest.approx(pieces / words)
    assert stats["unk_rate"] == pytest.approx(unknown / pieces)
    assert unknown > 0  # "z" and "b" never occur in training
    train, test = split_texts(list(range(10)), test_every=5)
    assert test == [4, 9] and len(train) == 8
    with pytest.raises(ValueError):
        tokenization_stats(tokenizer, [])
