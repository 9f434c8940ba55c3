"""Training helpers: a short explicit PyTorch loop, a ``transformers.Trainer`` helper, and baselines.

Pages ``09_sequence_and_pair_classification`` and ``12_distillation``; assignment a5_finetuning.

:func:`train` is written out to be read: for each batch, forward, loss, backward, step; after each epoch,
evaluate. It works for any model whose ``forward(**batch)`` returns an object with ``.loss`` and
``.logits`` (``SequenceClassifier``, ``BertForTokenClassification``...), with batches made by
:func:`make_batches` or by hand (a list of dicts of tensors). :func:`make_trainer` builds the real
thing, a ``transformers.Trainer``, for the same models and data.

The frozen-encoder baseline: :func:`embed` computes one vector per text (cached on disk if asked) and
:func:`fit_logistic_regression` fits scikit-learn's logistic regression on them. :func:`freeze` turns
full fine-tuning into training only the head (and optionally the top layers), and
:func:`cache_layer_inputs` computes once the inputs to the first trainable layer so that only the top
layers run while training (see ``heads.TopLayersClassifier``).

Everything is seeded (:func:`seed_everything`); deterministic algorithms are switched on where PyTorch has
them, so two runs on the same machine give the same numbers.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ch11lib.cache import atomic_save, cache_dir, cache_key
from ch11lib.heads import Pooling, encode, pool

Batch = dict[str, torch.Tensor]


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch, and ask PyTorch for deterministic algorithms."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (code that still uses the legacy global generator)
    torch.manual_seed(seed)
    # warn_only: an operation without a deterministic version warns instead of failing.
    torch.use_deterministic_algorithms(True, warn_only=True)


# --------------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------------


def make_batches(
    tokenizer: Any,
    texts: Sequence[str],
    labels: Sequence[int] | None = None,
    text_pairs: Sequence[str] | None = None,
    batch_size: int = 32,
    max_length: int = 128,
    shuffle: bool = False,
    seed: int = 0,
    bucket_by_length: bool = False,
) -> list[Batch]:
    """Tokenized, padded batches (each padded to its own longest sequence) with ``labels`` if given.

    ``bucket_by_length`` groups texts of similar length into the same batch, so little compute is
    spent on padding (the batch *order* is still shuffled by :func:`train`); the examples then no longer
    come out in their original order.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(texts) == 0:
        raise ValueError("no texts to batch")
    if labels is not None and len(labels) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    order = np.arange(len(texts))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(texts))
    if bucket_by_length:
        pairs = text_pairs if text_pairs is not None else [None] * len(texts)
        lengths = [
            len(tokenizer(texts[i], pairs[i], truncation=True, max_length=max_length)["input_ids"])
            for i in order
        ]
        order = order[np.argsort(lengths, kind="stable")]
    batches = []
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        pairs = [text_pairs[i] for i in index] if text_pairs is not None else None
        batch = encode(tokenizer, [texts[i] for i in index], pairs, max_length)
        if labels is not None:
            batch["labels"] = torch.tensor([int(labels[i]) for i in index], dtype=torch.long)
        batches.append(batch)
    return batches


# --------------------------------------------------------------------------------------------------
# The explicit loop
# --------------------------------------------------------------------------------------------------


@dataclass
class History:
    """What :func:`train` did: the loss of every step, the evaluation after every epoch, the time."""

    step_losses: list[float] = field(default_factory=list)
    eval_metrics: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _forward(model: nn.Module, batch: Batch) -> Any:
    output = model(**batch)
    if getattr(output, "loss", None) is None:
        raise ValueError("the model returned no loss: does the batch carry 'labels'?")
    return output


