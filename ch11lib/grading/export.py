"""Grades for the tools schools use: a Canvas gradebook CSV and a Gradescope-style CSV.

Both read the gradebook through :func:`ch11lib.grading.grades.read_grades`; totals are nbgrader's
(points minus the late penalty, never below 0, as in ``nbgrader export``), so the three exports agree.

**Canvas** (``make export FORMAT=canvas``): the layout of a Canvas gradebook export, which Canvas's
*Import* takes back: ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per
assignment; the second row holds each assignment's points possible. The nbgrader student id goes in
``SIS User ID`` and ``SIS Login ID`` (Canvas matches students by them; ``ID``, Canvas's own number,
stays empty). Name the assignment columns as in Canvas (``--canvas-name a1_encoder="A1 (1234)"``
with Canvas's number, or Canvas creates new columns on import). A student without a submission gets 0,
as in nbgrader's CSV.

**Gradescope** (``make export FORMAT=gradescope ASSIGNMENT=a1_encoder``): one row per student of one
assignment, like Gradescope's *Download Grades*: ``First Name, Last Name, SID, Email, Total Score,
Max Points, Status, Submission Time, Lateness (H:M:S), Late Penalty``, then one column per question,
``<grade_id> (<points> pts)``, in notebook order. ``Status`` is ``Graded``, ``Ungraded`` (a written
answer still waits for a grader; its column is empty) or ``Missing`` (no submission).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from ch11lib.grading import batch as ag
from ch11lib.grading.grades import AssignmentGrades, course_assignments, read_grades

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADESCOPE_FIXED = [
    "First Name",
    "Last Name",
    "SID",
    "Email",
    "Total Score",
    "Max Points",
    "Status",
    "Submission Time",
    "Lateness (H:M:S)",
    "Late Penalty",
]


def _number(value: float) -> str:
    return f"{value:g}"


def _students(course: Path) -> list[tuple[str, str, str, str]]:
    """(id, first name, last name, email) of every student in the gradebook, by id."""
    with ag.gradebook(course) as gb:
        return sorted(
            (s.id, s.first_name or "", s.last_name or "", s.email or "") for s in gb.students
        )


def canvas_rows(
    course: Path,
    assignments: list[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[list[str]]:
    """The Canvas gradebook as rows (header, points possible, one row per student)."""
    chosen = assignments or course_assignments(course)
    tables = {a: read_grades(course, a) for a in chosen}
    names = dict(names or {})
    header = CANVAS_FIXED + [names.get(a, a) for a in chosen]
    possible = ["Points Possible", "", "", "", ""] + [_number(tables[a].max_points) for a in chosen]
    rows = [header, possible]
    for student, first, last, _ in _students(course):
        display = f"{last}, {first}" if last and first else (last or first or student)
        row = [display, "", student, student, ""]
        for a in chosen:
            grades = tables[a].students.get(student)
            row.append(_number(grades.total) if grades else "0")
        rows.append(row)
    return rows


def _lateness(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def gradescope_rows(course: Path, assignment: str) -> list[list[str]]:
    """The Gradescope-style table of one assignment (header, one row per student)."""
    table: AssignmentGrades = read_grades(course, assignment)
    questions = list(table.questions.values())
    header = GRADESCOPE_FIXED + [f"{q.name} ({q.max_points:g} pts)" for q in questions]
    rows = [header]
    for student, first, last, email in _students(course):
        grades = table.students.get(student)
        if grades is None:
            rows.append(
                [first, last, student, email, "0", _number(table.max_points), "Missing", "", "", ""]
                + [""] * len(questions)
            )
            continue
        status = "Ungraded" if grades.ungraded else "Graded"
        when = grades.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC") if grades.timestamp else ""
        row = [
            first,
            last,
            student,
            email,
            _number(grades.total),
            _number(table.max_points),
            status,
            when,
            _lateness(grades.seconds_late),
            _number(grades.penalty),
        ]
        row += [
            "" if grades.points[q.name] is None else _number(grades.points[q.name])
            for q in questions
        ]
        rows.append(row)
    return rows


def write_csv(rows: list[list[str]], path: Path) -> Path:
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path
