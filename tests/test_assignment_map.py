"""The map chapter -> assignment -> graded function (assignments.md, intro.md) matches the sources.

``scripts/assignment_map.py --write`` writes both tables from the nbgrader metadata of
``solutions/*/*.md``; here the committed tables must be what it writes now, and, read back
independently of the script, the assignments.md table must name every graded cell (autograded test
cells and written questions) of every assignment with its points, and no other.
"""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest
from nbgrader_harness import (
    REPO_ROOT,
    assignment_names,
    graded_cells,
    load_notebook,
    manual_cells,
    source_md,
)

spec = importlib.util.spec_from_file_location(
    "assignment_map", REPO_ROOT / "scripts" / "assignment_map.py"
)
assert spec is not None and spec.loader is not None
assignment_map = importlib.util.module_from_spec(spec)
sys.modules["assignment_map"] = assignment_map  # its dataclasses look their module up
spec.loader.exec_module(assignment_map)

_LINK = re.compile(r"\{doc\}`\d+ <assignments/([^/]+)/")
_TEST = re.compile(r"`([A-Za-z0-9_]+)` \(([\d.]+)\)")
_WRITTEN = re.compile(r"written question `([A-Za-z0-9_]+)`")


def table_points(text: str) -> dict[str, dict[str, float]]:
    """``{assignment: {grade_id: points}}`` read from the map table of assignments.md."""
    block = text.split(assignment_map.START, 1)[1].split(assignment_map.END, 1)[0]
    found: dict[str, dict[str, float]] = {}
    for line in block.splitlines():
        link = _LINK.search(line)
        if not link:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        points = found.setdefault(link.group(1), {})
        for grade_id, value in _TEST.findall(cells[3]):
            points[grade_id] = float(value)
        written = _WRITTEN.search(cells[2])
        if written:
            points[written.group(1)] = float(cells[4])
    return found


def source_points() -> dict[str, dict[str, float]]:
    result = {}
    for name in assignment_names():
        nb = load_notebook(source_md(name))
        result[name] = {**graded_cells(nb), **manual_cells(nb)}
    return result


def test_the_maps_are_what_the_sources_say() -> None:
    stale = [str(p.relative_to(REPO_ROOT)) for p in assignment_map.stale()]
    assert not stale, f"{stale}: run python scripts/assignment_map.py --write"


def test_every_graded_cell_is_in_the_map_with_its_points() -> None:
    text = (REPO_ROOT / "assignments.md").read_text(encoding="utf-8")
    want = source_points()
    assert table_points(text) == want
    # the reading can fail: a row left out, or other points, is seen
    rows = [line for line in text.splitlines() if _LINK.search(line) and "`test_" in line]
    assert table_points(text.replace(rows[0] + "\n", "")) != want
    changed = re.sub(r"\((\d+)\)", lambda m: f"({int(m.group(1)) + 1})", rows[-1], count=1)
    assert table_points(text.replace(rows[-1], changed)) != want


def test_every_chapter_with_an_assignment_lists_its_functions_in_the_intro() -> None:
    intro = (REPO_ROOT / "intro.md").read_text(encoding="utf-8")
    block = intro.split(assignment_map.START, 1)[1].split(assignment_map.END, 1)[0]
    rows = assignment_map.all_rows()
    for chapter, cell in assignment_map.intro_cells(rows).items():
        line = next(x for x in block.splitlines() if x.startswith(f"| {chapter} |"))
        assert line.endswith(f"| {cell} |"), line
    for row in rows:
        for name in row.names:
            assert f"`{name}`" in block, f"{row.assignment}: {name} is not in intro.md's map"


def test_a_graded_cell_without_a_chapter_is_refused() -> None:
    row = assignment_map.Graded("a1_encoder", "new_function", ["new_function"], {"test_new": 5.0})
    with pytest.raises(KeyError, match="CHAPTERS.*new_function"):
        assignment_map.chapter_of(row)
