"""The fast path (``ch11lib.autograde.autograde``) gives the same grades as plain ``nbgrader autograde``.

Three students (the reference solution, the untouched release, a wrong implementation from
``tests/mutants``) are autograded twice: by ``nbgrader autograde`` in one course directory, and by the
fast path (two parallel shards with separate gradebooks, kernels forked from a server, results merged)
in another, both with the students' kernels in the sandbox. Every test cell's score, every total and
the autograded notebooks must agree. A student graded earlier and not in this batch must keep their
grade through the merge; that student was graded without the sandbox (``sandboxed=False``, as
``CH11_GRADE_UNSANDBOXED=1``), which the grading log and the class report say in their first line.
"""

from __future__ import annotations

import importlib.util

import pytest
from nbgrader_harness import (
    REPO_ROOT,
    Course,
    assignment_names,
    submission_replacements,
)

from ch11lib.grading import batch as ag
from ch11lib.grading import sandbox
from ch11lib.grading.cli import write_report

pytestmark = pytest.mark.slow

ASSIGNMENT = "a1_encoder" if "a1_encoder" in assignment_names() else assignment_names()[0]


def _wrong_answers() -> dict[str, str]:
    path = REPO_ROOT / "tests" / "mutants" / f"{ASSIGNMENT}.py"
    spec = importlib.util.spec_from_file_location("fast_mutants", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return next(iter(module.WRONG.values()))


def _class(course: Course) -> None:
    course.generate(ASSIGNMENT)
    source, release = course.source_notebook(ASSIGNMENT), course.release_notebook(ASSIGNMENT)
    wrong = {**submission_replacements(source), **_wrong_answers()}
    mutant = course.source_notebook(ASSIGNMENT)
    for cell in mutant.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in wrong:
            cell.source = wrong[grade_id]
    for student, notebook in (("solution", source), ("blank", release), ("wrong", mutant)):
        course.submit(ASSIGNMENT, student, notebook)


def test_fast_path_gives_the_same_grades_as_nbgrader(tmp_path) -> None:
    plain = Course.create(tmp_path / "plain", [ASSIGNMENT])
    _class(plain)
    plain.autograde(ASSIGNMENT)

    fast = Course.create(tmp_path / "fast", [ASSIGNMENT])
    # an earlier grade of a student outside this batch must survive the merge
    fast.generate(ASSIGNMENT)
    fast.submit(ASSIGNMENT, "earlier", fast.release_notebook(ASSIGNMENT))
    first = ag.autograde(fast.root, ASSIGNMENT, jobs=1, sandboxed=False)
    assert not first.sandboxed and not first.problems
    log = fast.root / ".autograde-logs" / ASSIGNMENT / "shard-0.log"
    assert log.read_text(encoding="utf-8").splitlines()[0] == sandbox.UNSANDBOXED_WARNING
    earlier = fast.scores(ASSIGNMENT)["earlier"]
    (fast.root / "submitted" / "earlier").rename(tmp_path / "earlier-away")
    _class(fast)

    result = ag.autograde(fast.root, ASSIGNMENT, jobs=2)
    assert sorted(result.graded) == ["blank", "solution", "wrong"] and not result.problems
    assert result.sandboxed
    assert "sandbox" in log.read_text(encoding="utf-8").splitlines()[0]
    assert sandbox.UNSANDBOXED_WARNING not in log.read_text(encoding="utf-8")
    report = write_report(fast.root, ASSIGNMENT).read_text(encoding="utf-8").splitlines()[0]
    assert sandbox.UNSANDBOXED_WARNING in report and "1 of 4 submissions" in report, report
    scores = fast.scores(ASSIGNMENT)
    assert scores.pop("earlier") == earlier
    assert scores == plain.scores(ASSIGNMENT)
    totals = plain.totals(ASSIGNMENT)
    top = plain.autograded_points(ASSIGNMENT)  # written answers wait for a grader
    assert totals["solution"] == top and totals["blank"] == 0 and 0 < totals["wrong"] < top
    for student in ("solution", "blank", "wrong"):
        ours = fast.autograded_notebook(ASSIGNMENT, student)
        theirs = plain.autograded_notebook(ASSIGNMENT, student)
        assert [c.source for c in ours.cells] == [c.source for c in theirs.cells], student
