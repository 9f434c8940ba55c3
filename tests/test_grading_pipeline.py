"""The real nbgrader pipeline, end to end, in a temporary course directory.

For every assignment: generate the release with a gradebook, submit the reference solution and the
untouched release as two students, autograde them in one call, and check the scores (100 and 0) and
that the in-process grader used by the mutation tests gives the same per-cell verdicts.

For assignment 1 also: a student who rewrote a locked test cell to ``assert True`` (nbgrader restores
it, so it fails), a student whose cell loops forever (cut by the per-cell timeout while the other
cells still get graded), feedback HTML that shows failure messages but never hidden tests' source or
traceback lines, and ``nbgrader export`` with one row per student.

Autograding costs a kernel start, the torch import and a model load per submission, so all students
of an assignment are graded in one call; the tests share one module-scoped course.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from nbgrader_harness import (
    Course,
    GradeReport,
    agreement,
    assignment_names,
    grade_in_process,
    grade_submission_in_process,
    load_notebook,
    release_ipynb,
    source_md,
    submission_replacements,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader-pipeline")]

PIPELINE = "a1_encoder"  # the assignment whose edge cases are exercised here
# Per-cell limit for this run (nbgrader_config.py sets 120 s for real grading). It must leave room for
# the setup cell (torch import + MiniLM load, ~10 s on 2 idle cores) and is what the loop costs.
LOOP_TIMEOUT_S = 60

# A wrong attention (no sqrt(d_k)) whose student also rewrote the locked test to pass.
TAMPERED_ATTENTION = """def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
"""
# Fails only in the hidden part of test_embeddings (right on the visible 3-token hand case, wrong from
# position 3 on): its traceback would print hidden source lines.
HIDDEN_FAIL_EMBED = """def embed(input_ids, token_type_ids, p):
    positions = torch.arange(input_ids.shape[1]).clamp(max=2)
    summed = p["E_tok"][input_ids] + p["E_pos"][positions] + p["E_seg"][token_type_ids]
    return layer_norm(summed, p["ln_gamma"], p["ln_beta"], LN_EPS)
