"""Wrong and differently-written correct answers for assignment 1 ("Inside the encoder").

Read by tests/test_mutants.py: every WRONG entry must lose points, every CORRECT entry must get 100.
Each WRONG entry is a mistake students make when they write these functions for the first time.
"""

from __future__ import annotations

from textwrap import dedent, indent


def _body(text: str) -> str:
    return indent(dedent(text).strip("\n"), "    ") + "\n"


def _attention(body: str) -> str:
    return "def scaled_dot_product_attention(q, k, v, mask=None):\n" + _body(body)


def _layer_norm(body: str) -> str:
    return "def layer_norm(x, gamma, beta, eps=1e-12):\n" + _body(body)


def _mha(body: str) -> str:
    return "def multi_head_attention(x, p, num_heads, mask=None):\n" + _body(body)


def _ffn(body: str) -> str:
    return "def feed_forward(x, p):\n" + _body(body)


def _layer(body: str) -> str:
    return "def encoder_layer(x, p, num_heads, mask=None):\n" + _body(body)


def _embed(body: str) -> str:
    return "def embed(input_ids, token_type_ids, p):\n" + _body(body)


_SPLIT_OK = """
def split_heads(x, num_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, n, num_heads, d_model // num_heads).transpose(1, 2)
"""
_MERGE_OK = """
def merge_heads(x):
    batch, num_heads, n, d_k = x.shape
    return x.transpose(1, 2).reshape(batch, n, num_heads * d_k)
"""

_MHA_PROJECT = """
    q = split_heads(x @ p["W_q"] + p["b_q"], num_heads)
    k = split_heads(x @ p["W_k"] + p["b_k"], num_heads)
    v = split_heads(x @ p["W_v"] + p["b_v"], num_heads)
"""

