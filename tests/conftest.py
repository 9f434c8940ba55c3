"""Session-wide pytest settings for the course's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import netblock
import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BookBuild:
    """The built book and the log of the network attempts made while building it."""

    html: Path
    netlog: Path


@pytest.fixture(scope="session")
def book_build(tmp_path_factory: pytest.TempPathFactory) -> BookBuild:
    """_build/html from the same command as `make book`, run once per test session.

    The first build of a session executes every page (cold in CI); later ones reuse the cache.
    Every Python process of the build (jupyter-book and the kernels it starts) runs with the network
    blocked (``netblock``), and logs any attempt to ``netlog``.
    """
    netlog = tmp_path_factory.mktemp("book-network") / "network.log"
    env = dict(os.environ, CH11_SOURCE="embedded", HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    # A test that ran earlier in this worker may have chosen a non-interactive matplotlib backend
    # through the environment; kernels would inherit it and draw no inline figures.
    env.pop("MPLBACKEND", None)
    env.update(netblock.blocker_env(netlog.parent / "site", netlog))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, env=env, timeout=3600,
    )  # fmt: skip
    log = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, f"jupyter-book build failed:\n{log}"
    return BookBuild(ROOT / "_build" / "html", netlog)


@pytest.fixture(scope="session")
def built_book(book_build: BookBuild) -> Path:
    """_build/html, built by `book_build`."""
    return book_build.html


# Network attempts made in this test process (the patched socket functions append to it).
_ATTEMPTS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # From collection on, connections beyond localhost raise OSError in the test processes
    # themselves, and the test during which one was tried fails (below); localhost stays open (the
    # browser test's server, chromedriver; Jupyter's ZeroMQ does not use Python sockets anyway).
    netblock.block(_ATTEMPTS.append)


def _fail_on_network(phase: str) -> Generator[None, object, object]:
    start = len(_ATTEMPTS)
    result = yield
    tried = _ATTEMPTS[start:]
    if tried:
        pytest.fail(f"the test tried to reach the network during {phase}: {tried[:5]}")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fail_on_network("setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fail_on_network("the test"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fail_on_network("teardown"))


# Longest work first, so that the two workers finish together (with `--no-loadscope-reorder`, xdist
# hands out work in this order): the cold book build and the grading batches take minutes each.
_FIRST = (
    "book",
    "nbgrader-stress",
    "nbgrader-attacks",
    "nbgrader-pipeline",
    "test_fast_autograde.py",
    "instructor-workflow",
)


def _start_rank(item: pytest.Item) -> int:
    marker = item.get_closest_marker("xdist_group")
    key = marker.args[0] if marker and marker.args else item.path.name
    return _FIRST.index(key) if key in _FIRST else len(_FIRST)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_start_rank)  # stable: the rest keep their collection order
    # The book and each grading batch are built once per worker; if xdist stops honouring
    # `xdist_group` (it did under pytest 9), they are silently built on both workers at once, and
    # two builds of the book race in one _build/. Refuse to run instead.
    if not getattr(config.option, "loadgroup", False):
        return
    lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if lost:
        raise pytest.UsageError(
            f"--dist loadgroup is not grouping tests (e.g. {lost[0]}): check the pytest and "
            "pytest-xdist versions pinned in pyproject.toml"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


_EXIT_STATUS = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # With torch, tokenizers and Jupyter kernels loaded, the interpreter has been seen to crash while
    # tearing down native threads *after* every result was reported, turning a green run red. Once
    # the summary is printed there is nothing left to do, so the main process leaves with pytest's
    # own exit status. (xdist workers exit normally: their results travel over a channel.)
    if hasattr(config, "workerinput") or _EXIT_STATUS not in config.stash:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash[_EXIT_STATUS])
