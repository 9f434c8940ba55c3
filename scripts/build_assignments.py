"""Build the nbgrader notebooks of every assignment: MyST source -> source .ipynb -> student version.

For each ``solutions/<a>/<a>.md`` (MyST Markdown with nbgrader metadata in the cell options, see
CONTRIBUTING.md) this script

1. converts it with jupytext to ``solutions/<a>/<a>.ipynb`` without outputs, with cell ids derived from
   the nbgrader ``grade_id`` (or the cell's position) and a fixed notebook metadata block, so that
   regenerating gives identical bytes; a first, plain cell (the chapters' install cell,
   ``build_notebooks.INSTALL_CELL``) installs the course where it is missing, so that an assignment
   opened on Colab can ``import ch11lib``. It is deliberately no nbgrader cell: it carries no checksum,
   so the student edition can point it at the edition's repository (:func:`point_install_cell`), and
   when grading it runs with the student's code, in the sandbox, where ``ch11lib`` is found and it does
   nothing;
2. runs ``nbgrader generate_assignment <a> --force --no-db`` in a course directory, which writes the
   student version (solutions replaced by stubs, hidden tests removed, checksums added) to
   ``assignments/<a>/<a>.ipynb``. ``--no-db`` keeps the gradebook out of it: generating a release is a
   pure function of the source notebook.

Usage::

    python scripts/build_assignments.py                 # all assignments, in this repository
    python scripts/build_assignments.py a1_encoder      # one assignment
    python scripts/build_assignments.py --course-dir /tmp/course   # build a copy elsewhere (tests)

The importable functions (:func:`md_to_notebook`, :func:`write_source_notebook`,
:func:`generate_release`, :func:`build`) are used by ``tests/test_release_in_sync.py`` and
``tests/nbgrader_harness.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import build_notebooks  # noqa: E402  (beside this script)

NBGRADER = Path(sys.executable).parent / "nbgrader"

# Fixed notebook metadata: the kernel the autograder starts and nothing that varies between machines.
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def assignment_names(course_dir: Path = REPO_ROOT) -> list[str]:
    """Names of the assignments that have a MyST source ``solutions/<a>/<a>.md``, sorted."""
    solutions = course_dir / "solutions"
    if not solutions.is_dir():
        return []
    return sorted(p.name for p in solutions.iterdir() if (p / f"{p.name}.md").is_file())


def _cell_id(cell: nbformat.NotebookNode, index: int, seen: set[str]) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    base = _ID_CHARS.sub("-", str(grade_id)) if grade_id else f"cell-{index:03d}"
    base = base[:60]
    cell_id, n = base, 1
    while cell_id in seen:  # ids must be unique within the notebook
        cell_id, n = f"{base[:56]}-{n}", n + 1
    seen.add(cell_id)
    return cell_id


def install_cell(repository_url: str, branch: str) -> nbformat.NotebookNode:
    """The plain first cell that installs the course from ``repository_url`` where it is missing."""
    cell = nbformat.v4.new_code_cell(
        build_notebooks.INSTALL_CELL.format(repository_url=repository_url, branch=branch)
    )
    cell.id = build_notebooks.INSTALL_CELL_ID
    return cell


def _course_root(md_path: Path) -> Path:
    """The course folder of ``solutions/<a>/<a>.md`` when it has a ``_config.yml``, else this one."""
    root = md_path.resolve().parent.parent.parent
    return root if (root / "_config.yml").is_file() else REPO_ROOT


def md_to_notebook(md_path: Path) -> nbformat.NotebookNode:
    """The MyST source as a clean nbformat 4.5 notebook: no outputs, stable ids, fixed metadata, and
    the install cell first (with the repository of the course's ``_config.yml``)."""
    md_path = Path(md_path)
    if md_path.suffix != ".md":
        raise ValueError(f"expected a MyST .md source, got {md_path}")
    notebook = jupytext.read(md_path)
    seen: set[str] = set()
    grade_ids: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        nbgrader_meta = cell.metadata.get("nbgrader")
        if nbgrader_meta is not None:
            grade_id = nbgrader_meta.get("grade_id")
            if not grade_id:
                raise ValueError(f"{md_path}: cell {index} has nbgrader metadata but no grade_id")
            if grade_id in grade_ids:
                raise ValueError(f"{md_path}: grade_id {grade_id!r} is used twice")
            grade_ids.add(grade_id)
        # Keep only the metadata nbgrader and readers need; jupytext/editor state would vary.
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in ("nbgrader", "tags")}
        cell.id = _cell_id(cell, index, seen)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None)
    if build_notebooks.INSTALL_CELL_ID in seen:
        raise ValueError(f"{md_path}: the cell id {build_notebooks.INSTALL_CELL_ID!r} is reserved")
    notebook.cells.insert(0, install_cell(*build_notebooks.repository(_course_root(md_path))))
    notebook.metadata = nbformat.from_dict(NOTEBOOK_METADATA)
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return notebook


