"""The instructor's workflow on a tiny class: written questions, due dates, reports, exports, re-grades.

A synthetic assignment (``tests/fixtures/w0_written``: one function, one test cell of 6 points, one
written question of 4 points whose rubric is in the source) keeps this cheap: no torch model, two
short kernels per submission. The course's own ``nbgrader_config.py`` is used, with a due date and
a penalty of 1 point per started hour (at most 3, 15 minutes' grace) appended. Four students:

- ``solution`` hands in the source, on time; ``blank`` the untouched release;
- ``answered`` writes a correct function (with the text ``### BEGIN HIDDEN TESTS`` in a comment) and
  a written answer of their own, 1.5 hours late (2 points off);
- ``grace`` writes a correct function, 10 minutes late (nothing off).

Every submission claims to be on time long before the due date (``timestamp.txt`` and file times of
2020, as a student can write them); the real times come from the LMS (a TIMES csv). The class is
graded twice: by plain ``nbgrader autograde`` from ``submitted/`` (the times recorded first with
``python -m ch11lib.grading times``) and by the fast path (``python -m ch11lib.grading autograde
--submissions ... --times``). Both must ignore the claims, apply the same penalties, leave written
answers to a grader and give feedback without the rubric or hidden tests. Last, a forged submission
comes through the exchange (dated by the exchange's file system), and one without any trusted time
is graded without a penalty and named.
"""

from __future__ import annotations

import csv
import datetime
import importlib.util
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader_harness import REPO_ROOT, Course, grade_in_process, load_notebook, manual_cells

from ch11lib.grading import batch as ag
from ch11lib.grading import cli
from ch11lib.grading.deadlines import penalty_points
from ch11lib.grading.export import canvas_rows, gradescope_rows

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("instructor-workflow")]

NAME = "w0_written"
SOURCE = REPO_ROOT / "tests" / "fixtures" / NAME / f"{NAME}.md"
RUBRIC = "RUBRIC-SECRET-MARKER"
ANSWER = "Doubling is adding a number to itself: 2x = x + x (distributivity)."
OWN_MARKER = "return x + x  # ### BEGIN HIDDEN TESTS is where the grader hides its checks"
DUE = "2026-03-01 12:00:00+01:00"  # 11:00 UTC
CALENDAR = f"""
c.DueDates.duedates = {{"{NAME}": "{DUE}"}}
c.LatePenalty.unit = "hour"
c.LatePenalty.points_per_unit = 1.0
c.LatePenalty.max_points = 3.0
c.LatePenalty.grace_minutes = 15.0
"""
DUE_UTC = datetime.datetime(2026, 3, 1, 11, 0, 0)
SUBMITTED = {  # student -> minutes after the due date
    "solution": -60.0,
    "blank": -1.0,
    "answered": 90.0,
    "grace": 10.0,
}


FORGED = "2020-01-01 00:00:00.000000 UTC"  # what every submission claims
FORGED_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc).timestamp()


def _stamp(minutes: float) -> str:
    return (DUE_UTC + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _times_csv(path: Path, students: list[str]) -> Path:
    """The LMS's export: ISO 8601 with the due date's own offset (+01:00), one row per student."""
    zone = datetime.timezone(datetime.timedelta(hours=1))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "submitted_at"])
        for student in students:
            when = DUE_UTC.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(
                minutes=SUBMITTED[student]
            )
            writer.writerow([student, when.astimezone(zone).isoformat()])
    return path


def _forge(folder: Path) -> None:
    """What a student can do: claim 2020 in timestamp.txt and in every file's times."""
    (folder / "timestamp.txt").write_text(FORGED + "\n", encoding="utf-8")
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (FORGED_EPOCH, FORGED_EPOCH))


def _notebooks(course: Course) -> dict[str, nbformat.NotebookNode]:
    course.generate(NAME)
    answered, grace = course.release_notebook(NAME), course.release_notebook(NAME)
    for nb, written in ((answered, True), (grace, False)):
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id == "double":
                cell.source = f"def double(x):\n    {OWN_MARKER}\n"
            if grade_id == "written_double" and written:
                cell.source = ANSWER
    return {
        "solution": course.source_notebook(NAME),
        "blank": course.release_notebook(NAME),
        "answered": answered,
        "grace": grace,
    }