WRONG: dict[str, dict[str, str]] = {
    # --- scaled dot-product attention -------------------------------------------------------------
    "attention_no_sqrt_scaling": {
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            return weights @ v, weights
        """)
    },
    "attention_divides_by_d_k": {
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1) / q.shape[-1]
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            return weights @ v, weights
        """)
    },
    "attention_softmax_over_queries": {
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=-2)
            return weights @ v, weights
        """)
    },
    "attention_mask_after_softmax": {
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            weights = torch.softmax(scores, dim=-1)
            if mask is not None:
                weights = weights * mask
            return weights @ v, weights
        """)
    },
    "attention_mask_sets_score_to_zero": {
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, 0.0)
            weights = torch.softmax(scores, dim=-1)
            return weights @ v, weights
        """)
    },
    "attention_mask_inverted": {
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            return weights @ v, weights
        """)
    },
    "attention_scales_q_in_place": {
        "attention": _attention("""
            q /= math.sqrt(q.shape[-1])
            scores = q @ k.transpose(-2, -1)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            return weights @ v, weights
        """)
    },
    "attention_uses_torch_sdpa": {
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            output = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return output, weights
        """)
    },
    # --- layer norm ---------------------------------------------------------------------------------
    "layer_norm_unbiased_variance": {
        "layer_norm": _layer_norm("""
            mean = x.mean(dim=-1, keepdim=True)
            var = x.var(dim=-1, keepdim=True)
            return gamma * (x - mean) / torch.sqrt(var + eps) + beta
        """)
    },
    "layer_norm_eps_outside_sqrt": {
        "layer_norm": _layer_norm("""
            mean = x.mean(dim=-1, keepdim=True)
            std = x.std(dim=-1, keepdim=True, unbiased=False)
            return gamma * (x - mean) / (std + eps) + beta
        """)
    },
    "layer_norm_over_all_axes": {
        "layer_norm": _layer_norm("""
            mean = x.mean()
            var = ((x - mean) ** 2).mean()
            return gamma * (x - mean) / torch.sqrt(var + eps) + beta
        """)
    },
    "layer_norm_forgets_gain_and_bias": {
        "layer_norm": _layer_norm("""
            mean = x.mean(dim=-1, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
            return (x - mean) / torch.sqrt(var + eps)
        """)
    },
    "layer_norm_uses_torch": {
        "layer_norm": _layer_norm("""
            return F.layer_norm(x, x.shape[-1:], gamma, beta, eps)
        """)
    },
    # --- split / merge heads ------------------------------------------------------------------------
    "split_heads_view_without_transpose": {
        "split_merge_heads": """
def split_heads(x, num_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, num_heads, n, d_model // num_heads)
"""
        + _MERGE_OK
    },
    "merge_heads_without_transpose": {
        "split_merge_heads": _SPLIT_OK
        + """
def merge_heads(x):
    batch, num_heads, n, d_k = x.shape
    return x.reshape(batch, n, num_heads * d_k)
"""
    },
    "heads_interleaved_consistently": {
        # split and merge agree with each other, but head i gets features i, i+h, i+2h, ...
        "split_merge_heads": """
def split_heads(x, num_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, n, d_model // num_heads, num_heads).permute(0, 3, 1, 2)


def merge_heads(x):
    batch, num_heads, n, d_k = x.shape
    return x.permute(0, 2, 3, 1).reshape(batch, n, d_k * num_heads)
"""
    },
    "merge_heads_in_wrong_order": {
        "split_merge_heads": _SPLIT_OK
        + """
def merge_heads(x):
    batch, num_heads, n, d_k = x.shape
    return x.permute(0, 2, 3, 1).reshape(batch, n, num_heads * d_k)
"""
    },
    # --- multi-head attention -----------------------------------------------------------------------
    "mha_forgets_w_o": {
        "multi_head_attention": _mha(
            _MHA_PROJECT
            + """
    key_mask = None if mask is None else mask[:, None, None, :]
    heads, weights = scaled_dot_product_attention(q, k, v, key_mask)
    return merge_heads(heads), weights
"""
        )
    },
    "mha_mask_over_queries": {
        "multi_head_attention": _mha(
            _MHA_PROJECT
            + """
    key_mask = None if mask is None else mask[:, None, :, None]
    heads, weights = scaled_dot_product_attention(q, k, v, key_mask)
    return merge_heads(heads) @ p["W_o"] + p["b_o"], weights
"""
        )
    },
    "mha_ignores_mask": {
        "multi_head_attention": _mha(
            _MHA_PROJECT
            + """
    heads, weights = scaled_dot_product_attention(q, k, v)
    return merge_heads(heads) @ p["W_o"] + p["b_o"], weights
"""
        )
    },
    "mha_one_big_head": {
        # attends once in d_model dimensions: the heads are never split
        "multi_head_attention": _mha("""
    q, k, v = x @ p["W_q"] + p["b_q"], x @ p["W_k"] + p["b_k"], x @ p["W_v"] + p["b_v"]
    key_mask = None if mask is None else mask[:, None, :]
    out, weights = scaled_dot_product_attention(q, k, v, key_mask)
    weights = weights[:, None].expand(-1, num_heads, -1, -1)
    return out @ p["W_o"] + p["b_o"], weights
""")
    },
    "mha_forgets_biases": {
        "multi_head_attention": _mha("""
    q = split_heads(x @ p["W_q"], num_heads)
    k = split_heads(x @ p["W_k"], num_heads)
    v = split_heads(x @ p["W_v"], num_heads)
    key_mask = None if mask is None else mask[:, None, None, :]
    heads, weights = scaled_dot_product_attention(q, k, v, key_mask)
    return merge_heads(heads) @ p["W_o"] + p["b_o"], weights
""")
    },
    # --- feed-forward -------------------------------------------------------------------------------
    "ffn_relu_instead_of_gelu": {
        "feed_forward": _ffn("""
            return torch.relu(x @ p["W_1"] + p["b_1"]) @ p["W_2"] + p["b_2"]
        """)
    },
    "ffn_activation_after_w2": {
        "feed_forward": _ffn("""
            return F.gelu((x @ p["W_1"] + p["b_1"]) @ p["W_2"] + p["b_2"])
        """)
    },
    "ffn_no_activation": {
        "feed_forward": _ffn("""
            return (x @ p["W_1"] + p["b_1"]) @ p["W_2"] + p["b_2"]
        """)
    },
    "ffn_adds_input_instead_of_b2": {
        "feed_forward": _ffn("""
            return F.gelu(x @ p["W_1"] + p["b_1"]) @ p["W_2"] + x
        """)
    },
    # --- encoder layer ------------------------------------------------------------------------------
    "layer_pre_ln": {
        "encoder_layer": _layer("""
            attended, _ = multi_head_attention(
                layer_norm(x, p["ln1_gamma"], p["ln1_beta"], LN_EPS), p, num_heads, mask)
            h = x + attended
            return h + feed_forward(layer_norm(h, p["ln2_gamma"], p["ln2_beta"], LN_EPS), p)
        """)
    },
    "layer_no_residuals": {
        "encoder_layer": _layer("""
            attended, _ = multi_head_attention(x, p, num_heads, mask)
            h = layer_norm(attended, p["ln1_gamma"], p["ln1_beta"], LN_EPS)
            return layer_norm(feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], LN_EPS)
        """)
    },
    "layer_ffn_residual_from_input": {
        "encoder_layer": _layer("""
            attended, _ = multi_head_attention(x, p, num_heads, mask)
            h = layer_norm(x + attended, p["ln1_gamma"], p["ln1_beta"], LN_EPS)
            return layer_norm(x + feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], LN_EPS)
        """)
    },
    "layer_swaps_layer_norms": {
        "encoder_layer": _layer("""
            attended, _ = multi_head_attention(x, p, num_heads, mask)
            h = layer_norm(x + attended, p["ln2_gamma"], p["ln2_beta"], LN_EPS)
            return layer_norm(h + feed_forward(h, p), p["ln1_gamma"], p["ln1_beta"], LN_EPS)
        """)
    },
    "layer_drops_mask": {
        "encoder_layer": _layer("""
            attended, _ = multi_head_attention(x, p, num_heads)
            h = layer_norm(x + attended, p["ln1_gamma"], p["ln1_beta"], LN_EPS)
            return layer_norm(h + feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], LN_EPS)
        """)
    },
    "layer_residual_in_place": {
        "encoder_layer": _layer("""
            attended, _ = multi_head_attention(x, p, num_heads, mask)
            x += attended
            h = layer_norm(x, p["ln1_gamma"], p["ln1_beta"], LN_EPS)
            return layer_norm(h + feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], LN_EPS)
        """)
    },
    "layer_uses_bert_layer": {
        "encoder_layer": _layer("""
            from transformers.models.bert.modeling_bert import BertLayer
            bert = BertLayer(config).eval()
            with torch.no_grad():
                bert.attention.self.query.weight.copy_(p["W_q"].T)
                bert.attention.self.query.bias.copy_(p["b_q"])
                bert.attention.self.key.weight.copy_(p["W_k"].T)
                bert.attention.self.key.bias.copy_(p["b_k"])
                bert.attention.self.value.weight.copy_(p["W_v"].T)
                bert.attention.self.value.bias.copy_(p["b_v"])
                bert.attention.output.dense.weight.copy_(p["W_o"].T)
                bert.attention.output.dense.bias.copy_(p["b_o"])
                bert.attention.output.LayerNorm.weight.copy_(p["ln1_gamma"])
                bert.attention.output.LayerNorm.bias.copy_(p["ln1_beta"])
                bert.intermediate.dense.weight.copy_(p["W_1"].T)
                bert.intermediate.dense.bias.copy_(p["b_1"])
                bert.output.dense.weight.copy_(p["W_2"].T)
                bert.output.dense.bias.copy_(p["b_2"])
                bert.output.LayerNorm.weight.copy_(p["ln2_gamma"])
                bert.output.LayerNorm.bias.copy_(p["ln2_beta"])
            extended = None
            if mask is not None:
                extended = (1.0 - mask[:, None, None, :].float()) * torch.finfo(x.dtype).min
            return bert(x, attention_mask=extended)
        """)
    },
    # --- embeddings ---------------------------------------------------------------------------------
    "embed_forgets_segments": {
        "embeddings": _embed("""
            positions = torch.arange(input_ids.shape[1])
            summed = p["E_tok"][input_ids] + p["E_pos"][positions]
            return layer_norm(summed, p["ln_gamma"], p["ln_beta"], LN_EPS)
        """)
    },
    "embed_positions_from_one": {
        "embeddings": _embed("""
            positions = torch.arange(1, input_ids.shape[1] + 1)
            summed = p["E_tok"][input_ids] + p["E_pos"][positions] + p["E_seg"][token_type_ids]
            return layer_norm(summed, p["ln_gamma"], p["ln_beta"], LN_EPS)
        """)
    },
    "embed_positions_by_token_id": {
        "embeddings": _embed("""
            summed = p["E_tok"][input_ids] + p["E_pos"][input_ids % 512] + p["E_seg"][token_type_ids]
            return layer_norm(summed, p["ln_gamma"], p["ln_beta"], LN_EPS)
        """)
    },
    "embed_no_layer_norm": {
        "embeddings": _embed("""
            positions = torch.arange(input_ids.shape[1])
            return p["E_tok"][input_ids] + p["E_pos"][positions] + p["E_seg"][token_type_ids]
        """)
    },
}

CORRECT: dict[str, dict[str, str]] = {
    "attention_einsum_and_manual_softmax": {
        "attention": _attention("""
            scale = 1.0 / q.size(-1) ** 0.5
            scores = torch.einsum("...qd,...kd->...qk", q * scale, k)
            if mask is not None:
                scores = torch.where(mask, scores, torch.full_like(scores, float("-inf")))
            scores = scores - scores.amax(dim=-1, keepdim=True)
            exp = scores.exp()
            weights = exp / exp.sum(dim=-1, keepdim=True)
            return torch.matmul(weights, v), weights
        """)
    },
    "attention_mask_after_softmax_then_renormalize": {
        # zeroing masked weights *and* renormalizing is the same as masking the scores
        "attention": _attention("""
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            weights = torch.softmax(scores, dim=-1)
            if mask is not None:
                weights = weights * mask
                weights = weights / weights.sum(dim=-1, keepdim=True)
            return weights @ v, weights
        """)
    },
    "layer_norm_with_torch_var_biased": {
        "layer_norm": _layer_norm("""
            var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
            return (x - mean) * torch.rsqrt(var + eps) * gamma + beta
        """)
    },
    "split_merge_with_view_and_permute": {
        "split_merge_heads": """
