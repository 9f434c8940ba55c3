"""Submission times the instructor can trust: the LMS's record or the exchange's, never the student's.

A late penalty is only as fair as the time it is computed from, and everything a student hands in
can carry a time of their choosing: nbgrader's ``timestamp.txt`` and the time in the exchange
folder's name (``alice+a1_encoder+2026-10-05 21:59:00.000000 UTC+...``) are both written by the
student's own ``nbgrader submit`` process (with a terminal, a student writes any), and a file's
modification time is one ``touch -d`` away. So a submission's time comes from the instructor's side
only, in this order:

1. **TIMES**, a CSV from the LMS (``student_id,submitted_at``, ISO 8601 with a zone; see
   :func:`read_times_csv`), given to ``make autograde ... TIMES=times.csv`` or recorded with
   ``python -m ch11lib.grading times ASSIGNMENT times.csv``: it overrides everything;
2. **the exchange**: :class:`ch11lib.grading.exchange.TrustedCollect` (``c.ExchangeFactory.collect`` in
   ``nbgrader_config.py``) collects as ``nbgrader collect`` does, but dates each submission by the
   latest status-change time (``st_ctime``) of its copy in the exchange, which the kernel sets on
   every change and no unprivileged user can set back; the time the submission claims is logged
   beside it when it is earlier;
3. otherwise **none**: the submission is graded without a late penalty, and the grading log, the
   command line and the class report name the students and the fix.

Each trusted time is a row of the instructor's ledger, ``submitted/.submission_times/<a>.csv``
(student, time in UTC, where it came from, the SHA-256 of the notebook it dates). A time dates one
notebook: a notebook replaced later (a fix sent by mail, copied into ``submitted/``) has no time
until one is given again. :class:`ch11lib.grading.deadlines.DueDates` writes the ledger's time, or
none, into the gradebook just before nbgrader's late penalty is computed, so plain
``nbgrader autograde`` and ``make autograde`` use the same time, whatever ``timestamp.txt`` says.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

LEDGER_DIR = ".submission_times"  # a dot folder: nbgrader's `submitted/*/<a>` globs never see it
FIELDS = ("student_id", "submitted_at", "source", "notebook_sha256")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp.txt, in UTC
STUDENT_COLUMNS = ("student_id", "student id", "student", "sid", "sis user id", "id", "username")
TIME_COLUMNS = ("submitted_at", "submission time", "submission_time", "submitted", "timestamp")
CLOCK_SKEW = datetime.timedelta(minutes=5)  # a time this far ahead of the grader's clock is wrong
EARLY = datetime.timedelta(days=180)  # a submission this long before its due date: a typo?


@dataclass(frozen=True)
class TrustedTime:
    """When one notebook was handed in (naive UTC, as nbgrader stores times), and who says so."""

    when: datetime.datetime
    source: str  # "times:<file name>" or "exchange"
    digest: str  # SHA-256 of the notebook this time dates

    def stamp(self) -> str:
        return self.when.strftime(TIMESTAMP_FORMAT)


def to_utc(when: datetime.datetime) -> datetime.datetime:
    """An aware time as naive UTC (nbgrader's convention); a naive one is refused."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"time {when.isoformat()} has no time zone")
    return when.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 time with its zone (``2026-10-05T21:59:00+02:00``, ``...Z``, ``... UTC``) as
    naive UTC. A time without a zone is refused: an LMS exports local times, and reading them as
    UTC would move every penalty by the offset."""
    raw = str(text).strip()
    value = raw[:-3].rstrip() + "+00:00" if raw.upper().endswith("UTC") else raw
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"not an ISO 8601 time: {raw!r} (expected e.g. 2026-10-05T21:59:00+02:00, "
            "2026-10-05T19:59:00Z or 2026-10-05 19:59:00 UTC)"
        ) from None
    if when.tzinfo is None:
        raise ValueError(
            f"{raw!r} has no time zone (expected an offset such as +02:00, or Z for UTC; an LMS "
            "exports local time, which read as UTC would move every late penalty)"
        )
    return to_utc(when)


def read_times_csv(path: Path | str) -> dict[str, datetime.datetime]:
    """``{student_id: submitted at, naive UTC}`` from an LMS export.

    A header row names the columns (any order, other columns ignored): the student id is the first
    of ``student_id``, ``Student ID``, ``student``, ``sid``, ``SIS User ID``, ``id``, ``username``
    that is there, the time the first of ``submitted_at``, ``Submission Time``, ``submitted``,
    ``timestamp``. Raises :class:`ValueError` naming the file, the line, what was expected and what
    came: a missing column, an empty or multi-line id, a student twice, a time that is not ISO 8601,
    has no zone or lies in the future.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # utf-8-sig: Excel's byte-order mark
    except FileNotFoundError:
        raise ValueError(f"TIMES file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: expected a UTF-8 CSV file, got undecodable bytes ({exc})"
        ) from None
    rows = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(rows)
    except StopIteration:
        raise ValueError(
            f"{path}: expected a header row 'student_id,submitted_at', got an empty file"
        ) from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file: {exc}") from None
    names = [name.strip().lower() for name in header]
    id_col = next((names.index(n) for n in STUDENT_COLUMNS if n in names), None)
    time_col = next((names.index(n) for n in TIME_COLUMNS if n in names), None)
    if id_col is None or time_col is None:
        raise ValueError(
            f"{path}: expected a header row with a student column ({', '.join(STUDENT_COLUMNS)}) "
            f"and a time column ({', '.join(TIME_COLUMNS)}), e.g. 'student_id,submitted_at'; "
            f"got {header!r}"
        )
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    times: dict[str, datetime.datetime] = {}
    lines: dict[str, int] = {}
    line_end = rows.line_num
    try:
        for row in rows:
            line, line_end = line_end + 1, rows.line_num  # a quoted field may span lines
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(id_col, time_col):
                raise ValueError(
                    f"{path}, line {line}: expected {len(header)} fields like the header "
                    f"{header!r}, got {row!r}"
                )
            student, stamp = row[id_col].strip(), row[time_col]
            if not student or student.startswith(".") or any(c in student for c in "\r\n\0/\\"):
                raise ValueError(
                    f"{path}, line {line}: expected a student id (a folder name: no line breaks "
                    f"or slashes, not starting with '.'), got {row[id_col]!r}"
                )
            if student in times:
                raise ValueError(
                    f"{path}, line {line}: student {student!r} again (first on line "
                    f"{lines[student]}); expected one time per student, the submission graded"
                )
            try:
                when = parse_time(stamp)
            except ValueError as exc:
                raise ValueError(f"{path}, line {line}, student {student!r}: {exc}") from None
            if when > now + CLOCK_SKEW:
                raise ValueError(
                    f"{path}, line {line}, student {student!r}: {stamp.strip()!r} is in the future "
                    f"(now {now:%Y-%m-%d %H:%M} UTC); a wrong zone or year?"
                )
            times[student], lines[student] = when, line
    except csv.Error as exc:
        raise ValueError(f"{path}, line {line_end + 1}: not a readable CSV row: {exc}") from None
    return times


# --------------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------------


def ledger_path(submitted: Path, assignment: str) -> Path:
    """The ledger of ``assignment``'s trusted times inside the course's ``submitted/`` folder."""
    return Path(submitted) / LEDGER_DIR / f"{assignment}.csv"


def notebook_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_ledger(submitted: Path, assignment: str) -> dict[str, TrustedTime]:
    """``{student: TrustedTime}`` of the ledger (empty when there is none)."""
    path = ledger_path(submitted, assignment)
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["student_id"]: TrustedTime(
                datetime.datetime.fromisoformat(row["submitted_at"]),
                row["source"],
                row["notebook_sha256"],
            )
            for row in csv.DictReader(handle)
        }


