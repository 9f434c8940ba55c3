"""ch11lib.encoder against transformers.BertModel: same numbers, same attention, clear errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny import tiny_bert_config
from tolerances import cross_kernel_atol

from ch11lib import resources
from ch11lib.encoder import (
    BidirectionalEncoder,
    EncoderConfig,
    extended_attention_mask,
    scaled_dot_product_attention,
)

# Like with like: our fused path against BertModel with SDPA, our hand-written path against BertModel
# with eager attention. Same kernels in the same order, so the brief's 1e-5 (max abs) holds on any CPU
# (measured: exactly 0.0).
ATOL = 1e-5

PAIRS = [
    ("The river bank was muddy after the rain.", "She sat down on the bank."),
    ("He deposited the check at the bank on Monday morning before work.", "Interest rates rose."),
    ("Hi.", "Bye."),
]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # The test machine is shared; one thread keeps these tests from fighting other jobs for cores.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def bert_sdpa():
    return resources.load_model("minilm")


@pytest.fixture(scope="module")
def bert_eager():
    return resources.load_model("minilm", attn_implementation="eager")


@pytest.fixture(scope="module")
def encoder(bert_sdpa):
    return BidirectionalEncoder.from_bert(bert_sdpa)


@pytest.fixture(scope="module")
def batch():
    """Sentence pairs of different lengths, padded: rows 0 and 2 end in padding, row 1 does not."""
    tokenizer = resources.load_tokenizer("minilm")
    first, second = zip(*PAIRS, strict=True)
    encoded = tokenizer(list(first), list(second), padding=True, return_tensors="pt")
    assert encoded["attention_mask"][2].sum() < encoded["attention_mask"].shape[1]  # really padded
    return {name: encoded[name] for name in ("input_ids", "attention_mask", "token_type_ids")}


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def run_bert(bert, batch, use_mask: bool, **kwargs):
    with torch.no_grad():
        return bert(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"] if use_mask else None,
            token_type_ids=batch["token_type_ids"],
            output_hidden_states=True,
            **kwargs,
        )


def run_ours(encoder, batch, use_mask: bool, **kwargs):
    with torch.no_grad():
        return encoder(
            batch["input_ids"],
            batch["attention_mask"] if use_mask else None,
            batch["token_type_ids"],
            **kwargs,
        )


# --------------------------------------------------------------------------------------------------
# Same model as BertModel
# --------------------------------------------------------------------------------------------------


def test_config_mirrors_bert_config(bert_sdpa, encoder):
    bert_config, config = bert_sdpa.config, encoder.config
    assert (config.num_layers, config.num_heads, config.hidden_size) == (
        bert_config.num_hidden_layers,
        bert_config.num_attention_heads,
        bert_config.hidden_size,
    )
    assert config.intermediate_size == bert_config.intermediate_size
    assert config.vocab_size == bert_config.vocab_size
    assert config.head_size == bert_config.hidden_size // bert_config.num_attention_heads


def test_parameter_count_equals_bert(bert_sdpa, encoder):
    ours = sum(p.numel() for p in encoder.parameters())
    theirs = sum(p.numel() for p in bert_sdpa.parameters())
    assert ours == theirs


@pytest.mark.parametrize("use_mask", [False, True], ids=["no-padding", "padding"])
def test_every_layer_and_pooler_match_bert(bert_sdpa, encoder, batch, use_mask):
    expected = run_bert(bert_sdpa, batch, use_mask)
    got = run_ours(encoder, batch, use_mask)
    assert len(got.hidden_states) == encoder.config.num_layers + 1 == len(expected.hidden_states)
    for layer, (ours, theirs) in enumerate(
        zip(got.hidden_states, expected.hidden_states, strict=True)
    ):
        assert max_abs(ours, theirs) <= ATOL, f"hidden state {layer} differs"
    assert torch.equal(got.last_hidden_state, got.hidden_states[-1])
    assert max_abs(got.last_hidden_state, expected.last_hidden_state) <= ATOL
    assert max_abs(got.pooler_output, expected.pooler_output) <= ATOL
    assert got.attentions is None


@pytest.mark.parametrize("use_mask", [False, True], ids=["no-padding", "padding"])
def test_attention_weights_and_reference_path_match_eager_bert(
    bert_eager, encoder, batch, use_mask
):
    expected = run_bert(bert_eager, batch, use_mask, output_attentions=True)
    got = run_ours(encoder, batch, use_mask, output_attentions=True)
    batch_size, seq_len = batch["input_ids"].shape
    assert len(got.attentions) == encoder.config.num_layers
    for layer, (ours, theirs) in enumerate(zip(got.attentions, expected.attentions, strict=True)):
        assert ours.shape == (batch_size, encoder.config.num_heads, seq_len, seq_len)
        assert max_abs(ours, theirs) <= 1e-6, f"attention weights of layer {layer} differ"
    for layer, (ours, theirs) in enumerate(
        zip(got.hidden_states, expected.hidden_states, strict=True)
    ):
        assert max_abs(ours, theirs) <= ATOL, f"hidden state {layer} differs"
    assert max_abs(got.pooler_output, expected.pooler_output) <= ATOL


def test_fused_and_hand_written_paths_agree(encoder, batch):
    # two different kernels (SDPA against matmul + softmax): a float32 tolerance, not the strict one
    fused = run_ours(encoder, batch, use_mask=True)
    by_hand = run_ours(encoder, batch, use_mask=True, output_attentions=True)
    for ours, reference in zip(fused.hidden_states, by_hand.hidden_states, strict=True):
        assert max_abs(ours, reference) <= cross_kernel_atol(reference, encoder.config.hidden_size)


def test_all_padding_row_gives_uniform_weights_like_bert(bert_eager, encoder, batch):
    # A degenerate row with no real token: BertModel's additive mask makes its weights uniform
    # (not NaN); both our paths must do the same. BertModel's SDPA path is no reference here (it
    # treats such a row differently from its eager path), so the fused path is held to eager BERT
    # across kernels, and the hand-written path to it like with like.
    degenerate = dict(batch, attention_mask=batch["attention_mask"].clone())
    degenerate["attention_mask"][0] = 0
    expected = run_bert(bert_eager, degenerate, True, output_attentions=True)
    by_hand = run_ours(encoder, degenerate, True, output_attentions=True)
    fused = run_ours(encoder, degenerate, True)
    seq_len = batch["input_ids"].shape[1]
    weights = by_hand.attentions[0][0]
    assert torch.allclose(weights, torch.full_like(weights, 1 / seq_len))
    assert max_abs(by_hand.last_hidden_state, expected.last_hidden_state) <= ATOL
    reference = expected.last_hidden_state
    tolerance = cross_kernel_atol(reference, encoder.config.hidden_size)
    assert max_abs(fused.last_hidden_state, reference) <= tolerance


def test_from_pretrained_loads_the_same_weights(encoder):
    loaded = BidirectionalEncoder.from_pretrained("minilm")
    assert not loaded.training
    theirs = loaded.state_dict()
    for name, tensor in encoder.state_dict().items():
        assert torch.equal(tensor, theirs[name]), name


def test_small_random_relu_bert_and_pretraining_model():
    """Another shape, ReLU, three segments, no pooler, and the BERT inside BertForPreTraining."""
    from transformers import BertForPreTraining, BertModel

    torch.manual_seed(0)
    config = tiny_bert_config(
        vocab_size=50,
        num_attention_heads=4,
        intermediate_size=24,
        max_position_embeddings=12,
        type_vocab_size=3,
        hidden_act="relu",
        attn_implementation="eager",
    )
    input_ids = torch.randint(0, 50, (3, 7))
    token_type_ids = torch.randint(0, 3, (3, 7))
    attention_mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5])
    for bert in (
        BertModel(config, add_pooling_layer=False).eval(),
        BertForPreTraining(config).eval(),
    ):
        encoder = BidirectionalEncoder.from_bert(bert)
        assert encoder.config.hidden_act == "relu" and encoder.config.type_vocab_size == 3
        with torch.no_grad():
            expected = bert.base_model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                output_attentions=True,
            )
            got = encoder(input_ids, attention_mask, token_type_ids, output_attentions=True)
        assert max_abs(got.last_hidden_state, expected.last_hidden_state) <= ATOL
        assert max_abs(got.attentions[-1], expected.attentions[-1]) <= 1e-6
        assert (got.pooler_output is None) == (bert.base_model.pooler is None)


def test_from_bert_rejects_what_it_cannot_copy():
    from transformers import BertModel

    with pytest.raises(TypeError, match="BertModel"):
        BidirectionalEncoder.from_bert(torch.nn.Linear(2, 2))
    gelu_tanh = tiny_bert_config(
        vocab_size=20,
        hidden_size=8,
        num_hidden_layers=1,
        intermediate_size=8,
        hidden_act="gelu_new",
    )
    with pytest.raises(ValueError, match="hidden_act"):
        BidirectionalEncoder.from_bert(BertModel(gelu_tanh))


# --------------------------------------------------------------------------------------------------
# The hand-written attention
# --------------------------------------------------------------------------------------------------


def test_scaled_dot_product_attention_matches_torch():
    torch.manual_seed(0)
    q, k = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 6, 8)
    v = torch.randn(2, 3, 6, 4)  # d_v may differ from d_k
    keep = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)[
        :, None, None, :
    ]
    additive = extended_attention_mask(keep[:, 0, 0, :].long(), torch.float32)
    for mask in (None, keep, additive):
        ours, weights = scaled_dot_product_attention(q, k, v, mask)
        theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert ours.shape == theirs.shape == (2, 3, 5, 4)
        # torch's kernel against matmul + softmax: sums of 8 products (d_k) and 6 weights (keys)
        assert max_abs(ours, theirs) <= cross_kernel_atol(theirs, 8 + 6)
        assert weights.shape == (2, 3, 5, 6)


def test_masked_keys_get_zero_weight_and_rows_sum_to_one():
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 4, 6, 8) * 3 for _ in range(3))
    attention_mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]])
    _, weights = scaled_dot_product_attention(
        q, k, v, extended_attention_mask(attention_mask, q.dtype)
    )
    padding = attention_mask[:, None, None, :].expand_as(weights) == 0
    assert torch.all(weights[padding] == 0), "a padding key got attention weight"
    assert torch.all(weights[~padding] > 0)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 4, 6))


def test_extended_mask_is_zero_or_most_negative():
    mask = extended_attention_mask(torch.tensor([[1, 0, 1]]), torch.float32)
    assert mask.shape == (1, 1, 1, 3)
    assert mask.flatten().tolist() == [0.0, torch.finfo(torch.float32).min, 0.0]


def test_attention_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="d_k"):
        scaled_dot_product_attention(
            torch.randn(2, 3, 4), torch.randn(2, 3, 5), torch.randn(2, 3, 5)
        )
    with pytest.raises(ValueError, match="one row per key"):
        scaled_dot_product_attention(
            torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.randn(2, 2, 4)
        )


# --------------------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------------------


def test_batch_independence(encoder, batch):
    """A sequence's output does not depend on what else is in the batch (or on its padding)."""
    # a different batch shape may take a different blocking of the same sums: float32 tolerance
    together = run_ours(encoder, batch, use_mask=True)
    tolerance = cross_kernel_atol(together.last_hidden_state, encoder.config.hidden_size)
    for row in range(batch["input_ids"].shape[0]):
        length = int(batch["attention_mask"][row].sum())
        alone = run_ours(
            encoder, {name: t[row : row + 1, :length] for name, t in batch.items()}, use_mask=True
        )
        got = alone.last_hidden_state[0]
        assert max_abs(got, together.last_hidden_state[row, :length]) <= tolerance
        assert max_abs(alone.pooler_output[0], together.pooler_output[row]) <= tolerance


