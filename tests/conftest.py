"""Session-wide pytest settings for the course's tests."""

from __future__ import annotations

import os
import sys

import pytest


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
