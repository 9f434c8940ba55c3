"""Knowledge distillation, DistilBERT style: a student with half the layers learns from a teacher.

Page ``12_distillation``.

DistilBERT {cite}`sanh2019distilbert` initialises a 6-layer student from a 12-layer BERT by taking one
layer out of two, then trains it with a *triple loss*:

* a **soft-target loss**: the student matches the teacher's output distribution softened by a
  temperature $T$, $p_i = \\mathrm{softmax}(z_i / T)$; the loss is the KL divergence
  $T^2\\,\\mathrm{KL}(p^{teacher}_T \\,\\|\\, p^{student}_T)$, where $T^2$ keeps its gradients on the
  scale of the hard loss (Hinton et al. 2015);
* a **hard loss**: the ordinary cross-entropy with the gold labels (DistilBERT: the MLM loss);
* a **cosine loss** that aligns the directions of the student's and the teacher's final hidden states,
  $1 - \\cos(h^{student}_i, h^{teacher}_i)$ averaged over the real tokens.

Here the same recipe is applied to a fine-tuned classifier (task-specific distillation): the teacher is a
``heads.SequenceClassifier`` and :func:`make_student` builds its half-depth copy.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ch11lib.heads import SequenceClassifier
from ch11lib.training import Batch, seed_everything

# The weights and temperature of DistilBERT's training script (alpha_ce, alpha_mlm, alpha_cos, T).
DISTILBERT_WEIGHTS = {"soft": 5.0, "hard": 2.0, "cosine": 1.0}
DISTILBERT_TEMPERATURE = 2.0


def every_other_layer(num_layers: int) -> tuple[int, ...]:
    """Layers ``0, 2, 4, ...``: one teacher layer out of two, DistilBERT's initialisation."""
    if num_layers < 2:
        raise ValueError(f"the teacher needs at least 2 layers to halve, got {num_layers}")
    return tuple(range(0, num_layers, 2))


def make_student(
    teacher: SequenceClassifier, layers: Sequence[int] | None = None
) -> SequenceClassifier:
    """A copy of ``teacher`` that keeps only the encoder layers ``layers`` (default: every other one).

    Embeddings, pooler and classification head are copied too; the teacher is not modified.
    """
    if not isinstance(teacher, SequenceClassifier):
        raise TypeError(f"teacher must be a heads.SequenceClassifier, got {type(teacher).__name__}")
    teacher_layers = teacher.encoder.encoder.layer
    layers = tuple(every_other_layer(len(teacher_layers)) if layers is None else layers)
    if not layers or any(not 0 <= i < len(teacher_layers) for i in layers):
        raise ValueError(f"layers must be indices in [0, {len(teacher_layers) - 1}], got {layers}")
    if list(layers) != sorted(set(layers)):
        raise ValueError(f"layers must be strictly increasing, got {layers}")
    student = copy.deepcopy(teacher)
    student.encoder.encoder.layer = nn.ModuleList(copy.deepcopy(teacher_layers[i]) for i in layers)
    student.encoder.config.num_hidden_layers = len(layers)
    student.encoder.config.distilled_from_layers = list(layers)
    return student


# --------------------------------------------------------------------------------------------------
# The three losses
# --------------------------------------------------------------------------------------------------


