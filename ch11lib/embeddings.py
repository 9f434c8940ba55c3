"""Contextual embeddings of word occurrences from a BERT-style encoder.

Pages ``07_contextual_embeddings_wsd`` and ``08_anisotropy``; assignment a4_representations.

A contextual embedding belongs to a word *occurrence*: "bank" in "the bank raised rates" and in "the
river bank" get different vectors. An encoder works on WordPieces, so the vector of a word is pooled
from the vectors of its pieces ("embeddings" -> "em ##bed ##ding ##s"): their ``mean`` or the ``first``
piece. Which layer(s) to read is the other choice: the ``last`` layer, or an average of several (e.g.
the last four, ``"last4"``). ``hidden_states[0]`` is the embedding layer, ``hidden_states[L]`` the last.

Two ways to say which word you mean, both robust to subword splits, casing and punctuation because
they use the fast tokenizer's alignment rather than string matching on pieces:

- character offsets into the raw text (``offset_mapping``): :func:`embed_spans`, :func:`embed_word`;
- a word index into a pre-split sentence (``is_split_into_words`` + ``word_ids``):
  :func:`word_index_states` (every pooling and layer; :func:`select_layers` picks).

Both are batched (sentences sorted by length to save padding) and show a tqdm bar on long runs;
pages disable it with the environment variable ``TQDM_DISABLE=1``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

Pooling = Literal["mean", "first", "sentence"]
# "sentence" is not a word vector: the mean over all tokens of the sentence except [CLS]/[SEP]/padding
# (what sentence-embedding models such as MiniLM are trained to produce), offered for comparison.
POOLINGS: tuple[Pooling, ...] = ("mean", "first", "sentence")
LayerSpec = str | int | Sequence[int]
CharSpan = tuple[int, int]  # characters text[start:end] of one occurrence (end exclusive)
PROGRESS_THRESHOLD = 2000  # show a progress bar from this many occurrences on (unless disabled)


# --------------------------------------------------------------------------------------------------
# Locating a word
# --------------------------------------------------------------------------------------------------


def find_word(
    text: str, word: str, occurrence: int = 0, *, case_sensitive: bool = False
) -> tuple[int, int]:
    """Character span ``(start, end)`` of the ``occurrence``-th whole-word match of ``word`` in ``text``.

    Whole word means not inside a longer word ("bank" is not found in "banking"); punctuation around
    it is fine ("bank," and "(bank)" match). Raises ValueError when there is no such occurrence.
    """
    if not isinstance(text, str) or not isinstance(word, str) or not word.strip():
        raise ValueError("text and word must be strings and word must not be empty")
    flags = 0 if case_sensitive else re.IGNORECASE
    pattern = re.compile(r"(?<![\w])" + re.escape(word) + r"(?![\w])", flags)
    matches = list(pattern.finditer(text))
    if occurrence < 0 or occurrence >= len(matches):
        raise ValueError(
            f"{word!r} occurs {len(matches)} time(s) as a whole word in {text!r}; "
            f"occurrence {occurrence} was asked for"
        )
    return matches[occurrence].span()


def pieces_for_span(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of the tokens whose character offsets overlap ``[start, end)``.

    Special tokens have offsets (0, 0) and never match. ``offsets`` is one row of the fast
    tokenizer's ``offset_mapping``.
    """
    if not 0 <= start < end:
        raise ValueError(
            f"expected a non-empty character span 0 <= start < end, got ({start}, {end})"
        )
    return [i for i, (s, e) in enumerate(offsets) if e > s and s < end and e > start]


# --------------------------------------------------------------------------------------------------
# Layers and pooling
# --------------------------------------------------------------------------------------------------


def layer_indices(layers: LayerSpec, num_hidden_layers: int) -> list[int]:
    """Resolve a layer choice into indices of ``hidden_states`` (0 = embeddings, L = last layer).

    ``"last"`` -> [L]; ``"lastK"`` (e.g. ``"last4"``) -> the last K layers; ``"all"`` -> 0..L;
    an int or a sequence of ints (negative ints count from the end, -1 = last).
    """
    total = num_hidden_layers + 1
    if isinstance(layers, str):
        if layers == "all":
            return list(range(total))
        match = re.fullmatch(r"last(\d*)", layers)
        if not match:
            raise ValueError(
                f"layers must be 'last', 'lastK', 'all', an int or ints, got {layers!r}"
            )
        k = int(match.group(1) or 1)
        if not 1 <= k <= num_hidden_layers:
            raise ValueError(f"cannot average the last {k} of {num_hidden_layers} layers")
        return list(range(total - k, total))
    items = [layers] if isinstance(layers, int | np.integer) else list(layers)
    if not items:
        raise ValueError("layers must not be empty")
    resolved = []
    for item in items:
        if not isinstance(item, int | np.integer):
            raise TypeError(f"layer indices must be ints, got {item!r}")
        index = int(item) + total if item < 0 else int(item)
        if not 0 <= index < total:
            raise ValueError(
                f"layer {item} out of range for {num_hidden_layers} layers (+ embeddings)"
            )
        resolved.append(index)
    return resolved


