"""Grading the course's assignments: nbgrader preprocessors, the sandbox, batch grading, the CLI.

Needs the ``grading`` extra (``pip install ch11lib[grading]``: nbgrader). No concept module of
``ch11lib`` imports this package. One module per part:

- :mod:`~ch11lib.grading.execute`: ``GuardedExecute``, nbgrader's ``Execute`` with two kernels per
  submission: the student's cells in a sandboxed kernel, the locked cells (setup, helpers, tests) in
  a trusted one where the student's names are proxies;
- :mod:`~ch11lib.grading.sandbox`: the bubblewrap sandbox and its limits;
- :mod:`~ch11lib.grading.proxy` (trusted side), :mod:`~ch11lib.grading.agent` (student side) and
  :mod:`~ch11lib.grading.wire` (data only, across the two);
- :mod:`~ch11lib.grading.restore` (``RestoreLockedCells``), :mod:`~ch11lib.grading.limits`
  (``LimitOutputSize``), :mod:`~ch11lib.grading.strip` (``StripTestTracebacks``, for feedback);
- :mod:`~ch11lib.grading.forkkernel` (kernels forked from a server with the imports done),
  :mod:`~ch11lib.grading.batch` (a class in parallel shards), :mod:`~ch11lib.grading.cli`
  (``python -m ch11lib.grading``);
- :mod:`~ch11lib.grading.deadlines` (due dates, late penalties), :mod:`~ch11lib.grading.times`
  (submission times the instructor can trust: the LMS's, the exchange's, never the student's) and
  :mod:`~ch11lib.grading.exchange` (``TrustedCollect``, ``nbgrader collect`` dated by the exchange),
  :mod:`~ch11lib.grading.grades` and :mod:`~ch11lib.grading.export` (the gradebook as tables).

``nbgrader_config.py`` names the preprocessors by their full paths, e.g.
``ch11lib.grading.execute.GuardedExecute``; the feedback preprocessor is also importable as
``ch11lib.grading.StripTestTracebacks``.
"""

from ch11lib.grading.strip import StripTestTracebacks, is_test_cell, short_error

__all__ = ["StripTestTracebacks", "is_test_cell", "short_error"]
