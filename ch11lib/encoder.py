"""A readable bidirectional transformer encoder (BERT) that loads real BERT weights.

Page ``01_bidirectional_encoders``; assignment a1_encoder.

This is the encoder of SLP3 chapter 11 written out in plain PyTorch, one small class per idea, so a
student can read it top to bottom:

- :class:`Embeddings`: token + position + segment embeddings, then LayerNorm and dropout;
- :func:`scaled_dot_product_attention`: ``softmax(Q K^T / sqrt(d_k)) V`` with a padding mask;
- :class:`MultiHeadSelfAttention`: project to Q, K, V, split into heads, attend, merge, apply W^O;
- :class:`FeedForward`: the position-wise network (GELU, as BERT);
- :class:`EncoderLayer`: each sublayer wrapped as ``LayerNorm(x + Sublayer(x))`` (post-norm);
- :class:`Pooler`: ``tanh(W z_CLS + b)``, the sentence summary BERT's NSP head reads;
- :class:`BidirectionalEncoder`: the whole stack, with :meth:`BidirectionalEncoder.from_pretrained`.

It computes the same function as ``transformers.BertModel`` (the tests check every layer to 1e-5),
so weights trained by anyone for BERT work here::

    encoder = BidirectionalEncoder.from_pretrained("minilm")
    out = encoder(batch["input_ids"], batch["attention_mask"], output_attentions=True)
    out.last_hidden_state, out.hidden_states, out.attentions, out.pooler_output

The hand-written attention is the reference; when attention weights are not requested the layers
call PyTorch's fused ``F.scaled_dot_product_attention`` instead, which computes the same faster.
The model code calls its input checks in one line each; the checks themselves (every shape, type and
range, with messages that say what was expected) are at the end of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

if TYPE_CHECKING:  # transformers is heavy to import; only the loaders below need it
    from transformers import BertConfig, BertModel

__all__ = [
    "BidirectionalEncoder",
    "Embeddings",
    "EncoderConfig",
    "EncoderLayer",
    "EncoderOutput",
    "FeedForward",
    "MultiHeadSelfAttention",
    "Pooler",
    "extended_attention_mask",
    "scaled_dot_product_attention",
]

Activation = Literal["gelu", "relu"]


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


# The fields a transformers.BertConfig names differently; every other field has the same name.
BERT_NAMES = {
    "num_layers": "num_hidden_layers",
    "num_heads": "num_attention_heads",
    "attention_dropout_prob": "attention_probs_dropout_prob",
}


@dataclass(frozen=True)
class EncoderConfig:
    """The shape of a BERT-style encoder. The defaults are BERT-base (110M parameters)."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_act: Activation = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_dropout_prob: float = 0.1
    # The [PAD] id only matters for training: its embedding row gets no gradient, as in BERT.
    pad_token_id: int | None = 0

    def __post_init__(self) -> None:
        _check_config(self)  # every field's type and range: see the end of the file

    @property
    def head_size(self) -> int:
        """d_k: the dimensions each attention head works in."""
        return self.hidden_size // self.num_heads

    @classmethod
    def from_bert_config(cls, config: BertConfig) -> EncoderConfig:
        """The same shape as a ``transformers.BertConfig`` (which names some fields differently)."""
        _check_bert_config(config)  # only what this encoder implements
        return cls(**{f.name: getattr(config, BERT_NAMES.get(f.name, f.name)) for f in fields(cls)})


@dataclass
class EncoderOutput:
    """What the encoder returns.

    ``last_hidden_state``: (batch, seq_len, hidden), one contextual embedding per token.
    ``hidden_states``: num_layers + 1 tensors of that shape: the embedding output, then each
    layer's output.
    ``attentions``: one (batch, heads, seq_len, seq_len) tensor per layer, or ``None`` unless
    ``output_attentions=True``.
    ``pooler_output``: (batch, hidden), ``tanh(W z_CLS + b)``, or ``None`` for a model without a
    pooler.
    """

    last_hidden_state: Tensor
    hidden_states: tuple[Tensor, ...]
    attentions: tuple[Tensor, ...] | None
    pooler_output: Tensor | None


