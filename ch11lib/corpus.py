"""Alias of :mod:`ch11lib.data.corpus`, the module's name before the data moved to ``ch11lib/data/``.

Kept for handed-out notebooks: ``import ch11lib.corpus`` gives the very module object
``ch11lib.data.corpus``. New code imports ``ch11lib.data.corpus``.
"""

import sys

from ch11lib.data import corpus

sys.modules[__name__] = corpus
