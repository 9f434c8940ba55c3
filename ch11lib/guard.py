"""Keep a student's code from rigging the autograder's tests: the guard that runs in the kernel.

``nbgrader autograde`` restores every locked cell (tests included) from the gradebook, but it runs the
student's cells in the same kernel first, and a student cell can change what the tests see::

    torch.allclose = lambda *a, **k: True          # every comparison passes
    def check_close(*args, **kwargs): pass         # a test helper becomes a no-op

``ch11lib.autograde.GuardedExecute`` replaces nbgrader's ``Execute`` preprocessor (see
``nbgrader_config.py``). Before the first cell it calls :func:`install` in the kernel (this module
imports nothing heavy); then, around every **locked** cell (setup, helpers, tests):

- before it, every function, class and constant that a watched module (``builtins``, ``math``, the
  packages the locked cells import, e.g. ``torch``, ``numpy``, and their submodules) had when it was
  first seen is put back, and so is every notebook name that a locked cell defined (``check_close``,
  hidden reference functions) unless a solution cell of the source notebook also defines it (those
  names belong to the student, e.g. a fine-tuned ``model``);
- after it, the names it defined are recorded as belonging to the locked cells.

A module that a student cell imported *and* patched before any locked cell saw it is caught when the
guard first sees it (a function of the module defined in the notebook): the next graded cells then fail
with ``GraderIntegrityError`` instead of running. If the guard cannot be installed or queried, graded
cells fail the same way (fail closed).

What it does not stop: code that runs *inside* a test (the student's function, called by the test)
and patches things at that moment. Hidden tests defend against that themselves by binding what they
use when the locked helper cell runs (default arguments, closures) and by checking
``type(x) is torch.Tensor`` rather than ``isinstance`` (see README, "Instructors").
"""

from __future__ import annotations

import ast
import sys
import types
import warnings
from typing import Any

# Watched whatever the notebook imports: the assertion machinery and the standard helpers tests use.
ALWAYS_WATCHED = ("builtins", "math", "operator", "functools", "contextlib", "unittest", "warnings")
# Names IPython manages in the user namespace (output history), never restored.
_IPYTHON_NAMES = {"_", "__", "___", "_i", "_ii", "_iii", "_oh", "_ih", "_dh", "In", "Out", "exit"}
# builtins ipykernel swaps per request (stdin forwarding): restoring them would be wrong, not safer.
_KERNEL_BUILTINS = {"input", "raw_input", "getpass", "display", "get_ipython", "__IPYTHON__"}


class GraderIntegrityError(Exception):
    """The grading environment was changed by the submission (or the guard could not run)."""


# --------------------------------------------------------------------------------------------------
# Static analysis of cell sources (runs in the grader process)
# --------------------------------------------------------------------------------------------------


