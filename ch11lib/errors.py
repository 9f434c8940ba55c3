"""Exceptions shared by every ch11lib module.

A utility of every module, shown on no page.
"""


class MissingResourceError(RuntimeError):
    """A model, data set or corpus the course needs is not installed; the message says how to get it."""
