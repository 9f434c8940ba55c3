"""What may cross between the trusted kernel and the student's kernel: data, never code.

Both sides write with :func:`dump` (``torch.save`` of a tagged tree) and read with :func:`load`
(``torch.load(..., weights_only=True)``, PyTorch's unpickler that only builds tensors and plain
containers, so a file the student wrote cannot run code when the grader reads it), after checking the
file's size. The tree:

- ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``: as they are;
- tensors (plain ``torch.Tensor`` only), numpy arrays and scalars of numbers or strings;
- ``list``, ``tuple``, ``dict`` (any ``Mapping``), ``set``, ``frozenset``, ``range`` of these;
- ``torch.Generator``, ``random.Random`` and ``numpy.random.Generator`` by their state;
- ``torch.dtype`` and ``torch.device`` by name;
- objects that the setup cells built on both sides (a model, a tokenizer) by reference: ``refs``
  maps ``id(object)`` to the name both sides know it by.

Anything else cannot be sent (:class:`WireError`): a student function that returns a module or a
lambda fails its test with that message.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Mapping
from typing import Any

import torch

MAX_BYTES = 256 * 1024 * 1024  # default bound on one message (CH11_WIRE_MAX_BYTES overrides it)
MAX_DEPTH = 64


def user_namespace() -> dict[str, Any]:
    """The namespace the notebook's cells run in: the kernel's ``user_ns`` (``__main__``'s outside
    IPython). Both sides (:mod:`~ch11lib.grading.proxy`, :mod:`~ch11lib.grading.agent`) use it."""
    try:
        return get_ipython().user_ns  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        import sys

        return sys.modules["__main__"].__dict__


class WireError(TypeError):
    """A value that is not data (or a message that is not a valid one)."""


def _np():
    import sys

    return sys.modules.get("numpy")


def encode(value: Any, refs: Mapping[int, str] | None = None, _depth: int = 0) -> Any:
    """The tagged tree of ``value`` (tensors stay tensors, detached)."""
    refs = refs or {}
    if _depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if value is None or type(value) in (bool, int, float, complex, str, bytes):
        return value
    t = type(value)
    if isinstance(value, torch.Tensor):
        if t is not torch.Tensor and t is not torch.nn.Parameter:
            raise WireError(f"a {t.__name__} (a subclass of torch.Tensor) is not plain data")
        if value.layout != torch.strided or value.is_quantized or value.device.type == "meta":
            raise WireError("only dense CPU tensors can be sent")
        data = value.detach()
        if data.untyped_storage().nbytes() > data.nelement() * data.element_size() + 64:
            data = data.clone()  # a view of a big tensor: do not send the whole storage
        return {"t": "tensor", "v": data, "g": bool(value.requires_grad)}
    np = _np()
    if np is not None:
        if t is np.ndarray:
            if value.dtype.kind in "US":  # strings: as a nested list, with their dtype
                return {"t": "ndstr", "d": str(value.dtype), "v": value.tolist()}
            if value.dtype.kind not in "biufc":
                raise WireError(f"a numpy array of {value.dtype} is not plain data")
            return {"t": "nd", "v": torch.from_numpy(np.ascontiguousarray(value).copy())}
        if isinstance(value, np.generic) and value.dtype.kind in "biufcUS":
            return {"t": "np", "d": str(value.dtype), "v": value.item()}
        if t is np.random.Generator:
            return {"t": "npgen", "v": encode(value.bit_generator.state, refs, _depth + 1)}
    if t in (list, tuple, set, frozenset):
        items = [encode(v, refs, _depth + 1) for v in value]
        return {"t": t.__name__, "v": items}
    if isinstance(value, Mapping):
        keys = list(value.keys())
        return {
            "t": "dict",
            "k": [encode(k, refs, _depth + 1) for k in keys],
            "v": [encode(value[k], refs, _depth + 1) for k in keys],
        }
    if t is range:
        return {"t": "range", "v": [value.start, value.stop, value.step]}
    if t is torch.Generator:
        return {"t": "tgen", "v": value.get_state(), "d": str(value.device)}
    if t is random.Random:
        return {"t": "rand", "v": encode(value.getstate(), refs, _depth + 1)}
    if t is torch.dtype:
        return {"t": "dtype", "v": str(value).removeprefix("torch.")}
    if t is torch.device:
        return {"t": "device", "v": str(value)}
    if id(value) in refs:  # built by the setup cells on both sides: passed by reference
        return {"t": "ref", "v": refs[id(value)]}
    raise WireError(f"a {t.__module__}.{t.__qualname__} is not data the grader can pass on")


def decode(tree: Any, resolve: Mapping[str, Any] | None = None, _depth: int = 0) -> Any:
    """The value of a tagged tree; ``resolve`` maps reference names to this side's objects.

    Strict: anything that is not exactly what :func:`encode` writes raises :class:`WireError`.
    """
    if _depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if tree is None or type(tree) in (bool, int, float, complex, str, bytes):
        return tree
    if type(tree) is not dict or type(tree.get("t")) is not str:
        raise WireError(f"not a valid message ({type(tree).__name__})")
    tag, v = tree["t"], tree.get("v")
    if tag == "tensor":
        if not isinstance(v, torch.Tensor):
            raise WireError("not a tensor")
        out = v.data if type(v) is torch.nn.Parameter else v
        if type(out) is not torch.Tensor:
            raise WireError("not a plain tensor")
        if tree.get("g") is True and (out.is_floating_point() or out.is_complex()):
            out = out.detach().requires_grad_(True)
        return out
    if tag == "nd":
        if type(v) is not torch.Tensor:
            raise WireError("not an array")
        return v.numpy()
    if tag == "ndstr":
        np = _import_numpy()
        dtype = np.dtype(str(tree["d"]))
        if dtype.kind not in "US" or not _strings_only(v):
            raise WireError("not an array of strings")
        return np.array(v, dtype=dtype)
    if tag == "np":
        np = _import_numpy()
        return np.dtype(str(tree["d"])).type(decode(v, resolve, _depth + 1))
    if tag in ("list", "tuple", "set", "frozenset"):
        if type(v) is not list:
            raise WireError("not a list")
        items = [decode(x, resolve, _depth + 1) for x in v]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
    if tag == "dict":
        keys, values = tree.get("k"), v
        if type(keys) is not list or type(values) is not list or len(keys) != len(values):
            raise WireError("not a dict")
        return {
            decode(k, resolve, _depth + 1): decode(x, resolve, _depth + 1)
            for k, x in zip(keys, values, strict=True)
        }
    if tag == "range":
        if type(v) is not list or len(v) != 3 or not all(type(x) is int for x in v):
            raise WireError("not a range")
        return range(*v)
    if tag == "tgen":
        if type(v) is not torch.Tensor:
            raise WireError("not a generator state")
        generator = torch.Generator(device=str(tree.get("d", "cpu")))
        generator.set_state(v)
        return generator
    if tag == "rand":
        generator = random.Random()
        generator.setstate(_as_tuples(decode(v, resolve, _depth + 1)))
        return generator
    if tag == "npgen":
        np = _import_numpy()
        state = decode(v, resolve, _depth + 1)
        if type(state) is not dict or state.get("bit_generator") not in ("PCG64", "PCG64DXSM"):
            raise WireError("not a numpy generator state")
        bit_generator = getattr(np.random, state["bit_generator"])()
        bit_generator.state = state
        return np.random.Generator(bit_generator)
    if tag == "dtype":
        dtype = getattr(torch, str(v), None)
        if type(dtype) is not torch.dtype:
            raise WireError("not a dtype")
        return dtype
    if tag == "device":
        return torch.device(str(v))
    if tag == "ref":
        if resolve is None or v not in resolve:
            raise WireError(f"no object named {v!r} on this side")
        return resolve[v]
    raise WireError(f"unknown tag {tag!r}")


def _strings_only(value: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if type(value) is list:
        return all(_strings_only(v, depth + 1) for v in value)
    return type(value) in (str, bytes)


def _as_tuples(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_as_tuples(v) for v in value)
    return value


def _import_numpy():
    import numpy

    return numpy


def dump(payload: Any, path: str) -> None:
    """Write an already encoded tree (``encode``) to ``path``."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    # never through a link (the other side may own the folder): O_NOFOLLOW
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(buffer.getbuffer())


def load(path: str, max_bytes: int = MAX_BYTES) -> Any:
    """Read a tree that the other side wrote; :class:`WireError` if too big or not data."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise WireError(f"no message: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WireError(f"the message is larger than {max_bytes} bytes")
    if not data:
        raise WireError("empty message")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001  (anything unreadable is the sender's fault)
        raise WireError(f"not a valid message: {type(exc).__name__}: {str(exc)[:200]}") from None


def tensors_in(tree: Any) -> list[torch.Tensor]:
    """The tensors of a decoded value, in a fixed order (for the autograd bridge)."""
    found: list[torch.Tensor] = []

    def walk(value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, list | tuple | set | frozenset):
            for v in value:
                walk(v, depth + 1)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v, depth + 1)

    walk(tree, 0)
    return found