def bound_names(source: str) -> set[str]:
    """Names a cell binds at top level: defs, classes, assignments, imports, loop/with targets.

    A cell that does not parse (a magic, a syntax error) binds nothing we can know of.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Global):
            names.update(node.names)
    return names


def imported_roots(source: str) -> set[str]:
    """Top-level packages a cell imports (``import torch.nn.functional as F`` -> ``torch``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def is_locked(cell: Any) -> bool:
    """A cell the student may not change: locked, or an autograded test."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(
        meta.get("locked") or (meta.get("grade") and not meta.get("solution"))
    )


def is_test(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


# --------------------------------------------------------------------------------------------------
# The guard inside the kernel
# --------------------------------------------------------------------------------------------------


def install(
    key: str, roots: list[str], student_names: list[str], namespace: dict[str, Any] | None = None
) -> Any:
    """Install the guard in this (kernel) process as ``sys.modules[key]``; called by the grader.

    ``roots``: top-level modules to watch; ``student_names``: notebook names never restored;
    ``namespace``: the notebook's globals (default: IPython's user namespace). Returns the guard,
    an object with ``before()`` and ``after(names)``.
    """
    import builtins

    if namespace is not None:
        user_ns = namespace
    else:
        user_ns = sys.modules["__main__"].__dict__
        try:  # IPython runs cells in its own user namespace
            user_ns = get_ipython().user_ns  # type: ignore[name-defined]  # noqa: F821
        except NameError:
            pass
    watched = frozenset([*ALWAYS_WATCHED, *roots])
    excluded = frozenset(student_names) | _IPYTHON_NAMES
    # label -> (module or class, {attr: value}, names it had: attributes added to a class are removed)
    snapshots: dict[str, tuple[Any, dict[str, Any], frozenset[str]]] = {}
    owned: dict[str, Any] = {}  # notebook names bound by locked cells
    state = {"tampered": ""}

    def trusted(value: Any) -> bool:
        return getattr(value, "__module__", None) != "__main__"

    def keep(owner: Any, name: str, value: Any) -> bool:
        if owner is builtins and name in _KERNEL_BUILTINS:
            return False
        return callable(value) or isinstance(value, types.ModuleType)

    def take(label: str, owner: Any) -> None:
        try:
            attrs = dict(vars(owner))
        except TypeError:
            return
        kept = {name: value for name, value in attrs.items() if keep(owner, name, value)}
        for name, value in kept.items():
            if not trusted(value) and not state["tampered"]:
                state["tampered"] = f"{label}.{name} was replaced by code from the notebook"
        snapshots[label] = (owner, kept, frozenset(attrs))
        if "." not in label and isinstance(owner, types.ModuleType):
            # Methods of the classes a package exposes at top level (torch.Tensor.allclose, ...).
            for attr, value in kept.items():
                if isinstance(value, type) and str(getattr(value, "__module__", "")).startswith(
                    label
                ):
                    take(f"{label}.{attr}", value)

    def snapshot_new_modules() -> None:
        with warnings.catch_warnings():  # touching deprecated module attributes warns
            warnings.simplefilter("ignore")
            for name, module in list(sys.modules.items()):
                if name not in snapshots and name.split(".")[0] in watched:
                    if isinstance(module, types.ModuleType):
                        take(name, module)

    def from_notebook(value: Any) -> bool:
        code = getattr(value, "__code__", None)
        filename = getattr(code, "co_filename", "") or ""
        return not trusted(value) or "ipykernel_" in filename or filename.startswith("<ipython")

    def library_wrapper(new: Any, old: Any) -> bool:
        """A library wrapping its own function (``torch._dynamo`` wraps ``torch.manual_seed`` when
        it is first imported): ``functools.wraps`` of the old function, written outside the
        notebook."""
        seen = 0
        wrapped = new
        while seen < 10 and wrapped is not None and not from_notebook(wrapped):
            wrapped, seen = getattr(wrapped, "__wrapped__", None), seen + 1
            if wrapped is old:
                return True
        return False

    def restore() -> list[str]:
        """Put back every watched function and locked name that changed; say which changed."""
        changed = []
        for label, (owner, attrs, names) in list(snapshots.items()):
            current = vars(owner)
            for name, value in attrs.items():
                new = current.get(name, restore)
                if new is not value and library_wrapper(new, value):
                    attrs[name] = new  # the library's own doing: the wrapper is the trusted one
                elif new is not value:
                    try:
                        setattr(owner, name, value)
                        changed.append(f"{label}.{name}")
                    except (AttributeError, TypeError):
                        pass  # read-only (C types): nothing could have changed it either
            if isinstance(owner, type):  # torch.Tensor.allclose = ... shadows the inherited method
                for name in set(current) - names:
                    try:
                        delattr(owner, name)
                        changed.append(f"{label}.{name}")
                    except (AttributeError, TypeError):
                        pass
        for name, value in owned.items():
            if user_ns.get(name, restore) is not value:
                user_ns[name] = value
                changed.append(name)
        return changed

    def before() -> None:
        """Before a locked cell: put back what student cells changed; fail if a library was
        patched before the guard could take its snapshot."""
        snapshot_new_modules()
        restore()
        if state["tampered"]:
            raise GraderIntegrityError(state["tampered"])

    def after(names: list[str]) -> None:
        """After a locked cell: the notebook names its source binds belong to the locked cells.

        Anything else that changed while the cell ran was changed by student code the cell called
        (a test calls the student's function): it is put back and reported as an error, so the
        test that ran against it gets no points. Library functions are never re-snapshotted; a
        locked cell that patches one must undo it (``unittest.mock.patch`` as a context manager).
        """
        for name in names:
            if name in excluded:
                continue
            if name in user_ns:
                owned[name] = user_ns[name]
            else:
                owned.pop(name, None)
        changed = restore()
        snapshot_new_modules()
        if changed:
            raise GraderIntegrityError(
                "code called by this cell replaced " + ", ".join(sorted(changed)[:5])
            )

    snapshot_new_modules()
    guard = types.SimpleNamespace(before=before, after=after)
    sys.modules[key] = guard  # type: ignore[assignment]
    return guard
