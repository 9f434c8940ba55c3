"""The whole book builds offline with warnings as errors, and no executed cell shows an error.

This runs the same command as `make book`, with the network blocked in every Python process of the
build (``netblock``). Executed pages are cached in _build/.jupyter_cache, so a second run only
re-executes pages that changed (a cold build, as in CI, runs every page's kernel offline).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nbformat
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


_LAUNCH_LINK = re.compile(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)/[^"]+)"')


@pytest.mark.xdist_group("book")
def test_every_launch_button_opens_a_notebook_of_the_repository(built_book: Path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/").rstrip("/")
    branch = config["repository"]["branch"]
    binder = re.compile(rf"https://mybinder\.org/v2/gh/{repo}/{branch}\?urlpath=lab/tree/(.+)")
    colab = re.compile(rf"https://colab\.research\.google\.com/github/{repo}/blob/{branch}/(.+)")
    notebook_pages = [n for n in toc_files() if n.startswith(("chapters/", "assignments/"))]
    assert len(notebook_pages) >= 12
    for name in toc_files():
        page = (built_book / f"{name}.html").read_text()
        links = [html.unescape(link) for link in _LAUNCH_LINK.findall(page)]
        assert "user-redirect/git-pull" not in page, f"{name} has a JupyterHub button"
        if name not in notebook_pages:
            continue
        services = {"binder": binder, "colab": colab}
        for service, pattern in services.items():
            targets = [m.group(1) for link in links if (m := pattern.fullmatch(link))]
            assert targets, f"{name}: no {service} link to {repo}@{branch} among {links}"
            for target in targets:
                path = ROOT / target
                assert target == f"{name}.ipynb" and path.is_file(), (
                    f"{name}: {service} -> {target}"
                )
                nbformat.validate(nbformat.read(path, as_version=4))
