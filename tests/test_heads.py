"""Tests for ch11lib.heads: the classification head against transformers' BertForSequenceClassification."""

from __future__ import annotations

import pytest
import torch
from tiny import TINY_BERT
from transformers import BertConfig, BertForSequenceClassification, BertModel

from ch11lib import resources
from ch11lib.heads import SequenceClassifier, TopLayersClassifier, encode, pair_input, pool

TINY = dict(TINY_BERT, type_vocab_size=2)


def _tiny_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, 60, (4, 7), generator=generator)
    attention_mask = torch.ones(4, 7, dtype=torch.long)
    attention_mask[1, 5:] = 0  # one padded sequence
    token_type_ids = torch.zeros(4, 7, dtype=torch.long)
    token_type_ids[:, 4:] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }


@pytest.mark.parametrize("num_labels", [2, 3])
def test_pooler_head_equals_bert_for_sequence_classification(num_labels: int) -> None:
    torch.manual_seed(0)
    reference = BertForSequenceClassification(BertConfig(**TINY, num_labels=num_labels)).eval()
    ours = SequenceClassifier(reference.bert, num_labels, pooling="pooler").eval()
    ours.classifier.load_state_dict(reference.classifier.state_dict())
    batch = _tiny_batch()
    labels = torch.arange(4) % num_labels
    expected = reference(**batch, labels=labels)
    got = ours(**batch, labels=labels)
    torch.testing.assert_close(got.logits, expected.logits)
    torch.testing.assert_close(got.loss, expected.loss)


def test_cls_head_is_softmax_of_wc_zcls() -> None:
    torch.manual_seed(1)
    encoder = BertModel(BertConfig(**TINY)).eval()
    model = SequenceClassifier(encoder, 3).eval()
    batch = _tiny_batch(1)
    labels = torch.tensor([0, 2, 1, 2])
    output = model(**batch, labels=labels)
    z_cls = encoder(**batch).last_hidden_state[:, 0]
    logits = z_cls @ model.classifier.weight.T + model.classifier.bias
    torch.testing.assert_close(output.logits, logits)
    probabilities = torch.exp(logits) / torch.exp(logits).sum(-1, keepdim=True)
    hand_loss = -torch.log(probabilities[torch.arange(4), labels]).mean()
    torch.testing.assert_close(output.loss, hand_loss)


def test_mean_pooling_ignores_padding() -> None:
    hidden = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    pooled = pool(hidden, mask, "mean")
    torch.testing.assert_close(pooled[0], hidden[0, :2].mean(0))
    torch.testing.assert_close(pooled[1], hidden[1].mean(0))


def test_top_layers_classifier_matches_full_model() -> None:
    torch.manual_seed(2)
    encoder = BertModel(BertConfig(**TINY)).eval()
    full = SequenceClassifier(encoder, 3).eval()
    top = TopLayersClassifier(encoder, first_layer=1, num_labels=3).eval()
    top.head.load_state_dict(full.head.state_dict())
    batch = _tiny_batch(2)
    hidden = encoder(**batch, output_hidden_states=True).hidden_states[1]
    got = top(hidden_states=hidden, attention_mask=batch["attention_mask"]).logits
    torch.testing.assert_close(got, full(**batch).logits)


def test_bad_input_raises() -> None:
    encoder = BertModel(BertConfig(**TINY))
    with pytest.raises(ValueError, match="num_labels"):
        SequenceClassifier(encoder, 1)
    with pytest.raises(ValueError, match="pooling"):
        SequenceClassifier(encoder, 2, pooling="max")  # type: ignore[arg-type]
    model = SequenceClassifier(encoder, 2)
    batch = _tiny_batch()
    with pytest.raises(ValueError, match="labels must lie"):
        model(**batch, labels=torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="shape"):
        model(**batch, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="input_ids"):
        model(input_ids=torch.tensor([1, 2, 3]))


def test_pair_input_matches_tokenizer() -> None:
    tokenizer = resources.load_tokenizer("minilm")
    first, second = "A dog barked all night.", "An animal made noise."
    ours = pair_input(tokenizer, first, second)
    reference = tokenizer(first, second)
    assert ours["input_ids"] == reference["input_ids"]
    assert ours["token_type_ids"] == reference["token_type_ids"]
    assert ours["tokens"][0] == "[CLS]" and ours["tokens"].count("[SEP]") == 2
    batch = encode(tokenizer, [first, "short"], [second, "pair"])
    assert batch["input_ids"].shape == batch["token_type_ids"].shape
    assert batch["input_ids"][0].tolist() == reference["input_ids"]
    with pytest.raises(TypeError):
        encode(tokenizer, "not a list")