def test_inputs_are_not_mutated(encoder, batch):
    copies = {name: t.clone() for name, t in batch.items()}
    run_ours(encoder, batch, use_mask=True)
    run_ours(encoder, batch, use_mask=True, output_attentions=True)
    for name, tensor in batch.items():
        assert torch.equal(tensor, copies[name]), f"{name} was changed in place"


def test_gradients_of_both_paths_agree():
    torch.manual_seed(0)
    config = EncoderConfig.from_bert_config(
        tiny_bert_config(
            vocab_size=30, hidden_size=8, intermediate_size=16, max_position_embeddings=10
        )
    )
    encoder = BidirectionalEncoder(config).eval()
    input_ids = torch.randint(0, 30, (2, 6))
    attention_mask = torch.tensor([[1] * 6, [1] * 3 + [0] * 3])
    grads = []
    for output_attentions in (False, True):
        encoder.zero_grad()
        out = encoder(input_ids, attention_mask, output_attentions=output_attentions)
        out.pooler_output.sum().backward()
        grads.append(encoder.layers[0].attention.query.weight.grad.clone())
    assert grads[0].abs().sum() > 0
    # the two paths' backward passes are different kernels; each layer sums at most 16 terms
    terms = config.num_layers * config.intermediate_size
    assert max_abs(grads[0], grads[1]) <= cross_kernel_atol(grads[0], terms)


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------

