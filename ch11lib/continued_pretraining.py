"""Continued MLM pretraining of MiniLM ("don't stop pretraining", Gururangan et al., 2020).

all-MiniLM-L6-v2 saw far more English than the course can show a model, but it has no MLM head (it was
distilled, then tuned for sentence embeddings). ``scripts/continue_pretraining_minilm.py`` gives it
one, BERT's (dense + GELU + LayerNorm, then a decoder tied to the word embeddings plus a bias), and
goes on with MLM training of the head and the top encoder layers. The pieces it uses, and the page
``04_pretraining_a_bert`` and :mod:`ch11lib.resources` use to load and evaluate the result:

- :func:`prepare_model`: MiniLM as ``BertForMaskedLM`` with a new head; the embeddings and all but
  the top ``train_layers`` encoder layers frozen;
- :func:`mlm_forward` / :func:`evaluate_mlm`: the MLM loss and held-out masked top-1 accuracy, the
  vocabulary projection computed only at the masked positions;
- :func:`changed_weights` and :func:`assemble_model`: what the export stores (only the trained
  tensors, in float16: the frozen word embeddings stay in the MiniLM package) and how a full
  Hugging Face model folder is put back together from it at load time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ch11lib.masking import IGNORE_INDEX

DELTA_FILE = "delta.safetensors"
# What a Hugging Face tokenizer folder needs; copied from the MiniLM package when assembling.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)


def prepare_model(base_dir: str | Path, train_layers: int, seed: int):
    """MiniLM as ``BertForMaskedLM`` with a freshly initialised MLM head (seeded), partly frozen.

    Trainable: the head's transform and bias, and the top ``train_layers`` encoder layers. Frozen:
    all embeddings (the decoder is tied to the word embeddings, so the head predicts in the space
    MiniLM already has) and the lower layers, through which no gradient is computed.
    """
    from transformers import BertForMaskedLM
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # the "newly initialised head" report is expected
    torch.manual_seed(seed)
    model = BertForMaskedLM.from_pretrained(
        str(base_dir),
        local_files_only=True,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    transformers_logging.set_verbosity(verbosity)
    layers = model.config.num_hidden_layers
    if not 0 <= train_layers <= layers:
        raise ValueError(f"train_layers must be in [0, {layers}], got {train_layers}")
    first_trained = layers - train_layers
    for name, parameter in model.named_parameters():
        if name.startswith("bert.encoder.layer."):
            parameter.requires_grad = int(name.split(".")[3]) >= first_trained
        else:
            parameter.requires_grad = name.startswith("cls.predictions.transform") or (
                name == "cls.predictions.bias"
            )
    return model


def trainable_names(model: Any) -> list[str]:
    return [name for name, parameter in model.named_parameters() if parameter.requires_grad]


def mlm_forward(model: Any, batch: dict[str, torch.Tensor]):
    """``(loss, logits, targets)``: MLM cross-entropy at the masked positions of ``batch`` only."""
    sequence = model.bert(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        token_type_ids=batch.get("token_type_ids"),
    )[0]
    sampled = batch["labels"] != IGNORE_INDEX
    logits = model.cls.predictions(sequence[sampled])
    targets = batch["labels"][sampled]
    return torch.nn.functional.cross_entropy(logits, targets), logits, targets


@torch.no_grad()
def evaluate_mlm(model: Any, batches: Sequence[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Held-out masked-token top-1 accuracy and loss over all sampled positions of ``batches``."""
    was_training = model.training
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    for batch in batches:
        loss, logits, targets = mlm_forward(model, batch)
        correct += int((logits.argmax(-1) == targets).sum())
        total += len(targets)
        loss_sum += float(loss) * len(targets)
    model.train(was_training)
    return {"mlm_accuracy": correct / total, "mlm_loss": loss_sum / total, "masked_tokens": total}


def changed_weights(
    model: Any, names: Sequence[str], dtype=torch.float16
) -> dict[str, torch.Tensor]:
    """The tensors ``names`` of ``model`` (those training changed), as contiguous ``dtype`` copies."""
    state = model.state_dict()
    return {name: state[name].detach().to(dtype).contiguous() for name in names}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def assemble_model(delta_dir: Path, base_dir: Path, cache_root: Path) -> Path:
    """A full Hugging Face ``BertForMaskedLM`` folder: MiniLM's weights with ``delta_dir``'s on top.

    ``delta_dir`` holds ``config.json`` and ``delta.safetensors`` (the trained tensors); everything
    else (word, position and type embeddings, frozen layers) comes from MiniLM in ``base_dir``, the
    tokenizer too. The folder is built once under ``cache_root``, named by a digest of the delta, so
    a new export gets a new folder; ``pipeline("fill-mask", model=folder)`` loads it.
    """
    from safetensors.torch import load_file, save_file

    delta_path = delta_dir / DELTA_FILE
    target = cache_root / f"minilm-mlm-{_digest(delta_path)}"
    if (target / "model.safetensors").is_file():
        return target
    weights = load_file(base_dir / "model.safetensors")
    weights = {
        (name if name.startswith("bert.") else f"bert.{name}"): tensor
        for name, tensor in weights.items()
        if "pooler" not in name
    }
    weights.update({name: t.float() for name, t in load_file(delta_path).items()})
    # The decoder is tied to the word embeddings; its bias is the head's bias.
    weights["cls.predictions.decoder.weight"] = weights["bert.embeddings.word_embeddings.weight"]
    weights["cls.predictions.decoder.bias"] = weights["cls.predictions.bias"]
    partial = cache_root / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file(
        {name: tensor.contiguous().clone() for name, tensor in weights.items()},
        partial / "model.safetensors",
        metadata={"format": "pt"},
    )
    config = json.loads((delta_dir / "config.json").read_text())
    (partial / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    for name in TOKENIZER_FILES:
        if (base_dir / name).is_file():
            shutil.copy(base_dir / name, partial / name)
    for extra in delta_dir.iterdir():  # the card and the training log travel with the model
        if extra.suffix in (".md", ".json", ".png") and extra.name != "config.json":
            shutil.copy(extra, partial / extra.name)
    try:
        partial.rename(target)
    except OSError:  # another process assembled it first
        shutil.rmtree(partial, ignore_errors=True)
    return target
