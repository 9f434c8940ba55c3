"""Tests for ch11lib.embeddings on the real MiniLM, checked against hidden states computed by hand."""

import numpy as np
import pytest
import torch
from tolerances import cross_kernel_atol

from ch11lib import resources
from ch11lib.embeddings import (
    embed_spans,
    embed_word,
    find_word,
    layer_indices,
    pieces_for_span,
    select_layers,
    span_states,
    word_index_states,
)


@pytest.fixture(scope="module")
def minilm():
    torch.set_num_threads(1)
    return resources.load_model("minilm"), resources.load_tokenizer("minilm")


def _manual(model, tokenizer, text, piece_ids, layers, pooling):
    with torch.no_grad():
        enc = tokenizer(text, return_tensors="pt")
        hidden = model(**enc, output_hidden_states=True).hidden_states
    stacked = torch.stack([hidden[i][0] for i in layers])  # (layers, seq, dim)
    pooled = stacked[:, piece_ids].mean(1) if pooling == "mean" else stacked[:, piece_ids[0]]
    return pooled.mean(0).numpy()


def test_find_word_whole_words_case_and_punctuation():
    text = "Banking at the Bank, then the (bank) again."
    assert find_word(text, "bank") == (15, 19)
    assert find_word(text, "bank", 1) == (31, 35)
    with pytest.raises(ValueError, match="occurs 2 time"):
        find_word(text, "bank", 2)
    with pytest.raises(ValueError, match="occurs 1 time"):
        find_word(text, "Bank", 1, case_sensitive=True)


def test_pieces_for_span_skips_special_tokens():
    offsets = [(0, 0), (0, 3), (3, 6), (7, 9), (0, 0)]
    assert pieces_for_span(offsets, 0, 6) == [1, 2]
    assert pieces_for_span(offsets, 7, 9) == [3]
    with pytest.raises(ValueError):
        pieces_for_span(offsets, 5, 5)


def test_layer_indices():
    assert layer_indices("last", 6) == [6]
    assert layer_indices("last4", 6) == [3, 4, 5, 6]
    assert layer_indices("all", 2) == [0, 1, 2]
    assert layer_indices([-1, 0], 6) == [6, 0]
    for bad in ("first", "last9", 7, []):
        with pytest.raises(ValueError):
            layer_indices(bad, 6)


def test_word_split_into_many_pieces_matches_manual(minilm):
    model, tokenizer = minilm
    text = "Antidisestablishmentarianism puzzles the Students."
    word = "Antidisestablishmentarianism"
    enc = tokenizer(text)
    pieces = [i for i, w in enumerate(enc.word_ids()) if w == 0]
    assert len(pieces) >= 4, tokenizer.convert_ids_to_tokens(enc["input_ids"])
    for pooling in ("mean", "first"):
        for layers in ("last", "last4"):
            ours = embed_word(model, tokenizer, text, word, pooling=pooling, layers=layers)
            manual = _manual(model, tokenizer, text, pieces, layer_indices(layers, 6), pooling)
            np.testing.assert_allclose(ours, manual, atol=1e-5)
    mean_vec = embed_word(model, tokenizer, text, word, pooling="mean")
    first_vec = embed_word(model, tokenizer, text, word, pooling="first")
    assert not np.allclose(mean_vec, first_vec, atol=1e-3)


def test_casing_and_punctuation_do_not_change_uncased_pieces(minilm):
    model, tokenizer = minilm
    a = embed_word(model, tokenizer, "The STUDENTS read.", "students")
    b = embed_word(model, tokenizer, "The students read.", "students")
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_same_word_in_two_contexts_differs(minilm):
    model, tokenizer = minilm
    river = embed_word(model, tokenizer, "We sat on the bank of the river.", "bank")
    money = embed_word(model, tokenizer, "She deposited the cheque at the bank.", "bank")
    money2 = embed_word(model, tokenizer, "The bank approved my loan.", "bank")

    def cos(u, v):
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    assert cos(river, money) < 0.99
    assert cos(money, money2) > cos(river, money)


def test_batched_equals_one_by_one_and_word_index_api(minilm):
    model, tokenizer = minilm
    texts = [
        "A mouse ran under the table.",
        "Click the left mouse button twice, please!",
        "The bass was delicious.",
        "He plays bass in a band that tours a lot every summer.",
    ]
    words = ["mouse", "mouse", "bass", "bass"]
    spans = [find_word(t, w) for t, w in zip(texts, words, strict=True)]
    batched = embed_spans(model, tokenizer, texts, spans, batch_size=3, layers="last4")
    # padded batches and single sentences run the same sums in other blockings: float32 tolerance
    tolerance = cross_kernel_atol(batched, model.config.hidden_size)
    for i in range(4):
        single = embed_word(model, tokenizer, texts[i], words[i], layers="last4")
        np.testing.assert_allclose(batched[i], single, rtol=0, atol=tolerance)
    # word-index API on pre-split words gives the same vectors as character offsets
    split = [t.replace(",", " ,").replace(".", " .").replace("!", " !").split() for t in texts]
    index = [s.index(w) for s, w in zip(split, words, strict=True)]
    by_index = select_layers(
        word_index_states(model, tokenizer, split, index, batch_size=2)["mean"], "last4"
    )
    np.testing.assert_allclose(by_index, batched, rtol=0, atol=tolerance)


def test_span_states_shapes_and_select_layers(minilm):
    model, tokenizer = minilm
    states = span_states(model, tokenizer, ["one bank"], [(4, 8)], poolings=("mean", "first"))
    assert states["mean"].shape == (1, 7, 384)
    np.testing.assert_allclose(select_layers(states["mean"], "last"), states["mean"][:, 6])
    with pytest.raises(ValueError, match="spans"):
        span_states(model, tokenizer, ["a b"], [(0, 1), (2, 3)])
    with pytest.raises(ValueError, match="span"):
        span_states(model, tokenizer, ["a b"], [(2, 9)])
    with pytest.raises(ValueError, match="truncated"):
        embed_spans(model, tokenizer, ["word " * 50 + "bank"], [(250, 254)], max_length=16)
    with pytest.raises(ValueError, match="pooling"):
        span_states(model, tokenizer, ["a b"], [(0, 1)], poolings=("max",))