def split_heads(x, num_heads):
    b, n, d = x.size()
    return x.view(b, n, num_heads, -1).permute(0, 2, 1, 3).contiguous()


def merge_heads(x):
    return torch.cat(x.unbind(dim=1), dim=-1)
"""
    },
    "mha_loop_over_heads": {
        "multi_head_attention": _mha("""
    d_k = x.shape[-1] // num_heads
    q, k, v = x @ p["W_q"] + p["b_q"], x @ p["W_k"] + p["b_k"], x @ p["W_v"] + p["b_v"]
    key_mask = None if mask is None else mask.unsqueeze(1)
    outputs, all_weights = [], []
    for h in range(num_heads):
        cols = slice(h * d_k, (h + 1) * d_k)
        out, w = scaled_dot_product_attention(q[..., cols], k[..., cols], v[..., cols], key_mask)
        outputs.append(out)
        all_weights.append(w)
    return torch.cat(outputs, dim=-1) @ p["W_o"] + p["b_o"], torch.stack(all_weights, dim=1)
""")
    },
    "ffn_with_erf": {
        "feed_forward": _ffn("""
            z = torch.addmm(p["b_1"], x.reshape(-1, x.shape[-1]), p["W_1"])
            hidden = z * 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
            return (hidden @ p["W_2"] + p["b_2"]).reshape(*x.shape[:-1], -1)
        """)
    },
    "layer_named_steps": {
        "encoder_layer": _layer("""
            def sublayer(inputs, output, gamma, beta):
                return layer_norm(inputs + output, gamma, beta, LN_EPS)

            attention_out = multi_head_attention(x, p, num_heads, mask=mask)[0]
            h = sublayer(x, attention_out, p["ln1_gamma"], p["ln1_beta"])
            return sublayer(h, feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"])
        """)
    },
    "embed_with_f_embedding": {
        "embeddings": _embed("""
            batch, n = input_ids.shape
            positions = torch.arange(n).expand(batch, n)
            summed = (F.embedding(input_ids, p["E_tok"]) + F.embedding(positions, p["E_pos"])
                      + F.embedding(token_type_ids, p["E_seg"]))
            return layer_norm(summed, p["ln_gamma"], p["ln_beta"], eps=LN_EPS)
        """)
    },
}

# --- more mistakes of each kind (issue 14): library calls, numerics, globals instead of arguments,
# constants instead of shapes, in-place changes of the weights ---------------------------------------
WRONG.update(
    {
        "attention_calls_course_library": {
            "attention": _attention("""
                from ch11lib.encoder import scaled_dot_product_attention as course_attention

                return course_attention(q, k, v, mask)
            """)
        },
        "attention_manual_softmax_without_max": {
            # exp of scores in the hundreds overflows float32: inf / inf = NaN
            "attention": _attention("""
                scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
                exp = torch.exp(scores)
                if mask is not None:
                    exp = exp * mask
                weights = exp / exp.sum(dim=-1, keepdim=True)
                return weights @ v, weights
            """)
        },
        "attention_adds_bool_mask_to_scores": {
            # treats the boolean mask as an additive one: +1 where allowed, +0 elsewhere
            "attention": _attention("""
                scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
                if mask is not None:
                    scores = scores + mask
                weights = torch.softmax(scores, dim=-1)
                return weights @ v, weights
            """)
        },
        "attention_scales_by_sqrt_d_v": {
            "attention": _attention("""
                scores = q @ k.transpose(-2, -1) / math.sqrt(v.shape[-1])
                if mask is not None:
                    scores = scores.masked_fill(~mask, float("-inf"))
                weights = torch.softmax(scores, dim=-1)
                return weights @ v, weights
            """)
        },
        "layer_norm_without_eps": {
            "layer_norm": _layer_norm("""
                mean = x.mean(dim=-1, keepdim=True)
                centred = x - mean
                return gamma * centred / centred.pow(2).mean(dim=-1, keepdim=True).sqrt() + beta
            """)
        },
        "layer_norm_fixed_eps": {
            # the eps argument is ignored in favour of the usual 1e-5
            "layer_norm": _layer_norm("""
                mean = x.mean(dim=-1, keepdim=True)
                var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
                return gamma * (x - mean) / torch.sqrt(var + 1e-5) + beta
            """)
        },
        "layer_norm_over_dim_1": {
            # right for (n, d) inputs, wrong for (batch, n, d)
            "layer_norm": _layer_norm("""
                mean = x.mean(dim=1, keepdim=True)
                var = ((x - mean) ** 2).mean(dim=1, keepdim=True)
                return gamma * (x - mean) / torch.sqrt(var + eps) + beta
            """)
        },
        "split_heads_head_size_32": {
            # MiniLM's head size written in: 384 / 12 = 32
            "split_merge_heads": """
def split_heads(x, num_heads):
    batch, n, _ = x.shape
    return x.reshape(batch, n, num_heads, 32).transpose(1, 2)
"""
            + _MERGE_OK
        },
        "mha_global_num_heads": {
            "multi_head_attention": _mha("""
    q = split_heads(x @ p["W_q"] + p["b_q"], NUM_HEADS)
    k = split_heads(x @ p["W_k"] + p["b_k"], NUM_HEADS)
    v = split_heads(x @ p["W_v"] + p["b_v"], NUM_HEADS)
    key_mask = None if mask is None else mask[:, None, None, :]
    heads, weights = scaled_dot_product_attention(q, k, v, key_mask)
    return merge_heads(heads) @ p["W_o"] + p["b_o"], weights
""")
        },
        "mha_mask_missing_head_axis": {
            # (batch, 1, n) broadcasts the batch axis against the heads
            "multi_head_attention": _mha(
                _MHA_PROJECT
                + """
    key_mask = None if mask is None else mask[:, None, :]
    heads, weights = scaled_dot_product_attention(q, k, v, key_mask)
    return merge_heads(heads) @ p["W_o"] + p["b_o"], weights
"""
            )
        },
        "mha_folds_scale_into_w_q_in_place": {
            # folds 1/sqrt(d_k) into the query weights, in place, and undoes it for the attention call:
            # right once, but the caller's weights (and every later call) are changed
            "multi_head_attention": _mha("""
    scale = math.sqrt(x.shape[-1] // num_heads)
    p["W_q"] /= scale
    p["b_q"] /= scale
    q = split_heads(x @ p["W_q"] + p["b_q"], num_heads)
    k = split_heads(x @ p["W_k"] + p["b_k"], num_heads)
    v = split_heads(x @ p["W_v"] + p["b_v"], num_heads)
    key_mask = None if mask is None else mask[:, None, None, :]
    heads, weights = scaled_dot_product_attention(q * scale, k, v, key_mask)
    return merge_heads(heads) @ p["W_o"] + p["b_o"], weights
""")
        },
        "ffn_tanh_gelu": {
            "feed_forward": _ffn("""
                return F.gelu(x @ p["W_1"] + p["b_1"], approximate="tanh") @ p["W_2"] + p["b_2"]
            """)
        },
        "ffn_sigmoid_gelu": {
            "feed_forward": _ffn("""
                z = x @ p["W_1"] + p["b_1"]
                return (z * torch.sigmoid(1.702 * z)) @ p["W_2"] + p["b_2"]
            """)
        },
        "layer_global_num_heads": {
            "encoder_layer": _layer("""
                attended, _ = multi_head_attention(x, p, NUM_HEADS, mask)
                h = layer_norm(x + attended, p["ln1_gamma"], p["ln1_beta"], LN_EPS)
                return layer_norm(h + feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], LN_EPS)
            """)
        },
        "layer_global_params": {
            # uses layer 0's weights whatever p holds
            "encoder_layer": _layer("""
                attended, _ = multi_head_attention(x, params0, num_heads, mask)
                h = layer_norm(x + attended, params0["ln1_gamma"], params0["ln1_beta"], LN_EPS)
                return layer_norm(h + feed_forward(h, params0), params0["ln2_gamma"], params0["ln2_beta"], LN_EPS)
            """)
        },
        "embed_positions_restart_per_segment": {
            # counts positions from 0 again in sentence B
            "embeddings": _embed("""
                first_b = (token_type_ids == 1).int().argmax(dim=1, keepdim=True)
                has_b = (token_type_ids == 1).any(dim=1, keepdim=True)
                positions = torch.arange(input_ids.shape[1])[None]
                positions = torch.where(has_b & (positions >= first_b), positions - first_b, positions)
                summed = p["E_tok"][input_ids] + p["E_pos"][positions] + p["E_seg"][token_type_ids]
                return layer_norm(summed, p["ln_gamma"], p["ln_beta"], LN_EPS)
            """)
        },
        "embed_global_tables": {
            # reads MiniLM's tables instead of p's
            "embeddings": _embed("""
                tables = embedding_params(minilm)
                positions = torch.arange(input_ids.shape[1])
                summed = tables["E_tok"][input_ids] + tables["E_pos"][positions] + tables["E_seg"][token_type_ids]
                return layer_norm(summed, tables["ln_gamma"], tables["ln_beta"], LN_EPS)
            """)
        },
        "embed_layer_norm_of_tokens_only": {
            "embeddings": _embed("""
                positions = torch.arange(input_ids.shape[1])
                tokens = layer_norm(p["E_tok"][input_ids], p["ln_gamma"], p["ln_beta"], LN_EPS)
                return tokens + p["E_pos"][positions] + p["E_seg"][token_type_ids]
            """)
        },
    }
)

CORRECT.update(
    {
        "attention_scale_queries_first_minus_inf": {
            "attention": _attention("""
                scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(-1, -2)
                if mask is not None:
                    scores = torch.where(mask, scores, torch.tensor(float("-inf")))
                weights = scores.softmax(-1)
                return weights @ v, weights
            """)
        },
        "layer_norm_one_pass_variance": {
            "layer_norm": _layer_norm("""
                mean = x.mean(-1, keepdim=True)
                var = (x * x).mean(-1, keepdim=True) - mean * mean
                return (x - mean) / (var + eps).sqrt() * gamma + beta
            """)
        },
        "split_merge_with_unflatten_and_flatten": {
            "split_merge_heads": """
def split_heads(x, num_heads):
    return x.unflatten(-1, (num_heads, -1)).transpose(-3, -2)


def merge_heads(x):
    return x.transpose(-3, -2).flatten(-2)
"""
        },
        "mha_einsum_with_head_weights": {
            # the heads as a reshaped weight tensor, no split/merge helpers
            "multi_head_attention": _mha("""
    batch, n, d_model = x.shape
    d_k = d_model // num_heads

    def heads(w, b):
        return torch.einsum("bnd,dhk->bhnk", x, w.reshape(d_model, num_heads, d_k)) + b.reshape(num_heads, 1, d_k)

    q, k, v = heads(p["W_q"], p["b_q"]), heads(p["W_k"], p["b_k"]), heads(p["W_v"], p["b_v"])
    key_mask = None if mask is None else mask.reshape(batch, 1, 1, n)
    context, weights = scaled_dot_product_attention(q, k, v, key_mask)
    out = torch.einsum("bhnk,hkd->bnd", context, p["W_o"].reshape(num_heads, d_k, d_model)) + p["b_o"]
    return out, weights
""")
        },
        "ffn_linear_and_gelu_module": {
            "feed_forward": _ffn("""
                hidden = F.linear(x, p["W_1"].T, p["b_1"])
                return F.linear(torch.nn.GELU()(hidden), p["W_2"].T, p["b_2"])
            """)
        },
        "embed_one_hot_matmul": {
            "embeddings": _embed("""
                n = input_ids.shape[-1]
                tok = F.one_hot(input_ids, p["E_tok"].shape[0]).to(p["E_tok"].dtype) @ p["E_tok"]
                seg = F.one_hot(token_type_ids, p["E_seg"].shape[0]).to(p["E_seg"].dtype) @ p["E_seg"]
                pos = p["E_pos"][:n].unsqueeze(0)
                return layer_norm(tok + pos + seg, p["ln_gamma"], p["ln_beta"], LN_EPS)
            """)
        },
    }
)


# An independent red-team set (2026-12-02, issue 14 section 6): wrong answers written without reading
# this file that first got full marks, and the set's differently written correct solution.
WRONG.update(
    {
        "redteam_layer_eps_default_1e5": {
            "encoder_layer": """
def encoder_layer(x, p, num_heads, mask=None):
    a, _ = multi_head_attention(x, p, num_heads, mask)
    h = layer_norm(x + a, p["ln1_gamma"], p["ln1_beta"], 1e-5)
    return layer_norm(h + feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], 1e-5)