"""
# Loops before defining feed_forward: that cell is interrupted, the later cells still run.
LOOPING_FFN = "while True:\n    pass\n"


def _with_sources(
    notebook: nbformat.NotebookNode, sources: dict[str, str]
) -> nbformat.NotebookNode:
    nb = load_notebook(notebook)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return nb


class Graded:
    """The shared course; each assignment is generated, submitted and autograded on first use."""

    def __init__(self, course: Course) -> None:
        self.course = course
        self.submissions: dict[tuple[str, str], nbformat.NotebookNode] = {}
        self.seconds_per_submission: dict[str, float] = {}

    def students(self, name: str) -> dict[str, nbformat.NotebookNode]:
        course = self.course
        students = {
            "solution": course.source_notebook(name),
            "blank": course.release_notebook(name),
        }
        if name == PIPELINE:
            others = {
                g: s
                for g, s in submission_replacements(course.source_notebook(name)).items()
                if g not in ("attention", "embeddings")
            }
            students["tampered"] = _with_sources(
                course.release_notebook(name),
                {
                    **others,
                    "attention": TAMPERED_ATTENTION,
                    "test_attention_values": "assert True",
                    "embeddings": HIDDEN_FAIL_EMBED,
                },
            )
            students["looping"] = _with_sources(
                course.source_notebook(name), {"feed_forward": LOOPING_FFN}
            )
        return students

    def __call__(self, name: str) -> Course:
        if name not in self.seconds_per_submission:
            self.course.generate(name)
            students = self.students(name)
            for student, notebook in students.items():
                self.course.submit(name, student, notebook)
                self.submissions[(name, student)] = notebook
            start = time.perf_counter()
            self.course.autograde(name, timeout=LOOP_TIMEOUT_S if name == PIPELINE else None)
            self.seconds_per_submission[name] = (time.perf_counter() - start) / len(students)
        return self.course


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(Course.create(tmp_path_factory.mktemp("course"), assignment_names()))


_WARM: set[str] = set()


def _in_process(graded: Graded, name: str, student: str) -> GradeReport:
    if name not in _WARM:  # the first run imports torch and loads the model: no time limit for it
        grade_in_process(source_md(name), cell_timeout=None)
        _WARM.add(name)
    # once warm, only a looping cell comes near the limit
    timeout = 5 if student == "looping" else 120
    return grade_submission_in_process(
        source_md(name), graded.submissions[(name, student)], cell_timeout=timeout
    )


@pytest.mark.parametrize("name", assignment_names())
def test_solution_gets_100_and_blank_gets_0(graded: Graded, name: str) -> None:
    totals = graded(name).totals(name)
    print(f"{name}: {graded.seconds_per_submission[name]:.1f} s of autograding per submission")
    # the written answers (manually graded) wait for a grader: autograding gives the rest
    top = graded.course.autograded_points(name)
    assert totals["solution"] == top, graded.course.scores(name)["solution"]
    assert totals["blank"] == 0, graded.course.scores(name)["blank"]


@pytest.mark.parametrize("name", assignment_names())
def test_in_process_grader_agrees_with_nbgrader(graded: Graded, name: str) -> None:
    scores = graded(name).scores(name)
    for student in ("solution", "blank"):
        report = _in_process(graded, name, student)
        problems = agreement(report, scores[student])
        assert not problems, f"{name}/{student}: " + "; ".join(problems)


def test_edited_locked_test_is_restored(graded: Graded) -> None:
    scores = graded(PIPELINE).scores(PIPELINE)["tampered"]
    assert scores["test_attention_values"] == 0, "the `assert True` replacement was graded"
    restored = graded.course.autograded_notebook(PIPELINE, "tampered")
    cell = next(
        c
        for c in restored.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test_attention_values"
    )
    assert "assert True" not in cell.source and "sqrt" in cell.source
    assert not agreement(_in_process(graded, PIPELINE, "tampered"), scores)


def test_infinite_loop_is_cut_and_the_rest_is_graded(graded: Graded) -> None:
    scores = graded(PIPELINE).scores(PIPELINE)["looping"]
    assert scores["test_feed_forward"] == 0
    assert scores["test_attention_values"] > 0 and scores["test_embeddings"] > 0, scores
    looped = graded.course.autograded_notebook(PIPELINE, "looping")
    cell = next(
        c for c in looped.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "feed_forward"
    )
    enames = [o.get("ename") for o in cell.outputs if o.output_type == "error"]
    assert enames and enames[0] in ("KeyboardInterrupt", "CellTimeoutError"), enames
    assert not agreement(_in_process(graded, PIPELINE, "looping"), scores)


def _hidden_source_lines(name: str) -> list[str]:
    text = source_md(name).read_text(encoding="utf-8")
    hidden = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", text, flags=re.S)
    lines = {line.strip() for block in hidden for line in block.splitlines()}
    outside = re.sub(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", "", text, flags=re.S)
    lines -= {
        line.strip() for line in outside.splitlines()
    }  # solutions and visible checks may appear
    # Code lines long enough to be unmistakable; messages inside them are allowed to appear.
    return sorted(line for line in lines if len(line) > 25 and not line.startswith(("#", '"')))


def test_feedback_hides_hidden_tests(graded: Graded) -> None:
    feedback = graded(PIPELINE).generate_feedback(PIPELINE)
    assert set(feedback) == {"solution", "blank", "tampered", "looping"}
    hidden = _hidden_source_lines(PIPELINE)
    assert hidden, "no hidden test lines found in the source"
    for student, path in feedback.items():
        html = path.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in html and "_reference_parts" not in html, student
        text = re.sub(r"<[^>]+>", "", html).replace("&quot;", '"').replace("&gt;", ">")
        text = text.replace("&lt;", "<").replace("&amp;", "&").replace("&#39;", "'")
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"feedback of {student} shows hidden test source: {leaked[:3]}"
    tampered = re.sub(r"<[^>]+>", "", feedback["tampered"].read_text(encoding="utf-8"))
    # the student still learns why: the failing hidden check's message is in the feedback
    assert "embeddings of a sentence pair compared with BERT" in tampered
    assert "most recent call last" not in tampered


def test_export_has_one_row_per_student(graded: Graded) -> None:
    rows = [r for r in graded(PIPELINE).export_csv() if r["assignment"] == PIPELINE]
    assert sorted(r["student_id"] for r in rows) == ["blank", "looping", "solution", "tampered"]
    by_student = {r["student_id"]: float(r["score"]) for r in rows}
    top = graded.course.autograded_points(PIPELINE)
    assert by_student["solution"] == top and by_student["blank"] == 0
    assert by_student == pytest.approx(graded.course.totals(PIPELINE))


def test_release_of_the_course_matches_the_committed_one(graded: Graded) -> None:
    # generated with a gradebook here, without one by `make assignments`: same student notebook
    committed = load_notebook(release_ipynb(PIPELINE))
    fresh = graded(PIPELINE).release_notebook(PIPELINE)
    assert [c.source for c in fresh.cells] == [c.source for c in committed.cells]
