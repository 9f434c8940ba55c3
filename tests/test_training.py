"""Tests for ch11lib.training: the explicit loop learns, is deterministic, freezes what it should."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny import tiny_bert_config
from transformers import BertModel

from ch11lib import resources
from ch11lib.heads import SequenceClassifier, TopLayersClassifier
from ch11lib.training import (
    cache_layer_inputs,
    count_parameters,
    embed,
    evaluate,
    fit_logistic_regression,
    freeze,
    majority_baseline,
    make_batches,
    make_trainer,
    train,
)

WORDS_POSITIVE = ["good", "great", "fine", "lovely", "happy"]
WORDS_NEGATIVE = ["bad", "awful", "poor", "sad", "terrible"]


@pytest.fixture(scope="module")
def tokenizer():
    return resources.load_tokenizer("minilm")


def _toy_data(n: int = 64) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        word = rng.choice(WORDS_POSITIVE if label else WORDS_NEGATIVE)
        texts.append(f"the film was {word} today")
        labels.append(label)
    return texts, labels


def _tiny_model(seed: int = 0) -> SequenceClassifier:
    torch.manual_seed(seed)
    config = tiny_bert_config(
        vocab_size=30522, hidden_size=32, intermediate_size=64, max_position_embeddings=64
    )
    return SequenceClassifier(BertModel(config), 2, pooling="mean")


def test_training_reduces_loss_and_is_deterministic(tokenizer) -> None:
    texts, labels = _toy_data()
    batches = make_batches(tokenizer, texts, labels, batch_size=16, shuffle=True, seed=0)
    runs = []
    for _ in range(2):
        model = _tiny_model()
        before = evaluate(model, batches)["loss"]
        history = train(model, batches, batches, epochs=6, lr=5e-3, progress=False)
        after = evaluate(model, batches)
        runs.append(history.step_losses)
        assert after["loss"] < before - 0.05, (before, after)
        assert after["accuracy"] >= 0.9
        assert len(history.eval_metrics) == 6 and history.seconds > 0
    assert runs[0] == runs[1]  # same seed, same numbers


def test_bucketing_keeps_every_example_and_cuts_padding(tokenizer) -> None:
    texts = ["a"] * 8 + ["a much longer sentence with many more words in it"] * 8
    labels = list(range(16))
    plain = make_batches(tokenizer, texts, labels, batch_size=4, shuffle=True, seed=1)
    bucketed = make_batches(
        tokenizer, texts, labels, batch_size=4, shuffle=True, seed=1, bucket_by_length=True
    )
    assert sorted(torch.cat([b["labels"] for b in bucketed]).tolist()) == labels
    padded = sum(b["input_ids"].numel() for b in bucketed)
    assert padded < sum(b["input_ids"].numel() for b in plain)
    assert padded == sum(int(b["attention_mask"].sum()) for b in bucketed)


def test_freeze_trains_only_the_head(tokenizer) -> None:
    texts, labels = _toy_data(32)
    batches = make_batches(tokenizer, texts, labels, batch_size=16)
    model = freeze(_tiny_model())
    assert count_parameters(model, trainable_only=True) == 32 * 2 + 2
    encoder_before = [p.clone() for p in model.encoder.parameters()]
    head_before = model.classifier.weight.clone()
    train(model, batches, epochs=1, lr=1e-2, progress=False)
    assert all(
        torch.equal(a, b) for a, b in zip(encoder_before, model.encoder.parameters(), strict=True)
    )
    assert not torch.equal(head_before, model.classifier.weight)
    freeze(model, train_top_layers=1)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert any(name.startswith("encoder.encoder.layer.1.") for name in trainable)
    assert not any(name.startswith("encoder.encoder.layer.0.") for name in trainable)
    with pytest.raises(ValueError, match="train_top_layers"):
        freeze(model, train_top_layers=3)


def test_top_layers_on_cached_inputs_learn(tokenizer) -> None:
    texts, labels = _toy_data()
    model = _tiny_model()
    batches = make_batches(tokenizer, texts, labels, batch_size=16)
    cached = cache_layer_inputs(model.encoder, batches, first_layer=1)
    assert cached[0]["hidden_states"].shape[:2] == batches[0]["input_ids"].shape
    top = TopLayersClassifier(model.encoder, first_layer=1, num_labels=2, pooling="mean")
    before = evaluate(top, cached)["loss"]
    train(top, cached, epochs=6, lr=5e-3, progress=False)
    assert evaluate(top, cached)["loss"] < before - 0.05


def test_embed_cache_and_logistic_regression(tokenizer, tmp_path) -> None:
    texts, labels = _toy_data(40)
    model = _tiny_model()
    vectors = embed(model.encoder, tokenizer, texts, pooling="mean", cache=tmp_path)
    assert vectors.shape == (40, 32) and vectors.dtype == np.float32
    assert len(list(tmp_path.glob("*.npy"))) == 1
    again = embed(model.encoder, tokenizer, texts, pooling="mean", cache=tmp_path)
    np.testing.assert_array_equal(vectors, again)
    classifier = fit_logistic_regression(vectors, labels)
    assert classifier.score(vectors, labels) >= 0.9
    assert majority_baseline([0, 0, 1], [0, 1, 1, 1]) == 0.25
    with pytest.raises(ValueError, match="labels"):
        fit_logistic_regression(vectors, labels[:3])


def test_bad_arguments(tokenizer) -> None:
    with pytest.raises(ValueError, match="epochs"):
        train(_tiny_model(), [{}], epochs=0)
    with pytest.raises(ValueError, match="no texts"):
        make_batches(tokenizer, [])
    with pytest.raises(ValueError, match="labels"):
        make_batches(tokenizer, ["a", "b"], [1])


def test_trainer_helper_runs(tokenizer, tmp_path) -> None:
    texts, labels = _toy_data(32)
    dataset = Dataset.from_dict({"text": texts, "label": labels})
    dataset = dataset.map(
        lambda rows: tokenizer(rows["text"]), batched=True, remove_columns=["text"]
    )
    dataset = dataset.rename_column("label", "labels")
    trainer = make_trainer(
        _tiny_model(),
        tokenizer,
        dataset,
        dataset,
        output_dir=tmp_path,
        epochs=6,
        lr=5e-3,
        batch_size=8,
    )
    trainer.train()
    metrics = trainer.evaluate()
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    assert metrics["eval_loss"] < 0.68
