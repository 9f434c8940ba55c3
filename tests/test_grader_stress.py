"""The grader under stress: adversarial submissions in one autograde batch per assignment.

For every assignment in ``solutions/`` one class is autograded (``ch11lib.grading.batch``: sharded
``nbgrader autograde``; the students' cells in a sandboxed kernel, the tests in a trusted one where the
answers are proxies) with the network blocked and a short per-cell time limit. The class:

``blank``         the untouched release (0 points);
``noisy``         right answers, plus a first cell that raises, a cell printing megabytes, and extra
                  files next to the notebook (a ``torch.py`` and ``ch11lib.py`` that would shadow the
                  real modules, a data file, a second notebook): full marks;
``loop``          the first answer loops forever: cut by the time limit, the rest is graded;
``edited_tests``  wrong answers whose failing tests were edited to ``pass``, deleted, or turned into
                  Markdown: the tests are restored and still fail;
``tamper``        wrong answers plus a cell that patches ``torch.allclose``, ``numpy.testing``,
                  ``math.isclose`` ... and redefines the test helpers as no-ops;
``tamper_early``  the same patches in a first cell, before any locked cell ran;
``tamper_call``   wrong answers wrapped so that calling one (as a test does) applies the patches
                  (in the student's kernel: the trusted kernel that runs the tests never sees them);
``shortcut``      (a1-a4) an answer that calls the library's implementation the tests switch off
                  (``F.scaled_dot_product_attention``, ``ch11lib.masking``, ``ch11lib.spans``): the
                  switch reaches the student's kernel, and the answer loses those points;
``invalid_json``  a file that is not a notebook: not graded, but the student has a row (0).

"Graded correctly" means: per test, the points the in-process grader gives the student's *answers*
(its solution cells) run with the untouched source tests (``nbgrader_harness.grade_in_process``, whose
agreement with nbgrader is checked in ``test_grading_pipeline.py``). Also checked: every student is in
the export, feedback HTML and releases show no hidden test source (tracebacks included), and no grading
process opened a connection beyond localhost.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import netblock
import pytest
from nbgrader_harness import (
    REPO_ROOT,
    Course,
    GradeReport,
    assignment_names,
    grade_in_process,
    graded_cells,
    load_notebook,
    solution_cells,
    source_md,
    submission_replacements,
)

from ch11lib.grading import batch as ag
from ch11lib.grading.cells import bound_names
from ch11lib.grading.cli import check_leaks, hidden_test_lines, html_text, leaks, write_report

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader-stress")]

# per-cell limit of the stress run (at least; real grading: 120 s), so the looping student is cut soon.
# 20 s once cut a legitimate a4 cell on a heavily loaded CI machine (a cold sandboxed kernel loads
# MiniLM and encodes the WSD examples); 40 s leaves room for that and costs 20 s per looping student.
CELL_TIMEOUT_S = int(os.environ.get("CH11_STRESS_TIMEOUT", "40"))
MB = 1_000_000


def _tamper_source(helpers: list[str]) -> str:
    """A student cell that makes every comparison pass and every test helper a no-op."""
    lines = [
        "import math",
        "math.isclose = lambda *args, **kwargs: True",
        "try:",
        "    import torch",
        "    for _name in ('allclose', 'equal'):",
        "        setattr(torch, _name, lambda *args, **kwargs: True)",
        "        setattr(torch.Tensor, _name, lambda *args, **kwargs: True)",
        "    torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)",
        "    torch.testing.assert_close = lambda *args, **kwargs: None",
        "except ImportError:",
        "    pass",
        "try:",
        "    import numpy",
        "    import numpy.testing",
        "    numpy.allclose = numpy.array_equal = lambda *args, **kwargs: True",
        "    for _name in ('assert_allclose', 'assert_array_equal', 'assert_almost_equal'):",
        "        setattr(numpy.testing, _name, lambda *args, **kwargs: None)",
        "except ImportError:",
        "    pass",
    ]
    for helper in helpers:
        lines += [f"def {helper}(*args, **kwargs):", "    return None"]
    return "\n".join(lines) + "\n"


def _call_time_tamper_source(helpers: list[str], answers: list[str]) -> str:
    """A student cell wrapping the answers so that *calling* one (as a test does) patches torch and
    the helpers: the patch happens inside the test cell, after the guard's restore."""
    patch = textwrap.indent(_tamper_source([]), "        ")
    helper_lines = "".join(
        f"        globals()[{h!r}] = lambda *args, **kwargs: None\n" for h in helpers
    )
    return (
        "import functools\n\n\n"
        "def _sneaky(function):\n"
        "    @functools.wraps(function)\n"
        "    def wrapper(*args, **kwargs):\n"
        "        result = function(*args, **kwargs)\n"
        f"{patch}{helper_lines}"
        "        return result\n"
        "    return wrapper\n\n\n"
        f"for _name in {sorted(answers)!r}:\n"
        "    if callable(globals().get(_name)):\n"
        "        globals()[_name] = _sneaky(globals()[_name])\n"
    )


