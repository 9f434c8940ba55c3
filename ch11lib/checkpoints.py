"""Checkpoints the training scripts resume from exactly: a utility shown on no page.

``scripts/pretrain_course_bert.py`` and ``scripts/continue_pretraining_minilm.py`` save the model's
(trained) tensors, the optimizer, the learning-rate schedule and the training log together, and a
restarted run picks up from the last one with nothing lost:

- :func:`save_checkpoint`: one file, replaced in one step (an interruption leaves the previous one);
- :func:`resume`: loads it back; a run restarted with another total of steps records the change in
  its log (the schedule follows the new total from there);
- :func:`run_config`: the arguments that define a run, for its log;
- :func:`run_parser`: the arguments both scripts take (run and export folders, seed, threads, the
  one-off actions);
- :func:`checkpoint_when_due`: checkpoint every ``--checkpoint-every`` steps and stop at
  ``--stop-after``, as an interruption would;
- :func:`training_figure`: the two-panel figure of a model card (losses left, accuracies right);
- :func:`export_folder` and :func:`write_training_record`: an export written beside its target and
  put in its place in one step, with the run's log, card and figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
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


# The training loop's arguments, every script's (the script gives the defaults).
TRAINING_ARGUMENTS: tuple[tuple[str, type, str], ...] = (
    ("--max-length", int, "longest sequence, in tokens"),
    ("--batch-size", int, "sequences per step"),
    ("--steps", int, "optimizer steps in all (the schedule's length)"),
    ("--lr", float, "peak learning rate"),
    ("--warmup", float, "linear warm-up, as a fraction of the steps"),
    ("--eval-every", int, "steps between held-out evaluations"),
    ("--eval-pairs", int, "held-out sequences (pairs) evaluated"),
    ("--checkpoint-every", int, "steps between checkpoints"),
    ("--documents", int, "use only the first N documents: quick checks (0: all)"),
)


def run_parser(description: str, root: Path, name: str, **defaults: Any) -> argparse.ArgumentParser:
    """A parser with the arguments of every training script; the script adds its own.

    ``--run-dir`` (checkpoints, default ``runs/<name>``), ``--export-dir`` (default
    ``ch11lib/assets/<name>``), ``--seed``, ``--threads``, the one-off actions of :data:`ACTIONS`
    (``--trial`` seconds, ``--stop-after`` a step, ``--export-only``) and the loop's
    :data:`TRAINING_ARGUMENTS`, whose defaults are ``defaults`` (``max_length=64, ...``; every one
    but ``documents`` must be given).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run-dir", type=Path, default=root / "runs" / name)
    parser.add_argument("--export-dir", type=Path, default=root / "ch11lib" / "assets" / name)
    parser.add_argument(
        "--export-only", action="store_true", help="export the last checkpoint again"
    )
    # --threads: both cores of a quiet machine; on a busy machine pass 1, as two threads then wait
    # on each other (measured 4x slower).
    for flag, kind, text in [
        ("--seed", int, "the seed of every random choice (initialisation, data order, masks)"),
        ("--threads", int, "torch's CPU threads (default 2)"),
        ("--trial", float, "train this many seconds, report tokens/s and stop (0: off)"),
        ("--stop-after", int, "checkpoint and stop after this step, as an interruption would"),
    ]:
        parser.add_argument(flag, type=kind, default=2 if flag == "--threads" else 0, help=text)
    for flag, kind, text in TRAINING_ARGUMENTS:
        key = flag[2:].replace("-", "_")
        default = defaults.pop(key, 0) if key == "documents" else defaults.pop(key)
        parser.add_argument(flag, type=kind, default=default, help=text)
    if defaults:
        raise TypeError(f"run_parser got unknown defaults: {sorted(defaults)}")
    return parser


def checkpoint_when_due(
    log: dict, args: argparse.Namespace, checkpoint: Callable[[], None]
) -> bool:
    """Call ``checkpoint()`` every ``args.checkpoint_every`` steps and at the last one; ``True``
    when the run must stop here (``--stop-after``: checkpointed, as an interruption would leave it).
    """
    step = log["step"]
    if step % args.checkpoint_every == 0 or step == args.steps:
        checkpoint()
    if args.stop_after and args.stop_after <= step < args.steps:
        checkpoint()
        print(f"\nstopped at step {step} (--stop-after); rerun to resume", flush=True)
        return True
    return False


@contextlib.contextmanager
def training_figure(path: Path, title: str) -> Iterator[tuple[Any, Any]]:
    """The axes ``(left, right)`` of a model card's figure, saved to ``path`` on leaving the block
    (legends drawn, ``title`` on top)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    try:
        yield left, right
        for axes in (left, right):
            if axes.get_legend_handles_labels()[0]:
                axes.legend()
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=80)
    finally:
        plt.close(fig)


@contextlib.contextmanager
def export_folder(target: Path, final: bool) -> Iterator[Path]:
    """An empty folder beside ``target`` to write an export into; on leaving the block it replaces
    ``target`` in one step (:func:`ch11lib.cache.replace_folder`), so a failed export leaves the
    previous one in place."""
    from ch11lib.cache import replace_folder

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    yield partial
    replace_folder(partial, target)
    print(f"exported {'final' if final else 'intermediate'} model to {target}", flush=True)


def write_training_record(
    folder: Path, log: dict, card: str, plot: Callable[[dict, Path], None]
) -> None:
    """``training_log.json``, the model card ``README.md`` and ``training_curves.png`` (drawn by
    ``plot(log, path)``) into ``folder``."""
    plot(log, folder / "training_curves.png")
    (folder / "training_log.json").write_text(json.dumps(log, indent=1) + "\n")
    (folder / "README.md").write_text(card)
