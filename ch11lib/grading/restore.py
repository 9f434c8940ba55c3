"""``RestoreLockedCells``: put back the locked cells a student deleted, before grading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ch11lib.grading.cells import is_locked


class RestoreLockedCells(NbGraderPreprocessor):
    """Put back locked cells the student deleted (setup and helper cells included), in place.

    nbgrader re-adds deleted *graded* cells at best; a deleted helper cell (``check_close``) would
    let a student define a lenient one of their own. Cells are taken from the course's source
    notebook (``solutions/<a>/<nb>.ipynb``) and inserted after the nearest earlier cell the
    submission still has; ``OverwriteCells`` then checks them against the gradebook as usual.
    """

    def preprocess(self, nb: NotebookNode, resources: Any):  # type: ignore[override]
        info = resources.get("nbgrader", {})
        source_path = (
            Path(self.coursedir_root)
            / "solutions"
            / str(info.get("assignment"))
            / f"{info.get('notebook')}.ipynb"
        )
        if not source_path.is_file():
            self.log.warning(
                "no source notebook %s: deleted locked cells not restored", source_path
            )
            return nb, resources
        source = nbformat.read(source_path, as_version=4)

        def grade_id(cell: NotebookNode) -> str | None:
            return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")

        present = {grade_id(c) for c in nb.cells}
        previous: str | None = None  # grade_id of the last source cell the submission has
        for cell in source.cells:
            gid = grade_id(cell)
            if gid is None:
                continue
            if gid not in present and is_locked(cell):
                position = 0
                if previous is not None:
                    position = 1 + next(
                        i for i, c in enumerate(nb.cells) if grade_id(c) == previous
                    )
                restored = nbformat.from_dict(dict(cell))
                if restored.cell_type == "code":
                    restored.outputs, restored.execution_count = [], None
                nb.cells.insert(position, restored)
                present.add(gid)
                self.log.warning("restored deleted locked cell %s", gid)
            if gid in present:
                previous = gid
        return nb, resources

    coursedir_root = Unicode(".", help="the course directory (where solutions/ is)").tag(
        config=True
    )