def select_layers(states: np.ndarray, layers: LayerSpec) -> np.ndarray:
    """Average the chosen layers of pooled states shaped (n, L+1, hidden) -> (n, hidden)."""
    states = np.asarray(states)
    if states.ndim != 3:
        raise ValueError(f"expected states shaped (n, layers, hidden), got {states.shape}")
    return states[:, layer_indices(layers, states.shape[1] - 1)].mean(axis=1)


def _pool(hidden: torch.Tensor, pieces: list[int], pooling: Pooling) -> torch.Tensor:
    # hidden: (layers, seq, dim) for one sentence
    if pooling in ("mean", "sentence"):
        return hidden[:, pieces].mean(dim=1)
    return hidden[:, pieces[0]]


# --------------------------------------------------------------------------------------------------
# The batched forward pass
# --------------------------------------------------------------------------------------------------


def _check_model(model, tokenizer) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError("a fast tokenizer is needed (offset mappings and word_ids)")
    if not hasattr(model, "config") or not hasattr(model.config, "num_hidden_layers"):
        raise TypeError(f"expected a transformers encoder model, got {type(model).__name__}")


def _fit_length(model, max_length: int) -> int:
    """``max_length`` capped at the model's position embeddings (a small BERT may have only 64)."""
    return min(max_length, getattr(model.config, "max_position_embeddings", max_length))


