"""Alias of :mod:`ch11lib.data.ner`, the module's name before the data moved to ``ch11lib/data/``.

Kept for handed-out notebooks: ``import ch11lib.ner_data`` gives the very module object
``ch11lib.data.ner``. New code imports ``ch11lib.data.ner``.
"""

import sys

from ch11lib.data import ner

sys.modules[__name__] = ner
