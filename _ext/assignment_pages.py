"""Sphinx extension: a "how to work on this" box at the top of every assignment page.

The book shows each student notebook `assignments/<name>/<name>.ipynb` as a page, unexecuted, exactly as
nbgrader generated it. That notebook cannot carry book-specific text (it is regenerated from
`solutions/`), so this extension inserts, under the page title, a note with a direct download link to
the notebook and a link to the page that explains how assignments are done and graded. Any notebook at
that path gets the box; nothing needs to be listed per assignment.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

# The student version of assignment <name> lives at assignments/<name>/<name>.ipynb.
ASSIGNMENT_DOCNAME = re.compile(r"^assignments/(?P<name>[^/]+)/(?P=name)$")
GUIDE_DOCNAME = "assignments"  # the page that explains how to work on and submit an assignment


def assignment_name(docname: str) -> str | None:
    """The assignment name (e.g. 'a1_encoder') if `docname` is a student notebook, else None."""
    match = ASSIGNMENT_DOCNAME.match(docname)
    return match.group("name") if match else None


def _note(docname: str, name: str) -> nodes.Element:
    """The box: the download link (to the copy Sphinx keeps in _sources/) and the guide link."""
    notebook = f"{name}.ipynb"
    download_target = posixpath.relpath(f"_sources/{docname}.ipynb", posixpath.dirname(docname))
    download = nodes.reference("", "", nodes.literal(notebook, notebook), refuri=download_target)
    download["classes"].append("assignment-download")
    guide = addnodes.pending_xref(
        "",
        nodes.inline("how assignments work", "how assignments work"),
        refdomain="std",
        reftype="doc",
        reftarget=f"/{GUIDE_DOCNAME}",
        refexplicit=True,
        refwarn=True,
        refdoc=docname,
    )
    first = nodes.paragraph()
    first += nodes.Text(
        "This is the student version of the assignment, shown here without running it. "
    )
    first += nodes.strong("", "Download the notebook: ", download)
    first += nodes.Text(
        " (or use the download button at the top of the page), open it in Jupyter in the course's "
        "environment, and write your code in every cell marked "
    )
    first += nodes.literal("# YOUR CODE HERE", "# YOUR CODE HERE")
    first += nodes.Text(".")
    second = nodes.paragraph()
    second += nodes.Text("Before you start, read ")
    second += guide
    second += nodes.Text(
        ": what the visible and hidden tests are, how points are given and how to check your "
        "notebook before you hand it in."
    )
    note = nodes.admonition("", nodes.title("", "Working on this assignment"), first, second)
    note["classes"] += ["tip", "assignment-note"]
    return note


def add_assignment_note(app: Sphinx, doctree: nodes.document) -> None:
    """Insert the box under the title of a student notebook's page (other pages are left alone)."""
    docname = app.env.docname
    name = assignment_name(docname)
    if name is None or not app.env.doc2path(docname).endswith(".ipynb"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        raise ValueError(f"{docname}: an assignment notebook must start with a '# Title' heading")
    title_index = next(
        i for i, child in enumerate(section.children) if isinstance(child, nodes.title)
    )
    section.insert(title_index + 1, _note(docname, name))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", add_assignment_note)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
