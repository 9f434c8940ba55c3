"""Alias of :mod:`ch11lib.data.tasks`, the module's name before the data moved to ``ch11lib/data/``.

Kept for handed-out notebooks: ``import ch11lib.tasks`` gives the very module object
``ch11lib.data.tasks``. New code imports ``ch11lib.data.tasks``.
"""

import sys

from ch11lib.data import tasks

sys.modules[__name__] = tasks
