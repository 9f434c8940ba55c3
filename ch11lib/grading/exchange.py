"""``nbgrader collect`` that dates each submission by the exchange's file system, not by its claim.

nbgrader's exchange keeps a submission as ``inbound/<student>+<assignment>+<time>+<random>/`` with a
``timestamp.txt``; both the time in the name and the file are written by the student's own
``nbgrader submit`` process, so a student with a terminal can claim any time. nbgrader's collect
picks each student's latest submission (and the one for ``--before-duedate``) by that name, and
with this course's ``CourseDirectory.include`` (notebooks only) it copies no ``timestamp.txt``, so
plain ``nbgrader collect`` leaves no time at all.

:class:`TrustedCollect`, named in ``nbgrader_config.py`` (``c.ExchangeFactory.collect``), dates a
submission by :func:`change_time` of its folder in the exchange instead: both choices use it, the
copy in ``submitted/`` gets a ``timestamp.txt`` of that time, and the instructor's ledger a row
(:mod:`ch11lib.grading.times`). A claimed time earlier than that by more than ``CLAIM_SLACK`` is
logged beside it.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from nbgrader.exchange.default.collect import ExchangeCollect

from ch11lib.grading.times import TrustedTime, notebook_digest, record, to_utc

CLAIM_SLACK = datetime.timedelta(minutes=10)


def change_time(path: Path | str) -> datetime.datetime:
    """The latest status-change time (``st_ctime``) of ``path`` and everything under it, naive UTC.

    The kernel sets it on every write, rename, ``chmod`` or ``touch``, and only root can set it back
    (by moving the clock), so it is never earlier than the last change made to the folder.
    """
    latest = os.lstat(path).st_ctime
    for folder, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            latest = max(latest, os.lstat(os.path.join(folder, name)).st_ctime)
    return to_utc(datetime.datetime.fromtimestamp(latest, tz=datetime.timezone.utc))


class TrustedCollect(ExchangeCollect):
    """nbgrader's collect with the exchange's :func:`change_time` as each record's time."""

    def _path_to_record(self, path: str) -> dict[str, Any]:
        try:
            entry = super()._path_to_record(path)
        except (ValueError, OverflowError):  # a name whose time is not a time: no claim
            filename = os.path.basename(path)
            entry = {"username": filename.rsplit("+", 3)[0], "filename": filename}
            entry["timestamp"] = None
        entry["claimed"] = entry["timestamp"]
        entry["timestamp"] = change_time(path)
        if not hasattr(self, "_records"):
            self._records: dict[str, dict[str, Any]] = {}
        self._records[entry["filename"]] = entry
        return entry

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        super().do_copy(src, dest, log)
        entry = self._records[os.path.basename(os.path.normpath(src))]
        student, assignment = entry["username"], self.coursedir.assignment_id
        when, claimed = entry["timestamp"], entry["claimed"]
        if claimed is not None and claimed < when - CLAIM_SLACK:
            self.log.warning(
                "%s's submission of %s claims %s UTC; the exchange's copy was last changed at "
                "%s UTC, the time used",
                student,
                assignment,
                claimed,
                when,
            )
        notebook = Path(dest) / f"{assignment}.ipynb"
        trusted = TrustedTime(
            when, "exchange", notebook_digest(notebook) if notebook.is_file() else ""
        )
        (Path(dest) / "timestamp.txt").write_text(trusted.stamp() + "\n", encoding="utf-8")
        submitted = Path(self.coursedir.root) / self.coursedir.submitted_directory
        record(submitted, assignment, {student: trusted})
