"""The course's own pretrained BERT: it loads through resources, fills masks, matches its model card.

The held-out accuracies reported in the model card (``training_log.json``) are recomputed here on a
prefix of the same held-out evaluation set, with the library's evaluation code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from shipped_models import shipped_model_fixtures
from transformers import BertForPreTraining, pipeline

from ch11lib import resources
from ch11lib.pretraining import (
    cached_corpus_split,
    evaluate_pretraining,
    heldout_batches,
    tokenize_documents,
)

SIZE_LIMIT_BYTES = 25 * 2**20


@pytest.fixture(scope="module")
def location() -> Path:
    return Path(resources.model_location("course-bert"))


model, tokenizer, log = shipped_model_fixtures("course-bert", BertForPreTraining)


def test_files_and_size_limit(location, model, tokenizer):
    files = {path.name for path in location.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "training_log.json"} <= files
    assert "tokenizer.json" in files or "vocab.txt" in files
    total = sum(path.stat().st_size for path in location.iterdir() if path.is_file())
    assert total < SIZE_LIMIT_BYTES, f"course-bert takes {total / 2**20:.1f} MiB (limit 25)"
    assert isinstance(model, BertForPreTraining)
    assert model.config.vocab_size == len(tokenizer)
    for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        assert token in tokenizer.get_vocab()
    assert next(model.parameters()).dtype == torch.float32


def test_fill_mask_pipeline(location, tokenizer):
    fill = pipeline("fill-mask", model=str(location), tokenizer=tokenizer, device="cpu")
    predictions = fill("a dog is a domestic [MASK].", top_k=5)
    assert len(predictions) == 5
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-6
    assert all("[MASK]" not in p["sequence"] for p in predictions)
    # it learned at least token frequencies: "the" is likelier than a rare word piece
    scored = fill("to run is to move fast on [MASK] feet.", targets=["the", "##zz"])
    ranked = [p["token_str"] for p in scored]
    assert ranked == ["the", "##zz"], scored


def test_card_accuracies_are_reproduced(model, tokenizer, log):
    reported = log["evaluations"][-1]
    assert reported["step"] == log["step"]
    _, heldout = cached_corpus_split()
    max_length = log["config"]["max_length"]
    assert max_length <= model.config.max_position_embeddings
    batches = heldout_batches(
        tokenize_documents(heldout, tokenizer), tokenizer, n_pairs=192, max_length=max_length
    )
    measured = evaluate_pretraining(model, batches)
    assert abs(measured["mlm_accuracy"] - reported["mlm_accuracy"]) < 0.05, measured
    assert abs(measured["nsp_accuracy"] - reported["nsp_accuracy"]) < 0.08, measured
    # and the card's README states the same numbers as the log
    card = (Path(resources.model_location("course-bert")) / "README.md").read_text()
    assert f"{reported['mlm_accuracy']:.1%}" in card and f"{reported['nsp_accuracy']:.1%}" in card


def test_card_meets_the_pretraining_targets(log):
    """Issue 3's targets for the shipped model: held-out masked top-1 >= 30%, NSP >= 80%."""
    final = log["evaluations"][-1]
    assert final["mlm_accuracy"] >= 0.30, final
    assert final["nsp_accuracy"] >= 0.80, final
    # reproducible on two CPU cores within two hours
    assert log["config"]["threads"] <= 2 and log["train_seconds"] < 2 * 3600
