"""Everyday English cloze sentences, and how often a masked language model fills them acceptably.

``ch11lib/assets/everyday_cloze.json`` holds sentences written for the course (food, animals,
places, family, daily actions, simple facts), lower-case, one ``[MASK]`` each, with several
acceptable answers, every one a single WordPiece of the ``bert-base-uncased`` vocabulary (which
MiniLM shares). :func:`evaluate_cloze` is the one place the pages (``02_masked_language_modelling``,
``04_pretraining_a_bert``), the scripts and the tests score a model on them: a sentence counts for
top-k when an acceptable answer is among the model's k likeliest tokens at the mask.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

CLOZE_PATH = Path(__file__).resolve().parent / "assets" / "everyday_cloze.json"


@dataclass(frozen=True)
class ClozeItem:
    sentence: str
    answers: tuple[str, ...]


def load_cloze_set(path: Path = CLOZE_PATH) -> list[ClozeItem]:
    """The development set of everyday cloze sentences."""
    return [ClozeItem(i["sentence"], tuple(i["answers"])) for i in json.loads(path.read_text())]


def cloze_words(items: Sequence[ClozeItem]) -> set[str]:
    """The sentences' words without the mask, to check training text for overlap."""
    return {item.sentence.replace("[MASK]", " ").strip() for item in items}


def _mask_logits(model: Any, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
    output = model(**encoded)
    logits = getattr(output, "logits", None)
    return output.prediction_logits if logits is None else logits


@torch.no_grad()
def evaluate_cloze(
    model: Any,
    tokenizer: Any,
    items: Sequence[ClozeItem] | None = None,
    top_k: int = 5,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Top-1 and top-``top_k`` accuracy of a fill-mask model on ``items`` (default: the dev set).

    Works for ``BertForMaskedLM`` and ``BertForPreTraining``. Predictions are the decoded tokens
    (special tokens excluded), so models with different vocabularies are compared on the same
    words; an answer that is not a single token of a model's vocabulary can't be predicted by it.
    Returns ``{"top1", "topk", "k", "n", "predictions": [[token, ...], ...], "hits": [rank|None]}``.
    """
    items = load_cloze_set() if items is None else list(items)
    was_training = model.training
    model.eval()
    special = torch.tensor(tokenizer.all_special_ids)
    predictions: list[list[str]] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        encoded = tokenizer([i.sentence for i in chunk], return_tensors="pt", padding=True)
        encoded.pop("token_type_ids", None)
        logits = _mask_logits(model, dict(encoded))
        rows, columns = (encoded["input_ids"] == tokenizer.mask_token_id).nonzero(as_tuple=True)
        if len(rows) != len(chunk):
            raise ValueError("every cloze sentence needs exactly one [MASK]")
        scores = logits[rows, columns].float()
        scores[:, special] = float("-inf")
        best = scores.topk(top_k, dim=-1).indices
        predictions += [[tokenizer.convert_ids_to_tokens(int(t)) for t in row] for row in best]
    model.train(was_training)
    hits = [
        next((rank for rank, token in enumerate(p) if token in item.answers), None)
        for p, item in zip(predictions, items, strict=True)
    ]
    n = len(items)
    return {
        "top1": sum(h == 0 for h in hits) / n,
        "topk": sum(h is not None for h in hits) / n,
        "k": top_k,
        "n": n,
        "predictions": predictions,
        "hits": hits,
    }


def answerable(items: Sequence[ClozeItem], tokenizer: Any) -> float:
    """The share of ``items`` with at least one acceptable answer that is one token of ``tokenizer``.

    A model can only predict whole tokens of its own vocabulary: a sentence none of whose answers is
    one is out of its reach, whatever it learned.
    """
    vocabulary = tokenizer.get_vocab()
    return sum(any(a in vocabulary for a in item.answers) for item in items) / len(items)


def side_by_side(
    results: dict[str, dict[str, Any]], items: Sequence[ClozeItem], shown: Sequence[int], k: int = 3
) -> tuple[list[str], list[list[str]]]:
    """A table (header, rows) of the sentences ``shown`` with each model's top ``k`` guesses.

    ``results`` maps a model's name to its :func:`evaluate_cloze` result on ``items``; a cell is
    marked with the rank of the first acceptable answer in that model's top 5 (or "miss").
    """
    header = ["sentence", "acceptable"] + [f"{name}: top {k}" for name in results]
    rows = []
    for index in shown:
        item = items[index]
        row = [item.sentence.replace("[MASK]", "`[MASK]`"), ", ".join(item.answers[:3])]
        for result in results.values():
            rank = result["hits"][index]
            mark = "miss" if rank is None else f"hit at {rank + 1}"
            row.append(f"{', '.join(result['predictions'][index][:k])} ({mark})")
        rows.append(row)
    return header, rows
