"""Alias of :mod:`ch11lib.data.wordnet`, the module's name before the data moved to ``ch11lib/data/``.

Kept for handed-out notebooks: ``import ch11lib.wordnet`` gives the very module object
``ch11lib.data.wordnet``. New code imports ``ch11lib.data.wordnet``.
"""

import sys

from ch11lib.data import wordnet

sys.modules[__name__] = wordnet