def _course(root: Path) -> Course:
    course = Course.create(root, sources={NAME: SOURCE})
    with (course.root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(CALENDAR)
    return course


@dataclass
class Graded:
    plain: Course
    fast: Course
    inbox: Path


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    root = tmp_path_factory.mktemp("workflow")
    lms = _times_csv(root / "lms_times.csv", list(SUBMITTED))
    plain = _course(root / "plain")
    for student, nb in _notebooks(plain).items():
        _forge(plain.submit(NAME, student, nb, timestamp=FORGED).parent)
    assert cli.main(["--course", str(plain.root), "times", NAME, str(lms)]) == 0
    plain.autograde(NAME)
    plain.set_manual_grade(NAME, "answered", "written_double", 3, comment="name the law")

    fast = _course(root / "fast")
    inbox = root / "inbox"
    for student, nb in _notebooks(fast).items():
        (inbox / student).mkdir(parents=True)
        nbformat.write(nb, inbox / student / f"{NAME}.ipynb")
        _forge(inbox / student)
    args = ["--course", str(fast.root), "autograde", NAME, "--submissions", str(inbox)]
    assert cli.main([*args, "--jobs", "1", "--times", str(lms)]) == 0
    return Graded(plain, fast, inbox)


def test_the_harness_counts_written_points_apart() -> None:
    report = grade_in_process(SOURCE)
    assert report.manual == {"written_double": 4.0} == manual_cells(load_notebook(SOURCE))
    assert (report.auto_score, report.auto_max, report.manual_max) == (6.0, 6.0, 4.0)
    assert report.total_max == 10 and report.score == report.max_score == 6
    assert "written_double" not in report.cells and "written_double" in report.summary()


def test_late_penalty_rule() -> None:
    rule = {"unit": "hour", "points_per_unit": 1.0, "max_points": 3.0, "grace_minutes": 15.0}
    assert penalty_points(0, **rule) == 0 and penalty_points(15 * 60, **rule) == 0
    assert penalty_points(15 * 60 + 1, **rule) == 1 and penalty_points(3600, **rule) == 1
    assert penalty_points(3601, **rule) == 2 and penalty_points(30 * 3600, **rule) == 3
    assert penalty_points(86400 + 1, unit="day", points_per_unit=10, max_points=50) == 20


def test_the_rubric_becomes_a_stub_in_the_release(graded: Graded, tmp_path: Path) -> None:
    release = graded.plain.release_notebook(NAME)
    written = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert [c.cell_type for c in written] == ["code", "markdown"]
    assert written[1].source == "YOUR ANSWER HERE"
    release_file = graded.plain.root / "assignments" / NAME / f"{NAME}.ipynb"
    assert RUBRIC not in release_file.read_text(encoding="utf-8")
    # the student edition's leak check knows the rubric as a secret line of a solution block
    spec = importlib.util.spec_from_file_location(
        "student_edition", REPO_ROOT / "scripts" / "student_edition.py"
    )
    assert spec is not None and spec.loader is not None
    edition = importlib.util.module_from_spec(spec)
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
    want_auto = {s: {"test_double": 6.0} for s in ("solution", "answered", "grace")}
    want_auto["blank"] = {"test_double": 0.0}
    # a written answer waits for a grader; the untouched stub gets 0 (nbgrader's rule)
    want_manual = {
        "solution": {"written_double": (None, True)},
        "blank": {"written_double": (0.0, False)},
        "answered": {"written_double": (None, True)},
        "grace": {"written_double": (0.0, False)},
    }
    assert graded.fast.scores(NAME) == want_auto == graded.plain.scores(NAME)
    assert graded.fast.manual_grades(NAME) == want_manual
    want_manual["answered"] = {"written_double": (3.0, False)}  # scored by a grader
    assert graded.plain.manual_grades(NAME) == want_manual


def _penalties(course: Course) -> dict[str, float]:
    from ch11lib.grading.grades import read_grades

    return {s: g.penalty for s, g in read_grades(course.root, NAME).students.items()}


def test_late_submissions_lose_the_configured_penalty_on_both_paths(graded: Graded) -> None:
    want = {"solution": 0.0, "blank": 0.0, "answered": 2.0, "grace": 0.0}
    assert _penalties(graded.plain) == want == _penalties(graded.fast)
    for course in (graded.plain, graded.fast):
        with course._gradebook() as gb:
            assert gb.find_assignment(NAME).duedate == DUE_UTC
            late = {s.student_id: s.total_seconds_late for s in gb.assignment_submissions(NAME)}
        assert late["answered"] == 90 * 60 and late["grace"] == 10 * 60 and late["solution"] == 0
        # the LMS's time, not the 2020 that timestamp.txt and the file times claim
        for student in SUBMITTED:
            stamp = course.root / "submitted" / student / NAME / "timestamp.txt"
            assert stamp.read_text().strip() == _stamp(SUBMITTED[student]), student
    kept = graded.fast.root / "submitted" / "grace" / NAME / "timestamp.untrusted.txt"
    assert not kept.exists()  # a trusted time replaced the claim
    rows = {r["student_id"]: r for r in graded.plain.export_csv()}
    assert float(rows["answered"]["late_submission_penalty"]) == 2
    assert float(rows["answered"]["score"]) == 6 + 3 - 2


def test_report_shows_manual_points_beside_autograded(graded: Graded) -> None:
    text = cli.write_report(graded.plain.root, NAME).read_text(encoding="utf-8")
    students = text.split("## Students")[1]
    header = next(line for line in students.splitlines() if line.startswith("| student"))
    assert "autograded (of 6)" in header and "`written_double` (of 4)" in header
    assert "penalty" in header and "total (of 10)" in header
    assert "written (of 4)" in header
    rows = {line.split(" | ")[0].strip("| "): line for line in students.splitlines()[4:]}
    assert rows["answered"].split(" | ")[1:] == ["6", "3", "3", "1.5 h", "2", "7 |"]
    assert rows["solution"].split(" | ")[1:4] == ["6", "ungraded", "ungraded"]
    assert rows["blank"].split(" | ")[1:4] == ["0", "0", "0"]
    # class means: autograded over 4 students, written over the 3 graded answers (0, 0, 3)
    assert rows["**class mean**"].split(" | ")[1:] == ["4.5", "1.0", "1.0", "", "0.5", "4.8 |"]
    opening = text.split("\n\n")[1]
    assert "Of the 10 points, 6 are autograded (class mean 4.5), 4 written" in opening
    assert "3 of 4 answers graded, mean 1.0 per graded answer" in opening
    assert "no trusted submission time" not in text  # every time came from the LMS
    written = text.split("## Written questions")[1].split("## Students")[0]
    assert "| `written_double` | 4 | 3 | 1 | 1.0 |" in written  # 3 graded (0, 0, 3), 1 ungraded
    assert "`written_double`" not in text.split("## Tests students fail most")[1].split("##")[0]
    rubric = text.split("## Rubrics of the written questions")[1]  # graded by, beside the points
    assert "Why is `2 * x` the same as `x + x`" in rubric and RUBRIC in rubric
    assert "BEGIN SOLUTION" not in rubric


def test_canvas_and_gradescope_exports(graded: Graded, tmp_path: Path) -> None:
    canvas = canvas_rows(graded.plain.root, names={NAME: "W0 (1234)"})
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "W0 (1234)"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "10"]
    by_id = {row[2]: row for row in canvas[2:]}
    assert sorted(by_id) == ["answered", "blank", "grace", "solution"]
    assert {s: row[5] for s, row in by_id.items()} == {
        "answered": "7",
        "blank": "0",
        "grace": "6",
        "solution": "6",
    }
    scope = gradescope_rows(graded.plain.root, NAME)
    assert scope[0][:10] == [
        "First Name", "Last Name", "SID", "Email", "Total Score", "Max Points", "Status",
        "Submission Time", "Lateness (H:M:S)", "Late Penalty",
    ]  # fmt: skip
    assert scope[0][10:] == ["test_double (6 pts)", "written_double (4 pts)"]
    rows = {row[2]: row for row in scope[1:]}
    assert rows["answered"][4:] == [
        "7", "10", "Graded", "2026-03-01 12:30:00 UTC", "1:30:00", "2", "6", "3",
    ]  # fmt: skip
    assert rows["solution"][6] == "Ungraded" and rows["solution"][11] == ""
    # the command line writes the same, in the layout asked for
    out = tmp_path / "gs.csv"
    assert cli.main(["--course", str(graded.plain.root), "export", str(out), "--format",
                     "gradescope", "--assignment", NAME]) == 0  # fmt: skip
    with out.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == scope


