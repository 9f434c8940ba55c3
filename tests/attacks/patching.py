"""Patching library and helper functions so that wrong answers pass.

The stress suite (``tests/test_grader_stress.py``) already hands in the plain forms (``torch.allclose
= ...`` before or after the first locked cell, test helpers redefined, patches made when an answer is
called). These are the forms that the in-kernel guard of 2026-12-01 could not see.
"""

# In place: the helpers' function objects stay the same (so an identity check sees nothing), but
# their code and the comparison functions bound as their default arguments are swapped.
IN_PLACE = """
def _accept(*args, **kwargs):
    return None


for _name, _value in list(globals().items()):
    _code = getattr(_value, "__code__", None)
    if _code is None or not _name.startswith(("check", "assert_")) or _code.co_freevars:
        continue
    if _value.__kwdefaults__:
        for _key in list(_value.__kwdefaults__):
            if "close" in _key or "equal" in _key:
                _value.__kwdefaults__[_key] = lambda *args, **kwargs: True
    _value.__code__ = _accept.__code__
"""

# At call time, undone after the cell: each answer, when a test calls it, makes the comparisons pass
# and registers a callback that puts them back as soon as the test cell is over (before any check the
# grader runs after the cell). Handed in with wrong answers: wrap every answer function.
CALL_TIME = """
import functools as _functools

import torch as _torch

_shell = get_ipython()
_saved = []


def _restore(result=None):
    while _saved:
        owner, attribute, value = _saved.pop()
        setattr(owner, attribute, value)


def _patch():
    if _saved:
        return
    helpers = [v for n, v in globals().items() if n.startswith("check") and hasattr(v, "__code__")]
    for owner, attribute in [(_torch, "allclose"), (_torch, "equal"), (_torch.Tensor, "allclose")]:
        _saved.append((owner, attribute, getattr(owner, attribute)))
        setattr(owner, attribute, lambda *args, **kwargs: True)
    for helper in helpers:
        _saved.append((helper, "__code__", helper.__code__))
        helper.__code__ = (lambda *args, **kwargs: None).__code__


_shell.events.register("post_run_cell", _restore)
_shell.events.register("post_execute", _restore)


def _sneaky(function):
    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        _patch()
        return function(*args, **kwargs)
    return wrapper


for _name in PARAMS["answers"]:
    if callable(globals().get(_name)):
        globals()[_name] = _sneaky(globals()[_name])
"""
