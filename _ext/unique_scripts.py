"""Sphinx extension: each page loads each of its scripts once.

With Sphinx 7.4, an inline script that an extension adds once the builder exists (sphinx-thebe's
`const THEBE_JS_URL = ...`, sphinx-togglebutton's selector) reaches the page twice: once as added, and
once more from Sphinx's registry (with the file name `''` instead of `None`). A `const` declared twice
is a JavaScript SyntaxError on every page, which the browser test reports. This drops the copies.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _key(script: Any) -> tuple:
    """What makes two script entries the same script: file (or none), priority and attributes."""
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {})
    return (filename, getattr(script, "priority", None), tuple(sorted(attributes.items())))


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Keep the first of every group of identical entries of the page's `script_files`."""
    scripts = context.get("script_files")
    if not scripts:
        return
    unique: dict[tuple, Any] = {}
    for script in scripts:
        unique.setdefault(_key(script), script)
    context["script_files"] = list(unique.values())


def setup(app: Sphinx) -> dict[str, Any]:
    # A late priority: run after the themes and extensions have added their own scripts.
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