def record(submitted: Path, assignment: str, entries: dict[str, TrustedTime | None]) -> None:
    """Set (or, for ``None``, remove) these students' rows of the ledger, in one atomic write."""
    rows = read_ledger(submitted, assignment)
    for student, entry in entries.items():
        if entry is None:
            rows.pop(student, None)
        else:
            rows[student] = entry
    path = ledger_path(submitted, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", newline="", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
    )
    with handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for student, entry in sorted(rows.items()):
            writer.writerow([student, entry.when.isoformat(), entry.source, entry.digest])
    os.replace(handle.name, path)


def trusted_time(
    submitted: Path, assignment: str, student: str, notebook: Path
) -> TrustedTime | None:
    """The ledger's time of ``student``'s ``notebook``, or ``None`` when there is no row or the
    row dates another notebook (replaced since)."""
    entry = read_ledger(submitted, assignment).get(student)
    if entry is None or not Path(notebook).is_file():
        return None
    return entry if notebook_digest(notebook) == entry.digest else None


def untimed_message(assignment: str, students: list[str]) -> str:
    """The loud line for submissions graded without a late penalty for want of a trusted time."""
    names = ", ".join(sorted(students))
    return (
        f"WARNING: no trusted submission time for {len(students)} submission(s) of {assignment} "
        f"({names}): graded WITHOUT a late penalty. A time that comes with a submission "
        "(timestamp.txt, file times) is the student's own and is not used. Fix: give the LMS's "
        f"times, `make autograde ASSIGNMENT={assignment} TIMES=times.csv` (columns "
        "student_id,submitted_at), or collect through the exchange (`nbgrader collect`); "
        "README, 'Due dates and late penalties'."
    )


def long_before(
    submitted_at: dict[str, datetime.datetime],
    due: datetime.datetime | None,
    students: list[str],
) -> list[str]:
    """Those of ``students`` whose given time is more than :data:`EARLY` before the due date: a
    wrong year or zone in an LMS export makes everyone punctual, silently, so it is reported."""
    if due is None:
        return []
    return sorted(s for s in students if s in submitted_at and submitted_at[s] < due - EARLY)