def _locked_helpers(source: nbformat.NotebookNode) -> list[str]:
    """Functions defined by the locked setup cells (the helpers tests call, e.g. check_close)."""
    import ast

    names = []
    for cell in source.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("grade"):
            tree = ast.parse(cell.source)
            names += [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    return names


# A wrong answer that calls what the tests switch off (mock.patch, a swapped __code__), per assignment.
SHORTCUTS = {
    "a1_encoder": "attention_uses_torch_sdpa",
    "a2_mlm": "mask_wraps_the_course_library",
    "a3_nsp_spans": "lengths_wrap_the_course_library",
    "a4_representations": "senses_wrap_the_course_library",
}


def _wrong_answers(name: str, which: str | None = None) -> dict[str, str]:
    """The first (or the named) wrong implementation of ``tests/mutants/<name>.py`` ({} if none)."""
    path = REPO_ROOT / "tests" / "mutants" / f"{name}.py"
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(f"stress_mutants_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if which is not None:
        return dict(module.WRONG[which])
    return dict(next(iter(module.WRONG.values()), {}))


def _students(name: str) -> set[str]:
    return {
        *("blank", "noisy", "loop", "edited_tests", "invalid_json"),
        *("tamper", "tamper_early", "tamper_call"),
        *(("shortcut",) if name in SHORTCUTS else ()),
    }


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _with_answers(
    notebook: nbformat.NotebookNode, answers: dict[str, str]
) -> nbformat.NotebookNode:
    nb = load_notebook(notebook)
    for cell in nb.cells:
        if _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
    return nb


@dataclass
class Batch:
    """One assignment's adversarial class, autograded, with the expected verdicts."""

    course: Course
    result: ag.AutogradeResult
    expected: dict[str, GradeReport] = field(default_factory=dict)
    edited: dict[str, str] = field(default_factory=dict)  # how edited_tests changed which test
    netlog: Path | None = None


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Batch]:
    return {}


def _build_batch(name: str, root: Path) -> Batch:
    course = Course.create(root / "course", [name])
    course.generate(name)
    source, release = course.source_notebook(name), course.release_notebook(name)
    right = submission_replacements(source)
    wrong = {**right, **_wrong_answers(name)}
    first_answer = solution_cells(source)[0]
    looping = {**right, first_answer: "while True:\n    pass\n"}
    # the loop's cell ends in an error and defines nothing, like a cell that raises at once
    interrupted = {**right, first_answer: "raise RuntimeError('interrupted')"}

    def oracle(answers: dict[str, str]) -> GradeReport:
        # no time limit in-process: a limit could cut a slow first import and break it for good
        return grade_in_process(source_md(name), answers, cell_timeout=None)

    with_wrong_answers = oracle(wrong)  # the same answers, however they are dressed up
    expected = {
        "blank": oracle(submission_replacements(release)),
        "noisy": oracle(right),
        "loop": oracle(interrupted),
        **dict.fromkeys(
            ("edited_tests", "tamper", "tamper_early", "tamper_call"), with_wrong_answers
        ),
    }
    shortcut = {**right, **_wrong_answers(name, SHORTCUTS[name])} if name in SHORTCUTS else None
    if shortcut is not None:
        expected["shortcut"] = oracle(shortcut)
    # The limit must cut the loop, never a legitimate cell: no cell takes longer than the whole
    # reference notebook did in-process (on a busy machine that can exceed CELL_TIMEOUT_S).
    timeout = max(CELL_TIMEOUT_S, math.ceil(1.5 * expected["noisy"].seconds))
    incoming = root / "incoming"

    def hand_in(student: str, nb: nbformat.NotebookNode) -> Path:
        folder = incoming / student
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{name}.ipynb")
        return folder

    hand_in("blank", release)

    noisy = _with_answers(release, right)
    noisy.cells.insert(0, nbformat.v4.new_code_cell("raise RuntimeError('the first cell raises')"))
    noisy.cells.insert(
        1, nbformat.v4.new_code_cell(f"print('x' * {3 * MB})\nprint('y\\n' * 200000)")
    )
    folder = hand_in("noisy", noisy)
    (folder / "torch.py").write_text("raise ImportError('a student file shadows torch')\n")
    (folder / "ch11lib.py").write_text("raise ImportError('a student file shadows ch11lib')\n")
    (folder / "notes.txt").write_text("my notes\n")
    nbformat.write(nbformat.v4.new_notebook(), folder / "scratch.ipynb")

    hand_in("loop", _with_answers(release, looping))
    if shortcut is not None:
        hand_in("shortcut", _with_answers(release, shortcut))

    edited = _with_answers(release, wrong)
    failing = expected["edited_tests"].failed()
    targets = [*failing, *(g for g in graded_cells(source) if g not in failing)][:3]
    edits = dict(zip(["edit", "delete", "markdown"], targets, strict=False))
    batch_edits = {}
    for how, grade_id in edits.items():
        cell = next(c for c in edited.cells if _grade_id(c) == grade_id)
        batch_edits[grade_id] = how
        if how == "edit":
            cell.source = "pass"
        elif how == "delete":
            edited.cells.remove(cell)
        else:
            cell.cell_type = "markdown"
            for key in ("outputs", "execution_count"):
                cell.pop(key, None)
    hand_in("edited_tests", edited)

    tamper_cell = nbformat.v4.new_code_cell(_tamper_source(_locked_helpers(source)))
    tampered = _with_answers(release, wrong)
    index = next(i for i, c in enumerate(tampered.cells) if _grade_id(c) == first_answer)
    tampered.cells.insert(index + 1, tamper_cell)
    hand_in("tamper", tampered)
    early = _with_answers(release, wrong)
    early.cells.insert(0, nbformat.v4.new_code_cell(tamper_cell.source))
    hand_in("tamper_early", early)
    answer_names = sorted(set().union(*(bound_names(right[g]) for g in solution_cells(source))))
    calling = _with_answers(release, wrong)
    last = max(i for i, c in enumerate(calling.cells) if _grade_id(c) in right)
    calling.cells.insert(
        last + 1,
        nbformat.v4.new_code_cell(_call_time_tamper_source(_locked_helpers(source), answer_names)),
    )
    hand_in("tamper_call", calling)

    (incoming / "invalid_json").mkdir()
    (incoming / "invalid_json" / f"{name}.ipynb").write_text(
        '{"cells": [ {"oops"', encoding="utf-8"
    )

    # every Python process of the run (nbgrader, the fork server, the kernels) blocks the network
    netlog = root / "network.log"
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in netblock.blocker_env(root / "site", netlog).items():
            patch.setenv(variable, value)
        result = ag.autograde(course.root, name, submissions=incoming, jobs=1, timeout=timeout)
        course.generate_feedback(name)
    print(
        f"{name}: cell limit {timeout} s; {len(result.graded)} adversarial submissions in "
        f"{result.seconds:.0f} s ({result.seconds_per_submission:.1f} s each)"
    )
    return Batch(course, result, expected, batch_edits, netlog)


@pytest.fixture(params=assignment_names())
def batch(request: pytest.FixtureRequest, batches: dict[str, Batch], tmp_path_factory) -> Batch:
    name = request.param
    if name not in batches:
        batches[name] = _build_batch(name, tmp_path_factory.mktemp(f"stress-{name}"))
    return batches[name]


def _assignment(batch: Batch) -> str:
    return next(p.name for p in (batch.course.root / "solutions").iterdir())


def test_every_submission_is_graded_as_its_answers_deserve(batch: Batch) -> None:
    name = _assignment(batch)
    scores = batch.course.scores(name)
    for student in ("blank", "noisy", "loop", "edited_tests", "tamper", "shortcut"):
        if student not in batch.expected:
            continue
        want = batch.expected[student]
        got = scores[student]
        wrong = {g: (got.get(g), c.points) for g, c in want.cells.items() if got.get(g) != c.points}
        assert not wrong, f"{name}/{student}: (autograded, expected) {wrong}\n{want.summary()}"
    top = batch.course.autograded_points(name)  # the written answers wait for a grader
    assert batch.course.totals(name)["noisy"] == top
    assert batch.course.totals(name)["blank"] == 0
    assert batch.expected["tamper"].score < batch.expected["tamper"].max_score, (
        "the wrong answers of the tamper test get full marks"
    )
    if "shortcut" in batch.expected:  # the switched-off library costs points (it can fail)
        shortcut = batch.expected["shortcut"]
        assert shortcut.score < shortcut.max_score, f"{name}: the shortcut is not caught"


def _assert_tampering_gains_nothing(batch: Batch, student: str, what: str) -> None:
    """The student's grades are exactly what its answers deserve, never more."""
    name = _assignment(batch)
    got = batch.course.scores(name)[student]
    want = batch.expected[student]
    gained = {g: (got[g], c.points) for g, c in want.cells.items() if got[g] > c.points}
    assert not gained, f"{name}: {what} gained points: {gained}"
    assert got == want.verdicts(), f"{name}: {got} != {want.verdicts()}"


def test_tampering_early_gains_nothing(batch: Batch) -> None:
    # the patches live in the student's kernel; the tests run in the trusted one
    _assert_tampering_gains_nothing(batch, "tamper_early", "patching before the first locked cell")


def test_patching_from_inside_a_test_gains_nothing(batch: Batch) -> None:
    # patching during a call changes the student's kernel only: the verdicts are the answers'
    _assert_tampering_gains_nothing(batch, "tamper_call", "answers that patch torch when called")


def test_infinite_loop_is_cut(batch: Batch) -> None:
    name = _assignment(batch)
    notebook = batch.course.autograded_notebook(name, "loop")
    first = solution_cells(batch.course.source_notebook(name))[0]
    cell = next(c for c in notebook.cells if _grade_id(c) == first)
    enames = [o.get("ename") for o in cell.outputs if o.output_type == "error"]
    assert enames and enames[0] in ("KeyboardInterrupt", "CellTimeoutError"), enames


def test_huge_output_is_truncated_and_extra_files_ignored(batch: Batch) -> None:
    name = _assignment(batch)
    folder = batch.course.root / "autograded" / "noisy" / name
    assert (folder / f"{name}.ipynb").stat().st_size < MB, "megabytes of output were kept"
    assert not (folder / "torch.py").exists() and not (folder / "ch11lib.py").exists()


def test_edited_deleted_and_retyped_tests_are_restored(batch: Batch) -> None:
    name = _assignment(batch)
    notebook = batch.course.autograded_notebook(name, "edited_tests")
    source = {_grade_id(c): c for c in batch.course.source_notebook(name).cells}
    for grade_id, how in batch.edited.items():
        cells = [c for c in notebook.cells if _grade_id(c) == grade_id]
        assert len(cells) == 1, f"{grade_id} ({how}) is not in the autograded notebook once"
        assert cells[0].cell_type == "code", f"{grade_id} ({how}) was not turned back into code"
        assert source[grade_id].source.strip() in cells[0].source, (
            f"{grade_id} ({how}) not restored"
        )


def test_every_student_has_a_row_in_the_export(batch: Batch) -> None:
    name = _assignment(batch)
    rows = {r["student_id"]: r for r in batch.course.export_csv() if r["assignment"] == name}
    students = _students(name)
    assert set(rows) == students
    assert float(rows["invalid_json"]["score"]) == 0
    assert "invalid_json" in batch.result.problems
    assert sorted(batch.result.graded) == sorted(students - {"invalid_json"})


def test_no_hidden_test_source_reaches_students(batch: Batch) -> None:
    name = _assignment(batch)
    feedback = sorted((batch.course.root / "feedback").glob(f"*/{name}/*.html"))
    assert len(feedback) == len(_students(name)) - 1, feedback
    hidden = hidden_test_lines(batch.course.source_notebook(name))
    assert hidden, "no hidden test lines found: the leak check would be vacuous"
    page = html_text(feedback[0].read_text(encoding="utf-8"))
    assert not leaks(page, hidden) and leaks(page + "\n" + hidden[0], hidden)  # it can fail
    assert not check_leaks(batch.course.root, name)
    # and the committed release of the repository
    assert not check_leaks(REPO_ROOT, name)


def test_grading_never_reaches_the_network(batch: Batch, tmp_path: Path) -> None:
    # the blocker works: a process started like the graders cannot connect out, and is logged
    netblock.assert_blocker_works(tmp_path)
    assert batch.netlog is not None
    assert any("nbgrader" in p for p in netblock.guarded_processes(batch.netlog)), (
        "the grading processes did not run with the network blocker"
    )
    attempts = netblock.read_log(batch.netlog)
    assert not attempts, f"grading tried to reach the network:\n{attempts[:1000]}"


def test_class_report_reads_the_gradebook(batch: Batch) -> None:
    name = _assignment(batch)
    report = write_report(batch.course.root, name)
    text = report.read_text(encoding="utf-8")
    for png in ("totals.png", "per_test.png"):
        assert (report.parent / png).stat().st_size > 1000 and f"({png})" in text
    scores = batch.course.scores(name)
    tops = batch.expected["noisy"].cells
    lost = {g: sum(s[g] < tops[g].max_points for s in scores.values()) for g in tops}
    worst = min(lost, key=lambda g: (-lost[g], g))  # the report's first row
    assert f"`{worst}`" in text.split("## Tests students fail most")[1].split("\n")[4]
    assert f"{len(scores)} autograded submissions" in text
