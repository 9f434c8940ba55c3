"""Small, fast checks of grading internals that the slow end-to-end grading tests rely on."""

from __future__ import annotations

import inspect

from ch11lib import embeddings
from ch11lib.grading import proxy, wire


def test_a_decorated_library_function_switched_off_by_a_test_is_mirrored() -> None:
    # @torch.no_grad() wraps the function: a test's no_solutions() swaps the __code__ of the one it
    # wraps (inspect.unwrap); the trusted kernel must see that and mirror it into the student's
    path = "ch11lib.embeddings.sentence_word_states.__wrapped__"
    inner = inspect.unwrap(embeddings.sentence_word_states)
    assert inner is not embeddings.sentence_word_states
    saved_watch, original = proxy._STATE["code_watch"], inner.__code__
    proxy._STATE["code_watch"] = {}
    try:
        assert path in proxy._watched_functions()
        assert [p for _, p in proxy._plan()["code"]] == []
        scope: dict = {}
        stand_in = "def f(*args, **kwargs):\n    raise RuntimeError('switched off')\n"
        exec(compile(stand_in, "<ipython-input-1>", "exec"), scope)  # noqa: S102
        inner.__code__ = scope["f"].__code__
        assert [p for _, p in proxy._plan()["code"]] == [path]
    finally:
        inner.__code__ = original
        proxy._STATE["code_watch"] = saved_watch
        proxy._STATE["callbacks"] = {}


def test_both_sides_read_the_same_namespace() -> None:
    import __main__

    assert wire.user_namespace() is vars(__main__)  # outside IPython: __main__'s
