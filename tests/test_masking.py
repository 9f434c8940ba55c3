"""Tests for ch11lib.masking: BERT's 15% / 80-10-10 recipe, whole-word masking, the MLM loss.

Statistics are measured over more than 10^5 tokens with fixed seeds and compared with the recipe and with
transformers' DataCollatorForLanguageModeling (token-level and ``whole_word_mask=True``).
"""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from transformers import DataCollatorForLanguageModeling

from ch11lib import resources
from ch11lib.masking import (
    IGNORE_INDEX,
    DynamicMasking,
    MaskingVocab,
    StaticMasking,
    mask_tokens,
    maskable_positions,
    mlm_loss,
    mlm_loss_from_hidden,
    whole_word_mask_tokens,
    word_ids_from_pieces,
)

ROWS, WIDTH = 240, 512  # 122,880 positions, about 107,000 of them real tokens


@pytest.fixture(scope="module")
def tokenizer():
    return resources.load_tokenizer("minilm")


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return MaskingVocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def batch(tokenizer, vocab):
    """Padded pairs ``[CLS] a [SEP] b [SEP] [PAD]...`` of random ordinary tokens, as tensors."""
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.full((ROWS, WIDTH), tokenizer.pad_token_id)
    attention_mask = torch.zeros((ROWS, WIDTH), dtype=torch.long)
    rng = random.Random(0)
    for row in range(ROWS):
        length = WIDTH if row == 0 else rng.randint(WIDTH * 3 // 4, WIDTH)
        picks = torch.randint(len(vocab.ordinary_ids), (length,), generator=generator)
        ids = vocab.ordinary_ids[picks]
        ids[0] = tokenizer.cls_token_id
        ids[rng.randint(2, length - 3)] = tokenizer.sep_token_id
        ids[-1] = tokenizer.sep_token_id
        input_ids[row, :length] = ids
        attention_mask[row, :length] = 1
    return input_ids, attention_mask


def outcome_fractions(original, masked, labels, mask_id):
    """(sampled / eligible, [MASK] / sampled, random / sampled, unchanged / sampled)."""
    sampled = labels != IGNORE_INDEX
    n = int(sampled.sum())
    to_mask = int((sampled & (masked == mask_id)).sum())
    unchanged = int((sampled & (masked == original)).sum())
    return n, to_mask / n, (n - to_mask - unchanged) / n, unchanged / n


def test_token_masking_statistics(tokenizer, vocab, batch):
    input_ids, attention_mask = batch
    eligible = maskable_positions(input_ids, tokenizer, attention_mask)
    assert int(attention_mask.sum()) > 100_000
    masked, labels = mask_tokens(
        input_ids, tokenizer, attention_mask, generator=torch.Generator().manual_seed(1)
    )
    n, p_mask, p_random, p_keep = outcome_fractions(
        input_ids, masked, labels, tokenizer.mask_token_id
    )
    assert abs(n / int(eligible.sum()) - 0.15) < 0.005
    assert abs(p_mask - 0.8) < 0.015
    assert abs(p_random - 0.1) < 0.01
    assert abs(p_keep - 0.1) < 0.01


def test_specials_and_padding_never_sampled_and_labels(tokenizer, vocab, batch):
    input_ids, attention_mask = batch
    before = input_ids.clone(), attention_mask.clone()
    masked, labels = mask_tokens(
        input_ids,
        tokenizer,
        attention_mask,
        mlm_probability=0.9,
        generator=torch.Generator().manual_seed(2),
    )
    # the input is not modified and fresh tensors come back
    assert torch.equal(input_ids, before[0]) and torch.equal(attention_mask, before[1])
    assert masked.data_ptr() != input_ids.data_ptr()
    special = torch.isin(input_ids, vocab.special_ids) | (attention_mask == 0)
    sampled = labels != IGNORE_INDEX
    assert not (sampled & special).any(), "a special or padding token was sampled"
    assert torch.equal(labels[sampled], input_ids[sampled])
    assert (labels[~sampled] == IGNORE_INDEX).all()
    assert torch.equal(masked[~sampled], input_ids[~sampled]), "an unsampled position changed"
    replaced = sampled & (masked != input_ids) & (masked != tokenizer.mask_token_id)
    assert int(replaced.sum()) > 5000
    assert not torch.isin(masked[replaced], vocab.special_ids).any()
    tokens = tokenizer.convert_ids_to_tokens(masked[replaced][:2000].tolist())
    assert not any(t.startswith("[") and t.endswith("]") for t in tokens), "reserved token drawn"


def test_seeded_and_deterministic(tokenizer, batch):
    input_ids, attention_mask = batch[0][:8], batch[1][:8]
    a = mask_tokens(
        input_ids, tokenizer, attention_mask, generator=torch.Generator().manual_seed(5)
    )
    b = mask_tokens(
        input_ids, tokenizer, attention_mask, generator=torch.Generator().manual_seed(5)
    )
    c = mask_tokens(
        input_ids, tokenizer, attention_mask, generator=torch.Generator().manual_seed(6)
    )
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_agrees_with_transformers_collator(tokenizer, vocab, batch):
    input_ids, attention_mask = batch
    examples = [
        {"input_ids": row[: int(mask.sum())].tolist()}
        for row, mask in zip(input_ids, attention_mask, strict=True)
    ]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=3)
    reference = collator(examples)
    # (its random replacements are drawn from the whole vocabulary, [PAD] and [CLS] included)
    assert (reference["input_ids"][attention_mask == 0] == tokenizer.pad_token_id).all()
    theirs = outcome_fractions(
        input_ids, reference["input_ids"], reference["labels"], tokenizer.mask_token_id
    )
    masked, labels = mask_tokens(
        input_ids, tokenizer, attention_mask, generator=torch.Generator().manual_seed(3)
    )
    ours = outcome_fractions(input_ids, masked, labels, tokenizer.mask_token_id)
    assert abs(ours[0] - theirs[0]) / theirs[0] < 0.04  # number of sampled tokens
    for mine, reference_fraction in zip(ours[1:], theirs[1:], strict=True):
        assert abs(mine - reference_fraction) < 0.015
    # the collator also never samples special tokens or padding
    special = torch.isin(input_ids, vocab.special_ids) | (attention_mask == 0)
    assert not ((reference["labels"] != IGNORE_INDEX) & special).any()


