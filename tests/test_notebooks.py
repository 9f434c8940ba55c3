"""The notebooks the launch buttons open: in sync with the pages, with a working install cell; Binder."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import nltk
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_notebooks  # noqa: E402


def test_every_chapter_has_its_notebook_in_sync():
    stale = build_notebooks.out_of_date()
    assert not stale, f"run `make notebooks`: out of date: {stale}"
    pages = sorted(p.stem for p in (ROOT / "chapters").glob("*.md"))
    assert pages == sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))


def test_a_changed_page_makes_its_notebook_stale(tmp_path: Path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_config.yml").write_text((ROOT / "_config.yml").read_text())
    page = tmp_path / "chapters" / "01.md"
    page.write_text((ROOT / "chapters" / "01_bidirectional_encoders.md").read_text())
    assert build_notebooks.out_of_date(tmp_path) == ["chapters/01.ipynb"]
    build_notebooks.write_notebooks(tmp_path)
    assert build_notebooks.out_of_date(tmp_path) == []
    page.write_text(page.read_text().replace("print(", "print( ", 1))
    assert build_notebooks.out_of_date(tmp_path) == ["chapters/01.ipynb"]
    page.unlink()
    assert build_notebooks.out_of_date(tmp_path) == ["chapters/01.ipynb"]  # an orphan


def _install_cell(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    cell = notebook.cells[0]
    assert cell.cell_type == "code" and cell.id == build_notebooks.INSTALL_CELL_ID
    assert "remove-cell" in cell.metadata["tags"]
    return cell


def test_the_install_cell_does_nothing_in_the_course_environment(monkeypatch):
    cell = _install_cell(ROOT / "chapters" / "01_bidirectional_encoders.ipynb")
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    exec(compile(cell.source, "install-cell", "exec"), {})
    assert ran == []


def test_the_install_cell_installs_the_course_where_it_is_missing(monkeypatch):
    cell = _install_cell(ROOT / "chapters" / "07_contextual_embeddings_wsd.ipynb")
    ran, downloads = [], []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append((a, k)))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(nltk, "download", lambda *a, **k: downloads.append(a))
    exec(compile(cell.source, "install-cell", "exec"), {})
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    (command,), options = ran[0]
    assert command[1:4] == ["-m", "pip", "install"] and options == {"check": True}
    assert command[-1] == f"ch11lib @ git+{config['url']}@{config['branch']}"
    assert downloads == [("wordnet",)]


@pytest.mark.parametrize(
    "release", sorted((ROOT / "assignments").glob("*/*.ipynb")), ids=lambda p: p.parent.name
)
def test_every_assignment_opens_with_the_install_cell(release: Path, monkeypatch):
    """An assignment opened on Colab installs the course first; it is no nbgrader cell (no checksum,
    so the student edition can point it elsewhere), and in the course's environment it does nothing."""
    notebook = nbformat.read(release, as_version=4)
    cell = notebook.cells[0]
    assert cell.cell_type == "code" and cell.id == build_notebooks.INSTALL_CELL_ID
    assert "nbgrader" not in cell.metadata
    url, branch = build_notebooks.repository(ROOT)
    assert cell.source == build_notebooks.INSTALL_CELL.format(repository_url=url, branch=branch)
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    exec(compile(cell.source, "install-cell", "exec"), {})
    assert ran == []


def test_binder_builds_the_course_environment():
    binder = ROOT / "binder"
    requirements = (binder / "requirements.txt").read_text().splitlines()
    pyproject = (ROOT / "pyproject.toml").read_text()
    torch = next(line for line in requirements if line.startswith("torch"))
    assert f'"{torch}"' in pyproject, "binder's torch range differs from pyproject.toml's"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert set((binder / "apt.txt").read_text().split()) == {"wordnet-base", "wordnet-sense-index"}
    post_build = binder / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    assert 'pip install --no-cache-dir -e ".[book]"' in post_build.read_text()
    runtime = (binder / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11"  # the version the course is tested with


def test_the_jupyterhub_button_is_off_until_a_hub_is_set():
    launch = yaml.safe_load((ROOT / "_config.yml").read_text())["launch_buttons"]
    assert not launch.get("jupyterhub_url")
    assert launch["colab_url"] and launch["binderhub_url"]
    assert json.dumps(launch).count("example.org") == 0