IDS = torch.tensor([[101, 2023, 102], [101, 2009, 102]])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"input_ids": IDS[0]}, ValueError, r"\(batch, seq_len\)"),
        ({"input_ids": IDS[:, :, None]}, ValueError, r"\(batch, seq_len\)"),
        ({"input_ids": IDS.float()}, TypeError, "integer"),
        ({"input_ids": IDS.tolist()}, TypeError, "torch.Tensor"),
        ({"input_ids": IDS[:, :0]}, ValueError, "empty"),
        ({"input_ids": torch.ones(1, 513, dtype=torch.long)}, ValueError, "position table"),
        ({"input_ids": torch.tensor([[101, 30522]])}, ValueError, "vocabulary"),
        ({"input_ids": torch.tensor([[101, -1]])}, ValueError, "vocabulary"),
        ({"attention_mask": torch.ones(2, 4)}, ValueError, "attention_mask must have the shape"),
        ({"attention_mask": torch.ones(3)}, ValueError, "attention_mask must have the shape"),
        ({"attention_mask": torch.full((2, 3), 2)}, ValueError, "only 1"),
        ({"attention_mask": [[1, 1, 1], [1, 1, 1]]}, TypeError, "attention_mask"),
        (
            {"token_type_ids": torch.zeros(2, 2, dtype=torch.long)},
            ValueError,
            "token_type_ids must",
        ),
        ({"token_type_ids": torch.full((2, 3), 2)}, ValueError, r"\[0, 2\)"),
        ({"token_type_ids": torch.zeros(2, 3)}, TypeError, "token_type_ids"),
    ],
    ids=[
        "rank-1",
        "rank-3",
        "float-ids",
        "list-ids",
        "empty",
        "too-long",
        "id-above-vocab",
        "negative-id",
        "mask-shape",
        "mask-rank",
        "mask-values",
        "mask-list",
        "segment-shape",
        "segment-range",
        "segment-float",
    ],
)
def test_bad_input_raises_clear_error(encoder, kwargs, error, message):
    arguments = {"input_ids": IDS, **kwargs}
    with pytest.raises(error, match=message):
        encoder(**arguments)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hidden_size": 10, "num_heads": 3}, "divisible"),
        ({"hidden_act": "tanh"}, "hidden_act"),
        ({"hidden_dropout_prob": 1.5}, "probability"),
        ({"num_layers": 0}, "positive"),
        ({"pad_token_id": 99}, "pad_token_id"),
    ],
)
def test_bad_config_raises_clear_error(overrides, message):
    settings = {"vocab_size": 50, "hidden_size": 8, "num_heads": 2, **overrides}
    with pytest.raises(ValueError, match=message):
        EncoderConfig(**settings)