WORDS = (
    "the cat unbelievable sat on a mat while photosynthesis ran across green "
    "hyperparameters of tokenization and dogs chased misunderstandings quickly"
).split()


@pytest.fixture(scope="module")
def text_batch(tokenizer):
    rng = random.Random(7)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 110))) for _ in range(900)]
    encoding = tokenizer(texts, padding=True, return_tensors="pt", return_offsets_mapping=True)
    word_ids = [encoding.word_ids(i) for i in range(len(texts))]
    return texts, encoding, word_ids


def test_word_ids_from_pieces_match_the_tokenizer(tokenizer, text_batch):
    _, encoding, word_ids = text_batch
    ours = word_ids_from_pieces(encoding["input_ids"], tokenizer, encoding["attention_mask"])
    reference = torch.tensor([[-1 if w is None else w for w in row] for row in word_ids])
    assert torch.equal(ours, reference)
    assert int(encoding["attention_mask"].sum()) > 100_000


def test_whole_word_masking_statistics(tokenizer, text_batch):
    _, encoding, word_ids = text_batch
    input_ids, attention_mask = encoding["input_ids"], encoding["attention_mask"]
    masked, labels = whole_word_mask_tokens(
        input_ids, tokenizer, attention_mask, generator=torch.Generator().manual_seed(11)
    )
    words = word_ids_from_pieces(input_ids, tokenizer, attention_mask)
    # one global number per word of the batch, then per-word counts with bincount
    offsets = torch.cumsum(words.max(dim=1).values + 1, dim=0) - (words.max(dim=1).values + 1)
    real = words >= 0
    global_ids = (words + offsets[:, None])[real]
    n_words = int(global_ids.max()) + 1

    def per_word(flags):
        return torch.bincount(global_ids, weights=flags[real].double(), minlength=n_words)

    pieces = per_word(torch.ones_like(real))
    chosen = per_word(labels != IGNORE_INDEX)
    assert ((chosen == 0) | (chosen == pieces)).all(), "pieces of one word did not share a fate"
    selected = chosen > 0
    as_mask = per_word(masked == tokenizer.mask_token_id) == pieces
    kept = per_word(masked == input_ids) == pieces
    changed = per_word((masked != input_ids) & (masked != tokenizer.mask_token_id)) == pieces
    n_selected = int(selected.sum())
    assert n_words > 50_000 and int((selected & (pieces > 1)).sum()) > 1000
    assert int((selected & ~(as_mask | kept | changed)).sum()) == 0, "a word was partly corrupted"
    assert abs(n_selected / n_words - 0.15) < 0.006
    assert abs(int((selected & as_mask).sum()) / n_selected - 0.8) < 0.02
    assert abs(int((selected & changed).sum()) / n_selected - 0.1) < 0.015
    assert abs(int((selected & kept).sum()) / n_selected - 0.1) < 0.015
    # giving the tokenizer's word_ids instead of reading "##" pieces changes nothing
    again = whole_word_mask_tokens(
        input_ids,
        tokenizer,
        attention_mask,
        word_ids=word_ids,
        generator=torch.Generator().manual_seed(11),
    )
    assert torch.equal(again[0], masked) and torch.equal(again[1], labels)


