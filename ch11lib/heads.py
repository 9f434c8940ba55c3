"""Classification heads on top of a BERT encoder: sequence and pair-wise sequence classification.

Pages ``09_sequence_and_pair_classification`` and ``12_distillation``; assignment a5_finetuning.

SLP3 section 11.4 (fine-tuning): the final-layer output of ``[CLS]``, $z_{CLS}$, summarises the input;
a task head with a weight matrix $W_C$ maps it to label scores, $y = \\mathrm{softmax}(W_C z_{CLS})$,
trained with cross-entropy on labelled data. Pair-wise classification (NLI, paraphrase) feeds both
sequences at once, ``[CLS] A [SEP] B [SEP]``, with segment (token type) ids 0 for ``A`` and 1 for ``B``.

:class:`SequenceClassifier` wraps any ``transformers`` ``BertModel`` (``resources.load_model("minilm")``).
With ``pooling="pooler"`` it is exactly ``BertForSequenceClassification`` (the tests check logits and loss);
the default ``pooling="cls"`` uses $z_{CLS}$ directly, as the textbook writes it.
:class:`TopLayersClassifier` runs only the top layers of an encoder plus a head on cached inputs to those
layers, which makes "fine-tune the top layer" cheap enough for a page.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

Pooling = Literal["cls", "mean", "pooler"]
POOLINGS: tuple[str, ...] = ("cls", "mean", "pooler")


def pool(
    hidden_states: torch.Tensor,
    attention_mask: torch.Tensor | None,
    pooling: Pooling = "cls",
    pooler: nn.Module | None = None,
) -> torch.Tensor:
    """One vector per sequence from final-layer states ``(batch, length, hidden)``.

    ``"cls"``: $z_{CLS}$, the state at position 0. ``"mean"``: the average over real (unpadded) tokens,
    the pooling sentence-transformers trained MiniLM with. ``"pooler"``: BERT's pooler
    (dense + tanh on $z_{CLS}$), what ``BertForSequenceClassification`` uses.
    """
    if hidden_states.dim() != 3:
        raise ValueError(
            f"hidden_states must be (batch, length, hidden), got shape {tuple(hidden_states.shape)}"
        )
    if pooling == "cls":
        return hidden_states[:, 0]
    if pooling == "pooler":
        if pooler is None:
            raise ValueError("pooling='pooler' needs the encoder's pooler, but it has none")
        return pooler(hidden_states)
    if pooling == "mean":
        if attention_mask is None:
            return hidden_states.mean(dim=1)
        if attention_mask.shape != hidden_states.shape[:2]:
            raise ValueError(
                f"attention_mask shape {tuple(attention_mask.shape)} does not match hidden states "
                f"{tuple(hidden_states.shape[:2])}"
            )
        weights = attention_mask.to(hidden_states.dtype).unsqueeze(-1)
        return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")


def _classifier_output(
    logits: torch.Tensor, labels: torch.Tensor | None, num_labels: int, hidden_states: Any
) -> SequenceClassifierOutput:
    """The logits, with ``labels`` the mean cross-entropy, and the hidden states asked for."""
    loss = None
    if labels is not None:
        _check_labels(labels, logits.shape[0], num_labels)
        loss = F.cross_entropy(logits, labels)
    return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=hidden_states)


def _check_rank(tensor: torch.Tensor, rank: int, expected: str) -> None:
    if tensor.dim() != rank:
        raise ValueError(f"{expected}, got shape {tuple(tensor.shape)}")


def _check_labels(labels: torch.Tensor, batch_size: int, num_labels: int) -> None:
    if labels.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape != (batch_size,):
        raise ValueError(f"labels must have shape ({batch_size},), got {tuple(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_labels):
        raise ValueError(
            f"labels must lie in [0, {num_labels - 1}], got values from {int(labels.min())} "
            f"to {int(labels.max())}"
        )


class ClassificationHead(nn.Module):
    """Dropout then $W_C$: label scores (logits) from one pooled vector per sequence."""

    def __init__(
        self, hidden_size: int, num_labels: int, dropout: float = 0.1, init_std: float = 0.02
    ):
        super().__init__()
        if not isinstance(num_labels, int) or num_labels < 2:
            raise ValueError(f"num_labels must be an integer >= 2, got {num_labels!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout}")
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)
        # BERT's initialisation for new weights: N(0, 0.02), zero bias.
        nn.init.normal_(self.classifier.weight, std=init_std)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(pooled))


class SequenceClassifier(nn.Module):
    """A BERT encoder plus a classification head: $y = \\mathrm{softmax}(W_C\\, z_{CLS})$.

    Args:
        encoder: a ``transformers`` ``BertModel`` (or any model with the same call signature that
            returns ``last_hidden_state``).
        num_labels: number of classes (2 for sentiment, 3 for NLI, 25 for supersenses...).
        pooling: ``"cls"`` ($z_{CLS}$, default), ``"mean"`` or ``"pooler"`` (see :func:`pool`).
        dropout: dropout before $W_C$; default: the encoder's ``hidden_dropout_prob``.
        label_names: optional names, kept for printing predictions.
    """

    def __init__(
        self,
        encoder: nn.Module,
        num_labels: int,
        pooling: Pooling = "cls",
        dropout: float | None = None,
        label_names: Sequence[str] | None = None,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if pooling == "pooler" and getattr(encoder, "pooler", None) is None:
            raise ValueError(
                "pooling='pooler' needs an encoder with a pooler (BertModel(add_pooling_layer=True))"
            )
        if label_names is not None and len(label_names) != num_labels:
            raise ValueError(f"{len(label_names)} label names given for {num_labels} labels")
        config = encoder.config
        self.encoder = encoder
        self.pooling: Pooling = pooling
        self.num_labels = num_labels
        self.label_names = list(label_names) if label_names is not None else None
        if dropout is None:
            dropout = getattr(config, "classifier_dropout", None) or config.hidden_dropout_prob
        self.head = ClassificationHead(
            config.hidden_size, num_labels, dropout, getattr(config, "initializer_range", 0.02)
        )

    @property
    def classifier(self) -> nn.Linear:
        """$W_C$ (weight ``(num_labels, hidden)``) and its bias."""
        return self.head.classifier

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        """Logits ``(batch, num_labels)``; with ``labels``, also the mean cross-entropy loss."""
        _check_rank(input_ids, 2, "input_ids must be (batch, length)")
        outputs = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        pooled = pool(
            outputs.last_hidden_state,
            attention_mask,
            self.pooling,
            getattr(self.encoder, "pooler", None),
        )
        hidden = outputs.hidden_states if output_hidden_states else None
        return _classifier_output(self.head(pooled), labels, self.num_labels, hidden)


class TopLayersClassifier(nn.Module):
    """The top layers of an encoder plus a head, run on cached inputs to the first of those layers.

    With a frozen bottom, the inputs to layer ``first_layer`` never change, so they can be computed once
    (:func:`ch11lib.training.cache_layer_inputs`) and training only pays for the top layers. The layers
    are *copies*: training this module leaves the encoder it came from untouched.
    """

    def __init__(
        self,
        encoder: nn.Module,
        first_layer: int,
        num_labels: int,
        pooling: Literal["cls", "mean"] = "cls",
        dropout: float | None = None,
    ):
        super().__init__()
        layers = encoder.encoder.layer
        if not 0 <= first_layer < len(layers):
            raise ValueError(f"first_layer must be in [0, {len(layers) - 1}], got {first_layer}")
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.config = copy.deepcopy(encoder.config)
        self.first_layer = first_layer
        self.layers = nn.ModuleList(copy.deepcopy(layer) for layer in layers[first_layer:])
        self.pooling = pooling
        self.num_labels = num_labels
        if dropout is None:
            dropout = self.config.hidden_dropout_prob
        self.head = ClassificationHead(self.config.hidden_size, num_labels, dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        """Logits (and loss with ``labels``); ``output_hidden_states`` returns ``(final_states,)``."""
        from transformers.masking_utils import create_bidirectional_mask

        _check_rank(hidden_states, 3, "hidden_states must be (batch, length, hidden)")
        mask = create_bidirectional_mask(
            config=self.config, inputs_embeds=hidden_states, attention_mask=attention_mask
        )
        for layer in self.layers:
            hidden_states = layer(hidden_states, mask)
        logits = self.head(pool(hidden_states, attention_mask, self.pooling))
        hidden = (hidden_states,) if output_hidden_states else None
        return _classifier_output(logits, labels, self.num_labels, hidden)

    def merge_into(self, encoder: nn.Module) -> SequenceClassifier:
        """A full :class:`SequenceClassifier`: a copy of ``encoder`` with these top layers and head."""
        layers = encoder.encoder.layer
        if len(layers) != self.first_layer + len(self.layers):
            raise ValueError(
                f"the encoder has {len(layers)} layers, these top layers need "
                f"{self.first_layer + len(self.layers)}"
            )
        merged = copy.deepcopy(encoder)
        for offset, layer in enumerate(self.layers):
            merged.encoder.layer[self.first_layer + offset] = copy.deepcopy(layer)
        model = SequenceClassifier(merged, self.num_labels, self.pooling)
        model.head.load_state_dict(self.head.state_dict())
        return model.eval()


# --------------------------------------------------------------------------------------------------
# Input encoding
# --------------------------------------------------------------------------------------------------


def pair_input(tokenizer: Any, first: str, second: str) -> dict[str, list]:
    """``[CLS] A [SEP] B [SEP]`` built by hand: tokens, input ids and segment (token type) ids.

    Segment id 0 marks ``[CLS]``, the first sequence and the first ``[SEP]``; 1 marks the second
    sequence and the final ``[SEP]``. This is what ``tokenizer(first, second)`` produces (tested).
    """
    if not isinstance(first, str) or not isinstance(second, str):
        raise TypeError(f"first and second must be strings, got {type(first)} and {type(second)}")
    tokens_a, tokens_b = tokenizer.tokenize(first), tokenizer.tokenize(second)
    cls, sep = tokenizer.cls_token, tokenizer.sep_token
    tokens = [cls, *tokens_a, sep, *tokens_b, sep]
    segments = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
    return {
        "tokens": tokens,
        "input_ids": tokenizer.convert_tokens_to_ids(tokens),
        "token_type_ids": segments,
    }


def encode(
    tokenizer: Any,
    texts: Sequence[str],
    text_pairs: Sequence[str] | None = None,
    max_length: int = 128,
) -> dict[str, torch.Tensor]:
    """Tokenize a batch of texts (or of pairs) into padded tensors for the encoder."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, got a single string")
    if len(texts) == 0:
        raise ValueError("texts is empty")
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(text_pairs)} text pairs")
    encoded = tokenizer(
        list(texts),
        list(text_pairs) if text_pairs is not None else None,
        truncation=True,
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    return dict(encoded)
