"""Next sentence prediction (NSP): building sentence pairs, encoding them, and the combined loss.

Page ``03_next_sentence_prediction``; assignment a3_nsp_spans.

BERT's second pretraining task (SLP3 11.2.2): given two spans of text A and B, decide whether B really
follows A in a document. Half of the training pairs are true continuations (label ``0 = IsNext``, the
convention of Hugging Face's ``BertForPreTraining``), half pair A with a sentence drawn from **another**
document (label ``1 = NotNext``). A pair is fed to the encoder as

    ``[CLS] A [SEP] B [SEP]``   with segment (token type) ids   ``0 0..0 0 1..1 1``

(``[CLS]`` and the first ``[SEP]`` belong to segment 0, the final ``[SEP]`` to segment 1). The output
vector of ``[CLS]`` goes through a 2-way classifier, ``y = softmax(W_NSP z_CLS)``, trained with
cross-entropy; BERT minimises the sum of the MLM and NSP losses.

What is here:

- :func:`make_nsp_pairs`: sentence-level pairs from documents split into sentences (the textbook recipe);
- :func:`make_packed_nsp_pairs`: BERT's actual recipe on token ids, where A and B are runs of whole
  sentences that together fill the sequence length (far fewer wasted padding positions);
- :func:`truncate_longest_first` and :func:`encode_pair`: the encoding above, truncating the longer
  segment one token at a time until the pair fits (what ``truncation="longest_first"`` does);
- :func:`nsp_loss` and :func:`pretraining_loss`: the NSP loss and the combined MLM + NSP loss.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ch11lib.masking import check_probability, mlm_loss

IS_NEXT = 0
"""Label of a pair whose second segment really follows the first (``BertForPreTraining`` convention)."""
NOT_NEXT = 1
"""Label of a pair whose second segment comes from another document."""


@dataclass(frozen=True)
class SentencePair:
    """One NSP example: ``second`` follows ``first`` (``label == IS_NEXT``) or not (``NOT_NEXT``).

    ``first_document`` and ``second_document`` are the indices of the documents the segments came from.
    """

    first: Any
    second: Any
    label: int
    first_document: int
    second_document: int


def _check_documents(documents: Any) -> None:
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise TypeError(
            "documents must be a sequence of documents, each a sequence of sentences; "
            f"got {type(documents).__name__}"
        )
    if len(documents) < 2:
        raise ValueError(
            f"NSP needs at least 2 documents (negatives come from another document), got {len(documents)}"
        )
    for index, document in enumerate(documents):
        if isinstance(document, str):
            raise TypeError(
                f"document {index} is a string; split each document into a list of sentences"
            )
        if len(document) == 0:
            raise ValueError(
                f"document {index} is empty; every document needs at least one sentence"
            )


def _random_other_document(rng: random.Random, n_documents: int, current: int) -> int:
    other = rng.randrange(n_documents - 1)
    return other + 1 if other >= current else other


def make_nsp_pairs(
    documents: Sequence[Sequence[Any]], *, negative_probability: float = 0.5, seed: int = 0
) -> list[SentencePair]:
    """One pair per pair of adjacent sentences in each document.

    For sentence ``i`` of a document (with a sentence ``i + 1`` after it), the pair is
    ``(sentence i, sentence i + 1, IS_NEXT)`` with probability ``1 - negative_probability`` and
    ``(sentence i, random sentence of another document, NOT_NEXT)`` otherwise.

    Raises:
        ValueError: fewer than 2 documents, an empty document, or a probability outside [0, 1].
    """
    _check_documents(documents)
    check_probability("negative_probability", negative_probability)
    rng = random.Random(seed)
    pairs = []
    for index, document in enumerate(documents):
        for position in range(len(document) - 1):
            if rng.random() < negative_probability:
                other = _random_other_document(rng, len(documents), index)
                second = documents[other][rng.randrange(len(documents[other]))]
                pairs.append(SentencePair(document[position], second, NOT_NEXT, index, other))
            else:
                pairs.append(
                    SentencePair(document[position], document[position + 1], IS_NEXT, index, index)
                )
    return pairs


def make_packed_nsp_pairs(
    documents: Sequence[Sequence[Sequence[int]]],
    max_length: int,
    *,
    negative_probability: float = 0.5,
    seed: int = 0,
) -> list[SentencePair]:
    """BERT's pretraining pairs on token ids: segments are runs of whole sentences that fill the input.

    ``documents`` holds, per document, its sentences as lists of token ids (no special tokens). Walking
    through a document, sentences are gathered until they fill ``max_length - 3`` tokens (room for
    ``[CLS]`` and two ``[SEP]``); the run is cut at a random sentence boundary into A and B. With
    probability ``negative_probability`` B is replaced by sentences from a random *other* document, and
    the sentences of the true B are given back to be used in the next pair (as BERT's
    ``create_pretraining_data.py`` does). Segments may exceed the budget; :func:`encode_pair` truncates.
    """
    _check_documents(documents)
    check_probability("negative_probability", negative_probability)
    if max_length < 5:
        raise ValueError(f"max_length must be >= 5 ([CLS] a [SEP] b [SEP]), got {max_length}")
    budget = max_length - 3
    rng = random.Random(seed)
    pairs: list[SentencePair] = []
    for index, document in enumerate(documents):
        chunk: list[Sequence[int]] = []
        length = 0
        position = 0
        while position < len(document):
            chunk.append(document[position])
            length += len(document[position])
            last = position == len(document) - 1
            if (length >= budget or last) and len(chunk) >= 2:
                split = rng.randint(1, len(chunk) - 1)
                first = [token for sentence in chunk[:split] for token in sentence]
                if rng.random() < negative_probability:
                    other = _random_other_document(rng, len(documents), index)
                    start = rng.randrange(len(documents[other]))
                    second: list[int] = []
                    for sentence in documents[other][start:]:
                        second.extend(sentence)
                        if len(first) + len(second) >= budget:
                            break
                    pairs.append(SentencePair(first, second, NOT_NEXT, index, other))
                    position -= len(chunk) - split  # give the unused true continuation back
                else:
                    second = [token for sentence in chunk[split:] for token in sentence]
                    pairs.append(SentencePair(first, second, IS_NEXT, index, index))
                chunk, length = [], 0
            elif last:
                chunk, length = [], 0
            position += 1
    return pairs


def truncate_longest_first(
    first: Sequence[int], second: Sequence[int], max_tokens: int
) -> tuple[list[int], list[int]]:
    """Cut tokens from the end of the longer segment until the pair fits in ``max_tokens``.

    The longer segment is shortened first; once both are longer than half the budget, the shorter one
    keeps ``max_tokens // 2`` tokens and the longer one the rest (with equal lengths the second
    segment counts as the longer). This is exactly what Hugging Face tokenizers do for
    ``truncation="longest_first"``.
    """
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be >= 0, got {max_tokens}")
    first, second = list(first), list(second)
    if len(first) + len(second) <= max_tokens:
        return first, second
    first_is_longer = len(first) > len(second)
    shorter = len(second) if first_is_longer else len(first)
    keep_shorter = min(shorter, max_tokens // 2)
    keep_longer = max_tokens - keep_shorter
    if first_is_longer:
        return first[:keep_longer], second[:keep_shorter]
    return first[:keep_shorter], second[:keep_longer]


def encode_pair(
    tokenizer: Any, first: str | Sequence[int], second: str | Sequence[int], max_length: int
) -> dict[str, list[int]]:
    """``[CLS] first [SEP] second [SEP]`` with segment ids, truncated longest-first to ``max_length``.

    ``first`` and ``second`` are strings (tokenized here) or token-id lists without special tokens.
    Returns ``input_ids``, ``token_type_ids`` (0 for ``[CLS]``, A and the first ``[SEP]``; 1 for B and
    the last ``[SEP]``) and ``attention_mask``, as plain lists, the same as
    ``tokenizer(first, second, truncation="longest_first", max_length=max_length)``.
    """
    if max_length < 3:
        raise ValueError(f"max_length must be >= 3 to hold [CLS], [SEP], [SEP]; got {max_length}")
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise ValueError("the tokenizer needs [CLS] and [SEP] tokens to encode a sentence pair")

    def ids(segment: str | Sequence[int]) -> list[int]:
        if isinstance(segment, str):
            return tokenizer(segment, add_special_tokens=False)["input_ids"]
        return [int(token) for token in segment]

    a, b = truncate_longest_first(ids(first), ids(second), max_length - 3)
    input_ids = [tokenizer.cls_token_id, *a, tokenizer.sep_token_id, *b, tokenizer.sep_token_id]
    token_type_ids = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "attention_mask": [1] * len(input_ids),
    }


def collate_pairs(
    encodings: Sequence[dict[str, list[int]]], pad_token_id: int
) -> dict[str, torch.Tensor]:
    """Pad a list of :func:`encode_pair` outputs to the longest one and stack them into tensors."""
    if len(encodings) == 0:
        raise ValueError("cannot collate an empty list of encodings")
    width = max(len(encoding["input_ids"]) for encoding in encodings)
    batch: dict[str, torch.Tensor] = {}
    for key, pad in (("input_ids", pad_token_id), ("token_type_ids", 0), ("attention_mask", 0)):
        rows = [encoding[key] + [pad] * (width - len(encoding[key])) for encoding in encodings]
        batch[key] = torch.tensor(rows, dtype=torch.long)
    return batch


def nsp_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the 2-way NSP classifier: ``-(1/N) sum log softmax(logits_n)[label_n]``."""
    if logits.dim() != 2 or logits.shape[1] != 2:
        raise ValueError(f"NSP logits must have shape [batch, 2], got {tuple(logits.shape)}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(
            f"NSP labels must have shape [{logits.shape[0]}], got {tuple(labels.shape)}"
        )
    if not bool(((labels == IS_NEXT) | (labels == NOT_NEXT)).all()):
        raise ValueError(
            f"NSP labels must be 0 (IsNext) or 1 (NotNext), got {labels.unique().tolist()}"
        )
    return F.cross_entropy(logits.float(), labels.long())


@dataclass(frozen=True)
class PretrainingLoss:
    """BERT's pretraining objective ``total = mlm + nsp`` and its two parts."""

    total: torch.Tensor
    mlm: torch.Tensor
    nsp: torch.Tensor


def pretraining_loss(
    mlm_logits: torch.Tensor,
    mlm_labels: torch.Tensor,
    nsp_logits: torch.Tensor,
    nsp_labels: torch.Tensor,
) -> PretrainingLoss:
    """The combined loss: the MLM loss over sampled positions plus the NSP loss over the batch.

    ``mlm_logits`` is ``[..., V]`` with labels ``[...]`` (``-100`` where nothing was sampled), so it
    accepts full ``[B, T, V]`` logits or logits gathered at the sampled positions only.
    """
    mlm = mlm_loss(mlm_logits, mlm_labels)
    nsp = nsp_loss(nsp_logits, nsp_labels)
    return PretrainingLoss(total=mlm + nsp, mlm=mlm, nsp=nsp)
