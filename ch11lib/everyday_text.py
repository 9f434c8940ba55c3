"""Alias of :mod:`ch11lib.data.everyday_text`, the module's name before the data moved to ``ch11lib/data/``.

Kept for handed-out notebooks: ``import ch11lib.everyday_text`` gives the very module object
``ch11lib.data.everyday_text``. New code imports ``ch11lib.data.everyday_text``.
"""

import sys

from ch11lib.data import everyday_text

sys.modules[__name__] = everyday_text
