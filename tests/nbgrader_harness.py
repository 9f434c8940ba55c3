"""Test harness for the course's nbgrader assignments: real CLI runs and fast in-process grading.

Two ways to grade a notebook, used by the grader tests of every assignment:

**The real pipeline** (slow: one kernel start, torch import and model load per submission)::

    course = Course.create(tmp_path, ["a1_encoder"])       # temp course dir: config + solutions/<a>
    course.generate("a1_encoder")                           # nbgrader generate_assignment (gradebook)
    course.submit("a1_encoder", "alice", course.source_notebook("a1_encoder"))
    course.submit("a1_encoder", "bob", course.release_notebook("a1_encoder"))
    course.autograde("a1_encoder")                          # all submitted students in one call
    course.scores("a1_encoder")        # {"alice": {"test_x": 10.0, ...}, "bob": {...}}
    course.totals("a1_encoder")        # {"alice": 100.0, "bob": 0.0}
    course.generate_feedback("a1_encoder")  # {"alice": Path(.../feedback/alice/a1_encoder/a1_encoder.html)}
    course.export_csv()                # list of row dicts from `nbgrader export`

**In-process grading** (fast: the notebook's cells run in a fresh namespace of *this* process, heavy
imports and loaded models are reused across calls)::

    report = grade_in_process("solutions/a1_encoder/a1_encoder.md",
                              replacements={"attention": "def attention(q, k, v, mask=None): ..."})
    report.score, report.max_score            # 73.0, 86.0 (autograded: auto_score, auto_max)
    report.manual_max, report.total_max       # 14.0, 100.0 (written questions, graded by hand)
    report.cells["test_attention_scaling"]    # CellResult(passed=False, points=0.0, max_points=8.0,
                                              #            error="AssertionError: scores are not ...")
    report.failed()                           # grade_ids of the graded cells that lost points
    grade_submission_in_process(source_md("a1_encoder"), release_ipynb("a1_encoder"))  # as autograde

Like ``nbgrader autograde`` it always runs the *source's* locked cells (tests with hidden tests);
only solution cells come from ``replacements`` (see :func:`submission_replacements`).

It follows nbgrader's rules for a graded test cell: zero points if the cell raises or writes to stderr
(warnings included), the number it displays as its last expression if any (partial credit), full
points otherwise. Cells run in order; a cell that raises does not stop the next ones (as in
``nbgrader autograde``). ``agreement(...)`` compares its verdicts with the real autograder's;
``tests/test_grading_pipeline.py`` checks they agree for every assignment, which is what makes the
mutation tests (``tests/test_mutants.py``) meaningful.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import csv
import importlib.util
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_TIMESTAMP = "2025-01-01 12:00:00.000000 UTC"


def _load_build_module():
    spec = importlib.util.spec_from_file_location(
        "build_assignments", REPO_ROOT / "scripts" / "build_assignments.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


build_assignments = _load_build_module()


def assignment_names() -> list[str]:
    """All assignments of the repository (those with a ``solutions/<a>/<a>.md`` source)."""
    return build_assignments.assignment_names(REPO_ROOT)


def source_md(assignment: str) -> Path:
    """Path of the MyST source of ``assignment`` in the repository."""
    return REPO_ROOT / "solutions" / assignment / f"{assignment}.md"


def release_ipynb(assignment: str) -> Path:
    """Path of the committed student version of ``assignment``."""
    return REPO_ROOT / "assignments" / assignment / f"{assignment}.ipynb"


def load_notebook(path_or_notebook: str | Path | nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook from a MyST ``.md`` source, an ``.ipynb`` file, or a notebook (deep-copied)."""
    if isinstance(path_or_notebook, nbformat.NotebookNode):
        return copy.deepcopy(path_or_notebook)
    path = Path(path_or_notebook)
    if path.suffix == ".md":
        return build_assignments.md_to_notebook(path)
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    raise ValueError(
        f"expected a .md source, an .ipynb file or a notebook, got {path_or_notebook!r}"
    )


