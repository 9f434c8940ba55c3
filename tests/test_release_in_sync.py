"""The committed student versions in assignments/ are exactly what solutions/ generates.

Regenerates every assignment in a temporary course directory with ``scripts/build_assignments.py``
and compares bytes, so a source edited without ``make assignments`` (or a hand-edited release) fails.
Also checks that nothing but notebooks is released and no solution or hidden test leaks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from nbgrader_harness import REPO_ROOT, assignment_names, build_assignments

ASSIGNMENTS = assignment_names()
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course directory with every assignment generated from the MyST sources alone."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy2(REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for name in ASSIGNMENTS:
        (root / "solutions" / name).mkdir(parents=True)
        shutil.copy2(REPO_ROOT / "solutions" / name / f"{name}.md", root / "solutions" / name)
        # a stray note next to the source must never be released
        (root / "solutions" / name / "NOTES.md").write_text("instructor notes\n")
    build_assignments.build(root, ASSIGNMENTS)
    return root


def test_there_are_assignments() -> None:
    assert ASSIGNMENTS, "no solutions/<a>/<a>.md found"


@pytest.mark.parametrize("folder", ["solutions", "assignments"])
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebook_in_sync(fresh: Path, name: str, folder: str) -> None:
    """The source notebook (solutions/) and the student release (assignments/) are what
    `make assignments` builds from the Markdown source."""
    committed = REPO_ROOT / folder / name / f"{name}.ipynb"
    assert committed.is_file(), f"{committed} is missing: run `make assignments`"
    expected = (fresh / folder / name / f"{name}.ipynb").read_bytes()
    assert committed.read_bytes() == expected, f"{committed} is stale: run `make assignments`"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_only_notebooks_released(fresh: Path, name: str) -> None:
    for root in (REPO_ROOT, fresh):
        released = sorted(p.name for p in (root / "assignments" / name).rglob("*") if p.is_file())
        assert released == [f"{name}.ipynb"], f"{root}/assignments/{name} holds {released}"


def test_no_stray_releases() -> None:
    released = sorted(p.name for p in (REPO_ROOT / "assignments").iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, "assignments/ has folders without a source in solutions/"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_solutions_or_hidden_tests_leak(name: str) -> None:
    text = (REPO_ROOT / "assignments" / name / f"{name}.ipynb").read_text(encoding="utf-8")
    for marker in LEAK_MARKERS:
        assert marker not in text, f"assignments/{name}/{name}.ipynb contains {marker!r}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_generation_is_deterministic(fresh: Path, name: str, tmp_path: Path) -> None:
    source = fresh / "solutions" / name / f"{name}.md"
    first = build_assignments.md_to_notebook(source)
    second = build_assignments.md_to_notebook(source)
    assert first == second
    ids = [cell.id for cell in first.cells]
    assert len(ids) == len(set(ids)), "cell ids are not unique"
