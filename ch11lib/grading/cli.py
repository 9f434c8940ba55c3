"""The instructor's command line: autograde a class, return feedback, export grades, class report.

Run from the course directory (the repository root, where ``nbgrader_config.py`` lives)::

    python -m ch11lib.grading autograde a1_encoder --submissions path/to/submissions --jobs 2
    python -m ch11lib.grading feedback a1_encoder        # feedback/<student>/a1_encoder/*.html
    python -m ch11lib.grading export grades.csv          # one row per student and assignment
    python -m ch11lib.grading export --format canvas     # canvas_grades.csv (Canvas gradebook)
    python -m ch11lib.grading export --format gradescope --assignment a1_encoder
    python -m ch11lib.grading autograde a1_encoder --student alice   # re-grade one student
    python -m ch11lib.grading autograde a1_encoder --times lms.csv   # the LMS's submission times
    python -m ch11lib.grading times a1_encoder lms.csv   # record them for plain nbgrader autograde
    python -m ch11lib.grading report a1_encoder          # reports/a1_encoder/report.md + PNG plots
    python -m ch11lib.grading leaks a1_encoder           # hidden-test source in what students get?
    python -m ch11lib.grading calendar                   # nbgrader_config.py's due dates -> gradebook

(``python -m ch11lib.course`` still works.) Students' code runs in the bubblewrap sandbox; if it
cannot start, autograding stops and says how to fix it; ``--no-sandbox`` grades without it, and the
log and the class report then say so in their first line.

``make autograde ASSIGNMENT=a1_encoder SUBMISSIONS=path/`` and friends call these. Submissions are
``<student>/<assignment>.ipynb`` or ``<student>/<assignment>/<assignment>.ipynb`` folders (default: the
course's ``submitted/``, where ``nbgrader collect`` puts them). A submission's time comes from
``--times`` (the LMS's) or the exchange, never from the submission (:mod:`ch11lib.grading.times`);
without one, it is graded without a late penalty and the output and the report name the student.
The report reads the gradebook (``nbgrader.api.Gradebook``) and the autograded notebooks, never
re-runs anything.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ch11lib.grading import batch as ag
from ch11lib.grading import sandbox
from ch11lib.grading.cells import is_test
from ch11lib.grading.execute import marked_unsandboxed
from ch11lib.grading.grades import AssignmentGrades, read_grades
from ch11lib.grading.times import read_times_csv, untimed_message

# --------------------------------------------------------------------------------------------------
# Hidden tests must stay hidden
# --------------------------------------------------------------------------------------------------

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", flags=re.S)


def hidden_test_lines(source: nbformat.NotebookNode) -> list[str]:
    """Code lines of the hidden tests that a student must never see.

    Lines that also occur, whole or as part of a line, outside the hidden blocks (visible tests,
    setup, the reference solution, which a student may write too) are left out, and so are short
    lines (25 characters or fewer), comments and strings: an assertion's message is meant to reach
    students.
    """
    hidden, elsewhere = set(), set()
    for cell in source.cells:
        blocks = _HIDDEN.findall(cell.source)
        hidden |= {line.strip() for block in blocks for line in block.splitlines()}
        elsewhere |= {line.strip() for line in _HIDDEN.sub("", cell.source).splitlines()}
    candidates = [
        h for h in hidden - elsewhere if len(h) > 25 and not h.startswith(("#", '"', "'"))
    ]
    # matching is by substring (tracebacks prefix lines with "---> 12"), so a hidden line that is
    # part of a visible one ("... for t, e in zip(a, b)]") would be a false alarm
    return sorted(h for h in candidates if not any(h in line for line in elsewhere))


def html_text(page: str) -> str:
    """The text of an HTML page (tags removed, entities decoded), to search for leaked source."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def leaks(text: str, hidden: list[str]) -> list[str]:
    """The hidden lines that occur in ``text``."""
    return [line for line in hidden if line in text]


