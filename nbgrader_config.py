"""nbgrader configuration for the course (https://nbgrader.readthedocs.io/en/stable/configuration/).

Source notebooks (with solutions and hidden tests) live in ``solutions/``; ``nbgrader generate_assignment``
writes the student versions to ``assignments/``, which are committed. Submissions, autograded copies and
feedback stay out of git (see .gitignore).
"""

c = get_config()  # noqa: F821  (injected by nbgrader)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# Only notebooks reach students: notes, READMEs and scratch files in solutions/ are never copied.
c.CourseDirectory.include = ["*.ipynb"]
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.md", "*.txt"]
# Autograding copies a submission's other files next to the notebook, where the kernel starts: a
# student's `torch.py` or `ch11lib.py` would shadow the real module. Only notebooks are graded.
c.CourseDirectory.ignore += ["*.py", "*.pth", "*.so", "*.pyd", "*.pkl", "*.pt", "*.json", "*.csv"]

# The gradebook is local state of one instructor's machine, never committed.
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# A cell may not run longer than this: an infinite loop costs the student that cell, not the class.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# After a cell finishes, its last output may arrive late on a busy machine; nbclient's default (4 s)
# then fails the whole submission with "Timeout waiting for IOPub output".
c.Execute.iopub_timeout = 60

# Student cells must not rig the tests: ch11lib.grading.execute.GuardedExecute runs them in a
# sandboxed kernel of their own (bubblewrap: no network, no view of the course directory, limits)
# and the locked cells (setup, helpers, tests) in a trusted kernel, where the student's functions
# are proxies that pass data only (see README, "What the grader guarantees").
# CH11_GRADE_UNSANDBOXED=1 grades without the sandbox (the log and the report then say so).
# Deleted locked cells (tests, setup, helpers) are put back from the source before grading, and a
# cell whose type the student changed gets its type back (OverwriteCells).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "ch11lib.grading.restore.RestoreLockedCells",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "ch11lib.grading.execute.GuardedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "ch11lib.grading.limits.LimitOutputSize",  # LimitOutput counts lines; one huge line passes it
    "nbgrader.preprocessors.SaveAutoGrades",
    "ch11lib.grading.deadlines.DueDates",  # the due date below, into the gradebook
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# The calendar, in this one place (README, "Due dates and late penalties"): each assignment's due
# date (ISO 8601 with a UTC offset, or "YYYY-MM-DD HH:MM:SS Europe/Berlin"), written into the
# gradebook whenever a submission is autograded. A submission's time comes from the instructor's
# side only (ch11lib.grading.times): the LMS's (make autograde TIMES=times.csv) or the exchange's
# (this collect dates a submission by the exchange's file system, not by the time it claims); a
# timestamp.txt or file time that comes with a submission is the student's own and never read.
c.ExchangeFactory.collect = "ch11lib.grading.exchange.TrustedCollect"
c.DueDates.duedates = {
    # "a1_encoder": "2026-10-05 23:59:00+02:00",
}
# Late penalty: points_per_unit off per started unit (hour or day) after the due date, at most
# max_points, nothing within grace_minutes (ch11lib.grading.deadlines.LatePenalty).
c.AssignLatePenalties.plugin_class = "ch11lib.grading.deadlines.LatePenalty"
c.LatePenalty.unit = "day"
c.LatePenalty.points_per_unit = 10.0
c.LatePenalty.max_points = 50.0
c.LatePenalty.grace_minutes = 15.0

# Student versions: solutions replaced by this stub, hidden tests removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearHiddenTests.enforce_metadata = True

# Feedback shows which tests failed and why, never the hidden tests' source.
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    # nbgrader's ClearHiddenTests on the locked test cells only: a student's cell with the text
    # "### BEGIN HIDDEN TESTS" would stop the feedback of that student
    "ch11lib.grading.strip.ClearLockedHiddenTests",
    # IPython tracebacks print the failing source lines: keep only "ExceptionType: message".
    "ch11lib.grading.strip.StripTestTracebacks",
]
