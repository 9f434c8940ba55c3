"""Tests for ch11lib.cache: one fingerprint keys every cache, and a fine-tuned model never reuses the
pretrained model's cached vectors.

The fine-tuned copy below keeps the pretrained model's ``_name_or_path``, its first parameter's first
rows (``[PAD]`` and ``[unused...]``, which fine-tuning never updates) and the sum of every parameter;
a cache keyed on any of those hands it stale vectors.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from tiny import tiny_bert_config
from transformers import BertModel

from ch11lib import resources, tagging, training, wsd


@pytest.fixture(scope="module")
def tokenizer():
    return resources.load_tokenizer("minilm")


@pytest.fixture(scope="module")
def pretrained(tokenizer) -> BertModel:
    torch.manual_seed(0)
    config = tiny_bert_config(vocab_size=len(tokenizer), max_position_embeddings=64)
    config._name_or_path = "the-same-name"
    return BertModel(config).eval()


def fine_tuned_copy(model: BertModel) -> BertModel:
    """What fine-tuning changes, and nothing that a partial fingerprint looks at."""
    tuned = copy.deepcopy(model)
    with torch.no_grad():
        # Rows far from the first 4,096 numbers of the word embeddings (row 1000 x hidden 16) and
        # the last layer's output weights, each permuted: every parameter keeps its sum.
        words = tuned.embeddings.word_embeddings.weight
        words[1000:] = words[1000:].flip(0)
        last = tuned.encoder.layer[-1].output.dense.weight
        last.copy_(last.flip(0))
    assert tuned.config._name_or_path == model.config._name_or_path
    for before, after in zip(model.parameters(), tuned.parameters(), strict=True):
        assert torch.isclose(before.double().sum(), after.double().sum())
    return tuned.eval()


def test_fingerprint_sees_every_tensor_and_nothing_else(pretrained) -> None:
    from ch11lib.cache import cache_key, model_fingerprint

    reference = model_fingerprint(pretrained)
    assert model_fingerprint(copy.deepcopy(pretrained)) == reference, "same weights, same key"
    for name, tensor in pretrained.state_dict().items():
        if not tensor.is_floating_point():
            continue  # position ids (a buffer): part of the hash, not a weight to change
        changed = copy.deepcopy(pretrained)
        with torch.no_grad():
            changed.state_dict()[name].view(-1)[-1] += 1.0  # the last number of each tensor
        assert model_fingerprint(changed) != reference, f"a change to {name} kept the fingerprint"
    assert model_fingerprint(fine_tuned_copy(pretrained)) != reference
    assert cache_key(pretrained, ["a"], 3) != cache_key(pretrained, ["a"], 4)
    assert cache_key(pretrained, ["a"], 3) == cache_key(copy.deepcopy(pretrained), ["a"], 3)


def test_encode_words_cache_tells_a_fine_tuned_model_apart(
    pretrained, tokenizer, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("CH11_CACHE", str(tmp_path))
    sentences = [["the", "river", "bank"], ["a", "loan", "from", "the", "bank"]]
    tuned = fine_tuned_copy(pretrained)
    with torch.no_grad():
        before = tagging.encode_words(pretrained, tokenizer, sentences, cache=True)
        cached = tagging.encode_words(tuned, tokenizer, sentences, cache=True)
        fresh = tagging.encode_words(tuned, tokenizer, sentences, cache=False)
    assert not torch.equal(before[1][0], fresh[1][0]), "the copy must compute other vectors"
    for (got, _), (expected, _) in zip(cached, fresh, strict=True):
        assert torch.equal(got, expected), "the fine-tuned model got the pretrained one's features"


def test_embed_cache_tells_a_fine_tuned_model_apart(pretrained, tokenizer, tmp_path) -> None:
    texts = ["the river bank", "a loan from the bank"]
    tuned = fine_tuned_copy(pretrained)
    before = training.embed(pretrained, tokenizer, texts, cache=tmp_path)
    cached = training.embed(tuned, tokenizer, texts, cache=tmp_path)
    fresh = training.embed(tuned, tokenizer, texts, cache=False)
    assert not np.array_equal(before, fresh), "the copy must compute other vectors"
    np.testing.assert_array_equal(cached, fresh)


def test_span_states_cache_tells_a_fine_tuned_model_apart(
    pretrained, tokenizer, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("CH11_CACHE", str(tmp_path))
    texts, spans = ["the river bank", "a loan from the bank"], [(10, 14), (16, 20)]
    tuned = fine_tuned_copy(pretrained)
    before = wsd.cached_span_states(pretrained, tokenizer, texts, spans)
    cached = wsd.cached_span_states(tuned, tokenizer, texts, spans)
    fresh = wsd.cached_span_states(tuned, tokenizer, texts, spans, cache=False)
    assert not np.array_equal(before["mean"], fresh["mean"]), "the copy must compute other vectors"
    for pooling in ("mean", "first"):
        np.testing.assert_array_equal(cached[pooling], fresh[pooling])


def test_atomic_writes_and_folder_replacement(tmp_path) -> None:
    from ch11lib.cache import atomic_save, atomic_write, replace_folder

    target = atomic_write(tmp_path / "a" / "x.npy", b"first")
    atomic_save(target, lambda partial: np.save(partial, np.arange(3)))  # numpy keeps the suffix
    np.testing.assert_array_equal(np.load(target), np.arange(3))
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.npy"], "a partial file was left"
    export = tmp_path / "export"
    for version in ("old", "new"):
        partial = tmp_path / f"partial-{version}"
        partial.mkdir()
        (partial / "weights").write_text(version)
        replace_folder(partial, export)
        assert (export / "weights").read_text() == version and not partial.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "export"], "a backup was left"