# --------------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------------


def extended_attention_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """Turn a (batch, seq_len) padding mask of 1 (token) / 0 (padding) into an additive mask.

    The result has shape (batch, 1, 1, seq_len) so it broadcasts over heads and query positions: 0
    where a key may be attended to, the most negative ``dtype`` number where it is padding. Added to
    the scores before the softmax, it drives a padding key's weight to exactly 0. This is what
    BertModel does; a large finite number rather than -inf keeps a row with *no* real key (an
    all-padding sequence) from producing NaN: its weights come out uniform instead.
    """
    keep = attention_mask.to(torch.bool)[:, None, None, :]
    zero = torch.zeros((), dtype=dtype, device=attention_mask.device)
    return torch.where(keep, zero, torch.finfo(dtype).min)


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, written out.

    ``q``: (..., n_queries, d_k), ``k``: (..., n_keys, d_k), ``v``: (..., n_keys, d_v).
    ``mask``: optional, broadcastable to (..., n_queries, n_keys). Either boolean (True = may
    attend) or additive float (0 = may attend, very negative = may not), like the ``attn_mask`` of
    ``torch.nn.functional.scaled_dot_product_attention``.
    ``dropout_p``: probability of dropping an attention weight (pass 0 at evaluation time).

    Returns the outputs (..., n_queries, d_v) and the weights (..., n_queries, n_keys): each row is
    a probability distribution over the keys (with dropout, the dropped and rescaled weights used).
    """
    _check_qkv(q, k, v)  # q, k share d_k; k, v have one row per key
    d_k = q.shape[-1]
    # Dividing by sqrt(d_k) keeps the dot products' variance near 1 whatever the head size, so the
    # softmax does not saturate into a one-hot and its gradients do not vanish. (Multiplying by
    # d_k ** -0.5 is the same division, rounded exactly as BertModel rounds it.)
    scores = (q @ k.transpose(-2, -1)) * (d_k**-0.5)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    weights = torch.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights


class MultiHeadSelfAttention(nn.Module):
    """MultiHead(X) = concat(head_1..head_h) W^O, head_i = Attention(X W_i^Q, X W_i^K, X W_i^V).

    The h heads' projections are stored side by side in one (hidden, hidden) matrix each for Q, K
    and V, so one matrix product computes all heads; splitting the result into h slices of size d_k
    gives the heads.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.num_heads = config.num_heads
        self.head_size = config.head_size
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.output = nn.Linear(config.hidden_size, config.hidden_size)  # W^O
        self.attention_dropout_prob = config.attention_dropout_prob

    def split_heads(self, x: Tensor) -> Tensor:
        """(batch, seq_len, hidden) -> (batch, heads, seq_len, head_size)."""
        batch, seq_len, _ = x.shape
        return x.view(batch, seq_len, self.num_heads, self.head_size).transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        """(batch, heads, seq_len, head_size) -> (batch, seq_len, hidden): concatenate the heads."""
        batch, _, seq_len, _ = x.shape
        return x.transpose(1, 2).reshape(batch, seq_len, self.num_heads * self.head_size)

    def forward(
        self, x: Tensor, mask: Tensor | None = None, output_attentions: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Self-attention over ``x`` (batch, seq_len, hidden).

        ``mask`` is additive, (batch, 1, 1, seq_len), see :func:`extended_attention_mask`. Returns
        the output (batch, seq_len, hidden) and, if asked, the weights (batch, heads, seq_len,
        seq_len).
        """
        q = self.split_heads(self.query(x))
        k = self.split_heads(self.key(x))
        v = self.split_heads(self.value(x))
        dropout_p = self.attention_dropout_prob if self.training else 0.0
        if output_attentions:
            context, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p)
        else:
            # Same computation, fused by PyTorch: it never materialises the weights, so it is faster
            # and lighter, but cannot return them. tests/test_encoder.py checks the two agree.
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
            weights = None
        return self.output(self.merge_heads(context)), weights


# --------------------------------------------------------------------------------------------------
# The other pieces of a layer
# --------------------------------------------------------------------------------------------------


class FeedForward(nn.Module):
    """The position-wise feed-forward network: FFN(x) = act(x W1 + b1) W2 + b2, at each position.

    The original Transformer (Vaswani et al., 2017) uses ReLU: FFN(x) = max(0, x W1 + b1) W2 + b2.
    BERT uses GELU instead (``hidden_act="gelu"``, the exact erf form, x * Phi(x)), a smooth ReLU
    that lets small negative values through. The inner size is usually 4 x hidden (3072 in
    BERT-base).
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.expand = nn.Linear(config.hidden_size, config.intermediate_size)  # W1, b1
        self.contract = nn.Linear(config.intermediate_size, config.hidden_size)  # W2, b2
        self.activation = F.gelu if config.hidden_act == "gelu" else F.relu

    def forward(self, x: Tensor) -> Tensor:
        return self.contract(self.activation(self.expand(x)))


class Embeddings(nn.Module):
    """Input embedding = token embedding + position embedding + segment embedding.

    Positions are learned absolute embeddings (a vector per position 0..max_position_embeddings-1);
    the segment embedding says whether a token belongs to sentence A or B of a pair. The sum is
    layer-normalised and dropped out, as in BERT.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.token = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.segment = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        # The (seq_len, hidden) position embeddings broadcast over the batch.
        x = self.token(input_ids) + self.segment(token_type_ids) + self.position(positions)
        return self.dropout(self.norm(x))


class EncoderLayer(nn.Module):
    """One transformer block: self-attention then feed-forward, each as LayerNorm(x + Sublayer(x)).

    This is *post*-norm, as in the original Transformer and BERT: the residual sum is normalised.
    (Many later models normalise before the sublayer instead, x + Sublayer(LayerNorm(x)).)
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.feed_forward = FeedForward(config)
        self.feed_forward_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self, x: Tensor, mask: Tensor | None = None, output_attentions: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        attended, weights = self.attention(x, mask, output_attentions)
        x = self.attention_norm(x + self.dropout(attended))
        x = self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))
        return x, weights