@torch.no_grad()
def _run(
    model,
    tokenizer,
    inputs: Sequence[str] | Sequence[Sequence[str]],
    locate,  # (encoding, i) -> list of piece indices of occurrence i
    poolings: Sequence[Pooling],
    batch_size: int,
    max_length: int,
    progress: bool | None,
    split_into_words: bool,
) -> dict[str, np.ndarray]:
    _check_model(model, tokenizer)
    max_length = _fit_length(model, max_length)
    for pooling in poolings:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(inputs)
    num_layers = model.config.num_hidden_layers + 1
    out = {
        p: np.zeros((n, num_layers, model.config.hidden_size), dtype=np.float32) for p in poolings
    }
    if n == 0:
        return out
    # Sort by length so a batch holds sentences of similar length (less padding, same results).
    lengths = [len(x) if split_into_words else len(x.split()) for x in inputs]
    order = np.argsort(lengths, kind="stable")
    show = (n >= PROGRESS_THRESHOLD) if progress is None else progress
    bar = tqdm(total=n, desc="embedding", unit="occ", disable=not show)
    device = next(model.parameters()).device
    for begin in range(0, n, batch_size):
        batch = [int(i) for i in order[begin : begin + batch_size]]
        encoding = tokenizer(
            [inputs[i] for i in batch]
            if not split_into_words
            else [list(inputs[i]) for i in batch],
            is_split_into_words=split_into_words,
            return_offsets_mapping=not split_into_words,
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        model_inputs = {k: v.to(device) for k, v in encoding.items() if k != "offset_mapping"}
        hidden = torch.stack(model(**model_inputs, output_hidden_states=True).hidden_states, dim=1)
        special = torch.tensor(
            [tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
             for ids in encoding["input_ids"].tolist()]
        )  # fmt: skip
        content = (encoding["attention_mask"].bool() & ~special.bool()).cpu()
        for row, i in enumerate(batch):
            pieces = locate(encoding, row, i)
            for pooling in poolings:
                used = (
                    content[row].nonzero().flatten().tolist() if pooling == "sentence" else pieces
                )
                out[pooling][i] = _pool(hidden[row], used, pooling).float().cpu().numpy()
        bar.update(len(batch))
    bar.close()
    return out


def span_states(
    model,
    tokenizer,
    texts: Sequence[str],
    spans: Sequence[tuple[int, int]],
    *,
    poolings: Sequence[Pooling] = ("mean",),
    batch_size: int = 32,
    max_length: int = 128,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Pooled vectors of every layer for the occurrences ``texts[i][spans[i][0]:spans[i][1]]``.

    Returns ``{pooling: array (n, L+1, hidden)}``; one forward pass serves every pooling and layer
    choice (use :func:`select_layers` to pick layers).
    """
    if len(texts) != len(spans):
        raise ValueError(f"got {len(texts)} texts but {len(spans)} spans")
    for text, (start, end) in zip(texts, spans, strict=True):
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
        if not 0 <= start < end <= len(text):
            raise ValueError(f"span ({start}, {end}) is not a non-empty span of {text!r}")

    def locate(encoding, row: int, i: int) -> list[int]:
        pieces = pieces_for_span(encoding["offset_mapping"][row].tolist(), *spans[i])
        if not pieces:
            raise ValueError(
                f"span {spans[i]} ({texts[i][spans[i][0] : spans[i][1]]!r}) of text {i} has no "
                f"tokens: it was truncated at max_length={max_length} or is only whitespace"
            )
        return pieces

    return _run(model, tokenizer, texts, locate, poolings, batch_size, max_length, progress, False)


def embed_spans(
    model,
    tokenizer,
    texts: Sequence[str],
    spans: Sequence[tuple[int, int]],
    *,
    pooling: Pooling = "mean",
    layers: LayerSpec = "last",
    batch_size: int = 32,
    max_length: int = 128,
    progress: bool | None = None,
) -> np.ndarray:
    """Contextual embeddings (n, hidden) of the occurrences given by character spans."""
    states = span_states(
        model, tokenizer, texts, spans, poolings=(pooling,), batch_size=batch_size,
        max_length=max_length, progress=progress,
    )[pooling]  # fmt: skip
    return select_layers(states, layers)


def embed_word(
    model,
    tokenizer,
    text: str,
    word: str,
    occurrence: int = 0,
    *,
    pooling: Pooling = "mean",
    layers: LayerSpec = "last",
) -> np.ndarray:
    """The contextual embedding (hidden,) of the ``occurrence``-th whole-word ``word`` in ``text``."""
    span = find_word(text, word, occurrence)
    return embed_spans(model, tokenizer, [text], [span], pooling=pooling, layers=layers)[0]


def word_index_states(
    model,
    tokenizer,
    sentences: Sequence[Sequence[str]],
    indices: Sequence[int],
    *,
    poolings: Sequence[Pooling] = ("mean",),
    batch_size: int = 32,
    max_length: int = 128,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Like :func:`span_states` for pre-split sentences: word ``indices[i]`` of ``sentences[i]``."""
    if len(sentences) != len(indices):
        raise ValueError(f"got {len(sentences)} sentences but {len(indices)} indices")
    for words, index in zip(sentences, indices, strict=True):
        if isinstance(words, str):
            raise TypeError("sentences must be lists of words; for raw text use embed_spans")
        if not 0 <= index < len(words):
            raise ValueError(
                f"word index {index} out of range for a sentence of {len(words)} words"
            )

    def locate(encoding, row: int, i: int) -> list[int]:
        word_ids = encoding.word_ids(row)
        pieces = [t for t, w in enumerate(word_ids) if w == indices[i]]
        if not pieces:
            raise ValueError(
                f"word {indices[i]} ({sentences[i][indices[i]]!r}) of sentence {i} has no tokens: "
                f"truncated at max_length={max_length} or an empty/whitespace word"
            )
        return pieces

    return _run(
        model, tokenizer, sentences, locate, poolings, batch_size, max_length, progress, True
    )


@torch.no_grad()
def sentence_word_states(
    model,
    tokenizer,
    sentences: Sequence[str],
    *,
    pooling: Pooling = "mean",
    batch_size: int = 32,
    max_length: int = 128,
    skip_punctuation: bool = True,
    progress: bool | None = None,
) -> tuple[np.ndarray, list[str], list[int]]:
    """Every word of every sentence, one forward pass per sentence.

    Words are the tokenizer's pre-tokenized words (``word_ids``; punctuation marks are words of their
    own and are skipped by default). Returns pooled states (n_words, L+1, hidden), the words (lower
    case) and the index of the sentence each word comes from.
    """
    _check_model(model, tokenizer)
    max_length = _fit_length(model, max_length)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    states: list[np.ndarray] = []
    words: list[str] = []
    origin: list[int] = []
    show = (len(sentences) >= PROGRESS_THRESHOLD) if progress is None else progress
    for begin in tqdm(range(0, len(sentences), batch_size), desc="sentences", disable=not show):
        batch = list(sentences[begin : begin + batch_size])
        encoding = tokenizer(
            batch, return_offsets_mapping=True, padding=True, truncation=True,
            max_length=max_length, return_tensors="pt",
        )  # fmt: skip
        inputs = {k: v for k, v in encoding.items() if k != "offset_mapping"}
        hidden = torch.stack(model(**inputs, output_hidden_states=True).hidden_states, dim=1)
        for row, text in enumerate(batch):
            pieces_of: dict[int, list[int]] = {}
            for t, w in enumerate(encoding.word_ids(row)):
                if w is not None:
                    pieces_of.setdefault(w, []).append(t)
            offsets = encoding["offset_mapping"][row].tolist()
            for pieces in pieces_of.values():
                word = text[offsets[pieces[0]][0] : offsets[pieces[-1]][1]].lower()
                if skip_punctuation and not any(ch.isalnum() for ch in word):
                    continue
                states.append(_pool(hidden[row], pieces, pooling).float().numpy())
                words.append(word)
                origin.append(begin + row)
    if not states:
        raise ValueError("no words found in the sentences")
    return np.stack(states), words, origin
