"""What the grader reads in a notebook's cells without running them: which cells are locked or
tests, which names a cell binds, which packages it imports."""

from __future__ import annotations

import ast
from typing import Any


class GraderIntegrityError(Exception):
    """The grading environment could not be set up as it must be (kept for old imports)."""


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
