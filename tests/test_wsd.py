"""Tests for ch11lib.wsd: WordNet sense-tagged data, sense embeddings, 1-NN, baselines, discourse."""

import numpy as np
import pytest

from ch11lib import wsd
from ch11lib.data.wordnet import load_wordnet


@pytest.fixture(scope="module")
def wn():
    return load_wordnet()


@pytest.fixture(scope="module")
def examples():
    return wsd.load_examples()


def test_locate_lemma_inflections_and_multiword(wn):
    assert wsd.locate_lemma("They pulled the canoes up.", "canoe", "n", wn) == (16, 22)
    sentence = "The plane took off at dawn, taking off again later."
    assert wsd.locate_lemma(sentence, "take_off", "v", wn) == (10, 18)
    assert wsd.locate_lemma("Things got worse quickly.", "bad", "a", wn) == (11, 16)
    assert wsd.locate_lemma("A banking crisis.", "bank", "n", wn) is None
    assert wsd.locate_lemma("The well-known actor.", "well-known", "s", wn) == (4, 14)


def test_split_is_deterministic_and_proportional(examples):
    assert wsd.split_of("bank.n.01#0") == wsd.split_of("bank.n.01#0")
    shares = {s: np.mean([e.split == s for e in examples]) for s in ("train", "validation", "test")}
    assert shares["test"] == pytest.approx(0.20, abs=0.02)
    assert shares["validation"] == pytest.approx(0.15, abs=0.02)


def test_asset_is_consistent_with_wordnet(wn, examples):
    assert 40_000 < len(examples) < 50_000
    by_id = {e.id: e for e in examples}
    names = ["bank.n.01", "take_off.v.01", "good.a.01", "run.v.01", "mouse.n.04", "bass.n.07"]
    rebuilt = wsd.examples_from_synsets([wn.synset(n) for n in names], wn)
    assert rebuilt, "no example found for the probe synsets"
    for e in rebuilt:
        assert by_id[e.id] == e
    rng = np.random.default_rng(0)
    for i in rng.choice(len(examples), size=300, replace=False):
        e = examples[i]
        assert e.synset in e.candidates, e
        assert e.target.strip() and e.lemma.split("_")[0][:1] in e.target.lower() + e.lemma
        assert e.candidates == wsd.candidate_senses(e.lemma, e.pos, wn)


def test_candidate_senses_share_lemma_and_pos(wn):
    senses = wsd.candidate_senses("bank", "n", wn)
    assert senses[0] == "bank.n.01" and len(senses) == 10
    assert all(s.split(".")[1] == "n" for s in senses)
    adjectives = wsd.candidate_senses("good", "s", wn)
    assert "good.a.01" in adjectives and any(".s." in s for s in adjectives)


def test_sense_embeddings_are_means():
    vectors = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0]])
    means = wsd.sense_embeddings(vectors, ["a", "a", "b"])
    np.testing.assert_allclose(means["a"], [2.0, 1.0])
    np.testing.assert_allclose(means["b"], [0.0, 5.0])
    with pytest.raises(ValueError, match="one sense per row"):
        wsd.sense_embeddings(vectors, ["a"])


def test_nearest_sense_uses_cosine_not_dot_product():
    names = ["long", "aligned"]
    vectors = np.array([[10.0, 10.0], [1.0, 0.1]])  # the long vector wins a dot product
    target = np.array([1.0, 0.0])
    assert float(vectors[0] @ target) > float(vectors[1] @ target)
    sense, score = wsd.nearest_sense(target, names, vectors)
    assert sense == "aligned" and score == pytest.approx(1 / np.sqrt(1.01))
    with pytest.raises(ValueError, match="no candidate"):
        wsd.nearest_sense(target, [], np.zeros((0, 2)))


def test_candidate_vectors_modes():
    means = {"s1": np.array([1.0, 0.0])}
    glosses = {("w", "s1"): np.array([0.0, 2.0]), ("w", "s2"): np.array([3.0, 4.0])}
    names, rows = wsd.candidate_vectors("w", ["s1", "s2"], means, glosses, "none")
    assert names == ["s1"]
    names, rows = wsd.candidate_vectors("w", ["s1", "s2"], means, glosses, "fallback")
    assert names == ["s1", "s2"]
    np.testing.assert_allclose(rows, [[1, 0], [3, 4]])
    _, rows = wsd.candidate_vectors("w", ["s1", "s2"], means, glosses, "mix")
    np.testing.assert_allclose(rows[0], [0.5, 0.5])
    _, rows = wsd.candidate_vectors("w", ["s1", "s2"], means, glosses, "only")
    np.testing.assert_allclose(rows, [[0, 2], [3, 4]])
    with pytest.raises(ValueError, match="gloss_vectors"):
        wsd.candidate_vectors("w", ["s1"], means, None, "fallback")