def _snapshot(course: Course, students: list[str]) -> dict[str, object]:
    files = {}
    for student in students:
        for folder in ("autograded", "submitted"):
            for path in sorted((course.root / folder / student).rglob("*")):
                if path.is_file():
                    files[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    with course._gradebook() as gb:
        rows = {
            s.student_id: (s.timestamp, [(g.name, g.auto_score, g.manual_score)
                                         for n in s.notebooks for g in n.grades])
            for s in gb.assignment_submissions(NAME) if s.student_id in students
        }  # fmt: skip
    return {"files": files, "rows": rows}


def test_regrading_one_student_touches_no_one_else_and_feedback_is_robust(graded: Graded) -> None:
    course = graded.fast
    course.set_manual_grade(NAME, "answered", "written_double", 3)
    others = ["blank", "grace", "solution"]
    before = _snapshot(course, others)
    # the student hands in a fix (still late): only they are graded again
    fixed = nbformat.read(graded.inbox / "answered" / f"{NAME}.ipynb", 4)
    for cell in fixed.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "double":
            cell.source = f"def double(x):\n    {OWN_MARKER}  # checked\n"
    nbformat.write(fixed, graded.inbox / "answered" / f"{NAME}.ipynb")
    _forge(graded.inbox / "answered")
    # the LMS's time dated the old notebook, not this one: without a new one, no trusted time
    intake = ag.collect(course.root, NAME, graded.inbox, ["answered"])
    assert intake.untimed == ["answered"] and intake.students == ["answered"]
    lms = _times_csv(graded.inbox.parent / "lms_fix.csv", ["answered"])
    args = ["--course", str(course.root), "autograde", NAME, "--submissions", str(graded.inbox)]
    assert cli.main([*args, "--student", "answered", "--jobs", "1", "--times", str(lms)]) == 0
    assert _snapshot(course, others) == before
    submitted = course.root / "submitted" / "answered" / NAME / f"{NAME}.ipynb"
    assert "# checked" in submitted.read_text(encoding="utf-8")
    assert course.manual_grades(NAME)["answered"] == {"written_double": (3.0, True)}  # kept
    assert course.totals(NAME)["answered"] == 9 and _penalties(course)["answered"] == 2

    # feedback: the student's own "### BEGIN HIDDEN TESTS" text stops nothing and is not a leak
    pages = course.generate_feedback(NAME)
    assert sorted(pages) == ["answered", "blank", "grace", "solution"]
    answered = pages["answered"].read_text(encoding="utf-8")
    assert "Doubling is adding a number to itself" in answered
    assert "BEGIN HIDDEN TESTS is where the grader hides" in cli.html_text(answered)
    assert cli.check_leaks(course.root, NAME) == {}
    for student in ("answered", "blank", "grace"):  # "solution" handed in the instructor's text
        text = cli.html_text(pages[student].read_text(encoding="utf-8"))
        assert RUBRIC not in text and "BEGIN SOLUTION" not in text, student
        assert "double(-3)" not in text, student


def test_feedback_clears_hidden_tests_of_locked_test_cells_only() -> None:
    from nbgrader.preprocessors import ClearHiddenTests

    from ch11lib.grading.strip import ClearLockedHiddenTests

    nb = load_notebook(SOURCE)
    solution = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    solution.source = f"def double(x):\n    {OWN_MARKER}\n"  # no END: nbgrader's parser fails
    with pytest.raises(RuntimeError):
        ClearHiddenTests().preprocess(load_notebook(nb), {})
    cleared, _ = ClearLockedHiddenTests().preprocess(load_notebook(nb), {})
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in cleared.cells}
    assert OWN_MARKER in by_id["double"]  # the student's text, as they wrote it
    test = by_id["test_double"]
    assert "double(2) == 4" in test and "double(-3)" not in test and "HIDDEN" not in test