def train(
    model: nn.Module,
    train_batches: Sequence[Batch],
    eval_batches: Sequence[Batch] | None = None,
    epochs: int = 1,
    lr: float = 5e-5,
    weight_decay: float = 0.01,
    warmup_fraction: float = 0.1,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    metric: Callable[[nn.Module, Sequence[Batch]], dict[str, float]] | None = None,
) -> History:
    """Fine-tune ``model`` with AdamW and a linear warm-up/decay schedule; returns a :class:`History`.

    The batch order is reshuffled every epoch (seeded). Only parameters with ``requires_grad`` are
    trained, so a frozen encoder (:func:`freeze`) trains just the head. ``metric(model, batches)``
    evaluates after each epoch (default: :func:`evaluate`, loss and accuracy).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not train_batches:
        raise ValueError("no training batches")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError("the model has no trainable parameters (everything is frozen)")
    seed_everything(seed)
    metric = metric or evaluate
    total_steps = epochs * len(train_batches)
    if max_steps is not None:
        total_steps = min(total_steps, max_steps)
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    warmup = int(warmup_fraction * total_steps)

    def schedule(step: int) -> float:  # linear warm-up, then linear decay to zero
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    history = History()
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    bar = tqdm(total=total_steps, disable=not progress, desc="training")
    step = 0
    for _ in range(epochs):
        model.train()
        for index in rng.permutation(len(train_batches)):
            output = _forward(model, train_batches[index])  # forward pass and loss
            optimizer.zero_grad()
            output.loss.backward()  # gradients of the loss
            optimizer.step()  # one AdamW update
            scheduler.step()
            loss = float(output.loss.detach())
            history.step_losses.append(loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            step += 1
            if step >= total_steps:
                break
        if eval_batches is not None:
            history.eval_metrics.append(metric(model, eval_batches))
        if step >= total_steps:
            break
    bar.close()
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


@torch.no_grad()
def predict_logits(model: nn.Module, batches: Iterable[Batch]) -> torch.Tensor:
    """Logits of every example, concatenated over batches (labels in the batches are ignored)."""
    model.eval()
    logits = [
        model(**{k: v for k, v in batch.items() if k != "labels"}).logits for batch in batches
    ]
    if not logits:
        raise ValueError("no batches to predict")
    return torch.cat(logits)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Sequence[Batch]) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy of a sequence classifier over labelled batches."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for batch in batches:
        if "labels" not in batch:
            raise ValueError("evaluate needs batches with 'labels'")
        output = model(**batch)
        size = batch["labels"].shape[0]
        total_loss += float(output.loss) * size
        correct += int((output.logits.argmax(-1) == batch["labels"]).sum())
        count += size
    if count == 0:
        raise ValueError("no examples to evaluate")
    return {"loss": total_loss / count, "accuracy": correct / count}


# --------------------------------------------------------------------------------------------------
# Freezing and caching
# --------------------------------------------------------------------------------------------------


def freeze(model: nn.Module, train_top_layers: int = 0) -> nn.Module:
    """Freeze ``model.encoder`` except its top ``train_top_layers`` layers; the head stays trainable.

    ``train_top_layers=0`` is the frozen-encoder setting (only $W_C$ learns); use the model unchanged
    for full fine-tuning. Returns the model.
    """
    encoder = getattr(model, "encoder", None)
    if encoder is None or not hasattr(encoder, "encoder"):
        raise TypeError("freeze expects a model with a BERT encoder at model.encoder")
    layers = encoder.encoder.layer
    if not 0 <= train_top_layers <= len(layers):
        raise ValueError(f"train_top_layers must be in [0, {len(layers)}], got {train_top_layers}")
    for parameter in encoder.parameters():
        parameter.requires_grad = False
    for layer in layers[len(layers) - train_top_layers :]:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once)."""
    seen: dict[int, int] = {}
    for parameter in model.parameters():
        if not trainable_only or parameter.requires_grad:
            seen[id(parameter)] = parameter.numel()
    return sum(seen.values())


@torch.no_grad()
def embed(
    encoder: nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    text_pairs: Sequence[str] | None = None,
    pooling: Pooling = "mean",
    batch_size: int = 64,
    max_length: int = 128,
    cache: bool | Path = False,
    progress: bool = False,
) -> np.ndarray:
    """One vector per text (or pair) from a frozen encoder, ``(n, hidden)`` float32.

    ``cache=True`` keeps the result under ``ch11lib``'s cache folder (``CH11_CACHE``), keyed by the
    encoder's configuration, every weight and the texts (:func:`ch11lib.cache.cache_key`); a path
    chooses the folder.
    """
    if len(texts) == 0:
        raise ValueError("no texts to embed")
    path = None
    if cache:
        folder = Path(cache) if isinstance(cache, Path) else cache_dir() / "embeddings"
        key = cache_key(encoder, list(texts), text_pairs and list(text_pairs), pooling, max_length)
        path = folder / f"texts_{key}.npy"
        if path.is_file():
            return np.load(path)
    encoder.eval()
    vectors = []
    for start in tqdm(range(0, len(texts), batch_size), disable=not progress, desc="embedding"):
        pairs = text_pairs[start : start + batch_size] if text_pairs is not None else None
        batch = encode(tokenizer, texts[start : start + batch_size], pairs, max_length)
        hidden = encoder(**batch, return_dict=True).last_hidden_state
        vectors.append(
            pool(hidden, batch["attention_mask"], pooling, getattr(encoder, "pooler", None))
        )
    result = torch.cat(vectors).float().numpy()
    if path is not None:
        atomic_save(path, lambda partial: np.save(partial, result))
    return result


