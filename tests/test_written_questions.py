"""Written questions: nbgrader's manually graded answer cells, from the source to the feedback.

A tiny synthetic assignment (``tests/fixtures/w0_written``: one function, one test cell of 6 points,
one written question of 4 points whose rubric is in the source) keeps this cheap: no torch model,
two short kernels per submission. Three students (the reference solution, the untouched release, a
written answer of their own) are autograded by plain ``nbgrader autograde`` and by the fast path
(``ch11lib.grading.batch.autograde``); both must leave the written answer ungraded (score ``None``,
``needs_manual_grade``), give the untouched stub 0, and keep a grader's score through a re-grade.
The rubric must never reach the student version, the student edition's leak check or the feedback.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader_harness import REPO_ROOT, Course, grade_in_process, load_notebook, manual_cells

from ch11lib.grading import batch as ag

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("written-questions")]

NAME = "w0_written"
SOURCE = REPO_ROOT / "tests" / "fixtures" / NAME / f"{NAME}.md"
RUBRIC = "RUBRIC-SECRET-MARKER"
ANSWER = "Doubling is adding a number to itself: 2x = x + x (distributivity)."


def _answered(course: Course):
    nb = course.release_notebook(NAME)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "written_double":
            cell.source = ANSWER
    return nb


def _class(course: Course) -> None:
    course.generate(NAME)
    course.submit(NAME, "solution", course.source_notebook(NAME))
    course.submit(NAME, "blank", course.release_notebook(NAME))
    course.submit(NAME, "answered", _answered(course))


@dataclass
class Graded:
    plain: Course
    fast: Course


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    root = tmp_path_factory.mktemp("written")
    plain = Course.create(root / "plain", sources={NAME: SOURCE})
    _class(plain)
    plain.autograde(NAME)
    fast = Course.create(root / "fast", sources={NAME: SOURCE})
    _class(fast)
    result = ag.autograde(fast.root, NAME, jobs=2)
    assert sorted(result.graded) == ["answered", "blank", "solution"] and not result.problems
    return Graded(plain, fast)


def test_the_harness_counts_written_points_apart() -> None:
    report = grade_in_process(SOURCE)
    assert report.manual == {"written_double": 4.0} == manual_cells(load_notebook(SOURCE))
    assert (report.auto_score, report.auto_max, report.manual_max) == (6.0, 6.0, 4.0)
    assert report.total_max == 10 and report.score == report.max_score == 6
    assert "written_double" not in report.cells and "written_double" in report.summary()


def test_the_rubric_becomes_a_stub_in_the_release(graded: Graded, tmp_path: Path) -> None:
    release = graded.plain.release_notebook(NAME)
    written = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert [c.cell_type for c in written] == ["code", "markdown"]
    assert written[1].source == "YOUR ANSWER HERE"
    release_file = graded.plain.root / "assignments" / NAME / f"{NAME}.ipynb"
    assert RUBRIC not in release_file.read_text(encoding="utf-8")
    # the student edition's leak check knows the rubric as a secret line of a solution block
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "student_edition", REPO_ROOT / "scripts" / "student_edition.py"
    )
    edition = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(edition)
    repo = tmp_path / "repo"
    (repo / "solutions" / NAME).mkdir(parents=True)
    (repo / "solutions" / NAME / f"{NAME}.md").write_text(SOURCE.read_text(encoding="utf-8"))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert any(RUBRIC in line for line in edition.secret_lines(repo)["solution"])
    shipped = tmp_path / "shipped"
    (shipped / "assignments").mkdir(parents=True)
    (shipped / "assignments" / f"{NAME}.ipynb").write_bytes(release_file.read_bytes())
    assert edition.leaks(shipped, repo) == []
    (shipped / "notes.md").write_text(load_notebook(SOURCE).cells[-1].source)
    assert any(RUBRIC in finding for finding in edition.leaks(shipped, repo))


def test_both_paths_leave_written_answers_to_a_grader(graded: Graded) -> None:
    want_auto = {"solution": {"test_double": 6.0}, "blank": {"test_double": 0.0}}
    want_auto["answered"] = {"test_double": 0.0}
    # a written answer waits for a grader; the untouched stub gets 0 (nbgrader's rule)
    want_manual = {
        "solution": {"written_double": (None, True)},
        "blank": {"written_double": (0.0, False)},
        "answered": {"written_double": (None, True)},
    }
    for course in (graded.plain, graded.fast):
        assert course.scores(NAME) == want_auto
        assert course.manual_grades(NAME) == want_manual
        assert course.totals(NAME) == {"solution": 6.0, "blank": 0.0, "answered": 0.0}


def test_a_manual_grade_survives_a_fast_regrade_and_the_feedback_hides_the_rubric(
    graded: Graded,
) -> None:
    course = graded.fast
    course.set_manual_grade(NAME, "answered", "written_double", 3, comment="name the law")
    course.set_manual_grade(NAME, "solution", "written_double", 4)
    result = ag.autograde(course.root, NAME, jobs=1)
    assert not result.problems
    manual = course.manual_grades(NAME)
    assert manual["answered"] == {"written_double": (3.0, True)}  # kept, to be looked at again
    assert course.totals(NAME) == {"solution": 10.0, "blank": 0.0, "answered": 3.0}
    pages = course.generate_feedback(NAME)
    assert sorted(pages) == ["answered", "blank", "solution"]
    answered = pages["answered"].read_text(encoding="utf-8")
    assert "Doubling is adding a number to itself" in answered and "name the law" in answered
    for student in ("answered", "blank"):  # "solution" handed in the instructor's own text
        text = pages[student].read_text(encoding="utf-8")
        assert RUBRIC not in text and "BEGIN SOLUTION" not in text, student
        assert "BEGIN HIDDEN TESTS" not in text and "double(-3)" not in text, student