def _nbgrader_meta(cell: nbformat.NotebookNode) -> dict[str, Any]:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def graded_cells(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """``{grade_id: points}`` of the autograded test cells (grade, not solution) of a notebook."""
    result = {}
    for cell in notebook.cells:
        meta = _nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            result[meta["grade_id"]] = float(meta.get("points", 0))
    return result


def manual_cells(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """``{grade_id: points}`` of the manually graded cells: written answers (a markdown cell with
    ``grade`` and ``solution``, e.g. ``written_<name>``), manually graded code answers and tasks.

    nbgrader gives them no automatic score (``needs_manual_grade``; an answer left as the stub
    gets 0): a grader scores them in formgrader.
    """
    result = {}
    for cell in notebook.cells:
        meta = _nbgrader_meta(cell)
        if (meta.get("grade") and meta.get("solution")) or meta.get("task"):
            result[meta["grade_id"]] = float(meta.get("points", 0))
    return result


def autograded_points(assignment: str) -> float:
    """Points of ``assignment``'s autograded test cells: what the reference solution gets from
    ``nbgrader autograde`` (its written answers wait for a grader); with :func:`manual_points`
    they add up to 100."""
    return sum(graded_cells(load_notebook(source_md(assignment))).values())


def manual_points(assignment: str) -> float:
    """Points of ``assignment``'s manually graded cells (written questions)."""
    return sum(manual_cells(load_notebook(source_md(assignment))).values())


def solution_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the solution cells (the cells students write), in notebook order."""
    return [
        _nbgrader_meta(c)["grade_id"]
        for c in notebook.cells
        if _nbgrader_meta(c).get("solution") and c.cell_type == "code"
    ]


# --------------------------------------------------------------------------------------------------
# In-process grading
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellResult:
    """Verdict on one graded test cell."""

    grade_id: str
    passed: bool
    points: float
    max_points: float
    error: str | None = None  # "AssertionError: attention weights do not sum to 1 over keys"


@dataclass
class GradeReport:
    """Verdicts on all graded test cells of one notebook run, in notebook order.

    ``cells`` are the autograded test cells (``auto_score`` of ``auto_max``); ``manual`` the manually
    graded cells (written questions), ``{grade_id: points}``, which no automatic run can score: a
    notebook's points are ``total_max = auto_max + manual_max`` (100 for every assignment).
    ``score``/``max_score`` are the autograded ones (what a mutant can win or lose).
    """

    cells: dict[str, CellResult] = field(default_factory=dict)
    # errors raised by non-graded cells (solution or setup cells), keyed by grade_id or "cell-<index>"
    other_errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    manual: dict[str, float] = field(default_factory=dict)

    @property
    def auto_score(self) -> float:
        return sum(c.points for c in self.cells.values())

    @property
    def auto_max(self) -> float:
        return sum(c.max_points for c in self.cells.values())

    @property
    def manual_max(self) -> float:
        return sum(self.manual.values())

    @property
    def total_max(self) -> float:
        return self.auto_max + self.manual_max

    @property
    def score(self) -> float:
        """The autograded score (same as :attr:`auto_score`)."""
        return self.auto_score

    @property
    def max_score(self) -> float:
        """The autograded points (same as :attr:`auto_max`; the manual ones are not included)."""
        return self.auto_max

    def failed(self) -> list[str]:
        """grade_ids of graded cells that did not get full points."""
        return [g for g, c in self.cells.items() if c.points < c.max_points]

    def verdicts(self) -> dict[str, float]:
        """``{grade_id: points}``, comparable with :meth:`Course.scores`."""
        return {g: c.points for g, c in self.cells.items()}

    def summary(self) -> str:
        lines = [f"autograded {self.auto_score:g}/{self.auto_max:g}"]
        if self.manual:
            written = ", ".join(f"{g} {p:g}" for g, p in self.manual.items())
            lines[0] += f", manually graded (not scored here) {self.manual_max:g}: {written}"
        for c in self.cells.values():
            mark = "ok  " if c.passed else "FAIL"
            lines.append(f"  {mark} {c.grade_id} {c.points:g}/{c.max_points:g} {c.error or ''}")
        for where, error in self.other_errors.items():
            lines.append(f"  error in {where}: {error}")
        return "\n".join(lines)


class CellTimeoutError(Exception):
    """A cell ran longer than the in-process time limit (nbgrader interrupts it the same way)."""


_MODEL_CACHE: dict[tuple, Any] = {}
_TOKENIZER_CACHE: dict[str, Any] = {}
_DATASET_CACHE: dict[tuple, Any] = {}


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


@contextlib.contextmanager
def _cached_resources() -> Iterator[None]:
    """Make ``ch11lib.resources`` loaders memoised for the duration of an in-process run.

    A cached model is handed out as is; when the run is over its parameters are fingerprinted again
    and a model whose weights were changed in place is dropped from the cache, so the next run loads
    a fresh one. Tokenizers and data sets are shared (normal code does not mutate them in place).
    """
    from unittest import mock

    from ch11lib import resources

    original_model, original_tok = resources.load_model, resources.load_tokenizer
    original_data = resources.load_dataset

    def load_model(name: str = "encoder", model_class: Any = None, **kwargs: Any):
        key = (name, model_class, _freeze(kwargs), resources.get_source())
        if key not in _MODEL_CACHE:
            model = original_model(name, model_class, **kwargs)
            _MODEL_CACHE[key] = (model, _fingerprint(model))
        handed_out.add(key)
        return _MODEL_CACHE[key][0].eval()

    def load_tokenizer(name: str = "encoder"):
        key = (name, resources.get_source())
        if key not in _TOKENIZER_CACHE:
            _TOKENIZER_CACHE[key] = original_tok(name)
        return _TOKENIZER_CACHE[key]

    def load_dataset(name: str, **kwargs: Any):
        key = (name, _freeze(kwargs), resources.get_source())
        if key not in _DATASET_CACHE:
            _DATASET_CACHE[key] = original_data(name, **kwargs)
        return _DATASET_CACHE[key]

    handed_out: set[tuple] = set()
    try:
        with (
            mock.patch.object(resources, "load_model", load_model),
            mock.patch.object(resources, "load_tokenizer", load_tokenizer),
            mock.patch.object(resources, "load_dataset", load_dataset),
        ):
            yield
    finally:
        for key in handed_out:
            model, fingerprint = _MODEL_CACHE[key]
            if _fingerprint(model) != fingerprint or model.training:
                del _MODEL_CACHE[key]


def _fingerprint(model: Any) -> tuple[tuple[str, int, int], ...]:
    # Every in-place change of a tensor bumps its version counter; assigning a new tensor changes
    # its storage pointer. Cheap, and it sees changes made under torch.no_grad() too.
    return tuple(
        (name, t.data_ptr(), t._version) for name, t in model.state_dict(keep_vars=True).items()
    )


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    usable = seconds and hasattr(signal, "setitimer")
    if usable:
        import threading

        usable = threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CellTimeoutError(f"cell did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_cell(source: str, namespace: dict[str, Any], filename: str) -> Any:
    """Execute ``source`` like IPython: statements, then the value of a final bare expression."""
    if any(line.lstrip().startswith(("%", "!")) for line in source.splitlines()):
        raise ValueError(
            f"{filename}: IPython magics and shell escapes are not supported in assignments"
        )
    tree = ast.parse(source, filename=filename)
    last_value = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), namespace)  # noqa: S102
        last_value = eval(compile(last, filename, "eval"), namespace)  # noqa: S307
    else:
        exec(compile(tree, filename, "exec"), namespace)  # noqa: S102
    return last_value


def _partial_points(value: Any, max_points: float) -> float:
    from nbgrader.utils import get_partial_grade

    return float(get_partial_grade({"data": {"text/plain": repr(value)}}, max_points))


@contextlib.contextmanager
def _environment(**variables: str) -> Iterator[None]:
    """Set environment variables for the block only (this process is shared by many tests)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def grade_in_process(
    notebook: str | Path | nbformat.NotebookNode,
    replacements: Mapping[str, str] | None = None,
    *,
    cell_timeout: float | None = 120.0,
) -> GradeReport:
    """Run a notebook's code cells in one fresh namespace here and grade its test cells.

    ``notebook``: a MyST source (``solutions/<a>/<a>.md``), an ``.ipynb`` (e.g. the release), or a
    notebook object. ``replacements``: ``{grade_id: new_source}`` for solution cells, e.g. a wrong
    implementation from ``tests/mutants/<a>.py``. Output of the cells is swallowed. Models loaded
    through ``ch11lib.resources`` are cached across calls.

    Raises ``KeyError`` for a replacement whose grade_id is not a solution cell of the notebook.
    """
    nb = load_notebook(notebook)
    replacements = dict(replacements or {})
    solutions = set(solution_cells(nb))
    unknown = sorted(set(replacements) - solutions)
    if unknown:
        raise KeyError(
            f"no solution cell with grade_id {unknown}; solution cells: {sorted(solutions)}"
        )

    report = GradeReport(manual=manual_cells(nb))
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    start = time.perf_counter()
    with _cached_resources(), _environment(MPLBACKEND="Agg"), warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            meta = _nbgrader_meta(cell)
            grade_id = meta.get("grade_id", f"cell-{index}")
            source = replacements.get(grade_id, cell.source)
            is_test = bool(meta.get("grade")) and not meta.get("solution")
            stdout, stderr = io.StringIO(), io.StringIO()
            error: str | None = None
            value = None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                try:
                    with (
                        contextlib.redirect_stdout(stdout),
                        contextlib.redirect_stderr(stderr),
                        _time_limit(cell_timeout),
                    ):
                        value = _run_cell(source, namespace, f"<cell {grade_id}>")
                except KeyboardInterrupt:
                    raise  # the person running the tests pressed Ctrl-C
                except BaseException as exc:  # noqa: BLE001  (a student's cell may raise anything)
                    error = f"{type(exc).__name__}: {exc}"
            shown = [w for w in caught if not issubclass(w.category, DeprecationWarning)]
            if error is None and (stderr.getvalue() or shown):
                text = stderr.getvalue() or str(shown[0].message)
                error = f"wrote to stderr (nbgrader gives 0 points): {text.strip()[:300]}"
            if not is_test:
                if error is not None:
                    report.other_errors[grade_id] = error
                continue
            max_points = float(meta.get("points", 0))
            if error is not None:
                points = 0.0
            elif value is not None:
                points = _partial_points(value, max_points)
            else:
                points = max_points
            report.cells[grade_id] = CellResult(
                grade_id, error is None and points == max_points, points, max_points, error
            )
    report.seconds = time.perf_counter() - start
    return report


def submission_replacements(submission: str | Path | nbformat.NotebookNode) -> dict[str, str]:
    """``{grade_id: source}`` of the solution cells of a student's notebook (e.g. the release).

    nbgrader's autograder takes only the solution cells from a submission and restores every locked
    cell (tests included, hidden tests re-inserted) from the gradebook, so grading a submission
    in-process is ``grade_in_process(source, submission_replacements(submission))``.
    """
    nb = load_notebook(submission)
    return {
        _nbgrader_meta(c)["grade_id"]: c.source
        for c in nb.cells
        if _nbgrader_meta(c).get("solution") and c.cell_type == "code"
    }


def grade_submission_in_process(
    source: str | Path | nbformat.NotebookNode,
    submission: str | Path | nbformat.NotebookNode,
    **kwargs: Any,
) -> GradeReport:
    """Grade a student's notebook in-process as nbgrader would: its answers, the source's tests."""
    return grade_in_process(source, submission_replacements(submission), **kwargs)


# --------------------------------------------------------------------------------------------------
# The real nbgrader CLI in a temporary course directory
# --------------------------------------------------------------------------------------------------


def nbgrader_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses: the venv's bin first (nbgrader's gradebook runs
    ``alembic`` from PATH), no progress bars, a non-interactive matplotlib backend."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TQDM_DISABLE", "1")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