def check_leaks(course: Path, assignment: str) -> dict[str, list[str]]:
    """``{file: leaked hidden lines}`` over the release (if there is one in ``assignments/``) and
    every feedback page of the assignment."""
    course = Path(course)
    source = nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", 4)
    hidden = hidden_test_lines(source)
    found = {}
    release_path = course / "assignments" / assignment / f"{assignment}.ipynb"
    if release_path.is_file():
        release_text = json_unescape(release_path.read_text(encoding="utf-8"))
        leaked = leaks(release_text, hidden)
        if leaked or "BEGIN HIDDEN TESTS" in release_text:
            found[str(release_path)] = leaked or ["BEGIN HIDDEN TESTS"]
    for page in sorted((course / "feedback").glob(f"*/{assignment}/*.html")):
        text = html_text(page.read_text(encoding="utf-8"))
        # the marker may be the student's own text (a comment in a solution cell): only more
        # markers than the student's cells hold are a leak
        own = _own_markers(course / "autograded" / page.parent.parent.name / assignment, page)
        leaked = leaks(text, hidden) + (
            ["BEGIN HIDDEN TESTS"] if text.count("BEGIN HIDDEN TESTS") > own else []
        )
        if leaked:
            found[str(page)] = leaked
    return found


def _own_markers(autograded: Path, page: Path) -> int:
    """How often "BEGIN HIDDEN TESTS" occurs in the student's own (non-test) cells."""
    path = autograded / f"{page.stem}.ipynb"
    try:
        cells = nbformat.read(path, 4).cells
    except Exception:  # noqa: BLE001  (no autograded notebook: the student wrote none)
        return 0
    return sum(c.source.count("BEGIN HIDDEN TESTS") for c in cells if not is_test(c))


def json_unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


# --------------------------------------------------------------------------------------------------
# Class report
# --------------------------------------------------------------------------------------------------


@dataclass
class ClassScores:
    """Per-student, per-test scores of one assignment, read from the gradebook."""

    assignment: str
    max_points: dict[str, float]  # grade_id -> points, notebook order
    scores: dict[str, dict[str, float]]  # student -> grade_id -> points
    totals: dict[str, float]


def read_scores(course: Path, assignment: str) -> ClassScores:
    """Autograded scores of every submission of ``assignment`` from the course's gradebook
    (``totals`` are nbgrader's: written answers and late penalties included; see
    :func:`ch11lib.grading.grades.read_grades` for the manual points)."""
    table = read_grades(course, assignment)
    max_points = {n: table.questions[n].max_points for n in table.auto}
    scores = {
        s: {n: float(g.points[n] or 0.0) for n in table.auto} for s, g in table.students.items()
    }
    totals = {s: g.total for s, g in table.students.items()}
    return ClassScores(assignment, max_points, scores, totals)


def failure_messages(course: Path, assignment: str) -> dict[str, Counter[str]]:
    """``{grade_id: Counter(first line of the error)}`` over the autograded notebooks."""
    messages: dict[str, Counter[str]] = {}
    for path in sorted((Path(course) / "autograded").glob(f"*/{assignment}/*.ipynb")):
        try:
            nb = nbformat.read(path, 4)
        except Exception:  # noqa: BLE001,S112  (a broken autograded file: nothing to count)
            continue
        for cell in nb.cells:
            if not is_test(cell):
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = f"{output.get('ename')}: {output.get('evalue', '')}".splitlines()[0]
                    messages.setdefault(grade_id, Counter())[message[:160]] += 1
                    break
    return messages


