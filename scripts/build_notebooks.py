"""Write ``chapters/<page>.ipynb`` next to every ``chapters/<page>.md``: the notebooks launch buttons open.

The chapters are MyST-Markdown notebooks; Colab opens only ``.ipynb`` files, and the book's launch
buttons (Colab, Binder, JupyterHub) link to ``<page>.ipynb`` whenever that file exists next to the
page's source. This script writes them: the page converted by jupytext, without outputs, with one
first cell added that installs the course when the notebook runs outside the course's environment
(``ch11lib`` not importable: Colab, a plain Jupyter) and does nothing inside it. The cell is tagged
``remove-cell``; the book itself is built from the ``.md`` files, so it never shows it.

Usage::

    python scripts/build_notebooks.py            # or: make notebooks
    python scripts/build_notebooks.py --check    # fail if a notebook is missing or out of date

``tests/test_notebooks.py`` runs the check. The repository URL in the install cell is the book's
(``repository.url`` in ``_config.yml``); the student edition writes its own (``--repository-url``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_CELL_ID = "install-the-course"
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}

INSTALL_CELL = """\
# Outside the course's environment (Colab, a plain Jupyter), install the course first: its library
# ch11lib with the models it ships, and WordNet. In the course's environment this does nothing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("ch11lib") is None:
    course = "ch11lib @ git+{repository_url}@{branch}"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", course], check=True)
    import nltk

    nltk.download("wordnet", quiet=True)
"""


def repository(root: Path = REPO_ROOT) -> tuple[str, str]:
    """The book's repository URL and branch (``_config.yml``)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/"), config["repository"].get("branch", "main")


def notebook_text(page: Path, repository_url: str, branch: str) -> str:
    """The ``.ipynb`` text for the MyST page ``page``."""
    notebook = jupytext.read(page)
    install = nbformat.v4.new_code_cell(
        INSTALL_CELL.format(repository_url=repository_url, branch=branch),
        metadata={"tags": ["remove-cell"]},
    )
    install["id"] = INSTALL_CELL_ID
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:03d}"
        if cell.cell_type == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook.cells.insert(0, install)
    notebook.metadata = dict(NOTEBOOK_METADATA)
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    return nbformat.writes(notebook) + "\n"


def expected_notebooks(root: Path = REPO_ROOT) -> dict[Path, str]:
    """Every notebook the chapters should have, and its text."""
    url, branch = repository(root)
    return {
        page.with_suffix(".ipynb"): notebook_text(page, url, branch)
        for page in sorted((root / "chapters").glob("*.md"))
    }


def out_of_date(root: Path = REPO_ROOT) -> list[str]:
    """Notebooks that are missing, differ from their page, or have no page; empty when in sync."""
    expected = expected_notebooks(root)
    stale = [
        path.relative_to(root).as_posix() for path, text in expected.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]  # fmt: skip
    orphans = [
        path.relative_to(root).as_posix() for path in (root / "chapters").glob("*.ipynb")
        if path not in expected
    ]  # fmt: skip
    return stale + orphans


def write_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    """(Re)write every chapter's notebook; returns the paths written."""
    written = []
    for path, text in expected_notebooks(root).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    for path in (root / "chapters").glob("*.ipynb"):
        if not path.with_suffix(".md").is_file():
            path.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        stale = out_of_date(args.root)
        if stale:
            print("out of date (run `make notebooks`):", *stale, sep="\n  ", file=sys.stderr)
            return 1
        print("chapter notebooks in sync")
        return 0
    written = write_notebooks(args.root)
    print(f"{len(written)} notebook(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
