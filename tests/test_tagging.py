"""Tests for ch11lib.tagging: alignment on real MiniLM tokenizations, decoding, the CRF, entity F1."""

from __future__ import annotations

import itertools
import random
import warnings

import numpy as np
import pytest
import torch
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities as seqeval_get_entities

from ch11lib import resources, tagging
from ch11lib.data.ner import NER_LABELS

LABEL = {name: i for i, name in enumerate(NER_LABELS)}


@pytest.fixture(scope="module")
def tokenizer():
    return resources.load_tokenizer("minilm")


# ------------------------------------------------------------------------------------------- alignment


def test_begin_to_inside_maps_every_b_to_its_i():
    mapping = tagging.begin_to_inside(NER_LABELS)
    assert {NER_LABELS[b]: NER_LABELS[i] for b, i in mapping.items()} == {
        "B-PER": "I-PER", "B-ORG": "I-ORG", "B-LOC": "I-LOC", "B-MISC": "I-MISC",
    }  # fmt: skip
    with pytest.raises(ValueError, match="no 'I-X'"):
        tagging.begin_to_inside(["O", "B-X"])


def test_align_labels_both_options_on_hand_made_word_ids():
    word_ids = [None, 0, 0, 0, 1, 2, 2, None]
    words = [LABEL["B-PER"], LABEL["O"], LABEL["B-LOC"]]
    b_to_i = tagging.begin_to_inside(NER_LABELS)
    every = tagging.align_labels(word_ids, words)
    assert every == [-100, 1, 1, 1, 0, 5, 5, -100]
    every_bi = tagging.align_labels(word_ids, words, b_to_i=b_to_i)
    assert every_bi == [-100, 1, 2, 2, 0, 5, 6, -100]
    first = tagging.align_labels(word_ids, words, label_all_subwords=False)
    assert first == [-100, 1, -100, -100, 0, 5, -100, -100]
    with pytest.raises(ValueError, match="outside"):
        tagging.align_labels([None, 3], words)


def _reference_alignment(tokenizer, words, labels, first_only):
    """Independent alignment through character offsets instead of word_ids()."""
    encoding = tokenizer(words, is_split_into_words=True, return_offsets_mapping=True)
    result, word = [], -1
    for token_id, (start, _end) in zip(
        encoding["input_ids"], encoding["offset_mapping"], strict=True
    ):
        if token_id in tokenizer.all_special_ids:
            result.append(-100)
            continue
        if start == 0:  # offsets restart at 0 for every pre-split word
            word += 1
            result.append(labels[word])
        else:
            result.append(-100 if first_only else labels[word])
    return result


@pytest.mark.parametrize("first_only", [False, True])
def test_alignment_matches_offsets_on_tricky_minilm_tokenizations(tokenizer, first_only):
    words = ["Zbigniew", "Wojciechowski", "left", "St.", "Petersburg", "(", "Russia", ")", "for"]
    words += ["Ouagadougou", "in", "1877", "!!"]
    labels = [1, 2, 0, 5, 6, 0, 5, 0, 0, 5, 0, 0, 0]
    encoded = tagging.tokenize_and_align(
        tokenizer, words, labels, label_all_subwords=not first_only
    )
    assert len(encoded["labels"]) == len(encoded["input_ids"])
    assert encoded["labels"] == _reference_alignment(tokenizer, words, labels, first_only)
    pieces = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    assert encoded["labels"][0] == encoded["labels"][-1] == -100
    assert sum(p.startswith("##") for p in pieces) >= 10  # words really split into many pieces


def test_alignment_with_truncation_drops_the_last_words(tokenizer):
    words = ["Ouagadougou", "Lumpur", "is", "far", "from", "Reykjavik"]
    labels = [5, 6, 0, 0, 0, 5]
    encoded = tagging.tokenize_and_align(tokenizer, words, labels, max_length=5)
    assert len(encoded["input_ids"]) == 5
    assert encoded["labels"][-1] == -100  # [SEP] survives truncation
    covered = max(encoded["word_ids"]) + 1
    assert covered < len(words)
    assert [lab for lab in encoded["labels"] if lab != -100][:1] == [5]


# -------------------------------------------------------------------------------------------- decoding


def test_word_probabilities_first_and_average():
    torch.manual_seed(0)
    word_ids = [None, 0, 0, 1, 2, 2, 2, None]
    logits = torch.randn(len(word_ids), 4)
    probs = logits.softmax(-1)
    first = tagging.word_probabilities(logits, word_ids, "first")
    torch.testing.assert_close(first, probs[[1, 3, 4]])
    average = tagging.word_probabilities(logits, word_ids, "average")
    expected = torch.stack([probs[1:3].mean(0), probs[3], probs[4:7].mean(0)])
    torch.testing.assert_close(average, expected)
    torch.testing.assert_close(average.sum(-1), torch.ones(3))
    with pytest.raises(ValueError, match="strategy"):
        tagging.word_probabilities(logits, word_ids, "last")
    with pytest.raises(ValueError, match="rows"):
        tagging.word_probabilities(logits[:3], word_ids)


