"""The student edition (scripts/student_edition.py) gives students the course and nothing that grades.

The edition is written once per worker (copying only, no book build); the built book passes the same
leak check in tests/test_book.py.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition  # noqa: E402


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("edition") / "student-course"
    assert student_edition.main([str(dest)]) == 0
    return dest


def _run_in(edition: Path, code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that imports ch11lib from the edition, not the repository.

    The venv's editable install of the repository would still find a module the edition lacks (its
    finder comes after the path), so it is taken out first.
    """
    env = dict(os.environ, PYTHONPATH=str(edition), CH11_SOURCE="embedded")
    env.pop("MPLBACKEND", None)
    unhook = (
        "import sys\nsys.meta_path[:] = [f for f in sys.meta_path\n"
        "    if not getattr(f, '__module__', '').startswith('__editable__')]\n"
    )
    return subprocess.run([sys.executable, "-c", unhook + code], cwd=edition, env=env,
                          capture_output=True, text=True, timeout=180)  # fmt: skip


def test_edition_holds_the_course_and_no_excluded_file(edition: Path):
    files = {p.relative_to(edition).as_posix() for p in edition.rglob("*") if p.is_file()}
    for name in ("README.md", "Makefile", "pyproject.toml", "scripts/install.sh", "_toc.yml",
                 "ch11lib/assets/course_bert/model.safetensors", "LICENSE", "LICENSE-content"):  # fmt: skip
        assert name in files, f"the edition lacks {name}"
    assert {f"assignments/{a}/{a}.ipynb" for a in _assignments()} <= files
    chapters = {p.name for p in (ROOT / "chapters").glob("*.md")}
    assert chapters and chapters == {p.name for p in (edition / "chapters").glob("*.md")}
    excluded = [f for f in files if student_edition._matches(f, student_edition.EXCLUDE)]
    assert not excluded, excluded
    for module in ("autograde", "guard", "course", "forkkernel", "grading"):
        assert not (edition / "ch11lib" / f"{module}.py").exists(), (
            f"ch11lib/{module}.py is grading"
        )
    assert not (edition / "ch11lib" / "grading").exists()
    readme = (edition / "README.md").read_text()
    for instructor_word in ("autograde", "nbgrader db", "solutions/", "gradebook", "mutants"):
        assert instructor_word not in readme, f"the students' README mentions {instructor_word!r}"
    assert "make autograde" not in (edition / "Makefile").read_text()


def test_edition_gives_away_no_hidden_test_or_solution(edition: Path):
    assert student_edition.leaks(edition) == []


def test_the_leak_check_finds_what_was_planted(edition: Path, tmp_path: Path):
    secrets = student_edition.secret_lines()
    assert len(secrets["hidden test"]) > 50 and len(secrets["solution"]) > 20
    planted = tmp_path / "planted"
    shutil.copytree(edition / "assignments", planted / "assignments")
    notebook_path = planted / "assignments" / "a1_encoder" / "a1_encoder.ipynb"
    notebook = json.loads(notebook_path.read_text())
    hidden_line = sorted(secrets["hidden test"])[0]
    notebook["cells"][-1]["source"] = ["x = 1\n", f"    {hidden_line}\n"]
    notebook_path.write_text(json.dumps(notebook))
    solution_line = sorted(secrets["solution"])[0]
    (planted / "notes.md").write_text(f"text\n{solution_line}\n")
    (planted / "tests" / "mutants").mkdir(parents=True)
    (planted / "tests" / "mutants" / "a1_encoder.py").write_text("")
    (planted / "_sources" / "solutions").mkdir(parents=True)
    (planted / "_sources" / "solutions" / "a1.ipynb").write_text("{}")
    found = "\n".join(student_edition.leaks(planted))
    assert f"a hidden test line: {hidden_line}" in found
    assert f"notes.md: a solution line: {solution_line}" in found
    assert "tests/mutants/a1_encoder.py: a file from an excluded place" in found
    assert "_sources/solutions/a1.ipynb: a file from an excluded place" in found


def test_grading_modules_are_found_by_rule(tmp_path: Path):
    # A module that imports the grader, an alias that imports it, one the grader uses, one a page uses.
    (tmp_path / "ch11lib" / "grading").mkdir(parents=True)
    (tmp_path / "chapters").mkdir()
    files = {
        "ch11lib/__init__.py": "",
        "ch11lib/grading/__init__.py": "from ch11lib import helper\n",
        "ch11lib/grading/run.py": "X = 0\n",
        "ch11lib/grader.py": "import nbgrader\nfrom ch11lib import helper\n",
        "ch11lib/old_name.py": "from ch11lib.grading.run import X  # noqa: F401\n",
        "ch11lib/uses_grader.py": "from ch11lib.grader import run\n",
        "ch11lib/helper.py": "X = 1\n",
        "ch11lib/shared.py": "Y = 2\n",
        "chapters/01.md": "```{code-cell}\nfrom ch11lib import shared\n```\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert student_edition.grading_modules(list(files), tmp_path) == {
        "ch11lib/grading/__init__.py", "ch11lib/grading/run.py", "ch11lib/grader.py",
        "ch11lib/old_name.py", "ch11lib/uses_grader.py",
    }  # fmt: skip