def write_report(course: Path, assignment: str, out_dir: Path | None = None) -> Path:
    """Write ``report.md`` with score distributions (PNG) and the most common failures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    course = Path(course)
    out = Path(out_dir) if out_dir else course / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    table = read_grades(course, assignment)
    data = read_scores(course, assignment)
    students = sorted(data.scores)
    if not students:
        raise ValueError(f"no autograded submissions of {assignment} in the gradebook")
    tests = list(data.max_points)

    cols = 4
    rows = (len(tests) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, grade_id in zip(axes.flat, tests, strict=False):
        points = [data.scores[s].get(grade_id, 0.0) for s in students]
        top = data.max_points[grade_id]
        ax.hist(points, bins=np.linspace(0, top, min(int(top), 10) + 2), color="tab:blue")
        ax.set_title(grade_id, fontsize=8)
        ax.set_xlabel(f"points (of {top:g})", fontsize=7)
        ax.set_ylabel("students", fontsize=7)
    for ax in list(axes.flat)[len(tests) :]:
        ax.axis("off")
    fig.suptitle(f"{assignment}: points per test ({len(students)} students)")
    fig.tight_layout()
    fig.savefig(out / "per_test.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.2))
    top_total = table.max_points or 100
    ax.hist(
        [data.totals[s] for s in students], bins=np.linspace(0, top_total, 21), color="tab:green"
    )
    ax.set_title(f"{assignment}: total score")
    ax.set_xlabel(f"score (of {top_total:g})")
    ax.set_ylabel("students")
    fig.tight_layout()
    fig.savefig(out / "totals.png", dpi=110)
    plt.close(fig)

    messages = failure_messages(course, assignment)
    failing = []
    for grade_id in tests:
        top = data.max_points[grade_id]
        lost = [s for s in students if data.scores[s].get(grade_id, 0.0) < top]
        mean = sum(data.scores[s].get(grade_id, 0.0) for s in students) / len(students)
        failing.append((len(lost), grade_id, mean, top))
    failing.sort(key=lambda row: (-row[0], row[1]))

    totals = np.array([data.totals[s] for s in students])
    unsandboxed = marked_unsandboxed(course, assignment)
    lines = [
        f"# Class report: {assignment}",
        "",
    ]
    if unsandboxed:
        lines[0] = (
            f"# Class report: {assignment} ({sandbox.UNSANDBOXED_WARNING}; "
            f"{len(unsandboxed)} of {len(students)} submissions)"
        )
    auto_max = sum(data.max_points.values())
    auto_mean = sum(sum(data.scores[s].values()) for s in students) / len(students)
    lines += [
        f"{len(students)} autograded submissions. Total score: mean {totals.mean():.1f}, "
        f"median {np.median(totals):.1f}, min {totals.min():.0f}, max {totals.max():.0f}; "
        f"{int((totals == top_total).sum())} students with full marks. Of the "
        f"{top_total:g} points, {auto_max:g} are autograded (class mean {auto_mean:.1f})"
        + _written_summary(table, students)
        + ".",
        "",
    ]
    untimed = untimed_students(table)
    if untimed:
        lines += [f"**{untimed_message(assignment, untimed)}**", ""]
    lines += [
        "![total scores](totals.png)",
        "",
        "![points per test](per_test.png)",
        "",
        "## Tests students fail most",
        "",
        "| test | students who lost points | mean points | most common error |",
        "| --- | ---: | ---: | --- |",
    ]
    for count, grade_id, mean, top in failing:
        common = messages.get(grade_id, Counter()).most_common(1)
        error = f"{common[0][0]} ({common[0][1]}x)" if common else ""
        error = error.replace("|", "\\|")
        lines.append(
            f"| `{grade_id}` | {count} ({count / len(students):.0%}) | "
            f"{mean:.1f} / {top:g} | {error} |"
        )
    lines += _manual_section(table, students)
    lines += _students_section(table, students)
    lines += _rubrics_section(course, assignment, table)
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


def _written_summary(table: AssignmentGrades, students: list[str]) -> str:
    """ ", 4 written (graded by hand: 3 of 4 answers graded, mean 1.0)" for the opening line."""
    if not table.manual:
        return ""
    written_max = sum(table.questions[n].max_points for n in table.manual)
    given = [table.students[s].points[n] for s in students for n in table.manual]
    done = [p for p in given if p is not None]
    mean = f", mean {sum(done) / len(done):.1f} per graded answer" if done else ""
    return (
        f", {written_max:g} written, graded by hand ({len(done)} of {len(given)} answers "
        f"graded{mean})"
    )


def _points(value: float | None) -> str:
    return "ungraded" if value is None else f"{value:g}"


def _manual_section(table: AssignmentGrades, students: list[str]) -> list[str]:
    """Per written question: how many answers a grader has scored, and their mean."""
    if not table.manual:
        return []
    lines = [
        "",
        "## Written questions (graded by hand in formgrader)",
        "",
        "| question | points | graded | ungraded | mean of the graded |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in table.manual:
        given = [table.students[s].points[name] for s in students]
        done = [p for p in given if p is not None]
        mean = f"{sum(done) / len(done):.1f}" if done else "-"
        lines.append(
            f"| `{name}` | {table.questions[name].max_points:g} | {len(done)} | "
            f"{len(given) - len(done)} | {mean} |"
        )
    return lines


def rubrics(course: Path, assignment: str) -> dict[str, tuple[str, str]]:
    """``{grade_id: (question, rubric)}`` of the written questions, from the source notebooks: the
    question is the markdown cell just above the answer cell, the rubric that cell's solution."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted((Path(course) / "solutions" / assignment).glob("*.ipynb")):
        cells = nbformat.read(path, 4).cells
        for index, cell in enumerate(cells):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
                before = cells[index - 1] if index else None
                question = (
                    before.source if before is not None and before.cell_type == "markdown" else ""
                )
                rubric = re.sub(r"^\s*### (BEGIN|END) SOLUTION\s*$", "", cell.source, flags=re.M)
                found[meta["grade_id"]] = (question.strip(), rubric.strip())
    return found