def test_one_sense_per_discourse_majority_and_ties():
    predictions = ["a", "b", "a", "c", "c", "d"]
    lemmas = ["x", "x", "x", "x", "y", "y"]
    discourses = [0, 0, 0, 1, 1, 1]
    out = wsd.one_sense_per_discourse(predictions, lemmas, discourses)
    assert out == ["a", "a", "a", "c", "c", "c"]  # y in discourse 1: tie c/d, first appearance
    scores = [0.1, 0.9, 0.1, 0.5, 0.2, 0.8]
    out = wsd.one_sense_per_discourse(predictions, lemmas, discourses, scores)
    assert out[4:] == ["d", "d"]  # tie broken by the stronger cosine
    with pytest.raises(ValueError):
        wsd.one_sense_per_discourse(["a"], ["x", "y"], [0])


def test_make_discourses_groups_same_lemma_and_sense(examples):
    test = [e for e in examples if e.split == "test"][:400]
    ids = wsd.make_discourses(test, size=3, same_sense=True)
    groups = {}
    for e, d in zip(test, ids, strict=True):
        groups.setdefault(d, []).append(e)
    assert all(len(g) <= 3 for g in groups.values())
    assert all(len({(e.lemma_key, e.synset) for e in g}) == 1 for g in groups.values())
    mixed = wsd.make_discourses(test, size=3, same_sense=False)
    assert mixed == wsd.make_discourses(test, size=3, same_sense=False)


def test_baselines_and_breakdown(examples):
    from nltk.wsd import lesk

    test = [e for e in examples if e.split == "test" and len(e.candidates) > 1][:60]
    gold = [e.synset for e in test]
    assert wsd.most_frequent_sense(test) == [e.candidates[0] for e in test]
    randoms = wsd.random_sense(test, seed=3)
    assert randoms == wsd.random_sense(test, seed=3)
    assert all(r in e.candidates for r, e in zip(randoms, test, strict=True))
    wn = load_wordnet()
    e = test[0]
    expected = lesk(
        [m.group() for m in wsd.TOKEN_PATTERN.finditer(e.sentence)],
        e.lemma,
        synsets=[wn.synset(s) for s in e.candidates],
    )
    assert wsd.lesk_senses([e]) == [expected.name()]
    table = wsd.breakdown(test, {"gold": gold, "mfs": wsd.most_frequent_sense(test)})
    assert table["all"]["gold"] == 1.0 and table["all"]["n"] == len(test)
    assert sum(v["n"] for k, v in table.items() if k.startswith("pos=")) == len(test)


def test_cached_embeddings_and_gloss_contexts(tmp_path, monkeypatch, examples):
    import torch

    from ch11lib import resources
    from ch11lib.embeddings import embed_spans

    torch.set_num_threads(1)
    monkeypatch.setenv("CH11_CACHE", str(tmp_path))
    model, tokenizer = resources.load_model("minilm"), resources.load_tokenizer("minilm")
    sample = [e for e in examples if e.split == "test"][:5]
    texts, spans = [e.sentence for e in sample], [(e.start, e.end) for e in sample]
    first = wsd.cached_span_states(model, tokenizer, texts, spans)
    assert list((tmp_path / "embeddings").glob("*.npz"))
    again = wsd.cached_span_states(model, tokenizer, texts, spans)
    np.testing.assert_array_equal(first["mean"], again["mean"])
    direct = embed_spans(model, tokenizer, texts, spans, pooling="first", layers="last")
    np.testing.assert_allclose(first["first"][:, -1], direct, atol=1e-5)
    keys, gloss_texts, gloss_spans = wsd.gloss_contexts(sample[:1])
    assert len(keys) == len(sample[0].candidates)
    text, span = gloss_texts[0], gloss_spans[0]
    assert text[span[0] : span[1]] == keys[0][0].replace("_", " ") and ": " in text
