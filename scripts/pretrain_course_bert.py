"""Pretrain the course's own small BERT from scratch on 2 CPU cores (MLM + NSP), reproducibly.

    python scripts/pretrain_course_bert.py                 # full run (resumes from runs/course_bert/)
    python scripts/pretrain_course_bert.py --trial 60      # measure tokens/s for 60 seconds, then stop
    python scripts/pretrain_course_bert.py --export-only   # export the last checkpoint again

What it does, in order:

1. builds the offline corpus (:mod:`ch11lib.data.corpus`) and its deterministic held-out split;
2. trains an uncased WordPiece vocabulary on the training split with ``tokenizers``;
3. turns documents into BERT's sentence-pair examples with :func:`ch11lib.nsp.make_packed_nsp_pairs`
   (runs of whole sentences that fill the sequence, 50% true continuations, 50% from another document),
   new pairs every epoch;
4. masks every batch afresh with :func:`ch11lib.masking.mask_tokens` (dynamic masking, 80/10/10);
5. trains ``BertForPreTraining`` with AdamW and a warmup + linear-decay schedule, computing the
   vocabulary projection only at the masked positions (``model.cls.predictions`` on the gathered
   hidden states) and the loss with :func:`ch11lib.nsp.pretraining_loss`;
6. evaluates masked-token top-1 accuracy and NSP accuracy on the held-out split, checkpoints to
   ``runs/course_bert/`` (resumed automatically) and exports a Hugging Face model, its tokenizer,
   the training log and a model card to ``ch11lib/assets/course_bert/``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ch11lib import checkpoints, pretraining  # noqa: E402
from ch11lib.data.corpus import SOURCES, corpus_statistics, source_table_rows  # noqa: E402
from ch11lib.masking import MaskingVocab  # noqa: E402
from ch11lib.wordpiece import train_wordpiece  # noqa: E402

DATA_VERSION = 2  # 2: the deterministic WordPiece trainer of ch11lib.wordpiece


def parse_args() -> argparse.Namespace:
    parser = checkpoints.run_parser(
        __doc__.split("\n")[0], ROOT, "course_bert", max_length=pretraining.PRETRAINING_MAX_LENGTH,
        batch_size=32, steps=15000, lr=1e-3, warmup=0.05, eval_every=500, eval_pairs=512,
        checkpoint_every=200,
    )  # fmt: skip
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--hidden", type=int, default=192)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument(
        "--export-after-minutes", type=float, default=15.0, help="first intermediate export"
    )
    return parser.parse_args()


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


def train_tokenizer(texts: list[str], vocab_size: int, directory: Path):
    """An uncased BERT WordPiece tokenizer trained on ``texts`` (the same in every run), saved."""
    from tokenizers import processors
    from transformers import BertTokenizerFast

    tokenizer = train_wordpiece(
        texts, vocab_size, limit_alphabet=None, strip_accents=True, min_frequency=2
    )
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = BertTokenizerFast(
        tokenizer_object=tokenizer,
        do_lower_case=True,
        model_max_length=512,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
    )
    fast.save_pretrained(directory)
    return fast


def load_data(args: argparse.Namespace):
    """Corpus, tokenizer and tokenized documents; cached in the run directory."""
    from transformers import BertTokenizerFast

    tokenizer_dir = args.run_dir / "tokenizer"
    cache = args.run_dir / "data.pt"
    if cache.is_file() and (tokenizer_dir / "tokenizer.json").is_file():
        data = torch.load(cache, weights_only=False)
        key = (data.get("version"), data.get("vocab_size"), data.get("documents", 0))
        if key == (DATA_VERSION, args.vocab_size, args.documents):
            tokenizer = BertTokenizerFast.from_pretrained(tokenizer_dir)
            return tokenizer, data
    print("building the corpus...", flush=True)
    train, heldout = pretraining.cached_corpus_split()
    if args.documents:
        train, heldout = train[: args.documents], heldout[: max(8, args.documents // 10)]
    documents = train + heldout
    print("training the WordPiece vocabulary...", flush=True)
    tokenizer = train_tokenizer(
        [s for d in train for s in d.sentences], args.vocab_size, tokenizer_dir
    )

    print("tokenizing...", flush=True)
    data = {
        "version": DATA_VERSION,
        "vocab_size": args.vocab_size,
        "documents": args.documents,
        "train": pretraining.tokenize_documents(train, tokenizer),
        "heldout": pretraining.tokenize_documents(heldout, tokenizer),
        "statistics": corpus_statistics(documents),
        "train_statistics": corpus_statistics(train),
        "heldout_statistics": corpus_statistics(heldout),
    }
    torch.save(data, cache)
    return tokenizer, data


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------


def epoch_examples(documents, epoch: int, args: argparse.Namespace, tokenizer) -> list[dict]:
    """This epoch's NSP pairs, encoded and shuffled (deterministic in ``seed`` and ``epoch``)."""
    return pretraining.encode_examples(
        documents, tokenizer, args.max_length, args.seed * 1000 + epoch
    )


