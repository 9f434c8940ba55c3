"""Write the student edition of the course: what students get, without anything that grades them.

This repository is the instructor's: it holds the solutions and hidden tests (``solutions/``), correct
and wrong answers for the grader's tests (``tests/mutants/``) and the grading code. The student edition
is a copy of the rest: the book sources, the student versions of the assignments, the course library
without its grading internals, every asset the pages and assignments load, the install files, the
licences, and a README written for students (``scripts/student_edition_files/``).

Usage::

    python scripts/student_edition.py DEST            # or: make student-edition DEST=dir
    python scripts/student_edition.py DEST --book     # also the built book (_build/html, run `make book`)

What goes in is decided by rule, in one place (:data:`INCLUDE`, :data:`EXCLUDE`,
:func:`grading_modules`), from the files git knows in the working tree (tracked, or new and not
ignored). :func:`leaks` checks a folder (the edition, or a built book) for hidden-test and solution
lines and for files from the excluded places; the script runs it on what it wrote and fails if it finds
anything.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))
TEMPLATES = REPO_ROOT / "scripts" / "student_edition_files"

# Top-level files and folders of the repository that go to students (a folder: everything under it,
# except what EXCLUDE or grading_modules() removes).
INCLUDE: tuple[str, ...] = (
    # the book
    "_config.yml", "_toc.yml", "intro.md", "assignments.md", "glossary.md", "references.md",
    "references.bib", "chapters/", "_ext/", "assignments/",
    # the library and the assets the pages load
    "ch11lib/",
    # installing it
    "pyproject.toml", "scripts/install.sh", "binder/",
    # licences
    "LICENSE", "LICENSE-content", "LICENSES.md",
)  # fmt: skip
# Never in the edition, whatever INCLUDE says: solutions and hidden tests, the grader's tests and
# mutants, grading code and configuration, benchmarks, instructor and contributor documents.
EXCLUDE: tuple[str, ...] = (
    "solutions/", "tests/", "benchmarks/", "ch11lib/grading/", "nbgrader_config.py",
    "CONTRIBUTING.md", ".ci/",
)  # fmt: skip
# Library modules that exist only to grade are found by rule (grading_modules): ch11lib/grading/ and
# whatever imports these (the grader and the kernels it drives) or a grading module.
GRADING_IMPORTS: tuple[str, ...] = ("nbgrader", "nbconvert", "ipykernel", "ch11lib.grading")
# Written from scripts/student_edition_files/ in place of the instructor's versions.
REPLACED: tuple[str, ...] = ("README.md", "Makefile")

_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION")
_BLOCK = re.compile(r"### BEGIN (HIDDEN TESTS|SOLUTION)\n(.*?)### END \1", flags=re.S)
_TEXT_SUFFIXES = {".md", ".ipynb", ".py", ".txt", ".html", ".yml", ".yaml", ".toml", ".json", ".sh"}
# Lines this short ("x = 1", ")") say nothing about where they came from.
MIN_LINE_LENGTH = 24


def repository_files(root: Path = REPO_ROOT) -> list[str]:
    """The working tree's files that git knows: tracked (and not deleted), or new and not ignored."""
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, check=True,
    )  # fmt: skip
    names = sorted({name for name in result.stdout.decode().split("\0") if name})
    return [name for name in names if (root / name).is_file()]


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``name`` is one of ``patterns`` or lies under one of them (those ending in ``/``)."""
    return any(name == p or (p.endswith("/") and name.startswith(p)) for p in patterns)


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def _module_name(name: str) -> str:
    return name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _uses(imported: set[str], modules: set[str]) -> bool:
    return any(m == b or m.startswith(b + ".") for m in imported for b in modules)


def grading_modules(files: list[str], root: Path = REPO_ROOT) -> set[str]:
    """The library's files that exist only to grade, by rule: everything under ``ch11lib/grading/``,
    and every module that imports one of :data:`GRADING_IMPORTS` or another grading module (directly
    or through others: the aliases the grader keeps under older names, such as ``ch11lib.guard``).

    A module the grader merely *uses* (``ch11lib.wordnet``, which the sandbox mounts) is the course's
    and is shipped.
    """
    modules = {
        name: _imports(root / name)
        for name in files if name.startswith("ch11lib/") and name.endswith(".py")
    }  # fmt: skip
    graded = {name for name in modules if _matches(name, EXCLUDE)}
    changed = True
    while changed:
        banned = set(GRADING_IMPORTS) | {_module_name(name) for name in graded}
        new = {n for n, imported in modules.items() if n not in graded and _uses(imported, banned)}
        graded |= new
        changed = bool(new)
    return graded


def edition_files(root: Path = REPO_ROOT) -> list[str]:
    """Paths (relative to the repository) of the files copied into the student edition."""
    files = repository_files(root)
    grading = grading_modules(files, root)
    return [
        name for name in files
        if _matches(name, INCLUDE) and not _matches(name, EXCLUDE) and name not in grading
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# What must not reach students
# --------------------------------------------------------------------------------------------------


def _lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines()}


def secret_lines(root: Path = REPO_ROOT) -> dict[str, set[str]]:
    """The distinctive lines of the hidden tests and of the solutions in ``solutions/*/*.md``.

    A line counts when it is at least :data:`MIN_LINE_LENGTH` characters long and appears nowhere
    public: not in the source notebooks outside such blocks (a hidden test that repeats a visible line
    gives nothing away), not in the chapters, not in the course library (the pages teach the same
    computations, and a line such as ``mean = x.mean(dim=-1, keepdim=True)`` is theirs too).
    """
    hidden: set[str] = set()
    solution: set[str] = set()
    public: set[str] = set()
    for source in sorted((root / "solutions").glob("*/*.md")):
        text = source.read_text(encoding="utf-8")
        for kind, block in _BLOCK.findall(text):
            (hidden if kind == "HIDDEN TESTS" else solution).update(_lines(block))
        public |= _lines(_BLOCK.sub("", text))
    for name in edition_files(root):
        if name.startswith(("ch11lib/", "chapters/")) and name.endswith((".py", ".md")):
            public |= _lines((root / name).read_text(encoding="utf-8"))
    keep = {line for line in hidden | solution if len(line) >= MIN_LINE_LENGTH} - public
    return {"hidden test": hidden & keep, "solution": solution & keep}


