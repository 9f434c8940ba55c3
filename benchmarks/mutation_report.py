"""Mutation score of the assignments' hidden tests: how many wrong implementations lose points.

Reads every ``tests/mutants/<a>.py`` (``WRONG`` and ``CORRECT``, see ``tests/test_mutants.py``),
grades each entry in-process against the source notebook's tests (``nbgrader_harness``), and prints,
per assignment and graded function (solution cell), how many wrong implementations lose points, how
many points they lose, and whether every differently written correct solution gets full marks.

    .venv/bin/python benchmarks/mutation_report.py               # all assignments
    .venv/bin/python benchmarks/mutation_report.py a1_encoder --markdown
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from nbgrader_harness import REPO_ROOT, grade_in_process, source_md  # noqa: E402

MUTANTS = REPO_ROOT / "tests" / "mutants"


def load(assignment: str):
    path = MUTANTS / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report(assignment: str) -> list[tuple[str, int, int, float, float, int, int]]:
    """Rows (cell, wrong, caught, mean lost, min lost, correct, correct with 100) of one assignment."""
    module = load(assignment)
    wrong: dict[str, list[float]] = defaultdict(list)  # cell -> points lost by each mutant
    correct: dict[str, list[bool]] = defaultdict(list)
    for cells in module.WRONG.values():
        result = grade_in_process(source_md(assignment), cells, cell_timeout=60)
        for cell in cells:
            wrong[cell].append(result.max_score - result.score)
    for cells in module.CORRECT.values():
        result = grade_in_process(source_md(assignment), cells, cell_timeout=60)
        for cell in cells:
            correct[cell].append(result.score == result.max_score)
    rows = []
    for cell in sorted(set(wrong) | set(correct)):
        lost = wrong.get(cell, [])
        caught = sum(1 for x in lost if x > 0)
        mean = sum(lost) / len(lost) if lost else 0.0
        rows.append(
            (
                cell,
                len(lost),
                caught,
                mean,
                min(lost, default=0.0),
                len(correct[cell]),
                sum(correct[cell]),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = args.assignments or sorted(p.stem for p in MUTANTS.glob("a*.py"))
    if args.markdown:
        print(
            "| assignment | graded function | wrong versions | lose points | mean (min) "
            "points lost | correct versions with 100 |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: |")
    else:
        print(
            f"{'assignment':<20} {'graded function':<28} {'wrong':>5} {'caught':>7} "
            f"{'mean lost':>9} {'min lost':>8} {'correct=100':>11}"
        )
    totals = [0, 0]
    for name in names:
        for cell, n, caught, mean, low, n_ok, ok in report(name):
            totals[0] += n
            totals[1] += caught
            if args.markdown:
                print(
                    f"| {name} | `{cell}` | {n} | {caught} | {mean:.1f} ({low:g}) | {ok}/{n_ok} |"
                )
            else:
                print(
                    f"{name:<20} {cell:<28} {n:>5} {caught:>7} {mean:9.1f} {low:8g} "
                    f"{ok:>5}/{n_ok:<5}",
                    flush=True,
                )
    print(f"\nmutation score: {totals[1]}/{totals[0]} wrong implementations lose points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
