"""Span-based fine-tuning (SLP3 §11.5): enumerate spans, represent them, classify them, decode.

Page ``11_span_based``; assignment a5_finetuning.

A span is a pair ``(start, end)`` of token positions with **inclusive** ends: ``(2, 3)`` covers tokens 2
and 3, its width is ``end - start + 1``. :func:`enumerate_spans` lists every span of width
``1 .. max_width`` (``max_width`` itself included).

* :class:`SpanRepresentation`: ``g_ij = [h_i ; h_j ; pool(h_i..h_j)]`` - the two boundary vectors
  concatenated with a summary of the content, pooled by ``"mean"``, ``"ffn"`` (the mean of
  ``FFN(h_k) = max(0, h_k W1 + b1) W2 + b2`` over the span) or ``"attention"`` (a learned softmax
  weighting of the span's tokens, the head-finding attention of Lee et al. 2017), or ``"none"``.
* :class:`SpanClassifier`: an FFN from ``g_ij`` to a distribution over labels, label 0 being ``NULL``
  ("not an entity"), trained with cross-entropy.
* :func:`decode_spans`: every non-NULL argmax span, optionally only those whose probability reaches a
  threshold (higher threshold: more precision, less recall); spans may overlap.
* :func:`resolve_overlaps`: a flat output by keeping spans greedily in decreasing score order.
* :func:`bio_to_spans` / :func:`spans_to_bio`: conversion between the two views of the same entities
  (``bio_to_spans`` is :func:`ch11lib.tagging.get_entities`: ``(start, end, type)``, inclusive ends).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from ch11lib.tagging import get_entities

NULL_LABEL = "NULL"


class ScoredSpan(NamedTuple):
    """A labelled span with its probability; ``end`` is inclusive."""

    start: int
    end: int
    label: str
    score: float


def enumerate_spans(n_tokens: int, max_width: int) -> list[tuple[int, int]]:
    """All ``(start, end)`` spans (``end`` inclusive) with width ``1 .. max_width``, sorted by start.

    >>> enumerate_spans(3, 2)
    [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2)]
    """
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, int) or n_tokens < 0:
        raise ValueError(f"n_tokens must be a non-negative int, got {n_tokens!r}")
    if isinstance(max_width, bool) or not isinstance(max_width, int) or max_width < 1:
        raise ValueError(f"max_width must be a positive int, got {max_width!r}")
    return [
        (start, end)
        for start in range(n_tokens)
        for end in range(start, min(start + max_width, n_tokens))
    ]


def _check_spans(spans: torch.Tensor, length: int) -> None:
    if spans.dim() != 2 or spans.shape[1] != 2:
        raise ValueError(f"spans must be [n_spans, 2], got {tuple(spans.shape)}")
    if spans.numel() and (
        (spans[:, 0] < 0).any()
        or (spans[:, 1] >= length).any()
        or (spans[:, 0] > spans[:, 1]).any()
    ):
        raise ValueError(f"every span needs 0 <= start <= end < {length}")


class SpanRepresentation(nn.Module):
    """``[h_start ; h_end ; pool(h_start..h_end)]`` for spans of one sequence of hidden states."""

    POOLINGS = ("none", "mean", "ffn", "attention")

    def __init__(
        self, hidden_size: int, pooling: str = "mean", ffn_size: int | None = None
    ) -> None:
        super().__init__()
        if pooling not in self.POOLINGS:
            raise ValueError(f"pooling must be one of {self.POOLINGS}, got {pooling!r}")
        self.hidden_size = hidden_size
        self.pooling = pooling
        if pooling == "ffn":
            inner = ffn_size or hidden_size
            self.ffn = nn.Sequential(
                nn.Linear(hidden_size, inner), nn.ReLU(), nn.Linear(inner, hidden_size)
            )
        if pooling == "attention":
            self.attention_score = nn.Linear(hidden_size, 1)

    @property
    def output_size(self) -> int:
        """Size of a span vector: 2 boundary vectors, plus the pooled content unless pooling='none'."""
        return self.hidden_size * (2 if self.pooling == "none" else 3)

    def forward(self, hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        """``hidden`` ``[length, hidden]``, ``spans`` ``[n_spans, 2]`` (inclusive) -> ``[n_spans, out]``."""
        if hidden.dim() != 2 or hidden.shape[1] != self.hidden_size:
            raise ValueError(
                f"hidden must be [length, {self.hidden_size}], got {tuple(hidden.shape)}"
            )
        spans = torch.as_tensor(spans, dtype=torch.long)
        _check_spans(spans, hidden.shape[0])
        starts, ends = spans[:, 0], spans[:, 1]
        parts = [hidden[starts], hidden[ends]]
        if self.pooling == "none":
            return torch.cat(parts, dim=-1)
        if self.pooling == "attention":
            positions = torch.arange(hidden.shape[0])
            inside = (positions[None] >= starts[:, None]) & (positions[None] <= ends[:, None])
            scores = self.attention_score(hidden).squeeze(-1)  # one score per token, [length]
            scores = scores[None].expand(len(spans), -1).masked_fill(~inside, float("-inf"))
            pooled = scores.softmax(dim=-1) @ hidden
        else:
            values = self.ffn(hidden) if self.pooling == "ffn" else hidden
            # prefix sums give every span's sum in O(1): sum(start..end) = prefix[end+1] - prefix[start]
            prefix = torch.cat([values.new_zeros(1, values.shape[1]), values.cumsum(dim=0)])
            widths = (ends - starts + 1).to(values.dtype)[:, None]
            pooled = (prefix[ends + 1] - prefix[starts]) / widths
        return torch.cat([*parts, pooled], dim=-1)


class SpanClassifier(nn.Module):
    """Span representation followed by an FFN that scores ``NULL`` plus every entity label."""

    def __init__(
        self,
        hidden_size: int,
        labels: Sequence[str],
        pooling: str = "mean",
        ffn_size: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if not labels or NULL_LABEL in labels:
            raise ValueError(
                f"labels must be a non-empty list of entity types without {NULL_LABEL!r}"
            )
        self.labels = [NULL_LABEL, *labels]
        self.representation = SpanRepresentation(hidden_size, pooling)
        self.scorer = nn.Sequential(
            nn.Linear(self.representation.output_size, ffn_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_size, len(self.labels)),
        )

    def forward(self, hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        """Logits ``[n_spans, 1 + n_labels]`` (column 0 is NULL)."""
        return self.scorer(self.representation(hidden, spans))


def span_targets(
    spans: Sequence[tuple[int, int]], gold: Sequence[tuple[int, int, str]], labels: Sequence[str]
) -> torch.Tensor:
    """The gold label index of each candidate span (0 = NULL); ``labels`` includes NULL first."""
    index = {label: i for i, label in enumerate(labels)}
    gold_label = {}
    for start, end, label in gold:
        if label not in index:
            raise ValueError(f"gold label {label!r} is not one of {list(labels)}")
        gold_label[(start, end)] = index[label]
    return torch.tensor([gold_label.get((s, e), 0) for s, e in spans], dtype=torch.long)


def decode_spans(
    probabilities: torch.Tensor,
    spans: Sequence[tuple[int, int]],
    labels: Sequence[str],
    threshold: float | None = None,
) -> list[ScoredSpan]:
    """Spans whose argmax label is not NULL (column 0), kept if its probability >= ``threshold``.

    The result may contain overlapping spans, sorted by decreasing score.
    """
    if probabilities.dim() != 2 or probabilities.shape != (len(spans), len(labels)):
        raise ValueError(
            f"probabilities must be [{len(spans)}, {len(labels)}], got {tuple(probabilities.shape)}"
        )
    if probabilities.numel() and (probabilities.min() < 0 or probabilities.max() > 1):
        raise ValueError("probabilities must lie in [0, 1] (apply softmax to logits first)")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    best_score, best_label = (
        probabilities.max(dim=-1) if len(spans) else (probabilities, probabilities)
    )
    result = []
    for (start, end), score, label in zip(
        spans, best_score.tolist(), best_label.tolist(), strict=True
    ):
        if label != 0 and (threshold is None or score >= threshold):
            result.append(ScoredSpan(start, end, labels[label], score))
    return sorted(result, key=lambda s: (-s.score, s.start, s.end))


def resolve_overlaps(spans: Sequence[ScoredSpan]) -> list[ScoredSpan]:
    """A flat (non-overlapping) subset: take spans by decreasing score, skip any that overlap a kept one.

    Returned in text order.
    """
    kept: list[ScoredSpan] = []
    for span in sorted(spans, key=lambda s: (-s.score, s.start, s.end)):
        if all(span.end < k.start or span.start > k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


bio_to_spans = get_entities
"""Entities of a BIO sequence as ``(start, end, type)``, inclusive ends: :func:`ch11lib.tagging.get_entities`."""


def spans_to_bio(spans: Sequence[tuple[int, int, str]], length: int) -> list[str]:
    """BIO tags of length ``length`` for non-overlapping ``(start, end, type)`` spans (inclusive ends)."""
    tags = ["O"] * length
    for start, end, label in sorted(spans):
        if not 0 <= start <= end < length:
            raise ValueError(f"span ({start}, {end}) does not fit in {length} tokens")
        if any(tag != "O" for tag in tags[start : end + 1]):
            raise ValueError(
                f"span ({start}, {end}, {label!r}) overlaps another; resolve overlaps first"
            )
        tags[start] = f"B-{label}"
        for i in range(start + 1, end + 1):
            tags[i] = f"I-{label}"
    return tags
