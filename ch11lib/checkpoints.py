"""Checkpoints the training scripts resume from exactly: a utility shown on no page.

``scripts/pretrain_course_bert.py`` and ``scripts/continue_pretraining_minilm.py`` save the model's
(trained) tensors, the optimizer, the learning-rate schedule and the training log together, and a
restarted run picks up from the last one with nothing lost:

- :func:`save_checkpoint`: one file, replaced in one step (an interruption leaves the previous one);
- :func:`resume`: loads it back; a run restarted with another total of steps records the change in
  its log (the schedule follows the new total from there);
- :func:`run_config`: the arguments that define a run, for its log.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch

# Arguments that say what one invocation does, not what the run is.
ACTIONS = ("trial", "export_only", "stop_after")


def save_checkpoint(
    path: Path, model_state: dict, optimizer: Any, scheduler: Any, log: dict
) -> None:
    """Save ``model_state``, the optimizer's and the scheduler's states and ``log`` to ``path``."""
    partial = path.with_suffix(".partial")
    state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "log": log}
    torch.save({"model": model_state, **state}, partial)
    os.replace(partial, path)


def resume(
    path: Path, model: Any, optimizer: Any, scheduler: Any, steps: int, strict: bool = True
) -> dict | None:
    """Load the checkpoint at ``path`` into ``model``, ``optimizer`` and ``scheduler``; its log.

    ``None`` when there is no checkpoint. With ``strict=False`` the checkpoint may hold only the
    tensors that training changes, but every tensor it holds must belong to the model. When the
    run's total ``steps`` differs from the checkpoint's, the log's ``schedule_changes`` gains
    ``{"step", "from_steps", "to_steps"}``.
    """
    if not path.is_file():
        return None
    state = torch.load(path, weights_only=False)
    _, unexpected = model.load_state_dict(state["model"], strict=strict)
    if unexpected:
        raise ValueError(f"{path} holds tensors the model does not have: {unexpected[:5]}")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    log = state["log"]
    if int(log["config"]["steps"]) != steps:
        log.setdefault("schedule_changes", []).append(
            {"step": log["step"], "from_steps": int(log["config"]["steps"]), "to_steps": steps}
        )
    print(f"resumed from step {log['step']}", flush=True)
    return log


def run_config(args: argparse.Namespace, root: Path) -> dict:
    """``args`` without the one-off actions, paths relative to ``root`` where they lie below it."""

    def shown(value):
        if not isinstance(value, Path):
            return value
        absolute = value.resolve()
        return str(absolute.relative_to(root) if absolute.is_relative_to(root) else absolute)

    return {k: shown(v) for k, v in vars(args).items() if k not in ACTIONS}


def train_step(
    loss: torch.Tensor, optimizer: Any, scheduler: Any, parameters, log: dict, tokens: int, seconds
) -> None:
    """One AdamW step on ``loss`` (gradient norm clipped at 1), counted in ``log``.

    ``log["step"]`` and ``log["tokens_seen"]`` (by ``tokens``) grow; ``log["train_seconds"]`` becomes
    ``seconds()``, the run's training time so far.
    """
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    optimizer.step()
    scheduler.step()
    log["step"] += 1
    log["tokens_seen"] += tokens
    log["train_seconds"] = seconds()