class Pooler(nn.Module):
    """pooler_output = tanh(W z_CLS + b): a summary of the input read off the [CLS] position.

    BERT trains it with next sentence prediction; classifiers built on BERT read it or z_CLS.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return torch.tanh(self.dense(hidden_states[:, 0]))


# --------------------------------------------------------------------------------------------------
# The encoder
# --------------------------------------------------------------------------------------------------


class BidirectionalEncoder(nn.Module):
    """A BERT encoder: embeddings, a stack of ``num_layers`` encoder layers, and a pooler.

    "Bidirectional" because nothing masks the future: every token attends to every non-padding token
    on both sides. Call it with token ids (batch, seq_len) and get an :class:`EncoderOutput`.
    """

    def __init__(self, config: EncoderConfig, add_pooler: bool = True) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_layers))
        self.pooler = Pooler(config) if add_pooler else None

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        output_attentions: bool = False,
    ) -> EncoderOutput:
        """Encode a batch.

        ``input_ids``: (batch, seq_len) integer token ids.
        ``attention_mask``: (batch, seq_len), 1 for real tokens and 0 for padding (default: all 1).
        ``token_type_ids``: (batch, seq_len) segment ids, 0 for sentence A, 1 for B (default 0).
        ``output_attentions``: also return every layer's attention weights (uses the hand-written
        attention, which is slower).
        """
        _check_inputs(
            self.config, input_ids, attention_mask, token_type_ids
        )  # see the end of the file
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)

        # With no padding there is nothing to mask, and fused attention is fastest without a mask.
        mask = None
        if attention_mask is not None and not bool(attention_mask.all()):
            mask = extended_attention_mask(attention_mask, x.dtype)

        hidden_states = [x]
        attentions = []
        for layer in self.layers:
            x, weights = layer(x, mask, output_attentions)
            hidden_states.append(x)
            attentions.append(weights)
        return EncoderOutput(
            last_hidden_state=x,
            hidden_states=tuple(hidden_states),
            attentions=tuple(attentions) if output_attentions else None,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
        )

    # ----------------------------------------------------------------------------------------------
    # Loading BERT weights
    # ----------------------------------------------------------------------------------------------

    @classmethod
    def from_bert(cls, bert: BertModel) -> BidirectionalEncoder:
        """A copy of a ``transformers.BertModel`` (or of the BERT inside e.g. BertForPreTraining).

        The result is in the same train/eval mode as ``bert`` and shares no tensors with it.
        """
        base = getattr(bert, "base_model", bert)
        if not (hasattr(base, "embeddings") and hasattr(base, "encoder")):
            raise TypeError(f"expected a transformers BertModel, got {type(bert).__name__}")
        config = EncoderConfig.from_bert_config(base.config)
        encoder = cls(config, add_pooler=getattr(base, "pooler", None) is not None)
        theirs = base.state_dict()
        names = _bert_parameter_names(config, encoder.pooler is not None)
        missing = sorted(name for name in names.values() if name not in theirs)
        if missing:
            raise ValueError(f"the BERT model lacks parameters: {', '.join(missing)}")
        encoder.load_state_dict(
            {ours: theirs[name].detach().clone() for ours, name in names.items()}, strict=True
        )
        reference = base.embeddings.word_embeddings.weight
        encoder.to(device=reference.device, dtype=reference.dtype)
        return encoder.train(base.training)

    @classmethod
    def from_pretrained(cls, name: str = "encoder", **kwargs: Any) -> BidirectionalEncoder:
        """The model ``name`` of ``ch11lib.resources`` ("minilm", "course-bert", ...), in eval mode.

        Extra keyword arguments go to ``resources.load_model``.
        """
        from ch11lib import resources

        bert = resources.load_model(name, **kwargs)
        return cls.from_bert(bert).eval()


def _bert_parameter_names(config: EncoderConfig, with_pooler: bool) -> dict[str, str]:
    """Our parameter name -> BertModel's: the whole correspondence between the two, in one table."""
    names = {
        "embeddings.token.weight": "embeddings.word_embeddings.weight",
        "embeddings.position.weight": "embeddings.position_embeddings.weight",
        "embeddings.segment.weight": "embeddings.token_type_embeddings.weight",
        "embeddings.norm.weight": "embeddings.LayerNorm.weight",
        "embeddings.norm.bias": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "attention.query": "attention.self.query",
        "attention.key": "attention.self.key",
        "attention.value": "attention.self.value",
        "attention.output": "attention.output.dense",
        "attention_norm": "attention.output.LayerNorm",
        "feed_forward.expand": "intermediate.dense",
        "feed_forward.contract": "output.dense",
        "feed_forward_norm": "output.LayerNorm",
    }
    for i in range(config.num_layers):
        for ours, theirs in per_layer.items():
            for tensor in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{tensor}"] = f"encoder.layer.{i}.{theirs}.{tensor}"
    if with_pooler:
        names["pooler.dense.weight"] = "pooler.dense.weight"
        names["pooler.dense.bias"] = "pooler.dense.bias"
    return names