def build_model(args: argparse.Namespace, tokenizer):
    from transformers import BertConfig, BertForPreTraining

    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=4 * args.hidden,
        max_position_embeddings=args.max_length,
        type_vocab_size=2,
        hidden_act="gelu",
        # A short run underfits; dropout only slows it down. The exported config restores 0.1.
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(args.seed)
    return BertForPreTraining(config)


# --------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------


def export(model, tokenizer, log: dict, args: argparse.Namespace, final: bool) -> None:
    """Save model + tokenizer + log + card in Hugging Face format (atomically replace the folder)."""
    import copy

    with checkpoints.export_folder(args.export_dir, final) as partial:
        exported = copy.deepcopy(model).eval()
        exported.config.hidden_dropout_prob = 0.1
        exported.config.attention_probs_dropout_prob = 0.1
        exported.save_pretrained(partial, safe_serialization=True)
        # Inputs longer than the position embeddings would fail: truncate at the training length.
        tokenizer.model_max_length = args.max_length
        tokenizer.save_pretrained(partial)
        card = model_card(model, log, args, final)
        checkpoints.write_training_record(partial, log, card, plot_training)


def plot_training(log: dict, path: Path) -> None:
    """The loss curves and held-out accuracies of ``log``, as the model card's figure."""
    history, evaluations = log["history"], log["evaluations"]
    title = "course-bert pretraining (scripts/pretrain_course_bert.py)"
    with checkpoints.training_figure(path, title) as (left, right):
        tokens = [h["tokens"] / 1e6 for h in history]
        for key, label in [("mlm_loss", "MLM loss"), ("nsp_loss", "NSP loss")]:
            left.plot(tokens, [h[key] for h in history], lw=0.6, label=label)
        left.set(xlabel="tokens processed (millions)", ylabel="training loss (nats)")
        eval_tokens = [e["tokens"] / 1e6 for e in evaluations]
        for key, style, label in [
            ("mlm_accuracy", "o-", "masked top-1"),
            ("nsp_accuracy", "s-", "NSP"),
        ]:
            right.plot(eval_tokens, [e[key] for e in evaluations], style, label=label)
        right.set(xlabel="tokens processed (millions)", ylabel="held-out accuracy", ylim=(0, 1))


