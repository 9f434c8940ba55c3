"""The gradebook as a table: per student and question, autograded and manual points, late penalties.

nbgrader's gradebook (``nbgrader.api.Gradebook``) keeps a ``Grade`` per submitted cell with an
``auto_score``, a ``manual_score`` and ``needs_manual_grade``. This module reads it into
:class:`AssignmentGrades`, which ``make report`` (:mod:`~ch11lib.grading.cli`) and the Canvas and
Gradescope exports (:mod:`~ch11lib.grading.export`) share:

- an **autograded** question is a test cell (``grade`` without ``solution``): its points are the
  autograder's (or a grader's override);
- a **manual** question is a written answer (``grade`` and ``solution``, ``written_<name>``) or a
  task: it is ``None`` (**ungraded**) until a grader scores it in formgrader; an answer left as the
  stub gets 0 from nbgrader without a grader.

The total of a submission is nbgrader's: the sum of the points minus the late penalty (never below 0),
as in ``nbgrader export``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ch11lib.grading import batch as ag


@dataclass(frozen=True)
class Question:
    """One graded cell of an assignment."""

    name: str  # grade_id
    max_points: float
    manual: bool  # a written answer (or task), graded by hand


@dataclass
class StudentGrades:
    """One student's submission of one assignment."""

    student: str
    points: dict[str, float | None]  # grade_id -> points; None: a manual question not yet graded
    raw: float  # sum of the points (ungraded count 0), before the late penalty
    penalty: float
    timestamp: datetime.datetime | None
    seconds_late: float
    first_name: str = ""
    last_name: str = ""
    email: str = ""

    @property
    def total(self) -> float:
        return max(0.0, self.raw - self.penalty)

    @property
    def ungraded(self) -> list[str]:
        return [name for name, points in self.points.items() if points is None]


@dataclass
class AssignmentGrades:
    """Every submission of one assignment, questions in notebook order."""

    assignment: str
    questions: dict[str, Question]
    students: dict[str, StudentGrades] = field(default_factory=dict)
    duedate: datetime.datetime | None = None

    @property
    def max_points(self) -> float:
        return sum(q.max_points for q in self.questions.values())

    @property
    def auto(self) -> list[str]:
        return [n for n, q in self.questions.items() if not q.manual]

    @property
    def manual(self) -> list[str]:
        return [n for n, q in self.questions.items() if q.manual]


def manual_names(notebook: Any) -> set[str]:
    """Names of a gradebook ``Notebook``'s manually graded cells (grade cells that are also
    solution cells, and task cells)."""
    solutions = {c.name for c in notebook.solution_cells}
    tasks = {c.name for c in getattr(notebook, "task_cells", [])}
    return {c.name for c in notebook.grade_cells if c.name in solutions} | tasks


def _notebook_order(course: Path, assignment: str) -> list[str]:
    order: list[str] = []
    for path in sorted((Path(course) / "solutions" / assignment).glob("*.ipynb")):
        try:
            nb = nbformat.read(path, 4)
        except Exception:  # noqa: BLE001,S112  (no source: keep the gradebook's order)
            continue
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") or meta.get("task"):
                order.append(meta["grade_id"])
    return order


def read_grades(course: Path, assignment: str) -> AssignmentGrades:
    """The gradebook's submissions of ``assignment`` (students without one are left out)."""
    order = _notebook_order(course, assignment)
    with ag.gradebook(course) as gb:
        db_assignment = gb.find_assignment(assignment)
        questions: dict[str, Question] = {}
        for notebook in db_assignment.notebooks:
            manual = manual_names(notebook)
            cells = [*notebook.grade_cells, *getattr(notebook, "task_cells", [])]
            for cell in cells:
                questions[cell.name] = Question(
                    cell.name, float(cell.max_score), cell.name in manual
                )
        rank = {name: i for i, name in enumerate(order)}
        questions = dict(sorted(questions.items(), key=lambda kv: rank.get(kv[0], len(rank))))
        grades = AssignmentGrades(assignment, questions, duedate=db_assignment.duedate)
        for submission in gb.assignment_submissions(assignment):
            points: dict[str, float | None] = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    question = questions[grade.name]
                    score = grade.manual_score if grade.manual_score is not None else None
                    if score is None:
                        score = grade.auto_score
                    if score is not None and grade.extra_credit:
                        score += grade.extra_credit
                    if question.manual and grade.manual_score is None and grade.needs_manual_grade:
                        score = None  # waiting for a grader
                    points[grade.name] = None if score is None else float(score)
            student = submission.student
            grades.students[submission.student_id] = StudentGrades(
                student=submission.student_id,
                points={n: points.get(n) for n in questions},
                raw=float(submission.score),
                penalty=float(submission.late_submission_penalty or 0.0),
                timestamp=submission.timestamp,
                seconds_late=float(submission.total_seconds_late),
                first_name=student.first_name or "",
                last_name=student.last_name or "",
                email=student.email or "",
            )
    return grades


def course_assignments(course: Path) -> list[str]:
    """The assignments recorded in the course's gradebook, by due date then name."""
    with ag.gradebook(course) as gb:
        return [a.name for a in gb.assignments]