# --------------------------------------------------------------------------------------------------
# Input checks: clear errors instead of an index error deep inside an embedding or a broadcast
# failure in attention. Below the model so that the model reads top to bottom without them.
# --------------------------------------------------------------------------------------------------


def _check_config(config: EncoderConfig) -> None:
    for name in (
        "vocab_size",
        "hidden_size",
        "num_layers",
        "num_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
    ):
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"EncoderConfig.{name} must be a positive int, got {value!r}")
    if config.hidden_size % config.num_heads != 0:
        raise ValueError(
            f"hidden_size ({config.hidden_size}) must be divisible by num_heads "
            f"({config.num_heads}): each head gets hidden_size / num_heads dimensions"
        )
    if config.hidden_act not in ("gelu", "relu"):
        raise ValueError(f"hidden_act must be 'gelu' or 'relu', got {config.hidden_act!r}")
    for name in ("hidden_dropout_prob", "attention_dropout_prob"):
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"EncoderConfig.{name} is a probability in [0, 1], got {value!r}")
    if not config.layer_norm_eps > 0:
        raise ValueError(f"layer_norm_eps must be positive, got {config.layer_norm_eps!r}")
    if config.pad_token_id is not None and not 0 <= config.pad_token_id < config.vocab_size:
        raise ValueError(
            f"pad_token_id must be in [0, {config.vocab_size}) or None, got {config.pad_token_id!r}"
        )


