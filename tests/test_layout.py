"""The library's layout: old module names that handed-out notebooks import still work."""

from __future__ import annotations

import importlib

import pytest

# (old name, new name): the old one is an alias, the very same module object
ALIASES = [
    ("ch11lib.spans", "ch11lib.spanbert"),
    ("ch11lib.span_heads", "ch11lib.span_ner"),
]


@pytest.mark.parametrize(("old", "new"), ALIASES)
def test_old_module_name_is_the_new_module(old: str, new: str) -> None:
    old_module = importlib.import_module(old)
    new_module = importlib.import_module(new)
    assert old_module is new_module, f"{old} must be an alias of {new}"
    package, _, leaf = old.rpartition(".")
    assert getattr(importlib.import_module(package), leaf) is new_module


def test_old_names_reach_the_functions_the_assignments_switch_off() -> None:
    from ch11lib.span_heads import enumerate_spans as old_enumerate
    from ch11lib.span_ner import enumerate_spans
    from ch11lib.spanbert import span_length_probabilities
    from ch11lib.spans import span_length_probabilities as old_lengths

    # The same function objects: switching off ch11lib.spanbert also switches off what a student
    # imported under the old name.
    assert old_lengths is span_length_probabilities
    assert old_enumerate is enumerate_spans