def _rubrics_section(course: Path, assignment: str, table: AssignmentGrades) -> list[str]:
    """The written questions and their rubrics, to grade by (the report is the instructor's)."""
    found = rubrics(course, assignment)
    if not found:
        return []
    lines = ["", "## Rubrics of the written questions (instructors only)"]
    for name, (question, rubric) in found.items():
        points = table.questions[name].max_points if name in table.questions else 0
        lines += ["", f"### `{name}` ({points:g} points)", "", question, "", rubric]
    return lines


def _written(points: list[float | None]) -> str:
    """The written points a grader gave, and how many answers still wait ("3 + 1 ungraded")."""
    given = sum(p for p in points if p is not None)
    waiting = sum(p is None for p in points)
    if waiting == len(points) and points:
        return "ungraded"
    return f"{given:g}" + (f" + {waiting} ungraded" if waiting else "")


def untimed_students(table: AssignmentGrades) -> list[str]:
    """Submissions graded without a trusted time although the assignment has a due date."""
    if table.duedate is None:
        return []
    return sorted(s for s, g in table.students.items() if g.timestamp is None)


def _students_section(table: AssignmentGrades, students: list[str]) -> list[str]:
    """One row per student: autograded points, written points (each question's, or "ungraded",
    and their sum), the late penalty and nbgrader's total; then the class means."""
    auto_max = sum(table.questions[n].max_points for n in table.auto)
    written_max = sum(table.questions[n].max_points for n in table.manual)
    head = ["student", f"autograded (of {auto_max:g})"]
    if table.manual:
        head += [f"`{n}` (of {table.questions[n].max_points:g})" for n in table.manual]
        head.append(f"written (of {written_max:g})")
    head += ["late", "penalty", f"total (of {table.max_points:g})"]
    lines = ["", "## Students", "", "| " + " | ".join(head) + " |"]
    lines.append("| --- |" + " ---: |" * (len(head) - 1))
    untimed = set(untimed_students(table))
    sums = {"auto": 0.0, "penalty": 0.0, "total": 0.0}
    for s in students:
        grades = table.students[s]
        auto = sum(grades.points[n] or 0.0 for n in table.auto)
        row = [s.replace("|", "\\|"), f"{auto:g}"]
        if table.manual:
            written = [grades.points[n] for n in table.manual]
            row += [*(_points(p) for p in written), _written(written)]
        hours = grades.seconds_late / 3600
        late = f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"
        late = "time unknown" if s in untimed else late if grades.seconds_late else ""
        row += [late, f"{grades.penalty:g}" if grades.penalty else "", f"{grades.total:g}"]
        lines.append("| " + " | ".join(row) + " |")
        sums["auto"] += auto
        sums["penalty"] += grades.penalty
        sums["total"] += grades.total
    n = max(1, len(students))
    row = ["**class mean**", f"{sums['auto'] / n:.1f}"]
    if table.manual:
        for name in [*table.manual, None]:
            given = [
                table.students[s].points[name]
                if name
                else _graded_sum([table.students[s].points[m] for m in table.manual])
                for s in students
            ]
            done = [p for p in given if p is not None]
            row.append(f"{sum(done) / len(done):.1f}" if done else "-")
    row += ["", f"{sums['penalty'] / n:.1f}", f"{sums['total'] / n:.1f}"]
    lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Written points are a grader's (formgrader); a class mean counts graded answers only.",
    ]
    return lines


