"""Old name of the instructor's command line (``python -m ch11lib.course``): see
:mod:`ch11lib.grading.cli`."""

from ch11lib.grading.cli import *  # noqa: F403
from ch11lib.grading.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
