"""SpanBERT: span masking and the span boundary objective (SBO).

Page ``05_spanbert``; assignment a3_nsp_spans.

SpanBERT (Joshi et al., 2020) changes two things in BERT's pretraining:

1. **Span masking.** Instead of sampling 15% of the tokens independently, it samples *spans of whole
   words*. A span length ``ell`` (in words) is drawn from a geometric distribution with ``p = 0.2``,
   truncated to ``1..10`` and renormalized, so its mean is about 3.8 words; an anchor token is drawn
   uniformly among the unmasked tokens and the span runs from the start of its word; spans are added
   until exactly 15% of the tokens are masked (the last one cut short), and spans that overlap or
   touch are merged, as in SpanBERT's reference code. The whole (merged) span gets one 80/10/10
   decision: all its tokens become ``[MASK]``, or all become random tokens, or all stay.
2. **The span boundary objective.** Each token ``x_i`` of a span ``(s, e)`` is predicted from the two
   encoder outputs *just outside* the span, ``z_{s-1}`` and ``z_{e+1}``, plus an embedding of its
   position inside the span: ``h = LN(GELU(W2 LN(GELU(W1 [z_{s-1}; z_{e+1}; p_{i-s+1}]))))`` and
   ``y_i = softmax(W_V h)``. The training loss is ``L = L_MLM + L_SBO``.

Functions here work on token ids (``torch.Tensor``) and never modify their input. Spans are given as
inclusive token index pairs ``(start, end)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ch11lib.masking import (
    IGNORE_INDEX,
    MaskingVocab,
    check_probability,
    mlm_loss,
    word_ids_from_pieces,
)

MASK_RATIO = 0.15
GEOMETRIC_P = 0.2
MAX_SPAN_LENGTH = 10
# One decision per span: [MASK] / random tokens / unchanged.
SPAN_REPLACEMENT_PROBS = (0.8, 0.1, 0.1)
DECISIONS = ("mask", "random", "keep")


# --------------------------------------------------------------------------------------------------
# The span-length distribution
# --------------------------------------------------------------------------------------------------


def _check_length_args(p: float, max_length: int) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"p must be a number in (0, 1], got {type(p).__name__}")
    if not 0.0 < float(p) <= 1.0:
        raise ValueError(f"p must be in (0, 1] (a geometric success probability), got {p}")
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        raise TypeError(f"max_length must be an int >= 1, got {type(max_length).__name__}")
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1 (spans of at least one word), got {max_length}")


def span_length_probabilities(
    p: float = GEOMETRIC_P, max_length: int = MAX_SPAN_LENGTH
) -> torch.Tensor:
    """P(ell) for ell = 1..max_length: Geo(p) truncated to 1..max_length and renormalized.

    Geo(p) gives ``P(ell) = p (1 - p)^(ell - 1)``; cutting it at ``max_length`` leaves mass
    ``1 - (1 - p)^max_length``, which the division restores to 1 (as in SpanBERT's code).
    Entry ``k`` of the returned float64 tensor is the probability of length ``k + 1``.
    """
    _check_length_args(p, max_length)
    lengths = torch.arange(1, max_length + 1, dtype=torch.float64)
    unnormalized = p * (1.0 - p) ** (lengths - 1)
    return unnormalized / unnormalized.sum()


def expected_span_length(p: float = GEOMETRIC_P, max_length: int = MAX_SPAN_LENGTH) -> float:
    """The exact mean span length (in words): sum_ell ell P(ell); about 3.80 for p=0.2, max 10."""
    probabilities = span_length_probabilities(p, max_length)
    lengths = torch.arange(1, max_length + 1, dtype=torch.float64)
    return float((lengths * probabilities).sum())


def sample_span_lengths(
    n: int,
    p: float = GEOMETRIC_P,
    max_length: int = MAX_SPAN_LENGTH,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``n`` span lengths (int64, 1..max_length) drawn from :func:`span_length_probabilities`."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    probabilities = span_length_probabilities(p, max_length)
    return torch.multinomial(probabilities, n, replacement=True, generator=generator) + 1


# --------------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# Span masking
# --------------------------------------------------------------------------------------------------


def _word_starts(word_ids: Sequence[int | None]) -> list[bool]:
    """Whether each token begins a word: it has a word id and the token before it has another one
    (or none). Only *consecutive* equal ids make one word, so ids may start again after a [SEP]."""
    return [w is not None and (t == 0 or word_ids[t - 1] != w) for t, w in enumerate(word_ids)]


def sample_masked_spans(
    word_ids: Sequence[int | None],
    generator: torch.Generator | None = None,
    *,
    mask_ratio: float = MASK_RATIO,
    p: float = GEOMETRIC_P,
    max_length: int = MAX_SPAN_LENGTH,
) -> tuple[list[tuple[int, int]], list[int]]:
    """SpanBERT's span sampling for one sequence, as its reference code does it.

    ``word_ids`` gives every token's word (``None`` for a token that may not be masked: a special
    token or padding); consecutive tokens with the same id are one word. With ``n`` maskable tokens
    the budget is ``round(mask_ratio * n)`` (at least 1 when ``n > 0`` and ``mask_ratio > 0``). While
    fewer tokens than the budget are masked: draw a length ``ell`` in words
    (:func:`span_length_probabilities`) and an anchor uniformly over the maskable tokens, and draw
    both again if the anchor is already masked; then mask left to right from the first token of the
    anchor's word through ``ell`` words, going on over tokens masked before (their words count),
    stopping at an unmaskable token, at the end, or as soon as the budget is reached, even inside
    a word. So exactly the budget is masked.

    Returns ``(spans, drawn_lengths)``: the masked tokens as sorted, merged, inclusive
    ``(start, end)`` spans (maximal runs of masked tokens; overlapping and touching spans are one),
    and the length ``ell`` drawn for each anchor used, in order.

    This is ``PairWithSpanMaskingScheme.mask`` and ``merge_intervals`` of SpanBERT's code
    (facebookresearch/SpanBERT, ``pretraining/fairseq/data/masking.py``), except that the budget is
    rounded (the code rounds up: ``0.15 * 20`` is ``3.0000000000000004``), and that a sequence may
    hold special tokens, which spans never cross (the code masks a segment before [CLS] and [SEP]
    are added). Drawing an anchor over the maskable tokens and drawing again on a masked one gives
    every unmasked token the same chance, as in the code.
    """
    check_probability("mask_ratio", mask_ratio)
    _check_length_args(p, max_length)
    word_ids = list(word_ids)
    starts = _word_starts(word_ids)
    tokens = [t for t, w in enumerate(word_ids) if w is not None]
    budget = round(mask_ratio * len(tokens))
    if tokens and mask_ratio > 0:
        budget = max(budget, 1)
    probabilities = span_length_probabilities(p, max_length)
    masked = [False] * len(word_ids)
    n_masked = 0
    drawn_lengths: list[int] = []
    lengths: list[int] = []
    uniforms: list[float] = []
    # The anchor is drawn from `pool` (every unmasked token and maybe some masked ones), again when
    # it is masked: uniform over the unmasked tokens. Dropping the masked ones from time to time
    # keeps the retries few.
    pool, masked_outside_pool = tokens, 0
    while n_masked < budget:
        if not lengths:  # draws in batches (one torch call per span would be slow)
            batch = max(budget - n_masked, 8)
            lengths = (
                torch.multinomial(probabilities, batch, True, generator=generator) + 1
            ).tolist()
            uniforms = torch.rand(batch, generator=generator, dtype=torch.float64).tolist()
        length, u = lengths.pop(), uniforms.pop()
        anchor = pool[int(u * len(pool))]
        if masked[anchor]:
            if 2 * (n_masked - masked_outside_pool) > len(pool):  # mostly masked: drop those
                pool = [t for t in pool if not masked[t]]
                masked_outside_pool = n_masked
            continue  # the code draws both again
        drawn_lengths.append(length)
        t = anchor
        while not starts[t]:
            t -= 1  # the first token of the anchor's word
        words = 0
        while t < len(word_ids) and word_ids[t] is not None and n_masked < budget:
            if starts[t]:
                words += 1
                if words > length:
                    break
            if not masked[t]:
                masked[t] = True
                n_masked += 1
            t += 1
    spans: list[tuple[int, int]] = []
    for t, is_masked in enumerate(masked):
        if not is_masked:
            continue
        if spans and spans[-1][1] == t - 1:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t))
    return spans, drawn_lengths


# --------------------------------------------------------------------------------------------------
# Span masking
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanMaskingOutput:
    """What :func:`span_mask` returns, for one sequence or a batch (then lists hold one entry a row).

    ``input_ids``: the corrupted ids; ``labels``: the original id inside spans, -100 elsewhere;
    ``spans``: the masked tokens as sorted, merged, inclusive ``(start, end)`` spans (maximal runs,
    as SpanBERT's code merges them); ``span_word_lengths``: how many words each span touches (a
    word cut by the budget counts); ``drawn_lengths``: the length in words drawn from the geometric
    distribution for each anchor, in order (a span is shorter when it meets a special token, the
    end or the budget, longer when it merges with another); ``decisions``: ``"mask"``, ``"random"``
    or ``"keep"`` per span (``"mixed"`` when ``replacement="token"`` decided differently for its
    tokens).
    """

    input_ids: torch.Tensor
    labels: torch.Tensor
    spans: list
    span_word_lengths: list
    drawn_lengths: list
    decisions: list


def _check_replacement_probs(probs: Sequence[float]) -> tuple[float, float, float]:
    if len(probs) != 3:
        raise ValueError(f"replacement_probs must be 3 numbers (mask, random, keep), got {probs}")
    values = tuple(check_probability("each replacement probability", v) for v in probs)
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(
            f"replacement probabilities must sum to 1, got {values} (sum {sum(values)})"
        )
    return values  # type: ignore[return-value]


def _span_mask_one(
    ids: torch.Tensor,
    word_ids: Sequence[int | None],
    maskable: list[bool],
    *,
    mask_token_id: int,
    random_token_ids: torch.Tensor,
    mask_ratio: float,
    p: float,
    max_span_length: int,
    replacement_probs: tuple[float, float, float],
    replacement: str,
    generator: torch.Generator | None,
):
    words = [w if m else None for w, m in zip(word_ids, maskable, strict=True)]
    spans, drawn_lengths = sample_masked_spans(
        words, generator, mask_ratio=mask_ratio, p=p, max_length=max_span_length
    )
    starts = _word_starts(words)
    word_lengths = [sum(starts[start : end + 1]) for start, end in spans]

    corrupted = ids.clone()
    labels = torch.full_like(ids, IGNORE_INDEX)
    decisions: list[str] = []
    # One decision per merged span, as SpanBERT's span_masking makes it after merge_intervals (its
    # replacement_method "span"), or one per token ("word_piece" there, "token" here).
    for start, end in spans:
        labels[start : end + 1] = ids[start : end + 1]
        n_draws = 1 if replacement == "span" else end - start + 1
        chosen = set()
        draws = torch.rand(n_draws, generator=generator, dtype=torch.float64).tolist()
        for offset, u in enumerate(draws):
            first = start if replacement == "span" else start + offset
            last = end if replacement == "span" else first
            if u < replacement_probs[0]:
                chosen.add("mask")
                corrupted[first : last + 1] = mask_token_id
            elif u < replacement_probs[0] + replacement_probs[1]:
                chosen.add("random")
                picks = torch.randint(
                    len(random_token_ids), (last - first + 1,), generator=generator
                )
                corrupted[first : last + 1] = random_token_ids[picks]
            else:
                chosen.add("keep")
        decisions.append(chosen.pop() if len(chosen) == 1 else "mixed")
    return corrupted, labels, spans, word_lengths, drawn_lengths, decisions


def span_mask(
    input_ids: torch.Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Sequence[int] = (),
    word_ids: Sequence[int | None] | Sequence[Sequence[int | None]] | None = None,
    attention_mask: torch.Tensor | None = None,
    mask_ratio: float = MASK_RATIO,
    p: float = GEOMETRIC_P,
    max_span_length: int = MAX_SPAN_LENGTH,
    replacement_probs: Sequence[float] = SPAN_REPLACEMENT_PROBS,
    replacement: str = "span",
    random_token_ids: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> SpanMaskingOutput:
    """SpanBERT span masking of one sequence (1-D ids) or a batch (2-D ids).

    Words come from ``word_ids`` (one id per token, ``None`` for special tokens, e.g. from a fast
    tokenizer's ``encoding.word_ids()``), else every token is its own word
    (:func:`span_mask_with_tokenizer` finds the words of WordPiece ids). Tokens whose id is in ``special_ids`` or whose
    ``attention_mask`` is 0 are never masked and never used as random replacements. Spans are
    drawn by :func:`sample_masked_spans`, SpanBERT's reference scheme: exactly
    ``round(mask_ratio * n_maskable)`` tokens are masked, the last span cut at the budget, and
    overlapping or touching spans merged; each merged span gets one 80/10/10 decision. Random
    replacement tokens are drawn uniformly from ``random_token_ids`` (default: the vocabulary
    without the special ids), one for every token. ``replacement="token"`` makes the 80/10/10
    decision for every token instead (SpanBERT's code calls it ``word_piece``); with ``p=1.0`` and no
    ``word_ids`` that is BERT's masking of exactly the budget of single tokens.
    """
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(
            f"input_ids must be a torch.Tensor of token ids, got {type(input_ids).__name__}"
        )
    if input_ids.dim() not in (1, 2):
        raise ValueError(
            f"input_ids must be 1-D (one sequence) or 2-D (batch), got shape {tuple(input_ids.shape)}"
        )
    if input_ids.numel() == 0 or input_ids.shape[-1] == 0:
        raise ValueError("input_ids is empty: there is nothing to mask")
    if input_ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"input_ids must hold integer ids, got dtype {input_ids.dtype}")
    check_probability("mask_ratio", mask_ratio)
    _check_length_args(p, max_span_length)
    probs = _check_replacement_probs(replacement_probs)
    if replacement not in ("span", "token"):
        raise ValueError(f'replacement must be "span" or "token", got {replacement!r}')
    if not 0 <= mask_token_id < vocab_size:
        raise ValueError(
            f"mask_token_id {mask_token_id} is outside the vocabulary of size {vocab_size}"
        )
    if attention_mask is not None and attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask shape {tuple(attention_mask.shape)} != input_ids shape {tuple(input_ids.shape)}"
        )

    batched = input_ids.dim() == 2
    rows = input_ids if batched else input_ids.unsqueeze(0)
    masks = None
    if attention_mask is not None:
        masks = attention_mask if batched else attention_mask.unsqueeze(0)
    word_rows = _per_row(word_ids, batched, rows.shape[0], "word_ids")

    special = torch.tensor(sorted(set(int(i) for i in special_ids)), dtype=torch.long)
    if random_token_ids is None:
        keep_vocab = torch.ones(vocab_size, dtype=torch.bool)
        keep_vocab[special[(special >= 0) & (special < vocab_size)]] = False
        random_token_ids = torch.nonzero(keep_vocab).squeeze(1)
    if len(random_token_ids) == 0:
        raise ValueError(
            "every vocabulary id is special: no token is left to use as a random replacement"
        )

    out_ids, out_labels, all_spans, all_lengths, all_drawn, all_decisions = [], [], [], [], [], []
    for row_index, row in enumerate(rows):
        maskable = (~torch.isin(row, special)).tolist()
        if masks is not None:
            maskable = [
                m and bool(a) for m, a in zip(maskable, masks[row_index].tolist(), strict=True)
            ]
        row_words = _row_word_ids(row, word_rows, row_index)
        corrupted, labels, spans, lengths, drawn, decisions = _span_mask_one(
            row,
            row_words,
            maskable,
            mask_token_id=mask_token_id,
            random_token_ids=random_token_ids.to(row.dtype),
            mask_ratio=mask_ratio,
            p=p,
            max_span_length=max_span_length,
            replacement_probs=probs,
            replacement=replacement,
            generator=generator,
        )
        out_ids.append(corrupted)
        out_labels.append(labels)
        all_spans.append(spans)
        all_lengths.append(lengths)
        all_drawn.append(drawn)
        all_decisions.append(decisions)

    if batched:
        return SpanMaskingOutput(
            torch.stack(out_ids),
            torch.stack(out_labels),
            all_spans,
            all_lengths,
            all_drawn,
            all_decisions,
        )
    return SpanMaskingOutput(
        out_ids[0], out_labels[0], all_spans[0], all_lengths[0], all_drawn[0], all_decisions[0]
    )


def _per_row(values, batched: bool, n_rows: int, name: str):
    if values is None:
        return None
    rows = list(values) if batched else [values]
    if len(rows) != n_rows:
        raise ValueError(f"{name} must have one entry per sequence ({n_rows}), got {len(rows)}")
    return rows


def _row_word_ids(row, word_rows, index) -> list[int | None]:
    length = row.shape[0]
    if word_rows is None:
        return list(range(length))  # no word information: every token is a word
    words = list(word_rows[index])
    if len(words) != length:
        raise ValueError(
            f"word_ids of sequence {index} has {len(words)} entries for {length} tokens"
        )
    return words


def span_mask_with_tokenizer(
    input_ids: torch.Tensor,
    tokenizer,
    *,
    attention_mask: torch.Tensor | None = None,
    mask_ratio: float = MASK_RATIO,
    p: float = GEOMETRIC_P,
    max_span_length: int = MAX_SPAN_LENGTH,
    replacement: str = "span",
    generator: torch.Generator | None = None,
) -> SpanMaskingOutput:
    """:func:`span_mask` with the mask id, vocabulary, special ids and words taken from a WordPiece
    tokenizer (``##`` pieces continue the word before them). Random replacements are drawn from the
    same ordinary tokens as BERT's masking (:class:`ch11lib.masking.MaskingVocab`: no special, no
    reserved ``[unusedN]`` tokens)."""
    if getattr(tokenizer, "mask_token_id", None) is None:
        raise ValueError(
            f"the tokenizer {type(tokenizer).__name__} has no mask token; span masking needs one "
            "(a BERT-style tokenizer with [MASK])"
        )
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(
            f"input_ids must be a torch.Tensor of token ids, got {type(input_ids).__name__}"
        )
    rows = input_ids if input_ids.dim() == 2 else input_ids.unsqueeze(0)
    masks = attention_mask
    if attention_mask is not None and attention_mask.dim() == 1:
        masks = attention_mask.unsqueeze(0)
    # The words of WordPiece ids: ch11lib.masking's grouping ("##" continues a word), -1 -> None.
    words = [
        [None if w < 0 else w for w in row]
        for row in word_ids_from_pieces(rows, vocab, masks).tolist()
    ]
    return span_mask(
        input_ids,
        mask_token_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        special_ids=tokenizer.all_special_ids,
        word_ids=words if input_ids.dim() == 2 else words[0],
        attention_mask=attention_mask,
        random_token_ids=vocab.ordinary_ids,
        mask_ratio=mask_ratio,
        p=p,
        max_span_length=max_span_length,
        replacement=replacement,
        generator=generator,
    )


# --------------------------------------------------------------------------------------------------
# The span boundary objective
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SboTargets:
    """One row per token inside a span: where its boundaries are and what it must predict.

    ``batch_index[k]``: the sequence; ``left[k]`` = s - 1 and ``right[k]`` = e + 1: the boundary
    positions; ``relative_position[k]`` = i - s (0-based; the paper's p_{i-s+1}); ``position[k]`` = i;
    ``target[k]``: the original token id x_i.
    """

    batch_index: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor
    relative_position: torch.Tensor
    position: torch.Tensor
    target: torch.Tensor


def sbo_targets(
    spans: Sequence[Sequence[tuple[int, int]]],
    original_ids: torch.Tensor,
    max_span_tokens: int | None = None,
) -> SboTargets:
    """Build the SBO rows for a batch: every token ``i`` of every span ``(s, e)`` of every sequence.

    ``spans[b]`` are the inclusive spans of sequence ``b`` (as :func:`span_mask` returns them, batched);
    ``original_ids`` (batch, seq) are the ids *before* corruption. The boundaries ``s - 1`` and
    ``e + 1`` must lie inside the sequence (with [CLS] ... [SEP] they always do). Spans longer than
    ``max_span_tokens`` raise, because the head has no position embedding for them.
    """
    if original_ids.dim() != 2:
        raise ValueError(
            f"original_ids must be (batch, seq), got shape {tuple(original_ids.shape)}"
        )
    if len(spans) != original_ids.shape[0]:
        raise ValueError(
            f"spans has {len(spans)} sequences, original_ids has {original_ids.shape[0]}"
        )
    seq_len = original_ids.shape[1]
    columns: list[list[int]] = [[], [], [], [], []]
    for b, row_spans in enumerate(spans):
        for start, end in row_spans:
            if not 0 <= start <= end < seq_len:
                raise ValueError(
                    f"span ({start}, {end}) of sequence {b} is not inside 0..{seq_len - 1}"
                )
            if start - 1 < 0 or end + 1 >= seq_len:
                raise ValueError(
                    f"span ({start}, {end}) of sequence {b} has no boundary token on both sides "
                    f"(needs start >= 1 and end <= {seq_len - 2})"
                )
            if max_span_tokens is not None and end - start + 1 > max_span_tokens:
                raise ValueError(
                    f"span ({start}, {end}) has {end - start + 1} tokens; the head embeds at most {max_span_tokens}"
                )
            for i in range(start, end + 1):
                for column, value in zip(
                    columns, (b, start - 1, end + 1, i - start, i), strict=True
                ):
                    column.append(value)
    b_idx, left, right, rel, pos = (torch.tensor(c, dtype=torch.long) for c in columns)
    return SboTargets(b_idx, left, right, rel, pos, original_ids[b_idx, pos])


class SpanBoundaryHead(nn.Module):
    """The SBO head: [z_{s-1}; z_{e+1}; p_{i-s+1}] -> 2-layer FFN (GELU, LayerNorm) -> vocabulary logits.

    ``h1 = LayerNorm(GELU(W1 [z_{s-1}; z_{e+1}; p]))``, ``h2 = LayerNorm(GELU(W2 h1))``,
    ``logits = W_V h2 + b``. ``max_span_tokens`` is how many relative positions get an embedding
    (SpanBERT spans are at most 10 words, which may be more than 10 WordPieces, hence the default 30).
    """

    def __init__(
        self,
        hidden_size: int,
        vocab_size: int,
        max_span_tokens: int = 30,
        position_size: int | None = None,
        layer_norm_eps: float = 1e-12,
    ) -> None:
        super().__init__()
        if hidden_size < 1 or vocab_size < 1 or max_span_tokens < 1:
            raise ValueError(
                f"hidden_size, vocab_size and max_span_tokens must be >= 1, got "
                f"{hidden_size}, {vocab_size}, {max_span_tokens}"
            )
        position_size = hidden_size if position_size is None else position_size
        self.max_span_tokens = max_span_tokens
        self.position_embeddings = nn.Embedding(max_span_tokens, position_size)
        self.dense1 = nn.Linear(2 * hidden_size + position_size, hidden_size)
        self.norm1 = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dense2 = nn.Linear(hidden_size, hidden_size)
        self.norm2 = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def representation(self, hidden_states: torch.Tensor, targets: SboTargets) -> torch.Tensor:
        """The (n_targets, hidden) vectors h2 before the vocabulary projection."""
        if hidden_states.dim() != 3:
            raise ValueError(
                f"hidden_states must be (batch, seq, hidden), got {tuple(hidden_states.shape)}"
            )
        rel = targets.relative_position
        if len(rel) and int(rel.max()) >= self.max_span_tokens:
            raise ValueError(
                f"a span has {int(rel.max()) + 1} tokens; this head embeds at most {self.max_span_tokens}"
            )
        left = hidden_states[targets.batch_index, targets.left]
        right = hidden_states[targets.batch_index, targets.right]
        position = self.position_embeddings(targets.relative_position)
        h0 = torch.cat([left, right, position], dim=-1)
        h1 = self.norm1(F.gelu(self.dense1(h0)))
        return self.norm2(F.gelu(self.dense2(h1)))

    def forward(self, hidden_states: torch.Tensor, targets: SboTargets) -> torch.Tensor:
        """Vocabulary logits (n_targets, vocab) for every span token in ``targets``."""
        return self.decoder(self.representation(hidden_states, targets))


def sbo_loss(sbo_logits: torch.Tensor, targets: SboTargets) -> torch.Tensor:
    """Mean cross-entropy of the SBO predictions against the original span tokens."""
    if sbo_logits.dim() != 2 or sbo_logits.shape[0] != len(targets.target):
        raise ValueError(
            f"sbo_logits must be (n_targets={len(targets.target)}, vocab), got {tuple(sbo_logits.shape)}"
        )
    if len(targets.target) == 0:
        raise ValueError("no span tokens: the SBO loss over zero targets is undefined")
    return F.cross_entropy(sbo_logits, targets.target)


def spanbert_loss(
    mlm_logits: torch.Tensor, labels: torch.Tensor, sbo_logits: torch.Tensor, targets: SboTargets
) -> torch.Tensor:
    """SpanBERT's training loss L = L_MLM + L_SBO (each a mean over the span tokens)."""
    return mlm_loss(mlm_logits, labels) + sbo_loss(sbo_logits, targets)
