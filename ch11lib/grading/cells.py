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


def parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None for a cell that does not parse (a magic, a syntax error)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def bound_names(source: str) -> set[str]:
    """Names a cell binds at top level: defs, classes, assignments, imports, loop/with targets.

    A cell that does not parse (a magic, a syntax error) binds nothing we can know of.
    """
    tree = parse(source)
    if tree is None:
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
    tree = parse(source)
    if tree is None:
        return set()
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def top_level_names(source: str) -> set[str]:
    """Names a cell binds at module level (not the locals of the functions it defines)."""
    tree = parse(source)
    if tree is None:
        return set()
    names: set[str] = set()

    def targets(node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    targets(target)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                targets(node.target)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.For | ast.AsyncFor):
                targets(node.target)
                visit(node.body + node.orelse)
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
                visit(node.body)
            elif isinstance(node, ast.If | ast.While):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    if handler.name:
                        names.add(handler.name)
                    visit(handler.body)
            elif isinstance(node, ast.Expr):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.NamedExpr):
                        targets(sub.target)

    visit(tree.body)
    return names


def is_locked(cell: Any) -> bool:
    """A cell the student may not change: locked, or an autograded test."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(
        meta.get("locked") or (meta.get("grade") and not meta.get("solution"))
    )


def is_test(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")
