"""Display helpers the book's pages share, so that no page pastes its own copy.

A utility of pages ``01_bidirectional_encoders`` to ``05_spanbert``, shown on no page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Show a list of rows as a Markdown table (the built book renders it as a table)."""
    from IPython.display import Markdown, display

    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    display(Markdown("\n".join(lines)))
