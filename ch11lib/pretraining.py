"""Pretraining a BERT with MLM + NSP: batches, the training step, evaluation, a tiny live run.

Page ``04_pretraining_a_bert`` (and ``scripts/pretrain_course_bert.py``).

The pieces `scripts/pretrain_course_bert.py` uses to train the course's own BERT, and the "Pretraining a
BERT" chapter uses to train a tiny one on the page and to evaluate the shipped checkpoint:

- :func:`encode_examples`: BERT's sentence-pair examples from tokenized documents
  (:func:`ch11lib.nsp.make_packed_nsp_pairs` + :func:`ch11lib.nsp.encode_pair`);
- :func:`make_batch`: pads a list of examples and masks it afresh (:func:`ch11lib.masking.mask_tokens`);
- :func:`pretraining_forward`: the combined loss, projecting onto the vocabulary **only at the masked
  positions** (``model.cls.predictions`` on the gathered hidden states), which skips most of the
  largest matrix product;
- :func:`evaluate_pretraining`: masked-token top-1 accuracy and NSP accuracy on held-out batches
  (:func:`ch11lib.training.evaluate` is the fine-tuning one: loss and accuracy of a classifier);
- :func:`heldout_batches`: the fixed held-out evaluation set the model card reports on;
- :func:`tokenize_documents` and :func:`cached_corpus_split`: corpus helpers.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Sequence
from typing import Any

import torch

from ch11lib.data.corpus import DEFAULT_SOURCES, Document, build_corpus, split_corpus
from ch11lib.masking import IGNORE_INDEX, MaskingVocab, mask_tokens
from ch11lib.nsp import PretrainingLoss, collate_pairs, encode_pair, make_packed_nsp_pairs
from ch11lib.nsp import pretraining_loss as combined_loss

CORPUS_CACHE_VERSION = 1
EVAL_MASK_SEED = 12345
EVAL_BATCH_SIZE = 64
# The course BERT's sequence length (scripts/pretrain_course_bert.py): half the 128 tokens BERT used
# for 90% of its steps, because a two-hour CPU run gains more from many cheap updates than from
# long-range context.
PRETRAINING_MAX_LENGTH = 64


def cached_corpus_split(
    sources: Sequence[str] = DEFAULT_SOURCES,
) -> tuple[list[Document], list[Document]]:
    """``(train, heldout)`` documents of :func:`ch11lib.data.corpus.build_corpus`, cached on disk.

    Pages ask for ``("wordnet",)`` and take the dictd sources' held-out documents from
    :func:`ch11lib.data.heldout_text.heldout_dictd_documents`, so they need no dictd package.

    Building the corpus reads all of WordNet (tens of seconds); the result is cached under
    ``ch11lib.cache.cache_dir()`` and rebuilt when the cache version changes.
    """
    from ch11lib.cache import atomic_write, cache_dir

    sources = tuple(sources)
    name = "" if sources == DEFAULT_SOURCES else "-" + "-".join(sources)
    path = cache_dir() / f"corpus-v{CORPUS_CACHE_VERSION}{name}.json.gz"
    if path.is_file():
        rows = json.loads(gzip.decompress(path.read_bytes()))
        documents = [Document(r["source"], r["title"], tuple(r["sentences"])) for r in rows]
    else:
        documents = build_corpus(sources)
        rows = [
            {"source": d.source, "title": d.title, "sentences": list(d.sentences)}
            for d in documents
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, gzip.compress(json.dumps(rows).encode()))
    return split_corpus(documents)


def tokenize_documents(documents: Sequence[Document], tokenizer: Any) -> list[list[list[int]]]:
    """Each document as a list of sentences, each a list of token ids (no special tokens).

    Sentences that tokenize to nothing and documents left empty are dropped.
    """
    sentences = [sentence for document in documents for sentence in document.sentences]
    ids = tokenizer(sentences, add_special_tokens=False)["input_ids"] if sentences else []
    tokenized, position = [], 0
    for document in documents:
        n = len(document.sentences)
        kept = [sentence for sentence in ids[position : position + n] if sentence]
        position += n
        if kept:
            tokenized.append(kept)
    return tokenized


def encode_examples(
    documents: Sequence[Sequence[Sequence[int]]], tokenizer: Any, max_length: int, seed: int
) -> list[dict]:
    """Sentence-pair examples (50% IsNext, 50% NotNext), encoded and shuffled with ``seed``."""
    pairs = make_packed_nsp_pairs(documents, max_length, seed=seed)
    random.Random(seed).shuffle(pairs)
    examples = []
    for pair in pairs:
        encoding = encode_pair(tokenizer, pair.first, pair.second, max_length)
        encoding["label"] = pair.label
        examples.append(encoding)
    return examples


def make_batch(
    examples: Sequence[dict],
    tokenizer: Any,
    generator: torch.Generator,
    vocab: MaskingVocab | None = None,
) -> dict[str, torch.Tensor]:
    """Pad ``examples`` and mask them (15%, 80/10/10); adds ``labels`` and ``next_sentence_label``."""
    vocab = vocab or MaskingVocab.from_tokenizer(tokenizer)
    batch = collate_pairs(examples, tokenizer.pad_token_id)
    masked, labels = mask_tokens(
        batch["input_ids"], vocab, batch["attention_mask"], generator=generator
    )
    batch["input_ids"] = masked
    batch["labels"] = labels
    batch["next_sentence_label"] = torch.tensor([example["label"] for example in examples])
    return batch


def pretraining_forward(
    model: Any, batch: dict[str, torch.Tensor]
) -> tuple[PretrainingLoss, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, mlm_logits, nsp_logits, mlm_targets)`` for a ``BertForPreTraining`` model.

    The encoder runs on every position, but the MLM head (transform + vocabulary projection) runs only
    on the hidden states of the sampled positions: ``mlm_logits`` is ``[M, V]`` for the ``M`` sampled
    tokens, whose original ids are ``mlm_targets``.
    """
    outputs = model.bert(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        token_type_ids=batch["token_type_ids"],
    )
    sequence, pooled = outputs[0], outputs[1]
    sampled = batch["labels"] != IGNORE_INDEX
    mlm_logits = model.cls.predictions(sequence[sampled])
    nsp_logits = model.cls.seq_relationship(pooled)
    targets = batch["labels"][sampled]
    loss = combined_loss(mlm_logits, targets, nsp_logits, batch["next_sentence_label"])
    return loss, mlm_logits, nsp_logits, targets