def _text_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            notebook = json.loads(text)
        except json.JSONDecodeError:
            return text
        cells = notebook.get("cells", [])
        return "\n".join(
            "".join(c.get("source", ""))
            if isinstance(c.get("source"), list)
            else c.get("source", "")
            for c in cells
        )
    if path.suffix == ".html":
        # Highlighted code is split into <span>s; without the tags it reads as the source did.
        return html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def leaks(folder: Path, root: Path = REPO_ROOT) -> list[str]:
    """What in ``folder`` students must not get: one line per finding, empty when there is none.

    Looks for files from the excluded places (by their path), the nbgrader block markers, and the
    distinctive lines of hidden tests and solutions (:func:`secret_lines`), in every text file.
    """
    secrets = secret_lines(root)
    findings: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if _matches(relative, EXCLUDE) or _matches(relative.removeprefix("_sources/"), EXCLUDE):
            findings.append(f"{relative}: a file from an excluded place")
            continue
        if relative.startswith("ch11lib/") and relative.endswith(".py"):
            if any(m in GRADING_IMPORTS or m.startswith("ch11lib.grading") for m in _imports(path)):
                findings.append(f"{relative}: grading code")
        if path.suffix not in _TEXT_SUFFIXES:
            continue
        text = _text_of(path)
        for marker in _MARKERS:
            if f"### {marker}" in text:
                findings.append(f"{relative}: the nbgrader marker '### {marker}'")
        lines = _lines(text)
        for kind, secret in secrets.items():
            for line in sorted(lines & secret)[:3]:
                findings.append(f"{relative}: a {kind} line: {line}")
    return findings


