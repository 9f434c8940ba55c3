"""Mutation tests of the assignments' graders: wrong answers must lose points, right ones must not.

Every ``tests/mutants/<a>.py`` (``<a>`` an assignment in ``solutions/``) defines

``WRONG = {name: {grade_id: source}}``
    plausible wrong implementations of solution cells (at least three per graded function), e.g.
    attention without the ``sqrt(d_k)`` scaling: each must lose points;
``CORRECT = {name: {grade_id: source}}``
    differently written correct solutions (at least one per solution cell): each must get full marks.

Marks are the autograded points (``auto_score`` of ``auto_max``); written questions (manually graded
cells) are not scored by any run, and with them an assignment's points add up to 100.

A mutant replaces the named solution cells of the source notebook, which then runs in-process
(``nbgrader_harness.grade_in_process``; its agreement with ``nbgrader autograde`` is checked in
``tests/test_grading_pipeline.py``). Run one assignment with ``pytest tests/test_mutants.py -k a1_``.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from nbgrader_harness import (
    REPO_ROOT,
    assignment_names,
    grade_in_process,
    load_notebook,
    solution_cells,
    source_md,
)

MUTANTS_DIR = REPO_ROOT / "tests" / "mutants"
MIN_WRONG_PER_CELL = 3


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mutants_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attribute in ("WRONG", "CORRECT"):
        if not isinstance(getattr(module, attribute, None), dict):
            raise TypeError(f"{path} must define {attribute} = {{name: {{grade_id: source}}}}")
    return module


MODULES = {p.stem: _load(p) for p in sorted(MUTANTS_DIR.glob("*.py")) if not p.stem.startswith("_")}
WRONG_CASES = [
    pytest.param(a, name, cells, id=f"{a}-wrong-{name}")
    for a, module in MODULES.items()
    for name, cells in module.WRONG.items()
]
CORRECT_CASES = [
    pytest.param(a, name, cells, id=f"{a}-correct-{name}")
    for a, module in MODULES.items()
    for name, cells in module.CORRECT.items()
]


@pytest.mark.parametrize("assignment", assignment_names())
def test_every_assignment_has_mutants(assignment: str) -> None:
    assert assignment in MODULES, f"write tests/mutants/{assignment}.py (see tests/test_mutants.py)"


@pytest.mark.parametrize("assignment", sorted(MODULES))
def test_mutants_cover_every_solution_cell(assignment: str) -> None:
    assert assignment in assignment_names(), f"tests/mutants/{assignment}.py has no assignment"
    cells = solution_cells(load_notebook(source_md(assignment)))
    module = MODULES[assignment]
    wrong = Counter(g for mutant in module.WRONG.values() for g in mutant)
    correct = {g for mutant in module.CORRECT.values() for g in mutant}
    unknown = (set(wrong) | correct) - set(cells)
    assert not unknown, f"mutants replace cells that are not solution cells: {sorted(unknown)}"
    thin = {g: wrong[g] for g in cells if wrong[g] < MIN_WRONG_PER_CELL}
    assert not thin, f"fewer than {MIN_WRONG_PER_CELL} wrong implementations for {thin}"
    missing = [g for g in cells if g not in correct]
    assert not missing, f"no alternative correct solution for {missing}"


def test_reference_solutions_get_full_marks() -> None:
    for assignment in sorted(MODULES):
        report = grade_in_process(source_md(assignment))
        # autograded points plus the written questions' (graded by hand) make the 100
        assert report.total_max == 100, (
            f"{assignment}: points add up to {report.auto_max:g} autograded + "
            f"{report.manual_max:g} manual = {report.total_max:g}, not 100"
        )
        assert report.auto_score == report.auto_max, f"{assignment}:\n{report.summary()}"


@pytest.mark.parametrize(("assignment", "name", "cells"), WRONG_CASES)
def test_wrong_solution_loses_points(assignment: str, name: str, cells: dict[str, str]) -> None:
    report = grade_in_process(source_md(assignment), cells)
    assert report.auto_score < report.auto_max, (
        f"{assignment}: the wrong solution {name!r} got full marks\n{report.summary()}"
    )


@pytest.mark.parametrize(("assignment", "name", "cells"), CORRECT_CASES)
def test_correct_solution_gets_full_marks(
    assignment: str, name: str, cells: dict[str, str]
) -> None:
    report = grade_in_process(source_md(assignment), cells)
    assert report.auto_score == report.auto_max, (
        f"{assignment}: the correct solution {name!r} lost points\n{report.summary()}"
    )