def model_card(model, log: dict, args: argparse.Namespace, final: bool) -> str:
    parameters = sum(p.numel() for p in model.parameters())
    last = log["evaluations"][-1] if log["evaluations"] else {}
    stats = log["corpus"]["statistics"]
    rows = source_table_rows(stats, SOURCES)
    hours = log["train_seconds"] / 3600
    tokens = log["tokens_seen"]
    words_seen_ratio = tokens / max(1, log["corpus"]["train_tokens"])
    changes = log.get("schedule_changes", [])
    schedule_note = "".join(
        f"- the total number of steps was changed from {c['from_steps']} to {c['to_steps']} at step "
        f"{c['step']} (resumed from a checkpoint) to fit the time budget on a shared machine; the\n"
        "  learning-rate schedule follows the new total from that step on\n"
        for c in changes
    )
    status = "final" if final else f"INTERMEDIATE (step {log['step']} of {args.steps})"
    return f"""# course-bert: a small BERT pretrained from scratch for the course ({status})

A `BertForPreTraining` model (MLM + NSP heads) trained on a CPU ({args.threads} thread(s)) by
`scripts/pretrain_course_bert.py`, with the course's own masking (`ch11lib.masking`) and next sentence
prediction (`ch11lib.nsp`) code. Load it with
`resources.load_model("course-bert", BertForPreTraining)`; `pipeline("fill-mask", model=path)` works.

## Data (built offline from Debian packages by `ch11lib.data.corpus`)

| source | what | licence | Debian package | documents | words |
| --- | --- | --- | --- | ---: | ---: |
{rows}
| **total** | | | | {stats["total"]["documents"]:,} | {stats["total"]["words"]:,} |

Held-out split: {log["corpus"]["heldout_documents"]:,} documents chosen by a hash of source and title
(never trained on). Training split: {log["corpus"]["train_tokens"]:,} WordPiece tokens.

## Model

- vocabulary: {log["tokenizer"]["vocab_size"]:,} uncased WordPiece tokens trained on the training split
  (`[PAD] [UNK] [CLS] [SEP] [MASK]` special tokens)
- {args.layers} layers, hidden size {args.hidden}, {args.heads} heads, feed-forward {4 * args.hidden},
  GELU, post-norm, maximum length {args.max_length}
- parameters: {parameters:,} ({parameters * 4 / 2**20:.1f} MiB in fp32)

## Training

- {log["step"]:,} steps of {args.batch_size} sequence pairs of at most {args.max_length} tokens;
  AdamW (lr {args.lr}, weight decay 0.01), {args.warmup:.0%} warmup then linear decay; seed {args.seed}
- dynamic masking (a new 15% sample every batch; 80% `[MASK]`, 10% random, 10% unchanged), new NSP
  pairs every epoch (50% IsNext = label 0, 50% NotNext = label 1)
- the vocabulary projection is computed only at masked positions
{schedule_note}- dropout 0 during this short run (the exported config sets BERT's usual 0.1 for fine-tuning)
- {tokens:,} tokens processed ({words_seen_ratio:.1f} passes over the training split) in
  {log["train_seconds"] / 60:.1f} minutes ({hours:.2f} h) on {args.threads} CPU thread(s):
  {tokens / max(1e-9, log["train_seconds"]):,.0f} tokens/s

## Held-out evaluation (step {last.get("step", "-")})

- masked-token top-1 accuracy: **{last.get("mlm_accuracy", float("nan")):.1%}** over
  {last.get("masked_tokens", 0):,} sampled positions (all of the 80/10/10 kinds)
- NSP accuracy: **{last.get("nsp_accuracy", float("nan")):.1%}** over {last.get("pairs", 0):,} pairs
- MLM loss {last.get("mlm_loss", float("nan")):.3f}, NSP loss {last.get("nsp_loss", float("nan")):.3f}

## Compared with BERT-base (Devlin et al., 2019)

| | BERT-base | course-bert |
| --- | ---: | ---: |
| training words | 3.3 billion | {stats["total"]["words"]:,} |
| parameters | 110 million | {parameters:,} |
| layers / hidden / heads | 12 / 768 / 12 | {args.layers} / {args.hidden} / {args.heads} |
| vocabulary | 30,522 | {log["tokenizer"]["vocab_size"]:,} |
| passes over the data | about 40 | {words_seen_ratio:.1f} |
| compute | 4 Cloud TPUs (16 chips) for 4 days | {args.threads} CPU thread(s) for {hours:.1f} hours |

This model is a teaching instrument: it shows what pretraining does at a scale you can rerun. It knows
far less English than BERT-base; do not use it for anything else.

Training log (loss curve and evaluations): `training_log.json`, drawn in `training_curves.png`:

![training curves](training_curves.png)
"""


