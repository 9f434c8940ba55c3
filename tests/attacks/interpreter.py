"""Attacks through the interpreter: tracing, ``gc`` and frames, ``ctypes``.

They reach the tests' own objects (hidden reference functions, the comparison functions a helper
bound when it was defined) from the student's code, which works when both run in one process.
"""

# sys.settrace: while a cell's top-level code runs (a test), the comparisons pass and the test
# helpers do nothing; when it returns, everything is put back, so a check the grader makes between
# cells finds nothing changed. Handed in with wrong answers.
SETTRACE = """
import linecache as _linecache
import sys as _sys

import torch as _torch

_saved = {}


def _is_cell(code):
    name = code.co_filename
    if code.co_name != "<module>" or not ("ipykernel" in name or name.startswith("<ipython")):
        return False
    return "_ch11_guard_" not in _linecache.getline(name, 1)  # leave the grader's own checks alone


def _undo(namespace):
    for owner, attribute, value in _saved.pop("patches", []):
        setattr(owner, attribute, value)
    for name, value in _saved.pop("names", {}).items():
        namespace[name] = value


def _local(frame, event, arg):
    if event == "return":
        _undo(frame.f_globals)
    return _local


def _tracer(frame, event, arg):
    if event != "call" or not _is_cell(frame.f_code):
        return None
    namespace = frame.f_globals
    _undo(namespace)
    patches = [(_torch, "allclose"), (_torch, "equal"), (_torch.Tensor, "allclose"),
               (_torch.Tensor, "equal")]
    _saved["patches"] = [(owner, attribute, getattr(owner, attribute)) for owner, attribute in patches]
    for owner, attribute in patches:
        setattr(owner, attribute, lambda *args, **kwargs: True)
    helpers = [n for n, v in namespace.items() if callable(v) and n.startswith(("check", "assert_"))]
    _saved["names"] = {name: namespace[name] for name in helpers}
    for name in helpers:
        namespace[name] = lambda *args, **kwargs: None
    return _local


_sys.settrace(_tracer)
"""

# gc and frames: every answer calls the hidden reference implementation that the tests define (or,
# failing that, raises as a blank answer does). Written for a1_encoder's functions.
STEAL_A1 = """
import gc as _gc
import sys as _sys


def _stolen(name):
    frame = _sys._getframe(1)
    while frame is not None:
        if callable(frame.f_globals.get(name)):
            return frame.f_globals[name]
        frame = frame.f_back
    for obj in _gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", None) == name:
            return obj
    raise NotImplementedError(name)


def scaled_dot_product_attention(q, k, v, mask=None):
    return _stolen("_reference_attention")(q, k, v, mask)


def layer_norm(x, gamma, beta, eps=1e-12):
    return _stolen("_reference_layer_norm")(x, gamma, beta, eps)


def split_heads(x, num_heads):
    return _stolen("_reference_split_heads")(x, num_heads)


def merge_heads(x):
    return _stolen("_reference_merge_heads")(x)


def multi_head_attention(x, p, num_heads, mask=None):
    return _stolen("_reference_mha")(x, p, num_heads, mask)


def feed_forward(x, p):
    return _stolen("_reference_ffn")(x, p)


def encoder_layer(x, p, num_heads, mask=None):
    attended, _ = multi_head_attention(x, p, num_heads, mask)
    h = layer_norm(x + attended, p["ln1_gamma"], p["ln1_beta"], 1e-12)
    return layer_norm(h + feed_forward(h, p), p["ln2_gamma"], p["ln2_beta"], 1e-12)


def embed(input_ids, token_type_ids, p):
    positions = __import__("torch").arange(input_ids.shape[1])
    summed = p["E_tok"][input_ids] + p["E_pos"][positions][None] + p["E_seg"][token_type_ids]
    return layer_norm(summed, p["ln_gamma"], p["ln_beta"], 1e-12)
"""

# ctypes: the C function objects torch.allclose and torch.equal are rewired in place to return
# True; the module attributes are the same objects, and so are the ones a test helper bound as
# default arguments. Handed in with wrong answers.
CTYPES = """
import ctypes as _ctypes

import torch as _torch


class _MethodDef(_ctypes.Structure):
    _fields_ = [("name", _ctypes.c_char_p), ("meth", _ctypes.c_void_p), ("flags", _ctypes.c_int),
                ("doc", _ctypes.c_char_p)]


_CALL = _ctypes.PYFUNCTYPE(_ctypes.py_object, _ctypes.c_void_p, _ctypes.c_void_p, _ctypes.c_void_p)
_keep = []


def _rewire(function, value):
    callback = _CALL(lambda self, args, kwargs: value)
    definition = _MethodDef(b"rewired", _ctypes.cast(callback, _ctypes.c_void_p).value, 0x3, None)
    _keep.append((callback, definition))
    words = _ctypes.cast(id(function), _ctypes.POINTER(_ctypes.c_void_p))
    # PyCFunctionObject: refcount, type, m_ml, m_self, m_module, m_weakreflist, vectorcall
    words[2] = _ctypes.addressof(definition)
    words[6] = None


if type(_torch.allclose).__name__ == "builtin_function_or_method":
    _rewire(_torch.allclose, True)
    _rewire(_torch.equal, True)
"""
