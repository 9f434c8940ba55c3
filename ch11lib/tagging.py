"""Sequence labelling on top of a subword encoder: label alignment, decoding, a CRF and entity F1.

Pages ``10_sequence_labelling`` and ``11_span_based``; assignment a5_finetuning.

The pieces SLP3 §11.4 asks for, small enough to read:

* **Alignment** (:func:`align_labels`): word-level gold tags become subword-level training labels. Either
  every subword inherits its word's tag (optionally ``B-X`` -> ``I-X`` on continuation pieces), or only
  the first subword is trained and the others get :data:`IGNORE_INDEX` (``-100``, which
  ``torch.nn.functional.cross_entropy`` skips). Special tokens always get ``-100``.
* **Word-level decoding** (:func:`word_probabilities`): a word's tag distribution comes from its first
  subword, or from the average of its subwords' probabilities.
* **Greedy vs CRF** (:func:`greedy_decode`, :class:`CRF`): argmax per position, or a linear-chain CRF
  with a transition matrix and start/end transitions (forward algorithm, Viterbi).
* **Entity-level scores** (:func:`get_entities`, :func:`entity_scores`): exact-match precision, recall
  and F1 over typed spans ``(start, end, type)``, by ``seqeval`` (conlleval's reading: an ``I-X``
  after ``O`` starts an entity; a change of type ends one).
* **Comparing two taggers** (:func:`sentence_entity_counts`, :func:`paired_bootstrap`): the counts per
  sentence, and the standard error of a gap in F1, precision or multi-word recall from resampling the
  test sentences, the same sentences for both systems.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ch11lib.cache import atomic_save, cache_dir, cache_key
from ch11lib.masking import IGNORE_INDEX

# --------------------------------------------------------------------------------------------------
# Subword / label alignment
# --------------------------------------------------------------------------------------------------


def begin_to_inside(label_names: Sequence[str]) -> dict[int, int]:
    """Map the id of every ``B-X`` label to the id of ``I-X`` (for continuation pieces).

    Raises ValueError if some ``B-X`` has no ``I-X`` partner.
    """
    index = {name: i for i, name in enumerate(label_names)}
    mapping = {}
    for name, i in index.items():
        if name.startswith("B-"):
            inside = "I-" + name[2:]
            if inside not in index:
                raise ValueError(f"label {name!r} has no {inside!r} partner in {list(label_names)}")
            mapping[i] = index[inside]
    return mapping


def align_labels(
    word_ids: Sequence[int | None],
    word_labels: Sequence[int],
    *,
    label_all_subwords: bool = True,
    b_to_i: Mapping[int, int] | None = None,
) -> list[int]:
    """Subword-level labels from word-level labels.

    Args:
        word_ids: for each subword, the index of its word, ``None`` for special tokens (what a fast
            tokenizer's ``encoding.word_ids()`` returns; a truncated encoding simply covers fewer words).
        word_labels: one label id per word.
        label_all_subwords: True -> every subword inherits its word's label (option A); False -> only
            the first subword of a word is labelled, the rest get ``-100`` (option B).
        b_to_i: with option A, the map used on continuation pieces (``B-X`` -> ``I-X``, see
            :func:`begin_to_inside`); None keeps ``B-X`` on every piece.

    Returns:
        one label per subword, ``-100`` where the loss must ignore the position.
    """
    labels: list[int] = []
    previous: int | None = None
    for word_id in word_ids:
        if word_id is None:
            labels.append(IGNORE_INDEX)
        elif not 0 <= word_id < len(word_labels):
            raise ValueError(f"word id {word_id} is outside the {len(word_labels)} word labels")
        elif word_id != previous:
            labels.append(int(word_labels[word_id]))
        elif label_all_subwords:
            label = int(word_labels[word_id])
            labels.append(b_to_i.get(label, label) if b_to_i else label)
        else:
            labels.append(IGNORE_INDEX)
        previous = word_id
    return labels


def tokenize_and_align(
    tokenizer: Any,
    words: Sequence[str],
    word_labels: Sequence[int],
    *,
    label_all_subwords: bool = True,
    b_to_i: Mapping[int, int] | None = None,
    max_length: int | None = None,
) -> dict[str, list[int]]:
    """Tokenize pre-split ``words`` with a fast tokenizer and add aligned ``labels``.

    ``max_length`` truncates (words past the end lose their labels with them).
    """
    if len(words) != len(word_labels):
        raise ValueError(f"{len(words)} words but {len(word_labels)} labels")
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError("a fast tokenizer is needed: word_ids() is only available on fast ones")
    encoding = tokenizer(
        list(words),
        is_split_into_words=True,
        truncation=max_length is not None,
        max_length=max_length,
    )
    result = {key: list(value) for key, value in encoding.items()}
    result["labels"] = align_labels(
        encoding.word_ids(), word_labels, label_all_subwords=label_all_subwords, b_to_i=b_to_i
    )
    result["word_ids"] = [-1 if w is None else w for w in encoding.word_ids()]
    return result


# --------------------------------------------------------------------------------------------------
# Word-level decoding
# --------------------------------------------------------------------------------------------------


def word_probabilities(
    subword_logits: torch.Tensor, word_ids: Sequence[int | None], strategy: str = "first"
) -> torch.Tensor:
    """Tag probabilities per word, ``[n_words, n_labels]``, from subword logits ``[n_subwords, n_labels]``.

    ``strategy="first"``: softmax of the word's first subword; ``"average"``: the mean of the softmax
    of all its subwords. ``n_words`` is the number of words present (a truncated encoding covers the
    words ``0 .. max(word_ids)``).
    """
    if subword_logits.dim() != 2:
        raise ValueError(
            f"subword_logits must be [n_subwords, n_labels], got {tuple(subword_logits.shape)}"
        )
    if subword_logits.shape[0] != len(word_ids):
        raise ValueError(f"{subword_logits.shape[0]} subword rows but {len(word_ids)} word ids")
    if strategy not in ("first", "average"):
        raise ValueError(f"strategy must be 'first' or 'average', got {strategy!r}")
    present = [w for w in word_ids if w is not None]
    if not present:
        return subword_logits.new_zeros((0, subword_logits.shape[1]))
    n_words = max(present) + 1
    if set(present) != set(range(n_words)):
        raise ValueError("word ids must cover 0 .. max(word_ids) without gaps")
    probs = subword_logits.softmax(dim=-1)
    index = torch.tensor([-1 if w is None else w for w in word_ids])
    keep = index >= 0
    if strategy == "first":
        first = [
            i for i, w in enumerate(word_ids) if w is not None and (i == 0 or word_ids[i - 1] != w)
        ]
        return probs[first]
    sums = probs.new_zeros((n_words, probs.shape[1])).index_add_(0, index[keep], probs[keep])
    counts = torch.bincount(index[keep], minlength=n_words).to(probs.dtype)
    return sums / counts[:, None]


def greedy_decode(scores: torch.Tensor) -> torch.Tensor:
    """The independent argmax per position: ``y_i = argmax_k scores[..., i, k]``."""
    return scores.argmax(dim=-1)


# --------------------------------------------------------------------------------------------------
# Linear-chain CRF
# --------------------------------------------------------------------------------------------------


def _check_crf_inputs(
    emissions: torch.Tensor, mask: torch.Tensor | None, num_tags: int
) -> torch.Tensor:
    if emissions.dim() != 3 or emissions.shape[-1] != num_tags:
        raise ValueError(
            f"emissions must be [batch, length, {num_tags}], got {tuple(emissions.shape)}"
        )
    if emissions.shape[1] == 0:
        raise ValueError("emissions must have at least one position")
    if mask is None:
        return torch.ones(emissions.shape[:2], dtype=torch.bool, device=emissions.device)
    if mask.shape != emissions.shape[:2]:
        raise ValueError(f"mask must be {tuple(emissions.shape[:2])}, got {tuple(mask.shape)}")
    mask = mask.bool()
    if not mask[:, 0].all():
        raise ValueError("the first position of every sequence must be unmasked")
    if (mask[:, 1:] & ~mask[:, :-1]).any():
        raise ValueError("mask must be a prefix of ones followed by zeros (right padding)")
    return mask


class CRF(nn.Module):
    """A linear-chain CRF over ``num_tags`` tags.

    The score of a tag sequence ``y_1..y_n`` for emission scores ``E`` is

    ``start[y_1] + sum_i E[i, y_i] + sum_{i>1} transitions[y_{i-1}, y_i] + end[y_n]``

    and ``p(y | x) = exp(score(y)) / Z`` with ``log Z`` from the forward algorithm.
    ``transitions[a, b]`` is the score of moving from tag ``a`` to tag ``b``.
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be positive, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start_transitions = nn.Parameter(torch.zeros(num_tags))
        self.end_transitions = nn.Parameter(torch.zeros(num_tags))

    def score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The unnormalised score of each gold sequence, ``[batch]``."""
        mask = _check_crf_inputs(emissions, mask, self.num_tags)
        if tags.shape != emissions.shape[:2]:
            raise ValueError(f"tags must be {tuple(emissions.shape[:2])}, got {tuple(tags.shape)}")
        tags = tags.clamp(min=0)  # padded positions may hold -100; they are masked out below
        batch = torch.arange(emissions.shape[0], device=emissions.device)
        maskf = mask.to(emissions.dtype)
        total = self.start_transitions[tags[:, 0]] + emissions[batch, 0, tags[:, 0]]
        for i in range(1, emissions.shape[1]):
            step = self.transitions[tags[:, i - 1], tags[:, i]] + emissions[batch, i, tags[:, i]]
            total = total + step * maskf[:, i]
        last = tags[batch, mask.sum(dim=1) - 1]
        return total + self.end_transitions[last]

    def log_partition(
        self, emissions: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``log Z`` for each sequence by the forward algorithm, ``[batch]``."""
        mask = _check_crf_inputs(emissions, mask, self.num_tags)
        alpha = self.start_transitions + emissions[:, 0]  # [batch, tags]
        for i in range(1, emissions.shape[1]):
            candidate = alpha[:, :, None] + self.transitions[None] + emissions[:, i, None, :]
            alpha = torch.where(mask[:, i, None], torch.logsumexp(candidate, dim=1), alpha)
        return torch.logsumexp(alpha + self.end_transitions, dim=1)

    def log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``log p(tags | x)`` per sequence, ``[batch]``."""
        return self.score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def forward(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The training loss: the mean negative log-likelihood over the batch."""
        return -self.log_likelihood(emissions, tags, mask).mean()

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor | None = None) -> list[list[int]]:
        """The best tag sequence of each sequence (Viterbi), as lists of the unmasked length."""
        mask = _check_crf_inputs(emissions, mask, self.num_tags)
        score = self.start_transitions + emissions[:, 0]
        backpointers = []
        for i in range(1, emissions.shape[1]):
            candidate = score[:, :, None] + self.transitions[None]
            best, previous = candidate.max(dim=1)
            backpointers.append(previous)
            score = torch.where(mask[:, i, None], best + emissions[:, i], score)
        score = score + self.end_transitions
        lengths = mask.sum(dim=1).tolist()
        paths = []
        for b, length in enumerate(lengths):
            tag = int(score[b].argmax())
            path = [tag]
            for i in range(length - 2, -1, -1):
                tag = int(backpointers[i][b, tag])
                path.append(tag)
            paths.append(path[::-1])
        return paths

    def constrain_bio(self, label_names: Sequence[str], penalty: float = -1e4) -> None:
        """Forbid BIO-invalid moves (``I-X`` not after ``B-X``/``I-X``, or first) with ``penalty``."""
        if len(label_names) != self.num_tags:
            raise ValueError(f"{len(label_names)} label names for {self.num_tags} tags")
        allowed, allowed_start = bio_allowed_transitions(label_names)
        with torch.no_grad():
            self.transitions.masked_fill_(~allowed, penalty)
            self.start_transitions.masked_fill_(~allowed_start, penalty)