def test_whole_word_masking_agrees_with_transformers(tokenizer, text_batch):
    _, encoding, _ = text_batch
    input_ids, attention_mask = encoding["input_ids"], encoding["attention_mask"]
    # Rows are passed already padded: the collator cannot pad offset mappings itself.
    examples = [
        {
            "input_ids": ids.tolist(),
            "attention_mask": m.tolist(),
            "offset_mapping": offsets.tolist(),
        }
        for ids, m, offsets in zip(
            input_ids, attention_mask, encoding["offset_mapping"], strict=True
        )
    ]
    # transformers' whole-word masking only uses [MASK] (it sets mask_replace_prob to 1).
    with pytest.warns(UserWarning):
        collator = DataCollatorForLanguageModeling(
            tokenizer, mlm_probability=0.15, whole_word_mask=True, seed=4
        )
    reference = collator(examples)
    masked, labels = whole_word_mask_tokens(
        input_ids,
        tokenizer,
        attention_mask,
        mask_replace_prob=1.0,
        random_replace_prob=0.0,
        generator=torch.Generator().manual_seed(4),
    )
    eligible = int(maskable_positions(input_ids, tokenizer, attention_mask).sum())
    ours = int((labels != IGNORE_INDEX).sum()) / eligible
    theirs = int((reference["labels"] != IGNORE_INDEX).sum()) / eligible
    assert abs(ours - theirs) < 0.01
    assert (masked[labels != IGNORE_INDEX] == tokenizer.mask_token_id).all()


def test_static_versus_dynamic_masking(tokenizer, batch):
    input_ids, attention_mask = batch[0][:4], batch[1][:4]
    ids = [10, 11, 12, 13]
    static = StaticMasking(tokenizer, seed=0)
    dynamic = DynamicMasking(tokenizer, seed=0)
    assert torch.equal(
        static(ids, input_ids, attention_mask, 0)[1], static(ids, input_ids, attention_mask, 5)[1]
    )
    assert not torch.equal(
        dynamic(ids, input_ids, attention_mask, 0)[1], dynamic(ids, input_ids, attention_mask, 1)[1]
    )
    # the same example gets the same mask whatever batch it is in
    alone = dynamic([12], input_ids[2:3], attention_mask[2:3], 3)[1]
    assert torch.equal(alone[0], dynamic(ids, input_ids, attention_mask, 3)[1][2])
    copies = StaticMasking(tokenizer, seed=0, copies=2)
    labels = [copies(ids, input_ids, attention_mask, epoch)[1] for epoch in range(3)]
    assert torch.equal(labels[0], labels[2]) and not torch.equal(labels[0], labels[1])


def test_mlm_loss_matches_cross_entropy_and_the_formula():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, 50, generator=generator)
    labels = torch.full((3, 7), IGNORE_INDEX)
    labels[0, 1], labels[1, 4], labels[2, 0], labels[2, 6] = 3, 49, 0, 17
    reference = F.cross_entropy(logits.view(-1, 50), labels.view(-1), ignore_index=-100)
    assert torch.allclose(mlm_loss(logits, labels), reference)
    sampled = labels != IGNORE_INDEX
    probabilities = torch.softmax(logits[sampled], dim=-1)
    by_hand = -torch.log(probabilities[torch.arange(4), labels[sampled]]).sum() / 4
    assert torch.allclose(mlm_loss(logits, labels), by_hand)
    hidden = torch.randn(3, 7, 8, generator=generator)
    weight, bias = torch.randn(50, 8, generator=generator), torch.randn(50, generator=generator)
    full = F.cross_entropy((hidden @ weight.T + bias).view(-1, 50), labels.view(-1))
    assert torch.allclose(mlm_loss_from_hidden(hidden, weight, labels, bias), full, atol=1e-6)


class _NoMaskTokenizer:
    mask_token_id = None

    def get_vocab(self):
        return {"a": 0, "b": 1}


def test_clear_errors(tokenizer):
    ids = torch.tensor([[101, 2000, 2001, 102]])
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_tokens(ids, tokenizer, mlm_probability=1.5)
    with pytest.raises(ValueError, match="random_replace_prob"):
        mask_tokens(ids, tokenizer, random_replace_prob=-0.1)
    with pytest.raises(ValueError, match="<= 1"):
        mask_tokens(ids, tokenizer, mask_replace_prob=0.8, random_replace_prob=0.3)
    with pytest.raises(ValueError, match="empty"):
        mask_tokens(torch.zeros((0, 5), dtype=torch.long), tokenizer)
    with pytest.raises(ValueError, match="shape"):
        mask_tokens(torch.tensor([101, 2000, 102]), tokenizer)
    with pytest.raises(TypeError):
        mask_tokens([[101, 2000, 102]], tokenizer)
    with pytest.raises(ValueError, match="attention_mask"):
        mask_tokens(ids, tokenizer, torch.ones(1, 3))
    with pytest.raises(ValueError, match="mask token"):
        mask_tokens(ids, _NoMaskTokenizer())
    with pytest.raises(ValueError, match="mlm_probability"):
        whole_word_mask_tokens(ids, tokenizer, mlm_probability=-0.5)
    with pytest.raises(ValueError, match="no position"):
        mlm_loss(torch.randn(1, 4, 10), torch.full((1, 4), IGNORE_INDEX))
    with pytest.raises(ValueError, match="does not match"):
        mlm_loss(torch.randn(1, 4, 10), torch.zeros(1, 3, dtype=torch.long))
