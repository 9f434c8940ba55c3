"""``LimitOutputSize``: cut every text output of the autograded notebook to a size."""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


class LimitOutputSize(NbGraderPreprocessor):
    """Cut every text output to ``max_chars`` characters (head and tail kept).

    nbgrader's ``LimitOutput`` counts lines, so ``print("x" * 10**7)`` (one line) would keep
    megabytes in the autograded notebook, the feedback page and the gradebook's HTML.
    """

    max_chars = Integer(20_000, help="maximum characters of one text output").tag(config=True)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        half = self.max_chars // 2
        return f"{text[:half]}\n... output truncated ({len(text)} characters) ...\n{text[-half:]}"

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):  # type: ignore[override]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = self._cut(str(output.get("text", "")))
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = self._cut(value)
        return cell, resources
