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

# The gradebook is local state of one instructor's machine, never committed.
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# A cell may not run longer than this: an infinite loop costs the student that cell, not the class.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# After a cell finishes, its last output may arrive late on a busy machine; nbclient's default (4 s)
# then fails the whole submission with "Timeout waiting for IOPub output".
c.Execute.iopub_timeout = 60

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
    "nbgrader.preprocessors.ClearHiddenTests",
    # IPython tracebacks print the failing source lines: keep only "ExceptionType: message".
    "ch11lib.grading.StripTestTracebacks",
]