def _graded_sum(points: list[float | None]) -> float | None:
    """A student's written points once a grader has scored every answer, else ``None``."""
    return None if any(p is None for p in points) else sum(p for p in points if p is not None)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def _export(course: Path, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ch11lib.grading import export

    if args.format == "nbgrader":
        to = args.to or "grades.csv"
        ag.run_nbgrader(course, "export", "--to", str(to))
    elif args.format == "canvas":
        names = dict(item.split("=", 1) for item in args.canvas_name if "=" in item)
        to = args.to or "canvas_grades.csv"
        export.write_csv(export.canvas_rows(course, names=names), Path(to))
    else:
        if not args.assignment:
            parser.error("--format gradescope needs --assignment (make export ... ASSIGNMENT=...)")
        to = args.to or f"gradescope_{args.assignment}.csv"
        export.write_csv(export.gradescope_rows(course, args.assignment), Path(to))
    print(f"grades written to {to} ({args.format})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ch11lib.grading",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--course", type=Path, default=Path("."), help="course directory")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("autograde", help="autograde every submission of an assignment")
    p.add_argument("assignment")
    p.add_argument("--submissions", type=Path, default=None)
    p.add_argument("--jobs", type=int, default=2, help="parallel nbgrader processes")
    p.add_argument("--timeout", type=int, default=None, help="per-cell limit in seconds")
    p.add_argument(
        "--student",
        action="append",
        default=None,
        help="re-grade only this student (repeatable); the others are not touched",
    )
    p.add_argument(
        "--times",
        type=Path,
        default=None,
        metavar="CSV",
        help="submission times from the LMS (student_id,submitted_at ISO 8601 with a zone); "
        "they override every other time",
    )
    p.add_argument("--no-fork", action="store_true", help="start every kernel from scratch")
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the students' code WITHOUT the sandbox (same as CH11_GRADE_UNSANDBOXED=1)",
    )
    p = sub.add_parser("feedback", help="HTML feedback for every autograded student")
    p.add_argument("assignment")
    p = sub.add_parser("export", help="grades as CSV: nbgrader's, Canvas's or Gradescope's layout")
    p.add_argument("to", nargs="?", default=None, help="output file (default by format)")
    p.add_argument("--format", choices=("nbgrader", "canvas", "gradescope"), default="nbgrader")
    p.add_argument("--assignment", default=None, help="gradescope: the assignment (required)")
    p.add_argument(
        "--canvas-name",
        action="append",
        default=[],
        metavar="ASSIGNMENT=COLUMN",
        help='canvas: the column of an assignment, e.g. a1_encoder="A1 (1234)"',
    )
    p = sub.add_parser("report", help="class report: score distributions, most failed tests")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, default=None)
    sub.add_parser("calendar", help="write nbgrader_config.py's due dates into the gradebook")
    p = sub.add_parser(
        "times", help="record the LMS's submission times of submitted/ (for nbgrader autograde)"
    )
    p.add_argument("assignment")
    p.add_argument("csv", type=Path, help="student_id,submitted_at (ISO 8601 with a zone)")
    p = sub.add_parser("leaks", help="fail if hidden-test source is in a release or feedback")
    p.add_argument("assignment")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if not (course / "nbgrader_config.py").is_file():
        parser.error(f"{course} is not a course directory (no nbgrader_config.py)")

    if args.command in ("autograde", "times"):
        csv_path = args.times if args.command == "autograde" else args.csv
        try:
            submitted_at = read_times_csv(csv_path) if csv_path else None
        except ValueError as exc:
            print(f"grading stopped: {exc}", file=sys.stderr)
            return 2
    if args.command == "times":
        dated, missing = ag.record_times(
            course, args.assignment, submitted_at or {}, f"times:{args.csv.name}"
        )
        print(f"recorded the submission time of {len(dated)} submissions of {args.assignment}")
        if missing:
            print(f"  no submission in submitted/ (not recorded): {', '.join(missing)}")
        return 0
    if args.command == "autograde":
        sandboxed = not (args.no_sandbox or sandbox.unsandboxed())
        if not sandboxed:
            print(sandbox.UNSANDBOXED_WARNING, flush=True)
        try:
            result = ag.autograde(
                course,
                args.assignment,
                submissions=args.submissions,
                jobs=args.jobs,
                timeout=args.timeout,
                fork=not args.no_fork,
                sandboxed=sandboxed,
                students=args.student,
                submitted_at=submitted_at,
                times_source=f"times:{args.times.name}" if args.times else "times",
            )
        except sandbox.SandboxUnavailable as exc:
            print(f"grading stopped: {exc}", file=sys.stderr)
            return 2
        print(
            f"autograded {len(result.graded)} submissions of {args.assignment} in "
            f"{result.seconds:.0f} s ({result.seconds_per_submission:.1f} s each, "
            f"{result.jobs} jobs)"
        )
        for who, problem in sorted(result.problems.items()):
            print(f"  not graded: {who}: {problem}")
        if result.unmatched_times:
            print(
                f"  times given for students without a submission: {', '.join(result.unmatched_times)}"
            )
        if result.early_times:
            print(
                "WARNING: times more than 180 days before the due date (a wrong year or zone in "
                f"the TIMES file?): {', '.join(result.early_times)}",
                file=sys.stderr,
            )
        if result.untimed:
            print(untimed_message(args.assignment, result.untimed), file=sys.stderr)
        return 0
    if args.command == "feedback":
        ag.run_nbgrader(course, "generate_feedback", args.assignment, "--force")
        found = check_leaks(course, args.assignment)
        for path, lines in found.items():
            print(f"WARNING: {path} shows hidden test source: {lines[:2]}", file=sys.stderr)
        print(f"feedback in {course / 'feedback'}")
        return 1 if found else 0
    if args.command == "export":
        return _export(course, args, parser)
    if args.command == "calendar":
        import os

        from ch11lib.grading.deadlines import apply_calendar

        os.environ["PATH"] = ag.nbgrader_env()["PATH"]  # the gradebook runs `alembic`
        dates = apply_calendar(course)
        for assignment, due in sorted(dates.items()):
            print(
                f"{assignment}: due {due:%Y-%m-%d %H:%M} UTC" if due else f"{assignment}: no date"
            )
        if not dates:
            print("no due dates in nbgrader_config.py (c.DueDates.duedates)")
        return 0
    if args.command == "report":
        print(f"report written to {write_report(course, args.assignment, args.out)}")
        return 0
    found = check_leaks(course, args.assignment)
    for path, lines in found.items():
        print(f"{path}: {lines[:3]}")
    print("no hidden test source found" if not found else f"{len(found)} files leak")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
