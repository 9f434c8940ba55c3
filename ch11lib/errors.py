"""Exceptions shared by every ch11lib module."""


class MissingResourceError(RuntimeError):
    """A model, data set or corpus the course needs is not installed; the message says how to get it."""
