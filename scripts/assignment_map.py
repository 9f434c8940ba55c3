"""The map chapter -> assignment -> graded function, written from the solution sources' metadata.

For every ``solutions/<a>/<a>.md`` the graded functions are its solution cells (the names their code
defines), each with the autograded test cells that check it (a test cell belongs to the latest solution
cell before it whose names it uses, else to the one just before it) and their points; written
questions (manually graded cells) are rows of their own. Which chapter a function exercises is the one
thing kept by hand, in :data:`CHAPTERS` (every graded cell by its grade_id).

Two places show the map, between ``<!-- assignment-map:start -->`` and ``<!-- assignment-map:end -->``:
``assignments.md`` (the full table: chapter, assignment, function, test cells, points) and
``intro.md`` (the chapters table's last column, the graded functions of each chapter).

Usage::

    python scripts/assignment_map.py --write   # rewrite both tables
    python scripts/assignment_map.py --check   # exit 1 if a table is stale (tests/test_assignment_map.py)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- assignment-map:start -->", "<!-- assignment-map:end -->"

# The chapter each solution cell / written question (grade_id) exercises, per assignment: the one
# thing kept by hand. A graded cell missing here fails tests/test_assignment_map.py ("*" would be an
# assignment's default; none is used, so a new function needs a decision).
CHAPTERS: dict[str, dict[str, int]] = {
    "a1_encoder": {
        "attention": 1,
        "layer_norm": 1,
        "split_merge_heads": 1,
        "multi_head_attention": 1,
        "feed_forward": 1,
        "encoder_layer": 1,
        "embeddings": 1,
        "written_scaling": 1,
        "written_padding": 1,
    },
    "a2_mlm": {
        "mask_tokens": 2,
        "mlm_loss": 2,
        "word_ids": 2,
        "whole_word_mask": 2,
        "written_80_10_10": 2,
        "written_loss_denominator": 2,
    },
    "a3_nsp_spans": {
        "nsp_examples": 3,
        "encode_pair": 3,
        "written_nsp_shortcut": 3,
        "span_lengths": 5,
        "sample_spans": 5,
        "mask_spans": 5,
        "sbo_inputs": 5,
    },
    "a4_representations": {
        "sampling_probabilities": 6,
        "word_embedding": 7,
        "wsd_functions": 7,
        "average_random_cosine": 8,
        "zscore_functions": 8,
        "token_states": 8,
        "anisotropy_by_layer": 8,
        "written_anisotropy": 8,
    },
    "a5_finetuning": {
        "cls_logits": 9,
        "cls_loss": 9,
        "encode_nli_batch": 9,
        "pair_features": 9,
        "align_labels": 10,
        "word_predictions": 10,
        "viterbi": 10,
        "crf_log_partition": 10,
        "written_crf": 10,
        "enumerate_spans": 11,
        "span_representation": 11,
        "soft_target_loss": 12,
        "distillation_loss": 12,
    },
}


def _build_module():
    """``scripts/build_assignments.py`` (which reads the sources), imported from beside this script."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_assignments

    return build_assignments


@dataclass
class Graded:
    """One row of the map: a graded function (solution cell) or a written question."""

    assignment: str
    grade_id: str
    names: list[str]  # functions/classes the solution cell defines ([] for a written question)
    tests: dict[str, float] = field(default_factory=dict)  # test grade_id -> points
    written: float | None = None  # points of a written question

    @property
    def points(self) -> float:
        return self.written if self.written is not None else sum(self.tests.values())


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _defined(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]