@torch.no_grad()
def cache_layer_inputs(
    encoder: nn.Module,
    batches: Sequence[Batch],
    first_layer: int,
    features: Pooling | None = None,
) -> list[Batch]:
    """Replace each batch's token ids by the hidden states entering layer ``first_layer``.

    The returned batches carry ``hidden_states``, ``attention_mask`` and ``labels`` (if present), ready
    for ``heads.TopLayersClassifier``. With ``first_layer=0`` they are the embedding outputs. With
    ``features="mean"`` (or ``"cls"``) each batch also carries ``features``: the pooled *final* layer,
    the frozen-encoder vectors of :func:`embed`, from the same forward pass.
    """
    layers = encoder.encoder.layer
    if not 0 <= first_layer < len(layers):
        raise ValueError(f"first_layer must be in [0, {len(layers) - 1}], got {first_layer}")
    encoder.eval()
    cached = []
    for batch in batches:
        outputs = encoder(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch.get("token_type_ids"),
            output_hidden_states=True,
            return_dict=True,
        )
        # hidden_states[0] is the embedding output, hidden_states[i] the output of layer i.
        item = {
            "hidden_states": outputs.hidden_states[first_layer],
            "attention_mask": batch["attention_mask"],
        }
        if "labels" in batch:
            item["labels"] = batch["labels"]
        if features is not None:
            item["features"] = pool(
                outputs.last_hidden_state,
                batch["attention_mask"],
                features,
                getattr(encoder, "pooler", None),
            )
        cached.append(item)
    return cached


# --------------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------------


def majority_baseline(train_labels: Sequence[int], test_labels: Sequence[int]) -> float:
    """Accuracy of always predicting the most frequent training label."""
    if len(train_labels) == 0 or len(test_labels) == 0:
        raise ValueError("majority_baseline needs non-empty training and test labels")
    majority = np.bincount(np.asarray(train_labels)).argmax()
    return float(np.mean(np.asarray(test_labels) == majority))


def fit_logistic_regression(
    features: np.ndarray, labels: Sequence[int], c: float = 1.0, max_iter: int = 2000
) -> Any:
    """A scikit-learn pipeline (standardise, then multinomial logistic regression) fitted on features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must be (n, dim), got shape {features.shape}")
    if features.shape[0] != len(labels):
        raise ValueError(f"{features.shape[0]} feature rows but {len(labels)} labels")
    if c <= 0 or not math.isfinite(c):
        raise ValueError(f"c (inverse regularisation) must be positive, got {c}")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    return model.fit(features, np.asarray(labels))


# --------------------------------------------------------------------------------------------------
# transformers.Trainer
# --------------------------------------------------------------------------------------------------


def accuracy_metric(eval_prediction: Any) -> dict[str, float]:
    """``compute_metrics`` for ``Trainer``: accuracy of the argmax of the logits."""
    logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    return {"accuracy": float(np.mean(np.argmax(logits, axis=-1) == labels))}


def make_trainer(
    model: nn.Module,
    tokenizer: Any,
    train_dataset: Any,
    eval_dataset: Any = None,
    output_dir: str | Path = "trainer_output",
    epochs: float = 1.0,
    lr: float = 5e-5,
    batch_size: int = 32,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    max_steps: int = -1,
    seed: int = 0,
    progress: bool = False,
    compute_metrics: Callable[[Any], dict[str, float]] | None = accuracy_metric,
) -> Any:
    """A ``transformers.Trainer`` for a tokenized ``datasets.Dataset`` (columns the model accepts).

    It pads each batch dynamically, trains on the CPU, saves no checkpoints and reports nowhere; call
    ``.train()`` and ``.evaluate()`` on the result. Needs the ``accelerate`` package.
    """
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    arguments = TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=epochs,
        max_steps=max_steps,
        learning_rate=lr,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        weight_decay=weight_decay,
        warmup_steps=warmup_ratio,
        lr_scheduler_type="linear",
        seed=seed,
        data_seed=seed,
        full_determinism=True,
        eval_strategy="epoch" if eval_dataset is not None else "no",
        save_strategy="no",
        logging_strategy="epoch",
        report_to="none",
        disable_tqdm=not progress,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    return Trainer(
        model=model,
        args=arguments,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
    )
