"""Masked language modelling (MLM): choosing what to hide, and the loss on what was hidden.

Page ``02_masked_language_modelling``; assignment a2_mlm.

BERT learns by a cloze game (SLP3 11.2.1). For every training sequence:

1. **sample** 15% of the ordinary tokens (never ``[CLS]``, ``[SEP]``, ``[PAD]``: there is nothing to
   learn from predicting them);
2. **corrupt** the sampled positions: 80% become ``[MASK]``, 10% become a random ordinary token,
   10% stay as they were (so the model cannot assume "an unmasked token is always right");
3. **label** the sampled positions with their original id and every other position with ``-100``, the
   value PyTorch's ``cross_entropy`` ignores, so the loss is computed over the sampled positions only:

   .. math:: L_{MLM} = -\\frac{1}{M} \\sum_{i \\in \\text{sampled}} \\log P(x_i \\mid z_i),
             \\qquad P(\\cdot \\mid z_i) = \\mathrm{softmax}(W_V z_i)

Every sequence still passes through self-attention whole; only the loss is restricted.

What is here:

- :func:`mask_tokens`: token-level masking of a padded batch, the recipe above;
- :func:`whole_word_mask_tokens`: the same, but all WordPieces of a word share one fate
  (``"un ##believ ##able"`` is masked, replaced or kept as a unit);
- :class:`StaticMasking` / :class:`DynamicMasking`: BERT drew each sequence's mask once, ahead of
  training; RoBERTa draws a fresh one every epoch. Two tiny classes make the difference concrete;
- :func:`mlm_loss` and :func:`mlm_loss_from_hidden`: the loss, from logits or from final hidden states
  plus the output projection (projecting only the sampled positions saves most of the work).

All functions are seedable with a ``torch.Generator``, work on ``[batch, time]`` tensors and never
modify their inputs: they return new tensors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
"""Label value for positions that do not count in the loss (PyTorch's ``cross_entropy`` default)."""

# Tokens such as "[unused17]" are reserved slots, never produced by the tokenizer; a random
# replacement should look like real text, so they are excluded along with the special tokens.
_RESERVED_TOKEN = re.compile(r"^\[[^\]]+\]$")


@dataclass(frozen=True)
class MaskingVocab:
    """What masking needs to know about a tokenizer, computed once.

    Attributes:
        mask_token_id: the id of ``[MASK]``.
        special_ids: ids that are never sampled (``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]``, ``[MASK]``...).
        ordinary_ids: ids a random replacement is drawn from (the vocabulary minus special and
            reserved ``[unusedN]`` tokens).
        continuation_ids: ids of WordPieces that continue a word (they start with ``"##"``).
    """

    mask_token_id: int
    special_ids: torch.Tensor
    ordinary_ids: torch.Tensor
    continuation_ids: torch.Tensor

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> MaskingVocab:
        """Build it from a Hugging Face tokenizer (raises ``ValueError`` if it has no mask token)."""
        if isinstance(tokenizer, MaskingVocab):
            return tokenizer
        if not hasattr(tokenizer, "get_vocab"):
            raise TypeError(
                f"expected a Hugging Face tokenizer or a MaskingVocab, got {type(tokenizer).__name__}"
            )
        if getattr(tokenizer, "mask_token_id", None) is None:
            raise ValueError(
                "this tokenizer has no mask token ([MASK]); masked language modelling needs one"
            )
        vocab: dict[str, int] = tokenizer.get_vocab()
        if not vocab:
            raise ValueError("the tokenizer's vocabulary is empty (did the tokenizer load?)")
        special = set(int(i) for i in tokenizer.all_special_ids)
        ordinary = sorted(
            i for token, i in vocab.items() if i not in special and not _RESERVED_TOKEN.match(token)
        )
        continuation = sorted(i for token, i in vocab.items() if token.startswith("##"))
        return cls(
            mask_token_id=int(tokenizer.mask_token_id),
            special_ids=torch.tensor(sorted(special), dtype=torch.long),
            ordinary_ids=torch.tensor(ordinary, dtype=torch.long),
            continuation_ids=torch.tensor(continuation, dtype=torch.long),
        )


def check_probability(name: str, value: float) -> float:
    """``value`` as a float if it is a number in [0, 1]; else a ``TypeError`` or ``ValueError`` naming it.

    The one probability check of the library (masking, NSP and span masking use it).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def _check_probabilities(
    mlm_probability: float, mask_replace_prob: float, random_replace_prob: float
) -> None:
    check_probability("mlm_probability", mlm_probability)
    check_probability("mask_replace_prob", mask_replace_prob)
    check_probability("random_replace_prob", random_replace_prob)
    if mask_replace_prob + random_replace_prob > 1.0 + 1e-12:
        raise ValueError(
            "mask_replace_prob + random_replace_prob must be <= 1 (the rest is 'keep unchanged'), "
            f"got {mask_replace_prob} + {random_replace_prob} = {mask_replace_prob + random_replace_prob}"
        )


def _check_batch(input_ids: Any, attention_mask: Any | None) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(f"input_ids must be a torch.Tensor, got {type(input_ids).__name__}")
    if input_ids.dim() != 2:
        raise ValueError(
            f"input_ids must have shape [batch, time], got shape {tuple(input_ids.shape)}"
        )
    if input_ids.numel() == 0:
        raise ValueError(f"input_ids is empty (shape {tuple(input_ids.shape)}); nothing to mask")
    if input_ids.dtype not in (torch.long, torch.int, torch.int32, torch.int64):
        raise TypeError(f"input_ids must hold integer token ids, got dtype {input_ids.dtype}")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids, dtype=torch.bool)
    elif not isinstance(attention_mask, torch.Tensor):
        raise TypeError(
            f"attention_mask must be a torch.Tensor, got {type(attention_mask).__name__}"
        )
    elif attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask shape {tuple(attention_mask.shape)} differs from input_ids shape "
            f"{tuple(input_ids.shape)}"
        )
    return input_ids.long(), attention_mask.bool()


def maskable_positions(
    input_ids: torch.Tensor, tokenizer: Any, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Boolean ``[B, T]``: True where a token may be sampled (not special, not padding)."""
    input_ids, attention_mask = _check_batch(input_ids, attention_mask)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    return attention_mask & ~torch.isin(input_ids, vocab.special_ids)


def _corrupt(
    input_ids: torch.Tensor,
    selected: torch.Tensor,
    choice: torch.Tensor,
    vocab: MaskingVocab,
    mask_replace_prob: float,
    random_replace_prob: float,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply 80/10/10 at ``selected`` given one uniform draw per position (``choice``)."""
    to_mask = selected & (choice < mask_replace_prob)
    to_random = selected & (choice >= mask_replace_prob)
    to_random &= choice < mask_replace_prob + random_replace_prob
    corrupted = input_ids.clone()
    corrupted[to_mask] = vocab.mask_token_id
    picks = torch.randint(len(vocab.ordinary_ids), input_ids.shape, generator=generator)
    corrupted[to_random] = vocab.ordinary_ids[picks[to_random]]
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    labels[selected] = input_ids[selected]
    return corrupted, labels


def mask_tokens(
    input_ids: torch.Tensor,
    tokenizer: Any,
    attention_mask: torch.Tensor | None = None,
    *,
    mlm_probability: float = 0.15,
    mask_replace_prob: float = 0.8,
    random_replace_prob: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's token-level masking of a padded batch.

    Each maskable position (not special, not padding) is sampled independently with probability
    ``mlm_probability``. A sampled position becomes ``[MASK]`` with probability ``mask_replace_prob``,
    a random ordinary token with probability ``random_replace_prob``, and stays unchanged otherwise.

    Args:
        input_ids: ``[B, T]`` token ids (not modified).
        tokenizer: a Hugging Face tokenizer with a mask token, or a :class:`MaskingVocab`.
        attention_mask: ``[B, T]``, 1 for real tokens and 0 for padding (default: all real).
        generator: a seeded ``torch.Generator`` for reproducible masks.

    Returns:
        ``(masked_input_ids, labels)``: new ``[B, T]`` tensors; ``labels`` holds the original id at
        sampled positions and ``-100`` everywhere else.
    """
    _check_probabilities(mlm_probability, mask_replace_prob, random_replace_prob)
    input_ids, attention_mask = _check_batch(input_ids, attention_mask)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    eligible = attention_mask & ~torch.isin(input_ids, vocab.special_ids)
    draws = torch.rand(input_ids.shape, generator=generator)
    selected = eligible & (draws < mlm_probability)
    choice = torch.rand(input_ids.shape, generator=generator)
    return _corrupt(
        input_ids, selected, choice, vocab, mask_replace_prob, random_replace_prob, generator
    )


def word_ids_from_pieces(
    input_ids: torch.Tensor, tokenizer: Any, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Number the words of each row: a word is a WordPiece plus the ``"##"`` pieces that follow it.

    Returns a ``[B, T]`` long tensor with word indices ``0, 1, 2...`` per row and ``-1`` at special
    and padding positions. ``"the un ##believ ##able cat"`` gives ``0 1 1 1 2``.
    """
    input_ids, attention_mask = _check_batch(input_ids, attention_mask)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    ordinary = attention_mask & ~torch.isin(input_ids, vocab.special_ids)
    continues = torch.isin(input_ids, vocab.continuation_ids)
    # A "##" piece right after a special token (a truncated word) starts a word of its own.
    previous_ordinary = torch.zeros_like(ordinary)
    previous_ordinary[:, 1:] = ordinary[:, :-1]
    starts = ordinary & ~(continues & previous_ordinary)
    word_ids = torch.cumsum(starts.long(), dim=1) - 1
    return torch.where(ordinary, word_ids, torch.full_like(word_ids, -1))


def _word_ids_from_tokenizer_output(word_ids: Any, shape: torch.Size) -> torch.Tensor:
    """Turn ``BatchEncoding.word_ids(i)`` lists (``None`` at special tokens) into a tensor."""
    if isinstance(word_ids, torch.Tensor):
        tensor = word_ids.long()
    else:
        rows = [[-1 if w is None else int(w) for w in row] for row in word_ids]
        tensor = torch.tensor(rows, dtype=torch.long)
    if tensor.shape != shape:
        raise ValueError(
            f"word_ids shape {tuple(tensor.shape)} differs from input_ids {tuple(shape)}"
        )
    # Word numbers restart in the second sentence of a pair; renumber so that a new word begins
    # wherever the number changes or a special token intervenes.
    valid = tensor >= 0
    previous = torch.full_like(tensor, -2)
    previous[:, 1:] = tensor[:, :-1]
    starts = valid & (tensor != previous)
    renumbered = torch.cumsum(starts.long(), dim=1) - 1
    return torch.where(valid, renumbered, torch.full_like(renumbered, -1))


def whole_word_mask_tokens(
    input_ids: torch.Tensor,
    tokenizer: Any,
    attention_mask: torch.Tensor | None = None,
    *,
    word_ids: Any | None = None,
    mlm_probability: float = 0.15,
    mask_replace_prob: float = 0.8,
    random_replace_prob: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole-word masking: sample *words* with probability ``mlm_probability``, 80/10/10 per word.

    All WordPieces of a sampled word are masked together (80%), replaced by random ordinary tokens
    (10%, one draw per piece) or left unchanged (10%); all of them get labels. Words are found from
    ``"##"`` pieces (:func:`word_ids_from_pieces`) unless ``word_ids`` is given: a ``[B, T]`` tensor
    with ``-1`` at special tokens, or the lists returned by ``BatchEncoding.word_ids(i)``.

    Returns ``(masked_input_ids, labels)`` as :func:`mask_tokens` does.
    """
    _check_probabilities(mlm_probability, mask_replace_prob, random_replace_prob)
    input_ids, attention_mask = _check_batch(input_ids, attention_mask)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    if word_ids is None:
        words = word_ids_from_pieces(input_ids, vocab, attention_mask)
    else:
        words = _word_ids_from_tokenizer_output(word_ids, input_ids.shape)
        words = torch.where(attention_mask & ~torch.isin(input_ids, vocab.special_ids), words, -1)
    # Give every word of the batch one global number so that one draw decides its fate.
    words_per_row = words.max(dim=1).values + 1
    offsets = torch.cumsum(words_per_row, dim=0) - words_per_row
    is_word = words >= 0
    global_ids = torch.where(is_word, words + offsets[:, None], torch.zeros_like(words))
    n_words = int(words_per_row.sum())
    word_selected = torch.rand(n_words, generator=generator) < mlm_probability
    word_choice = torch.rand(n_words, generator=generator)
    selected = is_word & word_selected[global_ids]
    choice = word_choice[global_ids]
    return _corrupt(
        input_ids, selected, choice, vocab, mask_replace_prob, random_replace_prob, generator
    )


# --------------------------------------------------------------------------------------------------
# Static (BERT) versus dynamic (RoBERTa) masking
# --------------------------------------------------------------------------------------------------


class _SeededMasking:
    """Masks example ``index`` in ``epoch`` with a generator seeded from ``(seed, index, round)``."""

    def __init__(
        self, tokenizer: Any, seed: int = 0, whole_word: bool = False, **probabilities: float
    ) -> None:
        self.vocab = MaskingVocab.from_tokenizer(tokenizer)
        self.seed = int(seed)
        self.whole_word = whole_word
        self.probabilities = probabilities
        _check_probabilities(
            probabilities.get("mlm_probability", 0.15),
            probabilities.get("mask_replace_prob", 0.8),
            probabilities.get("random_replace_prob", 0.1),
        )

    def _round(self, epoch: int) -> int:
        raise NotImplementedError

    def __call__(
        self,
        example_ids: list[int],
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        epoch: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask the rows of ``input_ids``, whose data-set indices are ``example_ids``."""
        input_ids, attention_mask = _check_batch(input_ids, attention_mask)
        if len(example_ids) != input_ids.shape[0]:
            raise ValueError(
                f"got {len(example_ids)} example ids for a batch of {input_ids.shape[0]} rows"
            )
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        masker = whole_word_mask_tokens if self.whole_word else mask_tokens
        masked_rows, label_rows = [], []
        for index, row, row_mask in zip(example_ids, input_ids, attention_mask, strict=True):
            seed = hash((self.seed, int(index), self._round(epoch))) & 0x7FFF_FFFF_FFFF_FFFF
            generator = torch.Generator().manual_seed(seed)
            masked, labels = masker(
                row[None], self.vocab, row_mask[None], generator=generator, **self.probabilities
            )
            masked_rows.append(masked[0])
            label_rows.append(labels[0])
        return torch.stack(masked_rows), torch.stack(label_rows)


class StaticMasking(_SeededMasking):
    """BERT's static masking: each example's mask is drawn once, before training.

    Every epoch sees the same masked positions. (BERT softened this by writing ``copies`` = 10
    differently masked copies of its data, so over 40 epochs each mask was seen 4 times; ``copies``
    reproduces that: epoch ``e`` uses copy ``e % copies``.)
    """

    def __init__(
        self,
        tokenizer: Any,
        seed: int = 0,
        copies: int = 1,
        whole_word: bool = False,
        **probabilities: float,
    ) -> None:
        if not isinstance(copies, int) or copies < 1:
            raise ValueError(f"copies must be a positive integer, got {copies!r}")
        super().__init__(tokenizer, seed, whole_word, **probabilities)
        self.copies = copies

    def _round(self, epoch: int) -> int:
        return epoch % self.copies


class DynamicMasking(_SeededMasking):
    """RoBERTa's dynamic masking: a fresh mask every time an example is seen (every epoch)."""

    def _round(self, epoch: int) -> int:
        return epoch


# --------------------------------------------------------------------------------------------------
# The MLM loss
# --------------------------------------------------------------------------------------------------


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the original tokens over the sampled positions only.

    ``L = -(1/M) sum_i log softmax(logits_i)[x_i]`` over the ``M`` positions whose label is not
    ``-100``. ``logits`` is ``[..., V]`` and ``labels`` has the same leading shape. Equal to
    ``F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100)``.
    """
    if logits.dim() < 2:
        raise ValueError(f"logits must have shape [..., vocab], got {tuple(logits.shape)}")
    if logits.shape[:-1] != labels.shape:
        raise ValueError(
            f"labels shape {tuple(labels.shape)} does not match logits {tuple(logits.shape)[:-1]}"
        )
    sampled = labels != IGNORE_INDEX
    if not bool(sampled.any()):
        raise ValueError("no position has a label (all are -100): the MLM loss is undefined")
    targets = labels[sampled]
    if int(targets.min()) < 0 or int(targets.max()) >= logits.shape[-1]:
        raise ValueError(
            f"labels must be -100 or in [0, {logits.shape[-1]}), got {targets.tolist()[:5]}"
        )
    log_probs = torch.log_softmax(logits[sampled].float(), dim=-1)
    return -log_probs.gather(1, targets[:, None]).mean()


def mlm_loss_from_hidden(
    hidden_states: torch.Tensor,
    output_weight: torch.Tensor,
    labels: torch.Tensor,
    output_bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """The MLM loss from final hidden states ``z`` and the vocabulary projection ``W_V``.

    ``y_i = softmax(W_V z_i + b)`` is computed **only at sampled positions**: with 15% sampled this
    skips 85% of the largest matrix product of pretraining. ``hidden_states`` is ``[B, T, d]``,
    ``output_weight`` is ``[V, d]`` (as stored by ``nn.Linear``), ``labels`` is ``[B, T]``.
    """
    if hidden_states.shape[:-1] != labels.shape:
        raise ValueError(
            f"labels shape {tuple(labels.shape)} does not match hidden states "
            f"{tuple(hidden_states.shape)[:-1]}"
        )
    if output_weight.dim() != 2 or output_weight.shape[1] != hidden_states.shape[-1]:
        raise ValueError(
            f"output_weight must be [vocab, {hidden_states.shape[-1]}], got {tuple(output_weight.shape)}"
        )
    sampled = labels != IGNORE_INDEX
    logits = F.linear(hidden_states[sampled], output_weight, output_bias)
    return mlm_loss(logits, labels[sampled])