def soft_target_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 2.0
) -> torch.Tensor:
    """$T^2 \\cdot \\mathrm{KL}(\\mathrm{softmax}(t/T) \\| \\mathrm{softmax}(s/T))$, averaged over the batch."""
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(
            f"student and teacher logits must both be (batch, labels), got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    student_log_p = F.log_softmax(student_logits / temperature, dim=-1)
    teacher_log_p = F.log_softmax(teacher_logits / temperature, dim=-1)
    kl = F.kl_div(student_log_p, teacher_log_p, reduction="batchmean", log_target=True)
    return temperature**2 * kl


def hard_loss(student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with the gold labels."""
    return F.cross_entropy(student_logits, labels)


def hidden_cosine_loss(
    student_hidden: torch.Tensor, teacher_hidden: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Mean of $1 - \\cos(h^s_i, h^t_i)$ over real (unpadded) token positions."""
    if student_hidden.shape != teacher_hidden.shape or student_hidden.dim() != 3:
        raise ValueError(
            f"hidden states must both be (batch, length, hidden), got {tuple(student_hidden.shape)} "
            f"and {tuple(teacher_hidden.shape)}"
        )
    if attention_mask.shape != student_hidden.shape[:2]:
        raise ValueError(
            f"attention_mask must be {tuple(student_hidden.shape[:2])}, got {tuple(attention_mask.shape)}"
        )
    cosine = F.cosine_similarity(student_hidden, teacher_hidden, dim=-1)
    mask = attention_mask.to(cosine.dtype)
    return ((1.0 - cosine) * mask).sum() / mask.sum().clamp(min=1.0)


@dataclass
class DistillationLoss:
    """The weighted total and its three parts (detached floats are in :meth:`parts`)."""

    total: torch.Tensor
    soft: torch.Tensor
    hard: torch.Tensor
    cosine: torch.Tensor

    def parts(self) -> dict[str, float]:
        return {
            name: float(getattr(self, name).detach())
            for name in ("total", "soft", "hard", "cosine")
        }


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    temperature: float = DISTILBERT_TEMPERATURE,
    weights: dict[str, float] | None = None,
) -> DistillationLoss:
    """DistilBERT's triple loss: ``soft * L_soft + hard * L_hard + cosine * L_cos``."""
    weights = {**DISTILBERT_WEIGHTS, **(weights or {})}
    unknown = set(weights) - set(DISTILBERT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown loss weights {sorted(unknown)}; expected soft, hard, cosine")
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"loss weights must be non-negative, got {weights}")
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    hard = hard_loss(student_logits, labels)
    cosine = hidden_cosine_loss(student_hidden, teacher_hidden, attention_mask)
    total = weights["soft"] * soft + weights["hard"] * hard + weights["cosine"] * cosine
    return DistillationLoss(total, soft, hard, cosine)


# --------------------------------------------------------------------------------------------------
# Training and measuring
# --------------------------------------------------------------------------------------------------


@torch.no_grad()
def teacher_targets(
    teacher: nn.Module, batches: Sequence[Batch]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The teacher's logits and final hidden states for every batch, computed once."""
    teacher.eval()
    targets = []
    for batch in batches:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        output = teacher(**inputs, output_hidden_states=True)
        targets.append((output.logits, output.hidden_states[-1]))
    return targets


@dataclass
class DistillationHistory:
    """Loss parts of every step, and the seconds spent."""

    steps: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def distill(
    student: SequenceClassifier,
    teacher: nn.Module,
    batches: Sequence[Batch],
    epochs: int = 1,
    lr: float = 5e-5,
    temperature: float = DISTILBERT_TEMPERATURE,
    weights: dict[str, float] | None = None,
    seed: int = 0,
    progress: bool = True,
    targets: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> DistillationHistory:
    """Train ``student`` on labelled ``batches`` with the triple loss against a frozen ``teacher``.

    Only the student's parameters with ``requires_grad`` are updated (AdamW, linear decay).
    ``targets`` (the teacher's logits and final hidden states per batch, see :func:`teacher_targets`)
    may be given when they were computed more cheaply elsewhere; ``teacher`` is then not run.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not batches or any("labels" not in batch for batch in batches):
        raise ValueError("distill needs non-empty labelled batches")
    seed_everything(seed)
    if targets is None:
        targets = teacher_targets(teacher, batches)
    elif len(targets) != len(batches):
        raise ValueError(f"{len(targets)} teacher targets for {len(batches)} batches")
    parameters = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=lr)
    total_steps = epochs * len(batches)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / total_steps)
    history = DistillationHistory()
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    bar = tqdm(total=total_steps, disable=not progress, desc="distilling")
    for _ in range(epochs):
        student.train()
        for index in rng.permutation(len(batches)):
            batch = batches[index]
            teacher_logits, teacher_hidden = targets[index]
            inputs = {k: v for k, v in batch.items() if k != "labels"}
            output = student(**inputs, output_hidden_states=True)
            loss = distillation_loss(
                output.logits,
                teacher_logits,
                batch["labels"],
                output.hidden_states[-1],
                teacher_hidden,
                batch["attention_mask"],
                temperature,
                weights,
            )
            optimizer.zero_grad()
            loss.total.backward()
            optimizer.step()
            scheduler.step()
            history.steps.append(loss.parts())
            bar.update(1)
    bar.close()
    student.eval()
    history.seconds = time.perf_counter() - start
    return history


def compare_inference(
    models: dict[str, nn.Module], batches: Sequence[Batch], repeats: int = 5
) -> dict[str, dict[str, float]]:
    """CPU seconds (process time, one thread) of one pass over ``batches``, per model: min and median.

    Timed fairly: under ``torch.inference_mode``, after one warm-up pass of every model, with the
    models' passes interleaved round by round (the order rotating), so that a model timed first does
    not pay for cold caches and one timed last does not run on a machine that has warmed up. Process
    time on one thread counts only this model's work, so the figure barely moves when other programs
    share the machine, unlike wall-clock time.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if not models:
        raise ValueError("models must name at least one model to time")
    names = list(models)
    timings: dict[str, list[float]] = {name: [] for name in names}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for model in models.values():
                model.eval()
                _one_pass(model, batches)  # warm-up
            for round_ in range(repeats):
                for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                    start = time.process_time()
                    _one_pass(models[name], batches)
                    timings[name].append(time.process_time() - start)
    finally:
        torch.set_num_threads(threads)
    return {
        name: {"min": min(values), "median": statistics.median(values)}
        for name, values in timings.items()
    }


def _one_pass(model: nn.Module, batches: Sequence[Batch]) -> None:
    for batch in batches:
        model(**{k: v for k, v in batch.items() if k != "labels"})
