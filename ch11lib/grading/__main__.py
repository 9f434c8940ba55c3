"""``python -m ch11lib.grading``: the instructor's command line (:mod:`ch11lib.grading.cli`)."""

from ch11lib.grading.cli import main

raise SystemExit(main())
