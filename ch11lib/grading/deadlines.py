"""The instructor's calendar: due dates and late penalties, configured in ``nbgrader_config.py`` only.

Two nbgrader plug-ins, named there::

    c.DueDates.duedates = {"a1_encoder": "2026-10-05 23:59:00+02:00", ...}
    c.Autograde.autograde_preprocessors = [..., "ch11lib.grading.deadlines.DueDates",
                                           "nbgrader.preprocessors.AssignLatePenalties", ...]
    c.AssignLatePenalties.plugin_class = "ch11lib.grading.deadlines.LatePenalty"
    c.LatePenalty.unit = "day"             # "hour" or "day"
    c.LatePenalty.points_per_unit = 10.0   # points off per started hour/day after the due date
    c.LatePenalty.max_points = 50.0        # never more than this (nor more than the score)
    c.LatePenalty.grace_minutes = 15.0     # late by at most this: no penalty

:class:`DueDates` runs while a submission is autograded (plain ``nbgrader autograde`` and
``make autograde`` alike, before ``AssignLatePenalties``) and writes the configured due date of the
assignment into the gradebook, where nbgrader's late-penalty step, ``nbgrader collect
--before-duedate``, formgrader and ``nbgrader export`` read it. ``make calendar`` writes them all at once
(:func:`apply_calendar`), e.g. before ``nbgrader collect --before-duedate``. An assignment not in
``duedates`` keeps whatever due date the gradebook has (``nbgrader db assignment add a1_encoder
--duedate=...``), none by default. An extension for one student is nbgrader's
(``Gradebook.grant_extension``). Times are ISO 8601 with a UTC offset (``+02:00``) or ``UTC``; a
time without a zone is taken as UTC.

How late a submission is comes from the instructor's side only (:mod:`ch11lib.grading.times`): the
LMS's time (``make autograde ... TIMES=times.csv``) or the exchange's (``nbgrader collect`` through
:class:`ch11lib.grading.exchange.TrustedCollect`), kept in a ledger in ``submitted/``. Before the
penalty is computed, :class:`DueDates` writes that time into the gradebook, or none (no penalty,
and a warning naming the student) when there is no trusted time: a ``timestamp.txt`` or file time
that comes with a submission is the student's own and is never read.

:class:`LatePenalty` is nbgrader's ``LateSubmissionPlugin`` with a penalty per started hour or day,
capped. The penalty is computed when the submission is autograded, from the points it has then
(nbgrader caps it at the notebook's score): after grading written answers by hand, autograde again
(``make autograde ASSIGNMENT=... STUDENT=...``; manual grades are kept) to recompute it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Enum, Float

from ch11lib.grading import times

UNIT_SECONDS = {"hour": 3600.0, "day": 86400.0}


def penalty_points(
    seconds_late: float,
    *,
    unit: str = "day",
    points_per_unit: float = 10.0,
    max_points: float = 50.0,
    grace_minutes: float = 0.0,
) -> float:
    """Points off for a submission ``seconds_late`` after its due date: ``points_per_unit`` for every
    started ``unit``, at most ``max_points``; nothing within ``grace_minutes``."""
    if seconds_late <= 0 or seconds_late <= grace_minutes * 60:
        return 0.0
    units = math.ceil(seconds_late / UNIT_SECONDS[unit])
    return float(min(max_points, units * points_per_unit))


class LatePenalty(LateSubmissionPlugin):
    """A penalty per started hour or day late, capped (``AssignLatePenalties.plugin_class``)."""

    unit = Enum(("hour", "day"), default_value="day", help="Penalty period: 'hour' or 'day'.").tag(
        config=True
    )
    points_per_unit = Float(
        10.0, help="Points taken off for every started period after the due date."
    ).tag(config=True)
    max_points = Float(
        50.0, help="The most points taken off, however late (nbgrader also caps at the score)."
    ).tag(config=True)
    grace_minutes = Float(
        0.0, help="A submission at most this many minutes late loses nothing."
    ).tag(config=True)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        penalty = penalty_points(
            total_seconds_late,
            unit=self.unit,
            points_per_unit=self.points_per_unit,
            max_points=self.max_points,
            grace_minutes=self.grace_minutes,
        )
        self.log.info(
            "%s is %.0f s late: %g points off (%g per %s, at most %g)",
            student_id,
            total_seconds_late,
            penalty,
            self.points_per_unit,
            self.unit,
            self.max_points,
        )
        return min(penalty, score)


class DueDates(NbGraderPreprocessor):
    """Write the configured due date of the assignment being autograded, and the submission's
    trusted time (or none), into the gradebook, where ``AssignLatePenalties`` reads both."""

    duedates = Dict(
        {},
        help="{assignment: due date}, e.g. {'a1_encoder': '2026-10-05 23:59:00+02:00'}.",
    ).tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        info = resources.get("nbgrader", {})
        assignment, db_url = info.get("assignment"), info.get("db_url")
        if assignment in self.duedates and db_url:
            apply_duedate(db_url, assignment, self.duedates[assignment])
        student = info.get("student")
        if assignment and student and db_url:
            self._apply_trusted_time(db_url, assignment, student)
        return nb, resources

    def _submitted(self) -> Path:
        """The course's ``submitted/`` folder (the converter's ``CourseDirectory``)."""
        parent = self.parent
        while parent is not None:
            coursedir = getattr(parent, "coursedir", None)
            if coursedir is not None:
                return Path(coursedir.root) / coursedir.submitted_directory
            parent = getattr(parent, "parent", None)
        return Path.cwd() / "submitted"

    def _apply_trusted_time(self, db_url: str, assignment: str, student: str) -> None:
        from nbgrader.api import Gradebook

        submitted = self._submitted()
        notebook = submitted / student / assignment / f"{assignment}.ipynb"
        entry = times.trusted_time(submitted, assignment, student, notebook)
        with Gradebook(db_url) as gb:
            submission = gb.update_or_create_submission(
                assignment, student, timestamp=entry.when if entry else None
            )
            due = submission.duedate
        if entry is not None:
            self.log.info(
                "%s submitted %s at %s UTC (%s)", student, assignment, entry.when, entry.source
            )
        elif due is not None:
            self.log.warning(times.untimed_message(assignment, [student]))


def apply_duedate(db_url: str, assignment: str, duedate: str | None) -> None:
    """Set ``assignment``'s due date in the gradebook at ``db_url`` (``None``: no due date)."""
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(assignment, duedate=parse_utc(duedate) if duedate else None)


def configured_duedates(course: Any) -> dict[str, str]:
    """``c.DueDates.duedates`` of the course's ``nbgrader_config.py``."""
    from pathlib import Path

    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(Path(course))).load_config()
    return dict(config.DueDates.get("duedates", {}))


def apply_calendar(course: Any) -> dict[str, Any]:
    """Write every configured due date into the course's gradebook now (autograding does it for
    the assignment it grades); ``{assignment: due date in UTC}``."""
    from pathlib import Path

    from nbgrader.utils import parse_utc

    db = f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"
    dates = configured_duedates(course)
    for assignment, duedate in dates.items():
        apply_duedate(db, assignment, duedate)
    return {a: parse_utc(d) if d else None for a, d in dates.items()}
