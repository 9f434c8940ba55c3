"""Small random BERT configurations for tests: built in milliseconds, each test overriding what matters."""

from __future__ import annotations

from typing import Any

from transformers import BertConfig

TINY_BERT: dict[str, Any] = {
    "vocab_size": 60,
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 32,
}


def tiny_bert_config(**overrides: Any) -> BertConfig:
    """A ``BertConfig`` of :data:`TINY_BERT` with ``overrides`` applied."""
    return BertConfig(**{**TINY_BERT, **overrides})