def _check_bert_config(config: BertConfig) -> None:
    position_type = getattr(config, "position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ValueError(
            f"only absolute position embeddings are implemented, got {position_type!r}"
        )
    if getattr(config, "is_decoder", False):
        raise ValueError("this is a bidirectional encoder; a BertConfig with is_decoder=True")
    if config.hidden_act not in ("gelu", "relu"):
        raise ValueError(
            f"hidden_act must be 'gelu' or 'relu', the BertConfig has {config.hidden_act!r}"
        )


def _check_qkv(q: Tensor, k: Tensor, v: Tensor) -> None:
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k need the same last dimension d_k, got {q.shape} and {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v need one row per key, got {k.shape} and {v.shape}")


def _check_inputs(
    config: EncoderConfig,
    input_ids: Tensor,
    attention_mask: Tensor | None,
    token_type_ids: Tensor | None,
) -> None:
    _check_integer_tensor("input_ids", input_ids)
    if input_ids.dim() != 2:
        raise ValueError(
            "input_ids must have shape (batch, seq_len), got a tensor of shape "
            f"{tuple(input_ids.shape)}; for a single sequence use input_ids[None]"
        )
    batch, seq_len = input_ids.shape
    if batch == 0 or seq_len == 0:
        raise ValueError(f"input_ids is empty: shape {tuple(input_ids.shape)}")
    if seq_len > config.max_position_embeddings:
        raise ValueError(
            f"sequence length {seq_len} is longer than the position table "
            f"(max_position_embeddings={config.max_position_embeddings}); "
            "truncate the input"
        )
    low, high = int(input_ids.min()), int(input_ids.max())
    if low < 0 or high >= config.vocab_size:
        raise ValueError(
            f"input_ids must be in [0, {config.vocab_size}) (the vocabulary), "
            f"got values from {low} to {high}"
        )
    if attention_mask is not None:
        if not isinstance(attention_mask, Tensor):
            raise TypeError(
                f"attention_mask must be a torch.Tensor, got {type(attention_mask).__name__}"
            )
        if attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask must have the shape of input_ids {tuple(input_ids.shape)}, "
                f"got {tuple(attention_mask.shape)}"
            )
        if not bool(((attention_mask == 0) | (attention_mask == 1)).all()):
            raise ValueError("attention_mask must hold only 1 (token) and 0 (padding)")
    if token_type_ids is not None:
        _check_integer_tensor("token_type_ids", token_type_ids)
        if token_type_ids.shape != input_ids.shape:
            raise ValueError(
                f"token_type_ids must have the shape of input_ids {tuple(input_ids.shape)}, "
                f"got {tuple(token_type_ids.shape)}"
            )
        low, high = int(token_type_ids.min()), int(token_type_ids.max())
        if low < 0 or high >= config.type_vocab_size:
            raise ValueError(
                f"token_type_ids must be in [0, {config.type_vocab_size}), "
                f"got values from {low} to {high}"
            )


def _check_integer_tensor(name: str, value: Any) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer ids, got {type(value).__name__}")
    if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer ids (e.g. torch.long), got dtype {value.dtype}")