# ------------------------------------------------------------------------------------------------- CRF


def _brute_force(crf, emissions):
    n, k = emissions.shape
    scores = {}
    for path in itertools.product(range(k), repeat=n):
        tags = torch.tensor([path])
        with torch.no_grad():
            scores[path] = float(crf.score(emissions[None], tags))
    return scores


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_crf_viterbi_and_log_partition_match_brute_force(length):
    torch.manual_seed(length)
    crf = tagging.CRF(3)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    for _ in range(3):
        emissions = torch.randn(length, 3)
        scores = _brute_force(crf, emissions)
        log_z = torch.logsumexp(torch.tensor(list(scores.values())), 0)
        torch.testing.assert_close(crf.log_partition(emissions[None])[0], log_z)
        assert tuple(crf.decode(emissions[None])[0]) == max(scores, key=scores.get)


def test_crf_respects_masks_and_probabilities_sum_to_one():
    torch.manual_seed(1)
    crf = tagging.CRF(3)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    emissions = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    paths = crf.decode(emissions, mask)
    assert len(paths[0]) == 4 and len(paths[1]) == 2
    short = crf.decode(emissions[1:, :2])[0]
    assert paths[1] == short
    torch.testing.assert_close(
        crf.log_partition(emissions, mask)[1], crf.log_partition(emissions[1:, :2])[0]
    )
    total = sum(
        crf.log_likelihood(emissions[1:, :2], torch.tensor([p])).exp().item()
        for p in itertools.product(range(3), repeat=2)
    )
    assert total == pytest.approx(1.0, abs=1e-5)
    padded = torch.tensor([[0, 1, 2, 0], [2, 1, -100, -100]])
    ll = crf.log_likelihood(emissions, padded, mask)
    torch.testing.assert_close(ll[1], crf.log_likelihood(emissions[1:, :2], padded[1:, :2])[0])
    with pytest.raises(ValueError, match="prefix"):
        crf.decode(emissions, torch.tensor([[1, 0, 1, 1], [1, 1, 1, 1]]))
    with pytest.raises(ValueError, match="emissions"):
        crf.decode(torch.randn(4, 3))


def test_crf_training_lowers_the_loss():
    torch.manual_seed(0)
    crf = tagging.CRF(4)
    emissions = torch.randn(8, 6, 4, requires_grad=False)
    tags = torch.randint(0, 4, (8, 6))
    optimizer = torch.optim.SGD(crf.parameters(), lr=0.1)
    before = float(crf(emissions, tags))
    for _ in range(20):
        optimizer.zero_grad()
        crf(emissions, tags).backward()
        optimizer.step()
    assert float(crf(emissions, tags)) < before


def test_constrained_crf_fixes_an_i_after_o():
    names = list(NER_LABELS)
    crf = tagging.CRF(len(names))
    crf.constrain_bio(names)
    emissions = torch.full((1, 3, len(names)), -5.0)
    emissions[0, 0, LABEL["O"]] = 2.0
    emissions[0, 1, LABEL["I-PER"]] = 2.0  # greedy reads O I-PER: ill-formed
    emissions[0, 1, LABEL["B-PER"]] = 1.5
    emissions[0, 2, LABEL["I-PER"]] = 2.0
    greedy = tagging.greedy_decode(emissions)[0].tolist()
    assert [names[t] for t in greedy] == ["O", "I-PER", "I-PER"]
    assert [names[t] for t in crf.decode(emissions)[0]] == ["O", "B-PER", "I-PER"]
    allowed, allowed_start = tagging.bio_allowed_transitions(names)
    assert not allowed[LABEL["O"], LABEL["I-LOC"]] and allowed[LABEL["B-LOC"], LABEL["I-LOC"]]
    assert not allowed_start[LABEL["I-PER"]] and allowed_start[LABEL["B-PER"]]


# ----------------------------------------------------------------------------------- entity-level F1


def _random_tags(rng, length):
    return [
        rng.choice(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]) for _ in range(length)
    ]


def test_get_entities_agrees_with_seqeval_on_random_ill_formed_sequences():
    rng = random.Random(0)
    for _ in range(2000):
        tags = _random_tags(rng, rng.randint(0, 9))
        expected = [(start, end, kind) for kind, start, end in seqeval_get_entities(tags)]
        assert tagging.get_entities(tags) == expected, tags
    nested = [_random_tags(rng, 4) for _ in range(3)]
    flat = [tag for sentence in nested for tag in [*sentence, "O"]]
    assert tagging.get_entities(nested) == tagging.get_entities(flat)
    assert tagging.get_entities(["B-PER", "I-PER", "O", "I-LOC"]) == [(0, 1, "PER"), (3, 3, "LOC")]
    with pytest.raises(TypeError, match="non-empty strings"):
        tagging.get_entities(["B-PER", ""])


