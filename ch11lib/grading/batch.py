"""Autograde a class fast: shards in parallel, kernels forked from a server, one merged gradebook.

``nbgrader autograde`` grades students one after another, each in a fresh kernel that imports
``torch`` and ``transformers`` again, and its SQLite gradebook does not like concurrent writers.
:func:`autograde` keeps nbgrader's grading exactly as it is (the same ``nbgrader_config.py``, so
the same two-kernel, sandboxed executor) and changes only the plumbing:

1. the submissions are split into ``jobs`` shards; each shard is a throw-away course directory with
   the course's config, the assignment's source and a *copy* of the gradebook, so each
   ``nbgrader autograde`` process writes only to its own database;
2. every trusted kernel is forked from one server that imported the assignment's modules once
   (:mod:`ch11lib.grading.forkkernel`); each shard's sandbox has such a server inside for the
   students' kernels;
3. the shards' results (scores, comments, timestamps, the autograded notebooks) are merged into the
   course's gradebook by this one process, one submission at a time.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ch11lib.grading import forkkernel, sandbox, times
from ch11lib.grading.execute import locked_imports

# --------------------------------------------------------------------------------------------------
# nbgrader from Python
# --------------------------------------------------------------------------------------------------


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


def nbgrader_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for nbgrader: the venv's bin first (the gradebook runs ``alembic``), no
    progress bars, a non-interactive matplotlib backend."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TQDM_DISABLE", "1")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    env.update(extra or {})
    return env


def run_nbgrader(
    course: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``nbgrader ARGS`` in the course directory; :class:`NbgraderError` if it fails and ``check``."""
    cmd = [str(Path(sys.executable).parent / "nbgrader"), *args]
    result = subprocess.run(
        cmd, cwd=course, env=env or nbgrader_env(), capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise NbgraderError(
            f"nbgrader {' '.join(args)} exited {result.returncode}\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def db_url(course: Path) -> str:
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"


@contextmanager
def gradebook(course: Path) -> Iterator[Any]:
    """The course's ``nbgrader.api.Gradebook`` (created if missing)."""
    os.environ["PATH"] = nbgrader_env()["PATH"]  # Gradebook() runs `alembic` from PATH
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        yield gb


def ensure_in_gradebook(course: Path, assignment: str) -> None:
    """Record the assignment's source notebooks (cells, points, checksums) in the gradebook.

    ``make assignments`` generates releases without a gradebook; autograding needs one. This runs
    ``nbgrader generate_assignment`` in a scratch copy against the course's database, so the
    committed release in ``assignments/`` is not touched.
    """
    course = Path(course).resolve()
    source = course / "solutions" / assignment
    if not source.is_dir():
        raise ValueError(f"no assignment source {source}")
    with tempfile.TemporaryDirectory(prefix="ch11-generate-") as scratch:
        shutil.copy2(course / "nbgrader_config.py", Path(scratch) / "nbgrader_config.py")
        shutil.copytree(
            source,
            Path(scratch) / "solutions" / assignment,
            ignore=shutil.ignore_patterns("*.md", ".ipynb_checkpoints"),
        )
        run_nbgrader(
            Path(scratch),
            "generate_assignment",
            assignment,
            "--force",
            f"--CourseDirectory.db_url={db_url(course)}",
        )


# --------------------------------------------------------------------------------------------------
# Taking in submissions
# --------------------------------------------------------------------------------------------------


@dataclass
class Intake:
    """What :func:`collect` found: students with a readable notebook, and the others with why."""

    students: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # student -> "not a valid notebook: ..."
    untimed: list[str] = field(default_factory=list)  # graded students with no trusted time
    unmatched_times: list[str] = field(default_factory=list)  # TIMES rows without a submission


def _find_notebook(folder: Path, assignment: str) -> Path | None:
    for candidate in (folder / assignment / f"{assignment}.ipynb", folder / f"{assignment}.ipynb"):
        if candidate.is_file():
            return candidate
    return None


def _date(
    submitted: Path,
    target: Path,
    assignment: str,
    student: str,
    submitted_at: dict[str, datetime.datetime] | None,
    source: str,
) -> bool:
    """Give the filed submission in ``target`` its trusted time (``timestamp.txt``, the ledger);
    ``False`` when there is none."""
    notebook = target / f"{assignment}.ipynb"
    if submitted_at and student in submitted_at and notebook.is_file():
        entry = times.TrustedTime(submitted_at[student], source, times.notebook_digest(notebook))
        times.record(submitted, assignment, {student: entry})
    else:
        entry = times.trusted_time(submitted, assignment, student, notebook)
    stamp = target / "timestamp.txt"
    if entry is None:
        if stamp.is_file():  # the student's claim: kept for the record, never read
            stamp.replace(target / "timestamp.untrusted.txt")
        return False
    stamp.write_text(entry.stamp() + "\n", encoding="utf-8")
    return True


def record_times(
    course: Path, assignment: str, submitted_at: dict[str, datetime.datetime], source: str
) -> tuple[list[str], list[str]]:
    """Record the LMS's times of the submissions already in ``submitted/`` (for plain ``nbgrader
    autograde``); ``(students dated, students of the file without a submission)``."""
    submitted = Path(course).resolve() / "submitted"
    dated, missing = [], []
    for student in sorted(submitted_at):
        target = submitted / student / assignment
        if (target / f"{assignment}.ipynb").is_file():
            _date(submitted, target, assignment, student, submitted_at, source)
            dated.append(student)
        else:
            missing.append(student)
    return dated, missing


def collect(
    course: Path,
    assignment: str,
    submissions: Path | None = None,
    students: list[str] | None = None,
    submitted_at: dict[str, datetime.datetime] | None = None,
    times_source: str = "times",
) -> Intake:
    """Check every submission of ``assignment`` and file it under ``submitted/<student>/``.

    ``submissions``: a folder of ``<student>/<assignment>.ipynb`` or
    ``<student>/<assignment>/<assignment>.ipynb`` (default: the course's ``submitted/``);
    ``students``: only these (the others' folders are not touched). A notebook that is not valid
    JSON/nbformat is not graded; its student is added to the gradebook anyway, so the export has a
    row (score 0) and the problem is reported.

    A submission's time (for late penalties) is ``submitted_at[student]`` (naive UTC, from the LMS:
    :func:`ch11lib.grading.times.read_times_csv`; recorded in the ledger as ``times_source``), else
    the ledger's time of this very notebook (:class:`ch11lib.grading.exchange.TrustedCollect` or an
    earlier ``submitted_at``), else none: the student is in :attr:`Intake.untimed`. A
    ``timestamp.txt`` or file time that comes with a submission is never used; the copy in
    ``submitted/`` gets a ``timestamp.txt`` of the trusted time, and an untrusted one is renamed
    ``timestamp.untrusted.txt``.
    """
    course = Path(course).resolve()
    submitted = course / "submitted"
    source_dir = Path(submissions).resolve() if submissions else submitted
    if not source_dir.is_dir():
        raise ValueError(f"no submissions folder {source_dir}")
    intake = Intake()
    wanted = set(students) if students is not None else None
    for folder in sorted(p for p in source_dir.iterdir() if p.is_dir()):
        student = folder.name
        if student.startswith("."):  # the ledger's folder, nbgrader's own (`.nbgrader`)
            continue
        if wanted is not None and student not in wanted:
            continue
        notebook = _find_notebook(folder, assignment)
        if notebook is None:
            continue
        try:
            nbformat.validate(nbformat.read(notebook, as_version=4))
        except Exception as exc:  # noqa: BLE001  (any unreadable file is the student's problem)
            intake.problems[student] = f"not a valid notebook: {type(exc).__name__}: {exc}"[:300]
        target = submitted / student / assignment
        if notebook.parent.resolve() != target:
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(notebook.parent, target, symlinks=True)  # links kept ...
            for link in [p for p in target.rglob("*") if p.is_symlink()]:
                link.unlink()  # ... and dropped: never followed to a file of this machine
            if notebook.parent == folder and (folder / assignment).is_dir():
                shutil.rmtree(target / assignment)  # the layout was <student>/<a>.ipynb
        known = {p.name for p in (course / "solutions" / assignment).glob("*.ipynb")}
        for extra in sorted(
            target.glob("*.ipynb")
        ):  # nbgrader fails on a notebook it does not know
            if extra.name not in known:  # kept, out of its way (subfolders are not graded)
                (target / "not_graded").mkdir(exist_ok=True)
                extra.rename(target / "not_graded" / extra.name)
        if student not in intake.problems:
            intake.students.append(student)
            if not _date(submitted, target, assignment, student, submitted_at, times_source):
                intake.untimed.append(student)
    if submitted_at and students is None:
        graded = {*intake.students, *intake.problems}
        intake.unmatched_times = sorted(s for s in submitted_at if s not in graded)
    with gradebook(course) as gb:
        for student in [*intake.students, *intake.problems]:
            gb.update_or_create_student(student)
    return intake


# --------------------------------------------------------------------------------------------------
# Parallel autograding
# --------------------------------------------------------------------------------------------------


@dataclass
class AutogradeResult:
    """Who was graded, how long it took, and what went wrong."""

    graded: list[str]
    problems: dict[str, str]
    seconds: float
    jobs: int
    sandboxed: bool = True
    untimed: list[str] = field(default_factory=list)  # due date set, no trusted time: no penalty
    unmatched_times: list[str] = field(default_factory=list)  # TIMES rows without a submission
    # TIMES rows long before the due date (a wrong year or zone?): a mistake there is silent
    early_times: list[str] = field(default_factory=list)

    @property
    def seconds_per_submission(self) -> float:
        return self.seconds / max(1, len(self.graded))


def preload_modules(course: Path, assignment: str) -> list[str]:
    """Modules the assignment's locked cells import, full dotted names, in order (for the server)."""
    modules: list[str] = ["ch11lib.grading.proxy"]
    for path in sorted((Path(course) / "solutions" / assignment).glob("*.ipynb")):
        modules += locked_imports(nbformat.read(path, as_version=4).cells)
    return list(dict.fromkeys(modules))


@contextmanager
def fork_server(course: Path, assignment: str) -> Iterator[dict[str, str]]:
    """Run a kernel fork server for the assignment; yields the environment that uses it."""
    with tempfile.TemporaryDirectory(prefix="ch11-fork-") as tmp:
        forkkernel.write_kernelspec(Path(tmp))
        socket_path = str(Path(tmp) / "fork.sock")
        server = subprocess.Popen(
            [
                sys.executable,
                forkkernel.__file__,
                "serve",
                socket_path,
                *preload_modules(course, assignment),
            ],
            cwd=course,
            env=nbgrader_env(),
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 600
            while not os.path.exists(socket_path):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the kernel fork server did not start")
                time.sleep(0.1)
            yield {forkkernel.SERVER_ENV: socket_path, "JUPYTER_PATH": tmp}
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _shard_course(course: Path, shard: Path, assignment: str, students: list[str]) -> None:
    shard.mkdir(parents=True)
    shutil.copy2(course / "nbgrader_config.py", shard / "nbgrader_config.py")
    shutil.copytree(course / "solutions" / assignment, shard / "solutions" / assignment)
    shutil.copy2(course / "gradebook.db", shard / "gradebook.db")
    ledger = times.ledger_path(course / "submitted", assignment)
    if ledger.is_file():  # DueDates reads the trusted times from the shard's submitted/
        times.ledger_path(shard / "submitted", assignment).parent.mkdir(parents=True)
        shutil.copy2(ledger, times.ledger_path(shard / "submitted", assignment))
    for student in students:
        target = shard / "submitted" / student / assignment
        target.parent.mkdir(parents=True)
        target.symlink_to(course / "submitted" / student / assignment)


def merge_shard(course: Path, shard: Path, assignment: str, students: list[str]) -> list[str]:
    """Copy the shard's autograded ``students`` (scores, comments, notebooks) into the course."""
    from nbgrader.api import Gradebook, MissingEntry

    merged = []
    with gradebook(course) as main, Gradebook(db_url(shard)) as part:
        # the due date DueDates wrote into the shard's gradebook (nbgrader_config.py's calendar)
        main.update_or_create_assignment(
            assignment, duedate=part.find_assignment(assignment).duedate
        )
        for sub in part.assignment_submissions(assignment):
            student = sub.student_id
            if student not in students:  # in the copied gradebook from an earlier run
                continue
            main.update_or_create_student(student)
            try:
                main.remove_submission(assignment, student)
            except MissingEntry:
                pass
            with main.db.no_autoflush:
                new = main.add_submission(
                    assignment, student, timestamp=sub.timestamp, extension=sub.extension
                )
            notebooks = {nb.name: nb for nb in new.notebooks}
            for nb in sub.notebooks:
                target = notebooks[nb.name]
                target.flagged = nb.flagged
                target.late_submission_penalty = nb.late_submission_penalty
                grades = {g.name: g for g in target.grades}
                for grade in nb.grades:
                    mine = grades[grade.name]
                    mine.auto_score, mine.manual_score = grade.auto_score, grade.manual_score
                    mine.extra_credit = grade.extra_credit
                    mine.needs_manual_grade = grade.needs_manual_grade
                comments = {c.name: c for c in target.comments}
                for comment in nb.comments:
                    comments[comment.name].auto_comment = comment.auto_comment
                    comments[comment.name].manual_comment = comment.manual_comment
            main.db.commit()
            src = shard / "autograded" / student / assignment
            dst = course / "autograded" / student / assignment
            if src.is_dir():
                if dst.exists():
                    shutil.rmtree(dst)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(src, dst)
            merged.append(student)
    return merged


def autograde(
    course: Path,
    assignment: str,
    *,
    submissions: Path | None = None,
    jobs: int = 2,
    timeout: int | None = None,
    fork: bool = True,
    sandboxed: bool | None = None,
    students: list[str] | None = None,
    submitted_at: dict[str, datetime.datetime] | None = None,
    times_source: str = "times",
) -> AutogradeResult:
    """Autograde every submission of ``assignment`` in ``jobs`` parallel shards; scores land in the
    course's gradebook exactly as ``nbgrader autograde`` would put them there.

    ``timeout``: per-cell limit in seconds (default: ``nbgrader_config.py``); ``fork``: start
    kernels from a fork server (see :mod:`ch11lib.grading.forkkernel`); ``sandboxed``: run the
    students' code in the sandbox (default: unless ``CH11_GRADE_UNSANDBOXED=1``); ``students``:
    re-grade only these (the other students' grades, feedback and files are not touched);
    ``submitted_at``: ``{student: time}`` from the LMS, naive UTC (see :func:`collect`). Raises
    :class:`ch11lib.grading.sandbox.SandboxUnavailable`, naming the fix, if it cannot start.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if sandboxed is None:
        sandboxed = not sandbox.unsandboxed()
    if sandboxed:
        sandbox.check()
    course = Path(course).resolve()
    start = time.perf_counter()
    ensure_in_gradebook(course, assignment)
    intake = collect(course, assignment, submissions, students, submitted_at, times_source)
    if students is not None:
        missing = sorted(set(students) - set(intake.students) - set(intake.problems))
        for student in missing:
            intake.problems[student] = "no submission of this assignment"
    students = intake.students
    shards = [students[i::jobs] for i in range(jobs) if students[i::jobs]]
    args = ["autograde", assignment, "--force"]
    if timeout is not None:
        args += [f"--Execute.timeout={timeout}", f"--ExecutePreprocessor.timeout={timeout}"]
    problems = dict(intake.problems)
    graded: list[str] = []
    work = Path(tempfile.mkdtemp(prefix=".autograde-", dir=course))
    try:
        with fork_server(course, assignment) if fork and students else _no_server() as extra:
            if extra:
                args.append(f"--Execute.kernel_name={forkkernel.KERNEL_NAME}")
            logs = course / ".autograde-logs" / assignment  # follow with `tail -f`
            logs.mkdir(parents=True, exist_ok=True)
            processes = []  # (shard folder, its students, nbgrader process)
            try:
                for index, shard_students in enumerate(shards):
                    shard = work / f"shard-{index}"
                    _shard_course(course, shard, assignment, shard_students)
                    env = {
                        **extra,
                        sandbox.UID_ENV: str(
                            20_000_000 + (os.getpid() % 1000) * 100_000 + index * 10_000
                        ),
                    }
                    if not sandboxed:
                        env[sandbox.UNSANDBOXED_ENV] = "1"
                    with (logs / f"{shard.name}.log").open("w", encoding="utf-8") as log:
                        log.write(
                            (
                                sandbox.UNSANDBOXED_WARNING
                                if not sandboxed
                                else "students' code runs in the bubblewrap sandbox"
                            )
                            + "\n"
                        )
                        log.flush()
                        process = subprocess.Popen(
                            [str(Path(sys.executable).parent / "nbgrader"), *args],
                            cwd=shard,
                            env=nbgrader_env(env),
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    processes.append((shard, shard_students, process))
                for shard, _, process in processes:
                    if process.wait() != 0:
                        text = (logs / f"{shard.name}.log").read_text(encoding="utf-8")
                        errors = [line.strip() for line in text.splitlines() if "ERROR" in line]
                        problems[shard.name] = (errors or ["nbgrader failed"])[0][:300]
            finally:
                for _, _, process in processes:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
        for shard, shard_students, _ in processes:
            graded += merge_shard(course, shard, assignment, shard_students)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for student in students:
        if student not in graded:
            problems.setdefault(student, "nbgrader could not autograde this submission")
    with gradebook(course) as gb:  # without a due date, no time is needed
        due = gb.find_assignment(assignment).duedate
    untimed = sorted(s for s in intake.untimed if s in graded) if due is not None else []
    early = times.long_before(submitted_at or {}, due, graded)
    return AutogradeResult(
        sorted(graded),
        problems,
        time.perf_counter() - start,
        jobs,
        bool(sandboxed),
        untimed,
        intake.unmatched_times,
        early,
    )


@contextmanager
def _no_server() -> Iterator[dict[str, str]]:
    yield {}
