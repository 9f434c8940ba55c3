"""`scripts/continue_pretraining_minilm.py` end to end, on a toy configuration (seconds).

The same promises as the course BERT's script (tests/test_pretrain_script.py, whose runner this
reuses): a fixed seed reproduces the run, an interrupted run resumes to identical weights, and the
export (only the trained tensors) is put back together into a fill-mask model that loads with
`transformers.pipeline`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_pretrain_script import ROOT, training_log
from test_pretrain_script import run_script as run_any_script

from ch11lib import resources
from ch11lib.continued_pretraining import DELTA_FILE, assemble_model

TOY = [
    "--sources", "chatterbot", "devil", "--documents", "150", "--train-layers", "1",
    "--max-length", "32", "--batch-size", "8", "--steps", "6", "--eval-every", "3",
    "--checkpoint-every", "2", "--eval-pairs", "16", "--threads", "1",
]  # fmt: skip
run_script = functools.partial(
    run_any_script, script=ROOT / "scripts" / "continue_pretraining_minilm.py", toy=TOY
)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    run_script(run_dir)
    return run_dir


def test_export_holds_only_the_trained_tensors_and_loads_as_fill_mask(uninterrupted, tmp_path):
    from transformers import BertForMaskedLM, pipeline

    export = uninterrupted / "export"
    delta = load_file(export / DELTA_FILE)
    log = training_log(uninterrupted)
    assert sorted(delta) == sorted(log["trained_tensors"])
    assert all(t.dtype == torch.float16 for t in delta.values())
    # the top layer and the head were trained; the embeddings and lower layers stay in MiniLM's package
    assert any(n.startswith("bert.encoder.layer.5.") for n in delta)
    assert not any(n.startswith(("bert.embeddings", "bert.encoder.layer.4.")) for n in delta)
    assert "cls.predictions.bias" in delta and "cls.predictions.transform.dense.weight" in delta

    folder = assemble_model(export, Path(resources.model_location("minilm")), tmp_path)
    model = BertForMaskedLM.from_pretrained(folder)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    state = model.state_dict()
    assert all(torch.equal(state[n], t.float()) for n, t in delta.items())
    fill = pipeline("fill-mask", model=str(folder), device="cpu")
    assert len(fill("a dog is a [MASK].", top_k=3)) == 3

    assert log["step"] == 6 and [e["step"] for e in log["evaluations"]] == [0, 3, 6]
    card = (export / "README.md").read_text()
    last = log["evaluations"][-1]
    assert "(final)" in card and f"{last['mlm_accuracy']:.1%}" in card


def test_same_seed_and_an_interruption_give_the_same_model(uninterrupted, tmp_path):
    assert "stopped at step 2" in run_script(tmp_path, "--stop-after", "2")
    assert "resumed from step 2" in run_script(tmp_path)
    whole, resumed = training_log(uninterrupted), training_log(tmp_path)
    assert [h["loss"] for h in whole["history"]] == [h["loss"] for h in resumed["history"]]
    strip = [{k: v for k, v in e.items() if k != "seconds"} for e in whole["evaluations"]]
    assert strip == [{k: v for k, v in e.items() if k != "seconds"} for e in resumed["evaluations"]]
    weights = load_file(uninterrupted / "export" / DELTA_FILE)
    again = load_file(tmp_path / "export" / DELTA_FILE)
    assert weights.keys() == again.keys()
    assert all(torch.equal(weights[name], again[name]) for name in weights)