def test_every_page_import_and_library_module_loads_from_the_edition(edition: Path):
    imports = set()
    for page in sorted((edition / "chapters").glob("*.md")):
        for cell in jupytext.read(page).cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if line[:1] not in "%!")
            imports |= {
                ast.unparse(node) for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Import | ast.ImportFrom)
                and "ch11lib" in ast.unparse(node)
            }  # fmt: skip
    assert len(imports) >= 5
    modules = sorted(
        p.relative_to(edition).with_suffix("").as_posix().replace("/", ".")
        for p in (edition / "ch11lib").rglob("*.py") if p.name != "__init__.py"
    )  # fmt: skip
    code = "\n".join(sorted(imports)) + (
        "\nimport importlib, ch11lib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(ch11lib.__file__)\n"
        "try:\n    import ch11lib.guard\nexcept ImportError:\n    print('no grader')\n"
    )
    result = _run_in(edition, code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[0] == str(edition / "ch11lib" / "__init__.py")
    assert "no grader" in result.stdout


def _assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "assignments").iterdir() if p.is_dir())


def _cells_to_first_test(notebook: dict) -> tuple[list[str], str, str]:
    """The code cells before the first graded test cell, that test cell, and the first student cell."""
    before, student = [], None
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            return before, "".join(cell["source"]), student
        if meta.get("solution") and student is None:
            student = meta["grade_id"]
        before.append("".join(cell["source"]))
    raise AssertionError("no test cell")


def test_an_assignments_visible_tests_run_from_the_edition(edition: Path):
    release = json.loads((edition / "assignments/a1_encoder/a1_encoder.ipynb").read_text())
    setup, first_test, student_id = _cells_to_first_test(release)
    assert any("raise NotImplementedError()" in cell for cell in setup)
    # The instructor's solution of that cell (from this repository, never from the edition).
    source = json.loads((ROOT / "solutions/a1_encoder/a1_encoder.ipynb").read_text())
    solution = next(
        "".join(c["source"]) for c in source["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == student_id
    )  # fmt: skip
    solved = [solution if "raise NotImplementedError()" in cell else cell for cell in setup]
    program = (
        "import json, sys\n"
        f"cells = json.loads({json.dumps(json.dumps(solved))})\n"
        f"as_handed_out = json.loads({json.dumps(json.dumps(setup))})\n"
        f"test = {first_test!r}\n"
        "namespace = {}\n"
        "for cell in cells: exec(cell, namespace)\n"
        "exec(test, namespace)\n"
        "print('visible test passed')\n"
        "stub = {}\n"
        "for cell in as_handed_out: exec(cell, stub)\n"
        "try:\n    exec(test, stub)\nexcept NotImplementedError:\n    print('stub fails the test')\n"
    )
    result = _run_in(edition, program)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "visible test passed" in result.stdout
    assert "stub fails the test" in result.stdout


def test_a_published_edition_points_its_book_at_its_own_repository(tmp_path: Path):
    url = "https://github.com/example-university/slp3-ch11-students"
    assert student_edition.main([str(tmp_path / "e"), "--repository-url", url]) == 0
    config = yaml.safe_load((tmp_path / "e" / "_config.yml").read_text())
    assert config["repository"]["url"] == url
    install_cell = json.loads((tmp_path / "e/chapters/01_bidirectional_encoders.ipynb").read_text())
    assert f"git+{url}@main" in "".join(install_cell["cells"][0]["source"])
    # ... and so do the assignments' install cells, the rest of each released notebook unchanged.
    for release in sorted((ROOT / "assignments").glob("*/*.ipynb")):
        published = json.loads((tmp_path / "e" / release.relative_to(ROOT)).read_text())
        original = json.loads(release.read_text())
        assert f"git+{url}@main" in "".join(published["cells"][0]["source"]), release.name
        assert published["cells"][1:] == original["cells"][1:], release.name
    # Written again into the same folder (a refresh), it keeps the folder's own .git.
    (tmp_path / "e" / ".git").mkdir()
    (tmp_path / "e" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert student_edition.main([str(tmp_path / "e")]) == 0
    assert (tmp_path / "e" / ".git" / "HEAD").is_file()
    assert student_edition.main([str(ROOT / "edition")]) == 2  # never inside the repository
