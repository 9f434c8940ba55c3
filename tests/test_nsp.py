"""Tests for ch11lib.nsp: pair construction, longest-first encoding, and the MLM + NSP loss."""

from __future__ import annotations

import random

import pytest
import torch
from tiny import tiny_bert_config
from transformers import BertForPreTraining

from ch11lib import resources
from ch11lib.masking import IGNORE_INDEX
from ch11lib.nsp import (
    IS_NEXT,
    NOT_NEXT,
    collate_pairs,
    encode_pair,
    make_nsp_pairs,
    make_packed_nsp_pairs,
    nsp_loss,
    pretraining_loss,
    truncate_longest_first,
)


@pytest.fixture(scope="module")
def tokenizer():
    return resources.load_tokenizer("minilm")


def synthetic_documents(n_documents: int = 400, seed: int = 0) -> list[list[str]]:
    """Documents whose sentences name their own position: ``"d12 s3"``."""
    rng = random.Random(seed)
    return [[f"d{d} s{s}" for s in range(rng.randint(1, 60))] for d in range(n_documents)]


def parse(sentence: str) -> tuple[int, int]:
    document, position = sentence.split()
    return int(document[1:]), int(position[1:])


def test_pairs_are_half_true_half_from_another_document():
    documents = synthetic_documents()
    pairs = make_nsp_pairs(documents, seed=1)
    assert len(pairs) == sum(len(d) - 1 for d in documents) > 10_000
    negatives = sum(pair.label == NOT_NEXT for pair in pairs)
    assert abs(negatives / len(pairs) - 0.5) < 0.02
    for pair in pairs:
        (d_a, s_a), (d_b, s_b) = parse(pair.first), parse(pair.second)
        assert (d_a, pair.first_document) == (pair.first_document, d_a)
        if pair.label == IS_NEXT:
            assert d_b == d_a and s_b == s_a + 1, "a positive is not the next sentence"
        else:
            assert pair.label == NOT_NEXT
            assert d_b != d_a and d_b == pair.second_document, (
                "a negative came from its own document"
            )
    # another document is drawn uniformly: every document serves as a negative source
    sources = {pair.second_document for pair in pairs if pair.label == NOT_NEXT}
    assert len(sources) > 0.95 * len(documents)


def test_pairs_are_seeded():
    documents = synthetic_documents(50)
    assert make_nsp_pairs(documents, seed=3) == make_nsp_pairs(documents, seed=3)
    assert make_nsp_pairs(documents, seed=3) != make_nsp_pairs(documents, seed=4)
    all_negative = make_nsp_pairs(documents, negative_probability=1.0)
    assert all(pair.label == NOT_NEXT for pair in all_negative)


