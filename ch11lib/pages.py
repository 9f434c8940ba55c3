"""Display helpers the book's pages share, so that no page pastes its own copy.

Utilities of the pages, shown on no page: ``markdown_table`` and ``glue``, with which a page hands a
computed number to its prose (``{glue:text}`key``` in the Markdown; tests/test_numerals.py requires it
for every number the prose states about a result).
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


def glue(name: str, value: Any) -> Any:
    """Hand ``value`` to the page's prose as ``{glue:text}`name```; returns ``value``.

    The book (MyST-NB) pastes the value where the prose names it. Outside the book's environment
    (Colab, a plain Jupyter, without ``myst_nb``) nothing is shown and the page still runs; the prose
    then shows the role's name instead of the number, and the cell outputs show the number.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=False)
    return value
