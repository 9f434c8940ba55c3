"""Attacks on the autograder: cells a student could hand in to get marks without answers.

Each attack is student code (strings, run only inside a grading kernel, never imported by the
tests): ``kernel`` (IPython's machinery), ``interpreter`` (tracing, ``gc`` and frames, ``ctypes``,
compiler flags), ``patching`` (library and helper functions changed in place or at call time),
``host`` (files, network, processes, memory, disk, the kernel's own death), ``output`` (printing
what a passing test looks like) and ``results`` (odd return values). ``tests/test_grader_attacks.py``
builds the notebooks and grades them.

Every cell starts with ``PARAMS = {...}`` (see :func:`cell`): what the attack is told about the host
(the course directory, a loopback port, the token its traces carry). The secrets the reading attacks
look for are *not* in ``PARAMS``: an attack that prints one has read it.
"""

from __future__ import annotations

import textwrap
from typing import Any


def cell(body: str, params: dict[str, Any] | None = None) -> str:
    """The source of a student cell: ``PARAMS = {...}`` then ``body`` (dedented)."""
    return f"PARAMS = {params or {}!r}\n" + textwrap.dedent(body).strip() + "\n"
