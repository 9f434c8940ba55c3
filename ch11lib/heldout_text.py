"""Alias of :mod:`ch11lib.data.heldout_text`, the module's name before the data moved to ``ch11lib/data/``.

Kept for handed-out notebooks: ``import ch11lib.heldout_text`` gives the very module object
``ch11lib.data.heldout_text``. New code imports ``ch11lib.data.heldout_text``.
"""

import sys

from ch11lib.data import heldout_text

sys.modules[__name__] = heldout_text