def write_source_notebook(md_path: Path, ipynb_path: Path | None = None) -> Path:
    """Write ``<a>.ipynb`` next to ``<a>.md`` (or at ``ipynb_path``); returns the path written."""
    md_path = Path(md_path)
    ipynb_path = Path(ipynb_path) if ipynb_path is not None else md_path.with_suffix(".ipynb")
    text = nbformat.writes(md_to_notebook(md_path)) + "\n"
    ipynb_path.write_text(text, encoding="utf-8")
    return ipynb_path


def generate_release(
    course_dir: Path, assignment: str, extra_args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader generate_assignment`` for ``assignment`` in ``course_dir`` (no gradebook).

    Raises ``RuntimeError`` with nbgrader's log if it fails.
    """
    args = [str(NBGRADER), "generate_assignment", assignment, "--force", "--no-db"]
    args += extra_args or []
    env = dict(os.environ)
    env["PATH"] = f"{NBGRADER.parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls `alembic`
    result = subprocess.run(
        args, cwd=course_dir, env=env, capture_output=True, text=True, check=False
    )
    released = Path(course_dir) / "assignments" / assignment / f"{assignment}.ipynb"
    if result.returncode != 0 or not released.is_file():
        raise RuntimeError(
            f"nbgrader generate_assignment {assignment} failed (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    _normalise_release(released)
    return result


def _normalise_release(path: Path) -> None:
    # nbgrader writes with its own JSON settings; rewriting with nbformat.writes gives the same bytes on
    # every machine and the trailing newline git likes.
    notebook = nbformat.read(path, as_version=4)
    path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")


def point_install_cell(notebook_path: Path, repository_url: str, branch: str) -> None:
    """Make the install cell of the notebook at ``notebook_path`` install from ``repository_url``.

    The student edition calls this on its released assignments when it is published elsewhere.
    Raises ``ValueError`` when the notebook has no install cell first (rebuild it: ``make assignments``).
    """
    notebook = nbformat.read(notebook_path, as_version=4)
    if not notebook.cells or notebook.cells[0].get("id") != build_notebooks.INSTALL_CELL_ID:
        raise ValueError(
            f"{notebook_path}: expected the install cell {build_notebooks.INSTALL_CELL_ID!r} first, "
            "found none; rebuild the assignments with `make assignments`"
        )
    notebook.cells[0].source = install_cell(repository_url, branch).source
    Path(notebook_path).write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")


def build(course_dir: Path = REPO_ROOT, assignments: list[str] | None = None) -> list[str]:
    """Regenerate source notebooks and student versions for ``assignments`` (default: all)."""
    course_dir = Path(course_dir)
    names = assignments or assignment_names(course_dir)
    known = set(assignment_names(course_dir))
    for name in names:
        if name not in known:
            raise ValueError(f"no assignment source solutions/{name}/{name}.md in {course_dir}")
        write_source_notebook(course_dir / "solutions" / name / f"{name}.md")
        release_dir = course_dir / "assignments" / name
        if release_dir.exists():
            shutil.rmtree(release_dir)  # stale files from a renamed notebook must not survive
        generate_release(course_dir, name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    parser.add_argument("--course-dir", type=Path, default=REPO_ROOT)
    args = parser.parse_args(argv)
    for name in build(args.course_dir, args.assignments or None):
        print(f"built solutions/{name}/{name}.ipynb and assignments/{name}/{name}.ipynb")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