def _used(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def assignment_rows(assignment: str, root: Path = REPO_ROOT) -> list[Graded]:
    """The map's rows of one assignment, in notebook order."""
    build = _build_module()
    nb = build.md_to_notebook(root / "solutions" / assignment / f"{assignment}.md")
    rows: list[Graded] = []
    solutions: list[Graded] = []
    for cell in nb.cells:
        meta = _meta(cell)
        if not meta:
            continue
        grade_id = meta["grade_id"]
        if meta.get("solution") and cell.cell_type == "code" and not meta.get("grade"):
            row = Graded(assignment, grade_id, _defined(cell.source) or [grade_id])
            rows.append(row)
            solutions.append(row)
        elif meta.get("grade") and (meta.get("solution") or meta.get("task")):
            rows.append(Graded(assignment, grade_id, [], written=float(meta.get("points", 0))))
        elif meta.get("grade") and cell.cell_type == "code":
            used = _used(cell.source)
            owner = next(
                (s for s in reversed(solutions) if used & set(s.names)),
                solutions[-1] if solutions else None,
            )
            if owner is None:
                raise ValueError(f"{assignment}: test cell {grade_id} before any solution cell")
            owner.tests[grade_id] = float(meta.get("points", 0))
    return rows


def chapter_of(row: Graded) -> int:
    table = CHAPTERS.get(row.assignment, {})
    if row.grade_id not in table and "*" not in table:
        raise KeyError(
            f"scripts/assignment_map.py: CHAPTERS[{row.assignment!r}] has no chapter for the graded "
            f"cell {row.grade_id!r} ({_label(row)}): add the chapter it exercises"
        )
    return table.get(row.grade_id, table.get("*", 0))


def all_rows(root: Path = REPO_ROOT) -> list[Graded]:
    build = _build_module()
    return [r for a in build.assignment_names(root) for r in assignment_rows(a, root)]


def _number(points: float) -> str:
    return f"{points:g}"


def _label(row: Graded) -> str:
    if row.written is not None:
        return f"written question `{row.grade_id}` (graded by hand)"
    return ", ".join(f"`{n}`" for n in row.names)


def assignments_table(rows: list[Graded], root: Path = REPO_ROOT) -> str:
    chapters = {int(p.name[:2]): p.stem for p in (root / "chapters").glob("[0-9][0-9]_*.md")}
    numbers = {a: i + 1 for i, a in enumerate(dict.fromkeys(r.assignment for r in rows))}
    lines = [
        "| chapter | assignment | graded function | test cells (points) | points |",
        "| --- | --- | --- | --- | ---: |",
    ]
    for row in sorted(rows, key=lambda r: (chapter_of(r), numbers[r.assignment])):
        chapter = chapter_of(row)
        page = chapters.get(chapter)
        link = f"{{doc}}`{chapter} <chapters/{page}>`" if page else str(chapter)
        doc = f"{{doc}}`{numbers[row.assignment]} <assignments/{row.assignment}/{row.assignment}>`"
        tests = ", ".join(f"`{t}` ({_number(p)})" for t, p in row.tests.items())
        lines.append(f"| {link} | {doc} | {_label(row)} | {tests} | {_number(row.points)} |")
    totals = {}
    for row in rows:
        totals[row.assignment] = totals.get(row.assignment, 0.0) + row.points
    summary = ", ".join(f"{numbers[a]}: {_number(t)}" for a, t in totals.items())
    lines += ["", f"Points per assignment (autograded and written together): {summary}."]
    return "\n".join(lines)


def intro_cells(rows: list[Graded]) -> dict[int, str]:
    """``{chapter: the intro table's assignment cell}``: assignment numbers and graded functions."""
    numbers = {a: i + 1 for i, a in enumerate(dict.fromkeys(r.assignment for r in rows))}
    by_chapter: dict[int, dict[int, list[str]]] = {}
    for row in rows:
        names = by_chapter.setdefault(chapter_of(row), {}).setdefault(numbers[row.assignment], [])
        names += [f"`{n}`" for n in row.names] if row.written is None else ["a written question"]
    return {
        chapter: "; ".join(
            f"{number}: {', '.join(dict.fromkeys(names))}" for number, names in sorted(a.items())
        )
        for chapter, a in by_chapter.items()
    }


def _replace_block(text: str, body: str, where: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"{where} has no {START} ... {END} block")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{body}\n{END}{after}"


def _block(text: str) -> str:
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


_ROW = re.compile(r"^\| (\d+) \|")


def intro_table(current: str, rows: list[Graded]) -> str:
    """The intro's chapters table (inside the block) with its last column regenerated."""
    cells = intro_cells(rows)
    out = []
    for line in current.splitlines():
        match = _ROW.match(line)
        if match:
            head = line.rstrip()[:-1].rsplit("|", 1)[0]
            cell = cells.get(int(match.group(1)), "")
            line = f"{head}| {cell} |" if cell else f"{head}| |"
        out.append(line)
    return "\n".join(out)


def expected(root: Path = REPO_ROOT) -> dict[Path, str]:
    """``{file: its text with the map regenerated}``."""
    rows = all_rows(root)
    assignments = root / "assignments.md"
    intro = root / "intro.md"
    a_text = assignments.read_text(encoding="utf-8")
    i_text = intro.read_text(encoding="utf-8")
    return {
        assignments: _replace_block(a_text, assignments_table(rows, root), "assignments.md"),
        intro: _replace_block(i_text, intro_table(_block(i_text), rows), "intro.md"),
    }


def stale(root: Path = REPO_ROOT) -> list[Path]:
    return [p for p, text in expected(root).items() if p.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.write:
        for path, text in expected().items():
            path.write_text(text, encoding="utf-8")
            print(f"wrote the map in {path.relative_to(REPO_ROOT)}")
        return 0
    bad = stale()
    for path in bad:
        print(f"{path.relative_to(REPO_ROOT)}: the assignment map is stale", file=sys.stderr)
    if bad:
        print("run: python scripts/assignment_map.py --write", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
