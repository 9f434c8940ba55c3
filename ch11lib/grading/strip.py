"""nbgrader/nbconvert preprocessors the course uses when it grades and returns feedback.

:class:`StripTestTracebacks` keeps the hidden tests hidden in feedback: IPython tracebacks print the
source lines around the failing statement, so a failing hidden test would show its own code in the
feedback HTML even after ``ClearHiddenTests`` has removed it from the cell. The preprocessor replaces
the traceback of every error output of a graded test cell by one line, ``ExceptionType: message``,
which is what the student needs ("AssertionError: attention weights do not sum to 1 over keys").

It is wired into ``nbgrader_config.py``::

    c.GenerateFeedback.preprocessors = [..., "ch11lib.grading.StripTestTracebacks"]

:class:`ClearLockedHiddenTests` is nbgrader's ``ClearHiddenTests`` for the feedback, applied only to
the locked test cells (which autograding restored from the source, so their hidden regions are the
instructor's): a student cell that contains the text ``### BEGIN HIDDEN TESTS`` (a comment, a
pasted test, a written answer about it) is the student's own text, left as it is, instead of
stopping ``generate_feedback`` for that student ("Hidden test region detected in a non-grade cell",
or "No end hidden tests statement found").
"""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool


def is_test_cell(cell: NotebookNode) -> bool:
    """True for an autograded test cell (nbgrader ``grade`` without ``solution``)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def short_error(output: NotebookNode) -> str:
    """``"ExceptionType: message"`` of an nbformat error output (just the type if no message)."""
    ename, evalue = str(output.get("ename", "Error")), str(output.get("evalue", ""))
    return f"{ename}: {evalue}" if evalue else ename


class StripTestTracebacks(Preprocessor):
    """Replace the tracebacks of graded test cells by ``ExceptionType: message``."""

    # nbconvert skips preprocessors that are not enabled; nbgrader registers this one by name.
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        if is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [short_error(output)]
        return cell, resources


class ClearLockedHiddenTests(ClearHiddenTests):
    """``ClearHiddenTests`` on the autograded test cells only; every other cell is left alone."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        if is_test_cell(cell):
            return super().preprocess_cell(cell, resources, index)
        return cell, resources
