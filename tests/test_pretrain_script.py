"""`scripts/pretrain_course_bert.py` end to end, on a toy configuration (seconds, not hours).

The shipped course BERT comes from this script; these tests keep what the model card promises true of
the script: a fixed seed reproduces the run exactly, an interrupted run resumes to the same result,
and the export loads with `transformers` as a fill-mask model with its card and training curves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "pretrain_course_bert.py"
TOY = [
    "--documents", "150", "--vocab-size", "600", "--hidden", "32", "--layers", "1",
    "--heads", "2", "--max-length", "32", "--batch-size", "8", "--steps", "30",
    "--eval-every", "15", "--checkpoint-every", "10", "--eval-pairs", "16", "--threads", "1",
]  # fmt: skip


def run_script(run_dir: Path, *extra: str, script: Path = SCRIPT, toy: list[str] = TOY) -> str:
    """Run ``script`` on the ``toy`` configuration into ``run_dir`` (export in ``run_dir/export``)."""
    command = [sys.executable, str(script), *toy, "--run-dir", str(run_dir)]
    command += ["--export-dir", str(run_dir / "export"), *extra]
    environment = {**os.environ, "TQDM_DISABLE": "1"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=environment, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def training_log(run_dir: Path) -> dict:
    return json.loads((run_dir / "export" / "training_log.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    run_script(run_dir)
    return run_dir


def test_export_loads_as_a_fill_mask_model_with_its_card(uninterrupted):
    from transformers import BertForPreTraining, BertTokenizerFast, pipeline

    export = uninterrupted / "export"
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= {
        p.name for p in export.iterdir()
    }
    assert (export / "training_curves.png").stat().st_size > 1000
    model = BertForPreTraining.from_pretrained(export)
    tokenizer = BertTokenizerFast.from_pretrained(export)
    assert len(tokenizer) == model.config.vocab_size > 100  # not an empty tokenizer
    # truncation stops at the position embeddings the model was trained with
    assert tokenizer.model_max_length == model.config.max_position_embeddings == 32
    encoded = tokenizer("word " * 100, truncation=True)["input_ids"]
    assert len(encoded) == 32
    fill = pipeline("fill-mask", model=str(export), tokenizer=tokenizer, device="cpu")
    assert len(fill("a dog is a [MASK].", top_k=3)) == 3

    log = training_log(uninterrupted)
    assert log["step"] == 30 and [e["step"] for e in log["evaluations"]] == [15, 30]
    card = (export / "README.md").read_text()
    assert "(final)" in card
    last = log["evaluations"][-1]
    assert f"{last['mlm_accuracy']:.1%}" in card and f"{last['nsp_accuracy']:.1%}" in card


def test_same_seed_and_an_interruption_give_the_same_model(uninterrupted, tmp_path):
    """A second run with the same seed, stopped at step 10 and resumed, ends with identical weights.

    It trains its own vocabulary and draws its own pairs and masks in new processes, so this checks
    both that the seed reproduces the run and that resuming from a checkpoint loses nothing.
    """
    output = run_script(tmp_path, "--stop-after", "10")
    assert "stopped at step 10" in output
    assert not (tmp_path / "export").exists()
    assert "resumed from step 10" in run_script(tmp_path)
    whole, resumed = training_log(uninterrupted), training_log(tmp_path)
    for key in ("loss", "mlm_loss", "nsp_loss", "tokens"):
        assert [h[key] for h in whole["history"]] == [h[key] for h in resumed["history"]], key
    assert whole["evaluations"] == resumed["evaluations"]
    assert "schedule_changes" not in resumed
    first_vocab = json.loads((uninterrupted / "export" / "tokenizer.json").read_text())
    second_vocab = json.loads((tmp_path / "export" / "tokenizer.json").read_text())
    assert first_vocab["model"]["vocab"] == second_vocab["model"]["vocab"]
    weights = load_file(uninterrupted / "export" / "model.safetensors")
    again = load_file(tmp_path / "export" / "model.safetensors")
    assert weights.keys() == again.keys()
    assert all(torch.equal(weights[name], again[name]) for name in weights)


def test_export_only_writes_the_checkpoint_again(uninterrupted, tmp_path):
    import shutil

    shutil.copytree(uninterrupted, tmp_path, dirs_exist_ok=True)
    shutil.rmtree(tmp_path / "export")
    run_script(tmp_path, "--export-only")
    weights = load_file(uninterrupted / "export" / "model.safetensors")
    again = load_file(tmp_path / "export" / "model.safetensors")
    assert all(torch.equal(weights[name], again[name]) for name in weights)
    assert training_log(tmp_path)["evaluations"] == training_log(uninterrupted)["evaluations"]