@dataclass
class Course:
    """A temporary nbgrader course directory (config, solutions, gradebook) driven through the CLI."""

    root: Path

    @classmethod
    def create(
        cls,
        directory: Path,
        assignments: list[str] | None = None,
        *,
        sources: Mapping[str, Path] | None = None,
    ) -> Course:
        """Copy ``nbgrader_config.py`` and ``solutions/<a>`` (source .md, freshly built .ipynb) there.

        ``sources``: ``{assignment: path of a MyST .md}`` for assignments that are not the course's
        (e.g. ``tests/fixtures/w0_written/w0_written.md``, a tiny one that imports nothing heavy);
        with ``sources`` and no ``assignments`` only those are copied.
        """
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        chosen = {n: source_md(n) for n in (assignments or ([] if sources else assignment_names()))}
        chosen.update(sources or {})
        for name, md in chosen.items():
            target = root / "solutions" / name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(md, target / f"{name}.md")
            build_assignments.write_source_notebook(target / f"{name}.md")
        return cls(root)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``nbgrader <args>`` in the course directory; raise :class:`NbgraderError` on failure."""
        cmd = [str(VENV_BIN / "nbgrader"), *args]
        result = subprocess.run(
            cmd, cwd=self.root, env=nbgrader_env(), capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise NbgraderError(
                f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def source_notebook(self, assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "solutions" / assignment / f"{assignment}.ipynb", 4)

    def autograded_points(self, assignment: str) -> float:
        """:func:`autograded_points` of this course's copy of the source (the repository's may
        have changed since the course was made)."""
        return sum(graded_cells(self.source_notebook(assignment)).values())

    def release_notebook(self, assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "assignments" / assignment / f"{assignment}.ipynb", 4)

    def generate(self, assignment: str) -> Path:
        """``nbgrader generate_assignment`` with the gradebook (autograde needs it); the release."""
        self.run("generate_assignment", assignment, "--force")
        return self.root / "assignments" / assignment / f"{assignment}.ipynb"

    def submit(
        self,
        assignment: str,
        student: str,
        notebook: nbformat.NotebookNode | Path,
        timestamp: str = DEFAULT_TIMESTAMP,
    ) -> Path:
        """Place a student's notebook in ``submitted/<student>/<assignment>/`` with timestamp.txt."""
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nb = load_notebook(notebook)
        path = folder / f"{assignment}.ipynb"
        nbformat.write(nb, path)
        (folder / "timestamp.txt").write_text(timestamp + "\n", encoding="utf-8")
        return path

    def autograde(
        self, assignment: str, *extra_args: str, timeout: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Autograde every submitted student of ``assignment`` in one call.

        ``timeout`` overrides the per-cell time limit of ``nbgrader_config.py`` for this run.
        """
        args = ["autograde", assignment, "--force", *extra_args]
        if timeout is not None:
            args += [f"--Execute.timeout={timeout}", f"--ExecutePreprocessor.timeout={timeout}"]
        return self.run(*args)

    def _gradebook(self):
        os.environ["PATH"] = nbgrader_env()["PATH"]  # Gradebook() calls `alembic` from PATH
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url)

    def scores(self, assignment: str) -> dict[str, dict[str, float]]:
        """``{student: {grade_id: points}}`` for the autograded test cells, from the gradebook
        (manually graded cells are in :meth:`manual_grades`)."""
        result: dict[str, dict[str, float]] = {}
        with self._gradebook() as gb:
            for submission in gb.assignment_submissions(assignment):
                cells: dict[str, float] = {}
                for notebook in submission.notebooks:
                    manual = _manual_names(notebook.notebook)
                    for grade in notebook.grades:
                        if grade.name not in manual:
                            cells[grade.name] = float(grade.score)
                result[submission.student_id] = cells
        return result

    def manual_grades(self, assignment: str) -> dict[str, dict[str, tuple[float | None, bool]]]:
        """``{student: {grade_id: (score, needs_manual_grade)}}`` of the manually graded cells.

        After autograding, a written answer has score ``None`` and needs a manual grade; one left as
        the stub has score 0 and needs none (nbgrader's rule); a grader's score replaces both.
        """
        result: dict[str, dict[str, tuple[float | None, bool]]] = {}
        with self._gradebook() as gb:
            for submission in gb.assignment_submissions(assignment):
                cells: dict[str, tuple[float | None, bool]] = {}
                for notebook in submission.notebooks:
                    manual = _manual_names(notebook.notebook)
                    for grade in notebook.grades:
                        if grade.name in manual:
                            score = grade.manual_score
                            if score is None:
                                score = grade.auto_score
                            cells[grade.name] = (score, bool(grade.needs_manual_grade))
                result[submission.student_id] = cells
        return result

    def set_manual_grade(
        self, assignment: str, student: str, grade_id: str, score: float, comment: str = ""
    ) -> None:
        """Score a manually graded cell as a grader does in formgrader (and comment on it)."""
        with self._gradebook() as gb:
            submission = gb.find_submission(assignment, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name == grade_id:
                        grade.manual_score = float(score)
                        grade.needs_manual_grade = False
                        for c in notebook.comments:
                            if c.name == grade_id and comment:
                                c.manual_comment = comment
                        gb.db.commit()
                        return
        raise KeyError(f"{student} has no grade {grade_id!r} in {assignment}")

    def totals(self, assignment: str) -> dict[str, float]:
        """``{student: total score}`` from the gradebook."""
        with self._gradebook() as gb:
            return {s.student_id: float(s.score) for s in gb.assignment_submissions(assignment)}

    def generate_feedback(self, assignment: str) -> dict[str, Path]:
        """``nbgrader generate_feedback``; ``{student: feedback html path}``."""
        self.run("generate_feedback", assignment, "--force")
        return {
            p.parent.parent.name: p
            for p in sorted((self.root / "feedback").glob(f"*/{assignment}/{assignment}.html"))
        }

    def export_csv(self) -> list[dict[str, str]]:
        """``nbgrader export`` to CSV; the rows as dicts."""
        out = self.root / "grades.csv"
        self.run("export", "--to", str(out))
        with out.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def autograded_notebook(self, assignment: str, student: str) -> nbformat.NotebookNode:
        """The executed notebook nbgrader wrote to ``autograded/<student>/<assignment>/``."""
        path = self.root / "autograded" / student / assignment / f"{assignment}.ipynb"
        return nbformat.read(path, 4)


def _manual_names(notebook: Any) -> set[str]:
    from ch11lib.grading.grades import manual_names

    return manual_names(notebook)


def agreement(report: GradeReport, autograded: Mapping[str, float]) -> list[str]:
    """Where the in-process verdicts and nbgrader's gradebook scores differ (empty when they agree)."""
    problems = []
    for grade_id in sorted(set(report.cells) | set(autograded)):
        mine = report.cells[grade_id].points if grade_id in report.cells else None
        theirs = autograded.get(grade_id)
        if mine is None or theirs is None or abs(mine - theirs) > 1e-9:
            detail = report.cells[grade_id].error if grade_id in report.cells else ""
            problems.append(f"{grade_id}: in-process {mine}, nbgrader {theirs} ({detail})")
    return problems
