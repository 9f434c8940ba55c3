"""Alias of :mod:`ch11lib.span_ner`, the module's name before the rename (kept for handed-out notebooks).

``import ch11lib.span_heads`` and ``from ch11lib import span_heads`` give the very module object
``ch11lib.span_ner``, so its private helpers and any monkeypatching are shared. New code imports
``ch11lib.span_ner``.
"""

import sys

from ch11lib import span_ner

sys.modules[__name__] = span_ner
