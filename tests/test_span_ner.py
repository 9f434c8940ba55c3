"""Tests for ch11lib.span_ner: span enumeration, representations, decoding, BIO <-> spans."""

from __future__ import annotations

import random

import pytest
import torch

from ch11lib import span_ner
from ch11lib.span_ner import ScoredSpan


@pytest.mark.parametrize(("n", "width"), [(0, 3), (1, 1), (5, 1), (5, 2), (5, 5), (4, 9)])
def test_enumerate_spans_counts_and_inclusive_max_width(n, width):
    spans = span_ner.enumerate_spans(n, width)
    expected = sum(n - k + 1 for k in range(1, min(width, n) + 1))
    assert len(spans) == len(set(spans)) == expected
    assert all(0 <= s <= e < n for s, e in spans)
    widths = {e - s + 1 for s, e in spans}
    assert widths == set(range(1, min(width, n) + 1))  # max_width itself is included


def test_enumerate_spans_rejects_bad_input():
    with pytest.raises(ValueError, match="max_width"):
        span_ner.enumerate_spans(3, 0)
    with pytest.raises(ValueError, match="n_tokens"):
        span_ner.enumerate_spans(-1, 2)


def test_span_representation_mean_and_none_by_hand():
    torch.manual_seed(0)
    hidden = torch.randn(6, 4)
    spans = torch.tensor([[0, 0], [1, 3], [2, 5]])
    mean = span_ner.SpanRepresentation(4, "mean")(hidden, spans)
    assert mean.shape == (3, 12)
    for row, (s, e) in zip(mean, spans.tolist(), strict=True):
        torch.testing.assert_close(
            row, torch.cat([hidden[s], hidden[e], hidden[s : e + 1].mean(0)])
        )
    none = span_ner.SpanRepresentation(4, "none")
    assert none.output_size == 8
    torch.testing.assert_close(none(hidden, spans), mean[:, :8])


def test_span_representation_ffn_and_attention_pooling():
    torch.manual_seed(1)
    hidden = torch.randn(5, 4)
    spans = torch.tensor([[1, 1], [0, 4], [2, 3]])
    ffn = span_ner.SpanRepresentation(4, "ffn")
    out = ffn(hidden, spans)
    torch.testing.assert_close(out[1, 8:], ffn.ffn(hidden).mean(0))
    attention = span_ner.SpanRepresentation(4, "attention")
    out = attention(hidden, spans)
    torch.testing.assert_close(out[0, 8:], hidden[1])  # one token: attention puts all weight on it
    weights = attention.attention_score(hidden[2:4]).squeeze(-1).softmax(0)
    torch.testing.assert_close(out[2, 8:], weights @ hidden[2:4])
    with pytest.raises(ValueError, match="start <= end"):
        attention(hidden, torch.tensor([[3, 2]]))
    with pytest.raises(ValueError, match="pooling"):
        span_ner.SpanRepresentation(4, "max")


def test_span_classifier_learns_a_toy_task():
    torch.manual_seed(0)
    hidden = torch.randn(8, 16)
    spans = span_ner.enumerate_spans(8, 3)
    gold = [(1, 2, "ORG"), (1, 3, "ORG"), (5, 5, "PER")]  # overlapping entities are fine here
    model = span_ner.SpanClassifier(16, ["PER", "ORG"], pooling="attention", dropout=0.0)
    targets = span_ner.span_targets(spans, gold, model.labels)
    assert targets.tolist().count(0) == len(spans) - 3
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    span_tensor = torch.tensor(spans)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(hidden, span_tensor), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    probabilities = model(hidden, span_tensor).softmax(-1)
    decoded = span_ner.decode_spans(probabilities, spans, model.labels)
    assert {(s.start, s.end, s.label) for s in decoded} == set(gold)


def test_decode_spans_threshold_and_greedy_overlap_resolution():
    # "United Airlines Holding said ...": tokens 0-1 and 0-2 are both organisations
    spans = [(0, 1), (0, 2), (1, 2), (3, 3)]
    labels = ["NULL", "ORG"]
    probabilities = torch.tensor([[0.3, 0.7], [0.1, 0.9], [0.6, 0.4], [0.8, 0.2]])
    decoded = span_ner.decode_spans(probabilities, spans, labels)
    assert [(s.start, s.end) for s in decoded] == [(0, 2), (0, 1)]  # overlapping, best first
    assert span_ner.decode_spans(probabilities, spans, labels, threshold=0.8) == [
        ScoredSpan(0, 2, "ORG", pytest.approx(0.9))
    ]
    flat = span_ner.resolve_overlaps(decoded)
    assert [(s.start, s.end, s.label) for s in flat] == [(0, 2, "ORG")]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        span_ner.decode_spans(probabilities * 2, spans, labels)
    with pytest.raises(ValueError, match="threshold"):
        span_ner.decode_spans(probabilities, spans, labels, threshold=1.5)


def test_resolve_overlaps_keeps_disjoint_spans_in_text_order():
    spans = [
        ScoredSpan(0, 1, "A", 0.5), ScoredSpan(1, 2, "B", 0.6), ScoredSpan(3, 4, "C", 0.4),
        ScoredSpan(4, 6, "D", 0.45), ScoredSpan(7, 7, "E", 0.1),
    ]  # fmt: skip
    assert [s.label for s in span_ner.resolve_overlaps(spans)] == ["B", "D", "E"]


def test_bio_spans_round_trip_on_random_well_formed_sequences():
    rng = random.Random(0)
    for _ in range(500):
        length = rng.randint(0, 12)
        tags, i = ["O"] * length, 0
        while i < length:
            width = rng.randint(1, 4)
            if rng.random() < 0.4 and i + width <= length:
                kind = rng.choice(["PER", "ORG", "LOC"])
                tags[i : i + width] = [f"B-{kind}"] + [f"I-{kind}"] * (width - 1)
                i += width
            else:
                i += 1
        spans = span_ner.bio_to_spans(tags)
        assert span_ner.spans_to_bio(spans, length) == tags
    assert span_ner.bio_to_spans(["B-ORG", "I-ORG", "O", "B-PER"]) == [
        (0, 1, "ORG"),
        (3, 3, "PER"),
    ]
    with pytest.raises(ValueError, match="overlaps"):
        span_ner.spans_to_bio([(0, 1, "ORG"), (0, 2, "ORG")], 3)
