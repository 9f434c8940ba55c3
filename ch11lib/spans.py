"""Alias of :mod:`ch11lib.spanbert`, the module's name before the rename (kept for handed-out notebooks).

``import ch11lib.spans`` and ``from ch11lib import spans`` give the very module object
``ch11lib.spanbert``, so its private helpers and any monkeypatching are shared. New code imports
``ch11lib.spanbert``.
"""

import sys

from ch11lib import spanbert

sys.modules[__name__] = spanbert
