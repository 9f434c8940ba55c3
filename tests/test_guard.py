"""ch11lib.guard without a kernel: what it restores, what it leaves to the student, what it flags.

The guard runs in the grading kernel around every locked cell (``ch11lib.autograde.GuardedExecute``);
here its ``before``/``after`` hooks are called directly on a plain dict standing in for the notebook's
namespace. The end-to-end behaviour under ``nbgrader autograde`` is in ``test_grader_stress.py``.
"""

from __future__ import annotations

import math
import sys
import uuid

import numpy.testing
import pytest
import torch

from ch11lib.guard import GraderIntegrityError, bound_names, imported_roots, install


@pytest.fixture
def guard_key():
    key = f"_test_guard_{uuid.uuid4().hex}"
    yield key
    sys.modules.pop(key, None)


def _lenient(*args, **kwargs):
    return True


_lenient.__module__ = "__main__"  # as if a notebook cell had defined it


def test_library_functions_and_methods_are_put_back(guard_key: str) -> None:
    allclose, assert_allclose, isclose = torch.allclose, numpy.testing.assert_allclose, math.isclose
    guard = install(guard_key, ["torch", "numpy"], [], namespace={})
    try:
        torch.allclose = _lenient
        torch.Tensor.allclose = _lenient
        numpy.testing.assert_allclose = _lenient
        math.isclose = _lenient
        guard.before()
        assert torch.allclose is allclose and math.isclose is isclose
        assert numpy.testing.assert_allclose is assert_allclose
        assert "allclose" not in vars(torch.Tensor), "a method added to torch.Tensor was kept"
        assert not torch.ones(2).allclose(torch.zeros(2))
    finally:
        torch.allclose, numpy.testing.assert_allclose, math.isclose = (
            allclose,
            assert_allclose,
            isclose,
        )
        if vars(torch.Tensor).get("allclose") is _lenient:
            delattr(torch.Tensor, "allclose")


def test_locked_names_are_put_back_but_answers_are_not(guard_key: str) -> None:
    def check_close(a, b):
        assert torch.allclose(a, b)

    namespace = {"check_close": check_close, "model": "pretrained"}
    guard = install(guard_key, ["torch"], ["model", "attention"], namespace=namespace)
    guard.after(["check_close", "model"])  # a locked cell bound both
    namespace["check_close"] = _lenient  # a student cell redefines the helper ...
    namespace["model"] = "fine-tuned"  # ... and, legitimately, its answer
    namespace["attention"] = _lenient
    guard.before()
    assert namespace["check_close"] is check_close
    assert namespace["model"] == "fine-tuned" and namespace["attention"] is _lenient


def test_a_library_patched_before_the_first_snapshot_is_flagged(guard_key: str) -> None:
    allclose = torch.allclose
    try:
        torch.allclose = _lenient  # patched before the guard ever saw torch
        guard = install(guard_key, ["torch"], [], namespace={})
        with pytest.raises(GraderIntegrityError, match="torch.allclose"):
            guard.before()
    finally:
        torch.allclose = allclose


def test_static_analysis_of_cells() -> None:
    source = (
        "import torch.nn.functional as F\nfrom numpy import testing\nx, (y, z) = 1, (2, 3)\n"
        "def f():\n    pass\nclass C:\n    pass\nfor i in range(2):\n    pass\n"
    )
    assert {"F", "testing", "x", "y", "z", "f", "C", "i"} <= bound_names(source)
    assert imported_roots(source) == {"torch", "numpy"}
    assert bound_names("%timeit x") == set() and imported_roots("!ls") == set()


def test_a_patch_made_while_a_locked_cell_ran_is_reported_and_undone(guard_key: str) -> None:
    allclose = torch.allclose

    def check_close(a, b):
        assert torch.allclose(a, b)

    namespace = {"check_close": check_close}
    guard = install(guard_key, ["torch"], [], namespace=namespace)
    guard.after(["check_close"])
    guard.before()
    try:
        torch.allclose = _lenient  # the student's function, called by the test, patches torch
        namespace["check_close"] = _lenient
        with pytest.raises(GraderIntegrityError, match="torch.allclose"):
            guard.after(["expected"])  # the test cell itself bound only `expected`
        assert torch.allclose is allclose and namespace["check_close"] is check_close
        guard.after(["expected"])  # nothing changed since: no complaint
    finally:
        torch.allclose = allclose


def test_a_library_wrapping_its_own_function_is_not_tampering(guard_key: str) -> None:
    import functools

    seed = torch.manual_seed

    @functools.wraps(seed)
    def library_wrapper(*args, **kwargs):  # as torch._dynamo does to torch.manual_seed
        return seed(*args, **kwargs)

    guard = install(guard_key, ["torch"], [], namespace={})
    try:
        torch.manual_seed = library_wrapper
        guard.after([])  # no complaint, and the wrapper stays
        assert torch.manual_seed is library_wrapper
        _lenient.__wrapped__ = seed  # a notebook-made "wrapper" is still tampering
        torch.manual_seed = _lenient
        with pytest.raises(GraderIntegrityError, match="manual_seed"):
            guard.after([])
        assert torch.manual_seed is library_wrapper
    finally:
        torch.manual_seed = seed
        del _lenient.__wrapped__