def bio_allowed_transitions(label_names: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean ``[K, K]`` (from, to) and ``[K]`` (start) masks of the moves BIO allows."""
    k = len(label_names)
    allowed = torch.ones(k, k, dtype=torch.bool)
    allowed_start = torch.ones(k, dtype=torch.bool)
    for j, to in enumerate(label_names):
        if to.startswith("I-"):
            allowed_start[j] = False
            for i, frm in enumerate(label_names):
                allowed[i, j] = frm in ("B-" + to[2:], to)
    return allowed, allowed_start


# --------------------------------------------------------------------------------------------------
# Entity-level evaluation (conlleval / seqeval default mode)
# --------------------------------------------------------------------------------------------------


Entity = tuple[int, int, str]
"""An entity ``(start, end, type)``, ``end`` inclusive: the one order of the library (span heads too)."""


def get_entities(tags: Sequence[str] | Sequence[Sequence[str]]) -> list[Entity]:
    """Typed entities ``(start, end, type)`` (``end`` inclusive) read from BIO tags by ``seqeval``.

    ``seqeval`` reads them as conlleval does: ``I-X`` after ``O`` or after another type starts a new
    entity. A list of sentences is read as one sequence with ``O`` between sentences. (The library
    does this; the page teaches what is counted, not how to parse tags.)
    """
    from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities

    flat = list(tags)
    for i, tag in enumerate(
        t for item in flat for t in (item if isinstance(item, list | tuple) else [item])
    ):
        if not isinstance(tag, str) or not tag:
            raise TypeError(f"tags must be non-empty strings, got {tag!r} at position {i}")
    return [(start, end, type_) for type_, start, end in seqeval_entities(flat)]


def entity_scores(
    y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Micro-averaged entity-level precision, recall, F1 (exact span and type) and the gold count.

    Computed by ``seqeval`` (the reference implementation of conlleval's scores); a score whose
    denominator is zero is 0.0.
    """
    from seqeval.metrics import f1_score, precision_score, recall_score

    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold sentences but {len(y_pred)} predicted ones")
    for i, (gold, pred) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(gold) != len(pred):
            raise ValueError(f"sentence {i}: {len(gold)} gold tags but {len(pred)} predicted tags")
    y_true, y_pred = [list(s) for s in y_true], [list(s) for s in y_pred]
    return {
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "support": len(get_entities(y_true)),
    }


def sentence_entity_counts(
    y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]
) -> np.ndarray:
    """Per sentence, the entity counts behind ``entity_scores``: an int array ``(sentences, 5)``.

    Columns: correct, predicted and gold entities, then correct and gold entities of two or more
    words. Summed over sentences they give the micro scores (``precision_of``, ``recall_of``,
    ``f1_of``, ``multiword_recall_of``); kept per sentence they can be resampled (``paired_bootstrap``).
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold sentences but {len(y_pred)} predicted ones")
    rows = []
    for i, (gold, pred) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(gold) != len(pred):
            raise ValueError(f"sentence {i}: {len(gold)} gold tags but {len(pred)} predicted tags")
        gold_entities = set(get_entities(list(gold))) if gold else set()
        predicted = set(get_entities(list(pred))) if pred else set()
        multi_word = {entity for entity in gold_entities if entity[1] > entity[0]}
        rows.append((len(gold_entities & predicted), len(predicted), len(gold_entities),
                     len(multi_word & predicted), len(multi_word)))  # fmt: skip
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def precision_of(counts: np.ndarray) -> float:
    """Entity precision from counts summed over sentences (``sentence_entity_counts(...).sum(0)``)."""
    return _ratio(counts[0], counts[1])


def recall_of(counts: np.ndarray) -> float:
    """Entity recall from summed counts."""
    return _ratio(counts[0], counts[2])


def f1_of(counts: np.ndarray) -> float:
    """Entity F1 from summed counts: 2 correct / (predicted + gold)."""
    return _ratio(2 * counts[0], counts[1] + counts[2])


def multiword_recall_of(counts: np.ndarray) -> float:
    """Recall on gold entities of two or more words, from summed counts."""
    return _ratio(counts[3], counts[4])


def paired_bootstrap(
    counts_a: np.ndarray,
    counts_b: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """``statistic(a) - statistic(b)`` on all sentences, and its paired bootstrap standard error.

    ``counts_a`` and ``counts_b`` are two systems' ``sentence_entity_counts`` on the same sentences;
    each resample draws sentences with replacement and scores both systems on the same draw, so the
    error is that of the difference, smaller than two independent errors (chapters 10 and 11).
    """
    counts_a, counts_b = np.asarray(counts_a), np.asarray(counts_b)
    if counts_a.shape != counts_b.shape or counts_a.ndim != 2 or len(counts_a) == 0:
        raise ValueError(
            "expected two systems' per-sentence counts of the same, non-empty shape "
            f"(sentence_entity_counts on the same sentences), got {counts_a.shape} and {counts_b.shape}"
        )
    if resamples < 2:
        raise ValueError(f"resamples must be at least 2 for a standard error, got {resamples}")
    gap = statistic(counts_a.sum(axis=0)) - statistic(counts_b.sum(axis=0))
    draws = np.random.default_rng(seed).integers(0, len(counts_a), size=(resamples, len(counts_a)))
    gaps = [
        statistic(counts_a[rows].sum(axis=0)) - statistic(counts_b[rows].sum(axis=0))
        for rows in draws
    ]
    return float(gap), float(np.std(gaps, ddof=1))


# --------------------------------------------------------------------------------------------------
# Frozen-encoder features for pre-split sentences (for pages that train only a head)
# --------------------------------------------------------------------------------------------------


@torch.no_grad()
def encode_words(
    model: nn.Module,
    tokenizer: Any,
    sentences: Sequence[Sequence[str]],
    batch_size: int = 64,
    max_length: int = 64,
    cache: bool = False,
) -> list[tuple[torch.Tensor, list[int | None]]]:
    """Last-layer hidden states of a frozen encoder for each pre-split sentence.

    Returns, per sentence, ``(hidden [n_subwords, hidden_size], word_ids)`` without padding; the
    subword sequence includes ``[CLS]``/``[SEP]`` (word id ``None``) and is truncated to ``max_length``.
    Sentences are batched by length (less padding, same results). With ``cache=True`` the result is
    kept on disk (under ``CH11_CACHE``, see :func:`ch11lib.cache.cache_dir`) keyed by the model's
    configuration and every weight (:func:`ch11lib.cache.cache_key`), the sentences and
    ``max_length``, so a second page asking for it loads it.
    """
    if not sentences:
        raise ValueError("no sentences to encode")
    sentences = [list(words) for words in sentences]
    path = _feature_cache_path(model, sentences, max_length) if cache else None
    if path is not None and path.is_file():
        return torch.load(path, weights_only=False)
    model.eval()
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    result: list[Any] = [None] * len(sentences)
    for begin in range(0, len(order), batch_size):
        indices = order[begin : begin + batch_size]
        batch = tokenizer(
            [sentences[i] for i in indices],
            is_split_into_words=True,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        hidden = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        for row, index in enumerate(indices):
            length = int(batch["attention_mask"][row].sum())
            result[index] = (hidden[row, :length].clone(), batch.word_ids(row)[:length])
    if path is not None:
        atomic_save(path, lambda partial: torch.save(result, partial))
    return result


def _feature_cache_path(model: nn.Module, sentences: Sequence[Sequence[str]], max_length: int):
    key = cache_key(model, [list(words) for words in sentences], max_length)
    return cache_dir() / "features" / f"words_{key}.pt"
