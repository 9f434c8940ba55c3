"""Answers that return something other than plain data.

``EVIL_TENSOR_A1``: answers of a1_encoder's first function returning a ``torch.Tensor`` subclass whose
``__torch_function__`` says every comparison holds (uniform attention weights, zero outputs: the
shape checks pass honestly, the value checks should not). With ``EVIL = False`` the same answers
return plain tensors: what the answers earn.

``HUGE_A1``: the reference answers, except that ``layer_norm`` returns a list nested 100,000 deep
(a decoder that recurses dies) and ``feed_forward`` a 1.5 GB tensor.
"""

EVIL_TENSOR_A1 = """
import torch


class _Agreeable(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal"):
            return True
        if name in ("isclose", "eq", "__eq__", "ge", "__ge__", "le", "__le__"):
            return torch.ones(args[0].shape, dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs or {})


def _dress(tensor):
    return tensor.as_subclass(_Agreeable) if EVIL else tensor


def scaled_dot_product_attention(q, k, v, mask=None):
    n_q, n_k = q.shape[-2], k.shape[-2]
    weights = torch.full((*q.shape[:-2], n_q, n_k), 1.0 / n_k)
    return _dress(torch.zeros(*q.shape[:-1], v.shape[-1])), _dress(weights)
"""

HUGE_A1 = """
def _deep(depth):
    nested = []
    for _ in range(depth):
        nested = [nested]
    return nested


def layer_norm(x, gamma, beta, eps=1e-12):
    return _deep(100_000)


def feed_forward(x, p):
    return torch.ones(375_000_000)
"""
