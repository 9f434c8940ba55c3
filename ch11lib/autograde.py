"""Old import path of the grader (kept for existing scripts): see :mod:`ch11lib.grading`."""

from ch11lib.grading.batch import *  # noqa: F403
from ch11lib.grading.batch import (  # noqa: F401
    AutogradeResult,
    NbgraderError,
    autograde,
    collect,
    db_url,
    ensure_in_gradebook,
    fork_server,
    gradebook,
    merge_shard,
    nbgrader_env,
    preload_modules,
    run_nbgrader,
)
from ch11lib.grading.execute import GuardedExecute  # noqa: F401
from ch11lib.grading.limits import LimitOutputSize  # noqa: F401
from ch11lib.grading.restore import RestoreLockedCells  # noqa: F401
