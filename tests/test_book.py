"""The whole book builds offline with warnings as errors, and no executed cell shows an error.

This runs the same command as `make book`, with the network blocked in every Python process of the
build (``netblock``). Executed pages are cached in _build/.jupyter_cache, so a second run only
re-executes pages that changed (a cold build, as in CI, runs every page's kernel offline).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import netblock
import pytest
import yaml
from conftest import BookBuild

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


@pytest.mark.xdist_group("book")
def test_every_toc_page_is_built(built_book: Path):
    for name in toc_files():
        page = built_book / f"{name}.html"
        assert page.is_file(), f"{name} is in _toc.yml but {page} was not built"


@pytest.mark.xdist_group("book")
def test_no_page_shows_an_error_or_traceback(built_book: Path):
    for name in toc_files():
        html = (built_book / f"{name}.html").read_text()
        assert "Traceback (most recent call last)" not in html, f"{name} shows a traceback"
        assert not re.search(r'class="[^"]*output[^"]*(error|traceback)', html), (
            f"{name} has an error output cell"
        )
        assert "NotImplementedError" not in html, f"{name} shows an unimplemented stub"


@pytest.mark.xdist_group("book")
def test_figures_are_produced_by_executed_code(built_book: Path):
    images = (
        list((built_book / "_images").glob("*.png")) if (built_book / "_images").is_dir() else []
    )
    chapters = [name for name in toc_files() if name.startswith("chapters/")]
    assert len(images) >= len(chapters), "every chapter should contribute at least one figure"


@pytest.mark.xdist_group("book")
def test_the_build_never_reaches_the_network(book_build: BookBuild, tmp_path: Path):
    netblock.assert_blocker_works(tmp_path)  # a process started like the build cannot connect out
    guarded = netblock.guarded_processes(book_build.netlog)
    assert any("jupyter-book" in command for command in guarded), (
        f"the book was not built with the network blocker (guarded processes: {guarded})"
    )
    attempts = netblock.read_log(book_build.netlog)
    assert not attempts, f"building the book tried to reach the network:\n{attempts[:2000]}"


@pytest.mark.xdist_group("book")
def test_the_built_book_gives_away_no_hidden_test_or_solution(built_book: Path):
    # What a published book hands out: the pages, their downloads and _sources copies.
    sys.path.insert(0, str(ROOT / "scripts"))
    import student_edition

    sources = list((built_book / "_sources" / "assignments").rglob("*.ipynb"))
    assert len(sources) == len(list((ROOT / "assignments").glob("*/*.ipynb"))), sources
    assert student_edition.leaks(built_book) == []