""",
        },
        "redteam_layer_ln2_default_eps": {
            "encoder_layer": """
def encoder_layer(x, p, num_heads, mask=None):
    a, _ = multi_head_attention(x, p, num_heads, mask)
    h = layer_norm(x + a, p["ln1_gamma"], p["ln1_beta"], LN_EPS)
    return layer_norm(h + feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], 1e-6)
""",
        },
    }
)
CORRECT.update(
    {
        "redteam_correct_einsum_and_finfo": {
            "attention": """
def scaled_dot_product_attention(q, k, v, mask=None):
    d_k = q.size(-1)
    scores = torch.einsum("...qd,...kd->...qk", q, k) * (d_k ** -0.5)
    if mask is not None:
        scores = torch.where(mask, scores, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
    scores = scores - scores.amax(-1, keepdim=True)
    e = torch.exp(scores)
    if mask is not None:
        e = torch.where(mask, e, torch.zeros((), dtype=e.dtype))
    weights = e / e.sum(-1, keepdim=True)
    return torch.einsum("...qk,...kd->...qd", weights, v), weights
""",
            "layer_norm": """
def layer_norm(x, gamma, beta, eps=1e-12):
    mu = x.mean(dim=-1, keepdim=True)
    centered = x - mu
    var = centered.pow(2).mean(dim=-1, keepdim=True)
    return centered * torch.rsqrt(var + eps) * gamma + beta
""",
            "split_merge_heads": """
def split_heads(x, num_heads):
    b, n, d = x.shape
    return torch.stack(x.chunk(num_heads, dim=-1), dim=1)


def merge_heads(x):
    return torch.cat(x.unbind(1), dim=-1)
""",
            "multi_head_attention": """
def multi_head_attention(x, p, num_heads, mask=None):
    proj = lambda name: torch.addmm(p["b_" + name].unsqueeze(0), x.reshape(-1, x.shape[-1]), p["W_" + name]).reshape(*x.shape[:-1], -1)
    q, k, v = (split_heads(proj(n), num_heads) for n in "qkv")
    key_mask = None if mask is None else mask.bool().unsqueeze(1).unsqueeze(2)
    out, weights = scaled_dot_product_attention(q, k, v, key_mask)
    return merge_heads(out) @ p["W_o"] + p["b_o"], weights
""",
            "feed_forward": """
def feed_forward(x, p):
    z = x @ p["W_1"] + p["b_1"]
    h = 0.5 * z * (1 + torch.erf(z / math.sqrt(2.0)))
    return h @ p["W_2"] + p["b_2"]
""",
            "encoder_layer": """
def encoder_layer(x, p, num_heads, mask=None):
    attended = multi_head_attention(x, p, num_heads, mask)[0]
    h = layer_norm(attended + x, p["ln1_gamma"], p["ln1_beta"], eps=LN_EPS)
    return layer_norm(feed_forward(h, p) + h, p["ln2_gamma"], p["ln2_beta"], eps=LN_EPS)
""",
            "embeddings": """
def embed(input_ids, token_type_ids, p):
    positions = torch.arange(input_ids.size(1), device=input_ids.device).unsqueeze(0).expand_as(input_ids)
    x = F.embedding(input_ids, p["E_tok"]) + F.embedding(positions, p["E_pos"]) + F.embedding(token_type_ids, p["E_seg"])
    return layer_norm(x, p["ln_gamma"], p["ln_beta"], LN_EPS)
""",
        },
    }
)
