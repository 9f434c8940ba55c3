"""Module fixtures for a model the course ships in ``ch11lib/assets`` (``course-bert``, ``minilm-mlm``).

In a test module: ``model, tokenizer, log = shipped_model_fixtures("course-bert", BertForPreTraining)``
gives the fixtures ``model`` (loaded through :mod:`ch11lib.resources`, eval mode), ``tokenizer`` and
``log`` (the ``training_log.json`` shipped next to the model), each built once per module.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ch11lib import resources


def shipped_model_fixtures(name: str, model_class: Any) -> tuple[Any, Any, Any]:
    folder = resources.ASSETS_DIR / name.replace("-", "_")

    @pytest.fixture(scope="module", name="model")
    def model_fixture():
        return resources.load_model(name, model_class)

    @pytest.fixture(scope="module", name="tokenizer")
    def tokenizer_fixture():
        return resources.load_tokenizer(name)

    @pytest.fixture(scope="module", name="log")
    def log_fixture() -> dict:
        return json.loads((folder / "training_log.json").read_text())

    return model_fixture, tokenizer_fixture, log_fixture