@torch.no_grad()
def evaluate_pretraining(
    model: Any, batches: Sequence[dict[str, torch.Tensor]]
) -> dict[str, float]:
    """Masked-token top-1 accuracy (over all sampled positions), NSP accuracy, and both losses."""
    was_training = model.training
    model.eval()
    correct_mlm = total_mlm = correct_nsp = total_nsp = 0
    mlm_loss = nsp_loss = 0.0
    for batch in batches:
        loss, mlm_logits, nsp_logits, targets = pretraining_forward(model, batch)
        labels = batch["next_sentence_label"]
        correct_mlm += int((mlm_logits.argmax(-1) == targets).sum())
        total_mlm += len(targets)
        correct_nsp += int((nsp_logits.argmax(-1) == labels).sum())
        total_nsp += len(labels)
        mlm_loss += float(loss.mlm) * len(targets)
        nsp_loss += float(loss.nsp) * len(labels)
    model.train(was_training)
    return {
        "mlm_accuracy": correct_mlm / total_mlm,
        "nsp_accuracy": correct_nsp / total_nsp,
        "mlm_loss": mlm_loss / total_mlm,
        "nsp_loss": nsp_loss / total_nsp,
        "masked_tokens": total_mlm,
        "pairs": total_nsp,
    }


def heldout_batches(
    heldout: Sequence[Sequence[Sequence[int]]],
    tokenizer: Any,
    n_pairs: int = 512,
    max_length: int = PRETRAINING_MAX_LENGTH,
    seed: int = 0,
) -> list[dict[str, torch.Tensor]]:
    """The fixed held-out evaluation set: the first ``n_pairs`` pairs, masked with a fixed seed.

    With the defaults this is exactly the set the pretraining script evaluates on (and the model card
    reports); a smaller ``n_pairs`` gives a prefix of its pairs (masks differ after the first batch).
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    examples = encode_examples(heldout, tokenizer, max_length, seed * 1000)[:n_pairs]
    generator = torch.Generator().manual_seed(EVAL_MASK_SEED)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    return [
        make_batch(examples[i : i + EVAL_BATCH_SIZE], tokenizer, generator, vocab)
        for i in range(0, len(examples), EVAL_BATCH_SIZE)
    ]


def linear_warmup_decay(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warmup over ``warmup`` steps, then linear decay to 0 at ``total``.

    ``transformers.get_linear_schedule_with_warmup`` one step ahead during warm-up: its factor at
    step 0 is 0, so the first update would not move the weights; here it is ``1 / warmup``. After
    warm-up the two are equal (``tests/test_pretraining.py`` checks both).
    """
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))