def test_packed_pairs():
    rng = random.Random(0)
    documents = [
        [
            [100_000 * d + 100 * s + t for t in range(rng.randint(3, 25))]
            for s in range(rng.randint(2, 30))
        ]
        for d in range(300)
    ]
    flat = [[t for s in d for t in s] for d in documents]
    pairs = make_packed_nsp_pairs(documents, 64, seed=2)
    assert abs(sum(p.label for p in pairs) / len(pairs) - 0.5) < 0.03
    for pair in pairs:
        document = flat[pair.first_document]
        start = document.index(pair.first[0])
        assert document[start : start + len(pair.first)] == pair.first, "A is not contiguous text"
        if pair.label == IS_NEXT:
            end = start + len(pair.first)
            assert document[end : end + len(pair.second)] == pair.second, "B does not follow A"
        else:
            assert pair.second_document != pair.first_document
            assert all(t // 100_000 == pair.second_document for t in pair.second)
    assert make_packed_nsp_pairs(documents, 64, seed=2) == pairs
    with pytest.raises(ValueError, match="max_length"):
        make_packed_nsp_pairs(documents, 4)


def test_errors_on_bad_documents():
    with pytest.raises(ValueError, match="at least 2 documents"):
        make_nsp_pairs([["one sentence.", "another."]])
    with pytest.raises(ValueError, match="document 1 is empty"):
        make_nsp_pairs([["a.", "b."], []])
    with pytest.raises(TypeError, match="list of sentences"):
        make_nsp_pairs(["a. b.", "c. d."])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        make_nsp_pairs([["a.", "b."], ["c."]], negative_probability=1.5)


WORDS = "the cat sat on a mat while unbelievable dogs ran across green hyperparameters".split()


def test_encoding_matches_the_tokenizer(tokenizer):
    rng = random.Random(0)
    for _ in range(300):
        a = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
        b = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
        max_length = rng.randint(3, 50)
        reference = tokenizer(a, b, truncation="longest_first", max_length=max_length)
        ours = encode_pair(tokenizer, a, b, max_length)
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            assert ours[key] == reference[key], (key, a, b, max_length)
        # the same with token ids as input
        ids_a = tokenizer(a, add_special_tokens=False)["input_ids"]
        ids_b = tokenizer(b, add_special_tokens=False)["input_ids"]
        assert encode_pair(tokenizer, ids_a, ids_b, max_length) == ours


def test_segment_ids(tokenizer):
    encoding = encode_pair(tokenizer, "the cat sat.", "it was happy.", 64)
    ids, types = encoding["input_ids"], encoding["token_type_ids"]
    first_sep = ids.index(tokenizer.sep_token_id)
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert types[: first_sep + 1] == [0] * (first_sep + 1)
    assert types[first_sep + 1 :] == [1] * (len(ids) - first_sep - 1)
    batch = collate_pairs([encoding, encode_pair(tokenizer, "a", "b", 64)], tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, len(ids))
    assert (
        batch["attention_mask"][1].sum() == 5
        and batch["input_ids"][1, -1] == tokenizer.pad_token_id
    )


def test_truncate_longest_first():
    assert truncate_longest_first([1, 2, 3, 4, 5, 6], [7, 8], 5) == ([1, 2, 3], [7, 8])
    assert truncate_longest_first([1, 2], [3, 4, 5, 6, 7, 8], 5) == ([1, 2], [3, 4, 5])
    assert truncate_longest_first([1, 2, 3], [4, 5, 6], 5) == ([1, 2], [4, 5, 6])
    assert truncate_longest_first([1], [2], 5) == ([1], [2])
    with pytest.raises(ValueError):
        encode_pair(resources.load_tokenizer("minilm"), "a", "b", 2)


def test_pretraining_loss_matches_bert_for_pretraining():
    torch.manual_seed(0)
    config = tiny_bert_config(
        vocab_size=120, hidden_size=32, intermediate_size=64, max_position_embeddings=16
    )
    model = BertForPreTraining(config).eval()
    input_ids = torch.randint(5, 120, (4, 12))
    labels = torch.full((4, 12), IGNORE_INDEX)
    labels[:, 3] = input_ids[:, 3]
    labels[1, 7] = input_ids[1, 7]
    next_sentence = torch.tensor([0, 1, 1, 0])
    with torch.no_grad():
        outputs = model(input_ids=input_ids, labels=labels, next_sentence_label=next_sentence)
    ours = pretraining_loss(
        outputs.prediction_logits, labels, outputs.seq_relationship_logits, next_sentence
    )
    assert torch.allclose(ours.total, outputs.loss, atol=1e-6)
    assert torch.allclose(ours.total, ours.mlm + ours.nsp)
    # projecting only the sampled positions gives the same loss
    sampled = labels != IGNORE_INDEX
    gathered = pretraining_loss(
        outputs.prediction_logits[sampled],
        labels[sampled],
        outputs.seq_relationship_logits,
        next_sentence,
    )
    assert torch.allclose(gathered.total, outputs.loss, atol=1e-6)
    with pytest.raises(ValueError, match="0 \\(IsNext\\) or 1"):
        nsp_loss(outputs.seq_relationship_logits, torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="\\[batch, 2\\]"):
        nsp_loss(torch.randn(4, 3), next_sentence)