# --------------------------------------------------------------------------------------------------
# Writing it
# --------------------------------------------------------------------------------------------------


def _point_book_at(config: Path, repository_url: str) -> None:
    """Make the edition's book (its repository button and launch links) name ``repository_url``."""
    text = config.read_text(encoding="utf-8")
    new, count = re.subn(r"(?m)^(repository:\n  url: ).*$", rf"\g<1>{repository_url}", text)
    if count != 1:
        raise ValueError(f"{config} has no `repository: url:` setting to point at {repository_url}")
    config.write_text(new, encoding="utf-8")


def write_edition(
    dest: Path, *, book: bool = False, repository_url: str | None = None, root: Path = REPO_ROOT
) -> list[str]:
    """Write the edition into ``dest`` (emptied first); returns the relative paths written.

    ``repository_url``: where the edition is published; the book's repository button and launch
    buttons then point there instead of at this (the instructors') repository.
    """
    dest, root = dest.resolve(), root.resolve()
    if dest == root or root in dest.parents or dest in root.parents:
        raise ValueError(f"write the edition outside the repository, not to {dest}")
    if dest.exists():
        if any(dest.iterdir()) and not (dest / ".student-edition").is_file():
            raise ValueError(
                f"{dest} is not empty and is not a student edition; choose another DEST"
            )
        for child in dest.iterdir():
            if child.name == ".git":
                continue  # a published edition's own repository history stays
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in edition_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
        written.append(name)
    if repository_url:
        _point_book_at(dest / "_config.yml", repository_url)
        # the launch buttons' notebooks and the assignments install the course from where the
        # edition is published
        import build_assignments
        import build_notebooks

        build_notebooks.write_notebooks(dest)
        _, branch = build_notebooks.repository(dest)
        for notebook in sorted((dest / "assignments").glob("*/*.ipynb")):
            build_assignments.point_install_cell(notebook, repository_url, branch)
    for name in REPLACED:
        shutil.copy2(TEMPLATES / name, dest / name)
        written.append(name)
    (dest / ".gitignore").write_text(
        ".venv/\n__pycache__/\n*.egg-info/\n_build/\n.ipynb_checkpoints/\n.cache/\n"
    )
    (dest / ".student-edition").write_text(
        "Written by scripts/student_edition.py of the instructors' repository; "
        "regenerate it rather than editing it.\n"
    )
    written += [".gitignore", ".student-edition"]
    if book:
        html_dir = root / "_build" / "html"
        if not (html_dir / "index.html").is_file():
            raise FileNotFoundError(f"no built book in {html_dir}: run `make book` first")
        shutil.copytree(html_dir, dest / "_build" / "html")
        written += [
            p.relative_to(dest).as_posix()
            for p in (dest / "_build" / "html").rglob("*")
            if p.is_file()
        ]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "dest", type=Path, help="folder to write (emptied first if it is an edition)"
    )
    parser.add_argument("--book", action="store_true", help="also copy the built book, _build/html")
    parser.add_argument(
        "--repository-url", help="where the edition is published (the book's links)"
    )
    args = parser.parse_args(argv)
    try:
        written = write_edition(args.dest, book=args.book, repository_url=args.repository_url)
    except (ValueError, FileNotFoundError) as error:
        print(f"student-edition: {error}", file=sys.stderr)
        return 2
    found = leaks(args.dest)
    if found:
        print(
            "student-edition: the edition would give away:",
            *found[:20],
            sep="\n  ",
            file=sys.stderr,
        )
        return 1
    size = sum((args.dest / name).stat().st_size for name in written)
    print(
        f"Student edition in {args.dest}: {len(written)} files, {size / 1e6:.1f} MB, no leaks found."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