def test_the_calendar_command_writes_the_configured_due_dates(graded: Graded, capsys) -> None:
    course = graded.plain
    with course._gradebook() as gb:
        gb.update_or_create_assignment(NAME, duedate=None)
    assert cli.main(["--course", str(course.root), "calendar"]) == 0
    assert f"{NAME}: due 2026-03-01 11:00 UTC" in capsys.readouterr().out
    with course._gradebook() as gb:
        assert gb.find_assignment(NAME).duedate == DUE_UTC


def test_the_exchange_dates_a_forged_submission_and_a_time_unknown_is_named(
    graded: Graded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two more students of the plain class: ``forger`` submits through the exchange, claiming 2020
    in the folder's name, its timestamp.txt and every file time; ``untimed`` is copied into
    ``submitted/`` with a forged timestamp.txt and has no trusted time anywhere. The collect is
    nbgrader's command; the late-penalty steps of autograding (the course's DueDates, then
    nbgrader's AssignLatePenalties, with the course's config) run in-process on their full
    points, without executing the notebooks again (the fixture grades forged claims end to end)."""
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config.loader import PyFileConfigLoader

    from ch11lib.grading.deadlines import DueDates

    course = graded.plain
    started = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
    exchange = course.root.parent / "exchange"
    inbound = exchange / "slp3" / "inbound" / f"forger+{NAME}+{FORGED}+x1"
    inbound.mkdir(parents=True)
    nbformat.write(course.source_notebook(NAME), inbound / f"{NAME}.ipynb")
    _forge(inbound)
    exchange_args = [f"--Exchange.root={exchange}", "--CourseDirectory.course_id=slp3"]
    collected = course.run("collect", NAME, *exchange_args)
    assert "claims 2020-01-01 00:00:00 UTC" in collected.stderr  # logged beside the real time
    stamp = (course.root / "submitted" / "forger" / NAME / "timestamp.txt").read_text()
    assert stamp.startswith(str(started.year)) and not stamp.startswith("2020")
    _forge(course.submit(NAME, "untimed", course.source_notebook(NAME), timestamp=FORGED).parent)
    intake = ag.collect(course.root, NAME, students=["forger", "untimed"])  # make autograde's
    assert intake.untimed == ["untimed"] and sorted(intake.students) == ["forger", "untimed"]

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
    monkeypatch.chdir(course.root)  # DueDates outside nbgrader: the course is the working folder
    with course._gradebook() as gb:
        for student in ("forger", "untimed"):  # as SaveAutoGrades leaves them: full points
            gb.update_or_create_submission(NAME, student, timestamp=None)
            gb.find_grade("test_double", NAME, NAME, student).auto_score = 6.0
        gb.db.commit()
    for student in ("forger", "untimed"):
        info = {"assignment": NAME, "student": student, "notebook": NAME, "db_url": course.db_url}
        nb = course.source_notebook(NAME)
        for step in (DueDates(config=config), AssignLatePenalties(config=config)):
            nb, _ = step.preprocess(nb, {"nbgrader": dict(info)})
    with course._gradebook() as gb:
        subs = {s.student_id: s for s in gb.assignment_submissions(NAME)}
        forger, untimed = subs["forger"], subs["untimed"]
        # the exchange's change time: when the copy was made, long after the due date
        assert forger.timestamp is not None and forger.timestamp >= started
        assert forger.total_seconds_late > 3 * 3600
        assert untimed.timestamp is None and untimed.total_seconds_late == 0
    penalties = _penalties(course)
    assert penalties["forger"] == 3 and penalties["untimed"] == 0  # at most 3; none without a time
    assert penalties["answered"] == 2  # the others were not touched
    text = cli.write_report(course.root, NAME).read_text(encoding="utf-8")
    assert "no trusted submission time for 1 submission(s) of w0_written (untimed)" in text
    assert "graded WITHOUT a late penalty" in text and "TIMES=times.csv" in text
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()}
    assert "time unknown" in rows["untimed"] and "time unknown" not in rows["forger"]