# --------------------------------------------------------------------------------------------------
# Training loop
# --------------------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from tqdm.auto import tqdm
    from transformers import logging as hf_logging

    hf_logging.set_verbosity_error()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    tokenizer, data = load_data(args)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    train_tokens = sum(len(s) for d in data["train"] for s in d)
    print(f"train documents {len(data['train']):,}, tokens {train_tokens:,}", flush=True)

    # A fixed held-out evaluation set: pairs and masks drawn once with fixed seeds.
    eval_batches = pretraining.heldout_batches(
        data["heldout"], tokenizer, args.eval_pairs, args.max_length, args.seed
    )

    model = build_model(args, tokenizer)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    warmup = max(1, int(args.warmup * args.steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: pretraining.linear_warmup_decay(step, args.steps, warmup)
    )
    log = {
        "config": checkpoints.run_config(args, ROOT),
        "corpus": {
            "statistics": data["statistics"],
            "train_statistics": data["train_statistics"],
            "heldout_statistics": data["heldout_statistics"],
            "train_documents": len(data["train"]),
            "heldout_documents": data["heldout_statistics"]["total"]["documents"],
            "train_tokens": train_tokens,
        },
        "tokenizer": {"vocab_size": len(tokenizer)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "step": 0,
        "tokens_seen": 0,
        "train_seconds": 0.0,
        "history": [],
        "evaluations": [],
        "exported_intermediate": False,
    }
    checkpoint_path = args.run_dir / "checkpoint.pt"
    resumed = (
        None
        if args.trial
        else checkpoints.resume(checkpoint_path, model, optimizer, scheduler, args.steps)
    )
    if resumed is not None:
        log = resumed
        log["config"] = checkpoints.run_config(args, ROOT)
    if args.export_only:
        if not log["step"]:
            raise SystemExit(
                f"no checkpoint to export in {args.run_dir}: train first (the same command without"
                " --export-only), or pass --run-dir of an earlier run"
            )
        export(model, tokenizer, log, args, final=log["step"] >= args.steps)
        return

    def checkpoint() -> None:
        checkpoints.save_checkpoint(checkpoint_path, model.state_dict(), optimizer, scheduler, log)

    # Epoch e uses pairs drawn with seed (seed, e); the step counter tells where to resume.
    epoch, position = 0, 0
    examples = epoch_examples(data["train"], epoch, args, tokenizer)
    batches_per_epoch = len(examples) // args.batch_size
    epoch, within = divmod(log["step"], batches_per_epoch)
    if epoch:
        examples = epoch_examples(data["train"], epoch, args, tokenizer)
    position = within * args.batch_size
    print(f"{len(examples):,} pairs per epoch, {batches_per_epoch} batches", flush=True)

    progress = tqdm(
        total=args.steps, initial=log["step"], mininterval=20, file=sys.stderr, dynamic_ncols=False
    )
    started = time.time()
    seconds_at_start = log["train_seconds"]
    tokens_at_start = log["tokens_seen"]

    def elapsed() -> float:
        return seconds_at_start + time.time() - started

    while log["step"] < args.steps:
        if position + args.batch_size > len(examples):
            epoch += 1
            examples = epoch_examples(data["train"], epoch, args, tokenizer)
            position = 0
        generator = torch.Generator().manual_seed(args.seed * 1_000_003 + log["step"])
        batch = pretraining.make_batch(
            examples[position : position + args.batch_size], tokenizer, generator, vocab
        )
        position += args.batch_size
        loss, *_ = pretraining.pretraining_forward(model, batch)
        tokens = int(batch["attention_mask"].sum())
        checkpoints.train_step(
            loss.total, optimizer, scheduler, model.parameters(), log, tokens, elapsed
        )
        if log["step"] % 10 == 0 or log["step"] == 1:
            log["history"].append(
                {
                    "step": log["step"],
                    "epoch": epoch,
                    "loss": loss.total.item(),
                    "mlm_loss": loss.mlm.item(),
                    "nsp_loss": loss.nsp.item(),
                    "lr": scheduler.get_last_lr()[0],
                    "seconds": round(log["train_seconds"], 1),
                    "tokens": log["tokens_seen"],
                }
            )
        progress.update(1)
        progress.set_postfix(
            mlm=f"{loss.mlm.item():.2f}", nsp=f"{loss.nsp.item():.2f}", refresh=False
        )
        if args.trial and time.time() - started >= args.trial:
            rate = (log["tokens_seen"] - tokens_at_start) / (time.time() - started)
            print(f"\ntrial: {log['step']} steps, {rate:,.0f} tokens/s", flush=True)
            return
        if log["step"] % args.eval_every == 0 or log["step"] == args.steps:
            result = {
                "step": log["step"],
                "tokens": log["tokens_seen"],
                **pretraining.evaluate_pretraining(model, eval_batches),
            }
            log["evaluations"].append(result)
            print(
                f"\nstep {log['step']}: held-out MLM acc {result['mlm_accuracy']:.3f} "
                f"NSP acc {result['nsp_accuracy']:.3f} ({log['train_seconds'] / 60:.1f} min)",
                flush=True,
            )
        due = log["step"] % args.checkpoint_every == 0 or log["step"] == args.steps
        if checkpoints.checkpoint_when_due(log, args, checkpoint):
            return
        if due:
            minutes = log["train_seconds"] / 60
            if (
                not log["exported_intermediate"]
                and minutes >= args.export_after_minutes
                and log["step"] < args.steps
            ):
                if not log["evaluations"] or log["evaluations"][-1]["step"] != log["step"]:
                    log["evaluations"].append(
                        {
                            "step": log["step"],
                            "tokens": log["tokens_seen"],
                            **pretraining.evaluate_pretraining(model, eval_batches),
                        }
                    )
                export(model, tokenizer, log, args, final=False)
                log["exported_intermediate"] = True
                checkpoint()
    progress.close()
    export(model, tokenizer, log, args, final=True)
    print(
        f"done: {log['step']} steps, {log['tokens_seen'] / log['train_seconds']:,.0f} tokens/s, "
        f"{log['train_seconds'] / 60:.1f} min",
        flush=True,
    )


if __name__ == "__main__":
    main()