def test_entity_scores_agree_with_seqeval_on_random_corpora():
    rng = random.Random(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on zero division
        for _ in range(300):
            lengths = [rng.randint(1, 8) for _ in range(rng.randint(1, 4))]
            y_true = [_random_tags(rng, n) for n in lengths]
            y_pred = [
                [t if rng.random() < 0.6 else rng.choice(["O", "B-PER", "I-LOC"]) for t in s]
                for s in y_true
            ]
            ours = tagging.entity_scores(y_true, y_pred)
            assert ours["precision"] == pytest.approx(precision_score(y_true, y_pred))
            assert ours["recall"] == pytest.approx(recall_score(y_true, y_pred))
            assert ours["f1"] == pytest.approx(f1_score(y_true, y_pred))
    # By hand: gold PER(0-1), LOC(3); predicted PER(0) (wrong boundary), LOC(3) (I- starts an entity).
    scores = tagging.entity_scores(
        [["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "I-LOC"]]
    )
    assert scores == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    empty = tagging.entity_scores([["O", "O"]], [["O", "O"]])
    assert empty == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    with pytest.raises(ValueError, match="tags"):
        tagging.entity_scores([["O"]], [["O", "O"]])


# ------------------------------------------------------------------------------ frozen-encoder features


def test_encode_words_matches_one_by_one_and_caches(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("CH11_CACHE", str(tmp_path))
    model = resources.load_model("minilm")
    sentences = [
        ["Ouagadougou", "is", "far", "away", "from", "here"],
        ["Hi", "!"],
        ["Zbigniew", "left"],
    ]
    features = tagging.encode_words(model, tokenizer, sentences, batch_size=2, cache=True)
    assert list(tmp_path.glob("features/*.pt")), "the features were not cached"
    for words, (hidden, word_ids) in zip(sentences, features, strict=True):
        alone = tokenizer(words, is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            expected = model(**alone).last_hidden_state[0]
        assert word_ids == alone.word_ids()
        torch.testing.assert_close(hidden, expected, atol=1e-4, rtol=1e-4)
    again = tagging.encode_words(model, tokenizer, sentences, batch_size=2, cache=True)
    for (a, ids_a), (b, ids_b) in zip(features, again, strict=True):
        assert torch.equal(a, b) and ids_a == ids_b
    with pytest.raises(ValueError, match="no sentences"):
        tagging.encode_words(model, tokenizer, [])


def test_sentence_counts_sum_to_seqeval_scores_and_catch_misuse():
    gold = [["B-PER", "I-PER", "O"], ["O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG"], []]
    pred = [["B-PER", "O", "O"], ["O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG"], []]
    counts = tagging.sentence_entity_counts(gold, pred)
    assert counts.tolist() == [[0, 1, 1, 0, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]
    reference = tagging.entity_scores(gold, pred)
    total = counts.sum(axis=0)
    assert tagging.precision_of(total) == pytest.approx(reference["precision"])
    assert tagging.recall_of(total) == pytest.approx(reference["recall"])
    assert tagging.f1_of(total) == pytest.approx(reference["f1"])
    assert tagging.multiword_recall_of(total) == pytest.approx(1 / 2)
    assert tagging.f1_of(np.zeros(5)) == 0.0  # nothing predicted, nothing gold
    with pytest.raises(ValueError, match="2 gold tags but 1"):
        tagging.sentence_entity_counts([["O", "O"]], [["O"]])


def test_paired_bootstrap_is_the_error_of_the_difference():
    rng = np.random.default_rng(0)
    gold = [["B-PER", "I-PER", "O", "B-LOC"] for _ in range(60)]
    better = [g if rng.random() < 0.8 else ["O"] * 4 for g in gold]
    worse = [g if rng.random() < 0.4 else ["B-PER", "O", "O", "O"] for g in gold]
    a, b = tagging.sentence_entity_counts(gold, better), tagging.sentence_entity_counts(gold, worse)
    gap, se = tagging.paired_bootstrap(a, b, tagging.f1_of, resamples=500, seed=1)
    assert gap == pytest.approx(tagging.f1_of(a.sum(0)) - tagging.f1_of(b.sum(0)))
    assert 0 < se < abs(gap)
    # the same system twice: no gap and no spread, however the sentences are drawn
    assert tagging.paired_bootstrap(a, a, tagging.f1_of) == (0.0, 0.0)
    with pytest.raises(ValueError, match="same, non-empty shape"):
        tagging.paired_bootstrap(a, b[:-1], tagging.f1_of)
    with pytest.raises(ValueError, match="at least 2"):
        tagging.paired_bootstrap(a, b, tagging.f1_of, resamples=1)
