"""Old import path of the grader's cell analysis: see :mod:`ch11lib.grading.cells`.

The in-kernel guard that lived here (restoring patched library functions before every locked cell)
is gone: the locked cells now run in a trusted kernel of their own, which the student's code cannot
reach (:mod:`ch11lib.grading.execute`), so there is nothing left in the student's kernel to guard.
"""

from ch11lib.grading.cells import (  # noqa: F401
    GraderIntegrityError,
    bound_names,
    imported_roots,
    is_locked,
    is_test,
)
