"""How long does sandboxed autograding of a class take? Plain ``nbgrader autograde`` and the fast path.

For each assignment (default: every one in ``solutions/``), in a temporary course directory:

- **plain**: ``nbgrader autograde`` of ``--plain`` copies of the reference solution, one after the
  other, each in a fresh kernel (what the README's nbgrader cycle does);
- **fast**: ``ch11lib.grading.batch.autograde`` (``--jobs`` shards in parallel, trusted kernels
  forked from a server that imported the assignment's modules once, students' kernels forked from
  the same kind of server inside each shard's sandbox) of ``--small`` and of ``--large`` copies.

Both grade as configured by ``nbgrader_config.py``: two kernels per submission, the student's one in
the bubblewrap sandbox (``--no-sandbox`` measures without it, as ``CH11_GRADE_UNSANDBOXED=1``).

It prints wall time and CPU time (of every process involved: nbgrader, kernels, the fork server) per
submission, and the time a class of ``--class-size`` students would take. On a shared machine wall
time says little, so the class estimate is computed from CPU time, which does not depend on how
many other jobs run: fixed cost F and marginal cost c per submission come from the two fast runs
(CPU = F + n c), and ``F + class_size * c / jobs`` is the wall time on an otherwise idle machine with
``jobs`` cores (the shards are CPU-bound and independent). This is an extrapolation, and the table
says so.

    .venv/bin/python benchmarks/bench_autograde.py                       # all assignments
    .venv/bin/python benchmarks/bench_autograde.py a1_encoder --large 10
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from nbgrader_harness import Course, assignment_names, autograded_points  # noqa: E402

from ch11lib.grading import batch as ag  # noqa: E402
from ch11lib.grading import sandbox  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    wall: float
    cpu: float
    n: int


def _measure(action, n: int) -> Run:
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    action()
    return Run(time.perf_counter() - wall0, _children_cpu() - cpu0, n)


def _class(tmp: Path, name: str, n: int) -> Course:
    course = Course.create(tmp, [name])
    course.generate(name)
    solution = course.source_notebook(name)
    for i in range(n):
        course.submit(name, f"student{i:03d}", solution)
    return course


def _check(name: str, label: str, totals: dict[str, float]) -> None:
    top = autograded_points(name)  # the written answers wait for a grader
    if set(totals.values()) != {top}:  # the timing still counts; the table must not hide this
        print(f"  note: {name} {label}: the reference solution did not get {top:g}: {totals}")


def bench(
    name: str, plain: int, small: int, large: int, jobs: int, sandboxed: bool = True
) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        if plain:
            course = _class(Path(tmp) / "plain", name, plain)
            runs["plain"] = _measure(lambda: course.autograde(name), plain)
            _check(name, "plain", course.totals(name))
        for label, n in (("fast-small", small), ("fast-large", large)):
            course = _class(Path(tmp) / label, name, n)
            runs[label] = _measure(
                lambda c=course: ag.autograde(c.root, name, jobs=jobs, sandboxed=sandboxed), n
            )
            _check(name, label, course.totals(name))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=None)
    parser.add_argument("--plain", type=int, default=1, help="students for plain nbgrader")
    parser.add_argument("--small", type=int, default=2, help="students, first fast run")
    parser.add_argument("--large", type=int, default=6, help="students, second fast run")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--class-size", type=int, default=100)
    parser.add_argument("--no-sandbox", action="store_true", help="grade without the sandbox")
    args = parser.parse_args(argv)
    if args.no_sandbox:
        os.environ[sandbox.UNSANDBOXED_ENV] = "1"  # plain nbgrader reads it too
    if args.large <= args.small:
        parser.error("--large must be larger than --small")
    names = args.assignments or assignment_names()
    header = (
        f"{'assignment':<20} {'plain s/sub':>17} {'fast s/sub':>17} {'fixed F':>8} "
        f"{'cpu/sub c':>9} {f'class of {args.class_size} (est.)':>22}"
    )
    mode = "WITHOUT the sandbox" if args.no_sandbox else "sandboxed (bubblewrap), two kernels"
    print(
        f"{mode}; wall / CPU seconds; the class estimate is F + n*c/jobs from CPU time, idle machine"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        runs = bench(name, args.plain, args.small, args.large, args.jobs, not args.no_sandbox)
        small, large = runs["fast-small"], runs["fast-large"]
        per = (large.cpu - small.cpu) / (large.n - small.n)
        fixed = max(0.0, small.cpu - small.n * per)
        estimate = fixed + args.class_size * per / args.jobs
        plain = runs.get("plain")
        plain_text = f"{plain.wall / plain.n:6.1f} / {plain.cpu / plain.n:6.1f}" if plain else "-"
        fast_text = f"{large.wall / large.n:6.1f} / {large.cpu / large.n:6.1f}"
        print(
            f"{name:<20} {plain_text:>17} {fast_text:>17} {fixed:8.1f} {per:9.1f} "
            f"{estimate:16.0f} s ({estimate / 60:.1f} min)",
            flush=True,
        )
        print(
            f"{'':<20} measured: {large.n} students graded in {large.wall:.0f} s wall "
            f"({large.wall / 60:.1f} min) with --jobs {args.jobs}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
