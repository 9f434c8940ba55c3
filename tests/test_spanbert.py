"""Tests of ch11lib.spanbert: SpanBERT span masking statistics and the span boundary objective."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from ch11lib import resources, spanbert

CLS, SEP, PAD, MASK, UNK = 101, 102, 0, 103, 100
SPECIALS = [PAD, UNK, CLS, SEP, MASK]
VOCAB = 30522


@pytest.fixture(scope="module")
def tokenizer():
    return resources.load_tokenizer("minilm")


# --------------------------------------------------------------------------------------------------
# The length distribution
# --------------------------------------------------------------------------------------------------


def test_length_distribution_is_truncated_renormalized_geometric():
    probabilities = spanbert.span_length_probabilities(0.2, 10)
    assert probabilities.shape == (10,)
    assert math.isclose(float(probabilities.sum()), 1.0, rel_tol=1e-12)
    # Written out by hand: p (1-p)^(l-1) / (1 - (1-p)^10)
    for length in range(1, 11):
        expected = 0.2 * 0.8 ** (length - 1) / (1 - 0.8**10)
        assert math.isclose(float(probabilities[length - 1]), expected, rel_tol=1e-12)
    # Short spans are favoured: strictly decreasing.
    assert bool((probabilities[1:] < probabilities[:-1]).all())


def test_expected_span_length_exact_value():
    mean = spanbert.expected_span_length(0.2, 10)
    by_hand = sum(ell * 0.2 * 0.8 ** (ell - 1) for ell in range(1, 11)) / (1 - 0.8**10)
    assert math.isclose(mean, by_hand, rel_tol=1e-12)
    assert 3.79 < mean < 3.80  # SpanBERT's "mean span length 3.8"
    # Edge cases: p=1 always gives length 1; max_length 1 too.
    assert spanbert.expected_span_length(1.0, 10) == 1.0
    assert spanbert.expected_span_length(0.5, 1) == 1.0
    # Without truncation the mean of Geo(p) would be 1/p = 5: truncation matters.
    assert spanbert.expected_span_length(0.2, 1000) == pytest.approx(5.0, rel=1e-6)


@pytest.mark.parametrize("p", [0.0, -0.1, 1.5])
def test_bad_p(p):
    with pytest.raises(ValueError, match="p must be in"):
        spanbert.span_length_probabilities(p, 10)


def test_bad_max_length():
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        spanbert.span_length_probabilities(0.2, 0)


# --------------------------------------------------------------------------------------------------
# Span masking: statistics over many tokens
# --------------------------------------------------------------------------------------------------


def _synthetic_batch(n_rows: int, length: int, seed: int):
    """Random WordPiece-like sequences: [CLS] words [SEP] [PAD]..., words of 1-3 pieces."""
    rng = np.random.default_rng(seed)
    ids = torch.from_numpy(rng.integers(1000, VOCAB, (n_rows, length)))
    word_ids: list[list[int | None]] = []
    for row in range(n_rows):
        n_pad = int(rng.integers(0, 20))
        n_words_tokens = length - 2 - n_pad
        ids[row, 0] = CLS
        ids[row, length - 1 - n_pad] = SEP
        if n_pad:
            ids[row, length - n_pad :] = PAD
        pieces = rng.choice([1, 2, 3], size=n_words_tokens, p=[0.7, 0.2, 0.1])
        row_words = np.repeat(np.arange(n_words_tokens), pieces)[:n_words_tokens].tolist()
        word_ids.append([None, *row_words] + [None] * (1 + n_pad))
    return ids, word_ids


@pytest.fixture(scope="module")
def big_sample():
    """About 1.3 x 10^5 tokens of span masking with fixed seeds."""
    ids, word_ids = _synthetic_batch(256, 512, seed=1)
    generator = torch.Generator().manual_seed(2)
    out = spanbert.span_mask(
        ids,
        mask_token_id=MASK,
        vocab_size=VOCAB,
        special_ids=SPECIALS,
        word_ids=word_ids,
        generator=generator,
    )
    return ids, word_ids, out


def test_drawn_length_histogram_matches_theory(big_sample):
    _, _, out = big_sample
    lengths = [length for row in out.drawn_lengths for length in row]
    assert len(lengths) > 3000
    counts = Counter(lengths)
    n = len(lengths)
    expected = spanbert.span_length_probabilities(0.2, 10).tolist()
    observed = [counts.get(ell, 0) / n for ell in range(1, 11)]
    assert set(counts) <= set(range(1, 11)), "span lengths outside 1..10"
    max_abs_diff = max(abs(o - e) for o, e in zip(observed, expected, strict=True))
    # n > 3000 spans: the standard error of a proportion is below 0.0076, so 0.025 is > 3 of them.
    assert max_abs_diff < 0.025, (observed, expected)
    chi_square = sum(
        (counts.get(ell, 0) - n * e) ** 2 / (n * e)
        for ell, e in zip(range(1, 11), expected, strict=True)
    )
    assert chi_square < 27.88, (
        f"chi-square {chi_square:.1f} exceeds the 0.1% critical value (9 dof)"
    )
    # Not truncating would give mean 5 (Geo(0.2)); the standard error here is about 0.045.
    mean = sum(lengths) / n
    assert abs(mean - spanbert.expected_span_length()) < 0.15


def test_sampled_lengths_over_many_draws():
    draws = spanbert.sample_span_lengths(200_000, generator=torch.Generator().manual_seed(0))
    observed = torch.bincount(draws, minlength=11)[1:].double() / len(draws)
    expected = spanbert.span_length_probabilities()
    assert float((observed - expected).abs().max()) < 0.004
    assert abs(float(draws.double().mean()) - spanbert.expected_span_length()) < 0.02


def test_budget_is_exactly_fifteen_percent_of_each_row(big_sample):
    ids, word_ids, out = big_sample
    for row in range(ids.shape[0]):
        n_maskable = sum(w is not None for w in word_ids[row])
        covered = sum(end - start + 1 for start, end in out.spans[row])
        assert covered == round(0.15 * n_maskable), "the budget is masked exactly (last span cut)"
        assert int((out.labels[row] != -100).sum()) == covered


def test_one_decision_per_span_80_10_10(big_sample):
    ids, _, out = big_sample
    counts = Counter()
    for row in range(ids.shape[0]):
        for (start, end), decision in zip(out.spans[row], out.decisions[row], strict=True):
            counts[decision] += 1
            original = ids[row, start : end + 1]
            corrupted = out.input_ids[row, start : end + 1]
            if decision == "mask":
                assert bool((corrupted == MASK).all()), "a [MASK] span has unmasked tokens"
            elif decision == "keep":
                assert torch.equal(corrupted, original)
            else:
                assert not bool(torch.isin(corrupted, torch.tensor(SPECIALS)).any())
                # A whole span of random tokens: at most a chance match with the original.
                assert float((corrupted == original).float().mean()) < 0.5
    n = sum(counts.values())
    assert abs(counts["mask"] / n - 0.8) < 0.015
    assert abs(counts["random"] / n - 0.1) < 0.01
    assert abs(counts["keep"] / n - 0.1) < 0.01
    # Per token, too: the proportions of span tokens that are [MASK] follow the span decisions.
    labelled = out.labels != -100
    assert abs(float((out.input_ids[labelled] == MASK).float().mean()) - 0.8) < 0.02
    # Outside spans nothing changes.
    assert torch.equal(out.input_ids[~labelled], ids[~labelled])


def test_spans_are_merged_runs_of_whole_words_never_specials(big_sample):
    ids, word_ids, out = big_sample
    for row in range(ids.shape[0]):
        words = word_ids[row]
        seen: set[int] = set()
        previous_end, cut = -2, 0
        for start, end in out.spans[row]:
            assert all(words[i] is not None for i in range(start, end + 1)), "span covers a special"
            assert start == 0 or words[start - 1] != words[start], "span starts inside a word"
            assert start > previous_end + 1, "spans are sorted, and touching spans are merged"
            cut += end < len(words) - 1 and words[end + 1] == words[end]
            seen |= set(range(start, end + 1))
            previous_end = end
        assert cut <= 1, "only the span cut by the budget may end inside a word"
        assert seen == set(torch.nonzero(out.labels[row] != -100).squeeze(1).tolist())
        starts = [w is not None and (t == 0 or words[t - 1] != w) for t, w in enumerate(words)]
        assert out.span_word_lengths[row] == [sum(starts[s : e + 1]) for s, e in out.spans[row]]
    special = torch.isin(ids, torch.tensor(SPECIALS))
    assert bool((out.labels[special] == -100).all())
    assert torch.equal(out.input_ids[special], ids[special])


def test_token_replacement_and_single_tokens_are_berts_masking_of_the_budget():
    """p=1 with every token a word, one decision a token: BERT's masking of exactly the budget."""
    ids, _ = _synthetic_batch(64, 128, seed=4)
    out = spanbert.span_mask(
        ids,
        mask_token_id=MASK,
        vocab_size=VOCAB,
        special_ids=SPECIALS,
        p=1.0,
        replacement="token",
        generator=torch.Generator().manual_seed(5),
    )
    for row in range(ids.shape[0]):
        n_maskable = int((~torch.isin(ids[row], torch.tensor(SPECIALS))).sum())
        assert int((out.labels[row] != -100).sum()) == round(0.15 * n_maskable)
    assert set(length for row in out.drawn_lengths for length in row) == {1}
    labelled = out.labels != -100
    share_mask = float((out.input_ids[labelled] == MASK).float().mean())
    assert abs(share_mask - 0.8) < 0.03  # about 1,700 tokens: standard error 0.01
    # Runs of adjacent masked tokens mix decisions now (one per span would never give "mixed").
    assert "mixed" in {d for row in out.decisions for d in row}
    with pytest.raises(ValueError, match="replacement"):
        spanbert.span_mask(ids, mask_token_id=MASK, vocab_size=VOCAB, replacement="word")


def test_seeded_and_input_not_mutated():
    ids, word_ids = _synthetic_batch(4, 64, seed=3)
    before = ids.clone()
    kwargs = dict(mask_token_id=MASK, vocab_size=VOCAB, special_ids=SPECIALS, word_ids=word_ids)
    first = spanbert.span_mask(ids, generator=torch.Generator().manual_seed(7), **kwargs)
    second = spanbert.span_mask(ids, generator=torch.Generator().manual_seed(7), **kwargs)
    assert torch.equal(ids, before), "span_mask modified its input"
    assert torch.equal(first.input_ids, second.input_ids)
    assert first.spans == second.spans
    third = spanbert.span_mask(ids, generator=torch.Generator().manual_seed(8), **kwargs)
    assert third.spans != first.spans


def test_with_real_tokenizer_words_are_wordpiece_words(tokenizer):
    text = (
        "The unbelievably talented quarterback from Philadelphia threw an extraordinary pass, "
        "and the crowd erupted in thunderous applause as the receivers celebrated wildly."
    )
    encoded = tokenizer([text] * 200, return_tensors="pt")
    tokens = tokenizer.convert_ids_to_tokens(encoded.input_ids[0].tolist())
    out = spanbert.span_mask_with_tokenizer(
        encoded.input_ids, tokenizer, generator=torch.Generator().manual_seed(0)
    )
    words = encoded.word_ids(0)  # the fast tokenizer's own words
    for row_spans in out.spans:
        cut = 0
        for start, end in row_spans:
            # Spans are whole words of the tokenizer: they never start inside one, and only the
            # span cut by the budget ends inside one.
            assert words[start] is not None and words[start - 1] != words[start]
            assert words[end] is not None
            assert not tokens[start].startswith("##")
            cut += words[end + 1] == words[end]
            assert cut == (end + 1 < len(tokens) and tokens[end + 1].startswith("##")) or cut == 1
        assert cut <= 1
    assert bool((out.labels[:, 0] == -100).all()) and bool((out.labels[:, -1] == -100).all())
    # Random replacements are ordinary tokens: never special, never a reserved [unusedN] slot.
    replaced = [
        token
        for row, (row_spans, decisions) in enumerate(zip(out.spans, out.decisions, strict=True))
        for (start, end), decision in zip(row_spans, decisions, strict=True)
        if decision == "random"
        for token in tokenizer.convert_ids_to_tokens(out.input_ids[row, start : end + 1].tolist())
    ]
    assert replaced, "200 sequences should give some random spans"
    assert not any(token.startswith("[") and token.endswith("]") for token in replaced)


def test_padding_is_never_masked_with_attention_mask(tokenizer):
    encoded = tokenizer(
        ["short one", "a much longer sentence with many more words in it"],
        padding=True,
        return_tensors="pt",
    )
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = spanbert.span_mask_with_tokenizer(
            encoded.input_ids, tokenizer, attention_mask=encoded.attention_mask, generator=generator
        )
        assert bool((out.labels[encoded.attention_mask == 0] == -100).all())


def test_errors(tokenizer):
    kwargs = dict(mask_token_id=MASK, vocab_size=VOCAB, special_ids=SPECIALS)
    with pytest.raises(ValueError, match="empty"):
        spanbert.span_mask(torch.tensor([], dtype=torch.long), **kwargs)
    with pytest.raises(ValueError, match="p must be in"):
        spanbert.span_mask(torch.tensor([CLS, 2000, SEP]), p=0.0, **kwargs)
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        spanbert.span_mask(torch.tensor([CLS, 2000, SEP]), max_span_length=0, **kwargs)
    with pytest.raises(TypeError, match="torch.Tensor"):
        spanbert.span_mask([CLS, 2000, SEP], **kwargs)

    class NoMask:
        mask_token_id = None

    with pytest.raises(ValueError, match="no mask token"):
        spanbert.span_mask_with_tokenizer(torch.tensor([CLS, 2000, SEP]), NoMask())


def test_edge_cases_all_special_and_short():
    kwargs = dict(mask_token_id=MASK, vocab_size=VOCAB, special_ids=SPECIALS)
    only_special = torch.tensor([CLS, SEP, PAD, PAD])
    out = spanbert.span_mask(only_special, **kwargs)
    assert out.spans == [] and bool((out.labels == -100).all())
    assert torch.equal(out.input_ids, only_special)
    # One maskable token: it is the whole budget (at least one token is masked).
    one = spanbert.span_mask(torch.tensor([CLS, 2000, SEP]), **kwargs)
    assert one.spans == [(1, 1)] and one.span_word_lengths == [1] and one.drawn_lengths != []
    # Everything: every stretch between special tokens is one span.
    pair = torch.tensor([CLS, 2000, 2001, 2002, SEP, 2003, 2004, SEP])
    out = spanbert.span_mask(pair, mask_ratio=1.0, **kwargs)
    assert out.spans == [(1, 3), (5, 6)]


# --------------------------------------------------------------------------------------------------
# Span masking against a transcription of SpanBERT's own loop
# --------------------------------------------------------------------------------------------------


def _spanbert_code_mask(word_ids: list[int], rng, mask_ratio: float, p: float, upper: int):
    """``PairWithSpanMaskingScheme.mask`` of SpanBERT's code (pretraining/fairseq/data/masking.py),
    transcribed for one segment without special tokens (the budget rounded, as ch11lib does), then
    its ``merge_intervals``: a separate, literal implementation to hold ch11lib's to."""
    lens = list(range(1, upper + 1))
    len_distrib = [p * (1 - p) ** (i - 1) for i in lens]
    len_distrib = [x / sum(len_distrib) for x in len_distrib]
    sent_length = len(word_ids)

    def word_start(t):
        while t > 0 and word_ids[t - 1] == word_ids[t]:
            t -= 1
        return t

    def word_end(t):  # one past the last piece
        t += 1
        while t < sent_length and word_ids[t] == word_ids[t - 1]:
            t += 1
        return t

    mask_num = round(sent_length * mask_ratio)
    mask: set[int] = set()
    spans = []
    while len(mask) < mask_num:
        span_len = rng.choice(lens, p=len_distrib)
        anchor = rng.choice(sent_length)
        if anchor in mask:
            continue
        left1, right1 = word_start(anchor), word_end(anchor)
        spans.append([left1, left1])
        for i in range(left1, right1):
            if len(mask) >= mask_num:
                break
            mask.add(i)
            spans[-1][-1] = i
        num_words = 1
        right2 = right1
        while num_words < span_len and right2 < sent_length and len(mask) < mask_num:
            left2 = right2
            right2 = word_end(right2)
            num_words += 1
            for i in range(left2, right2):
                if len(mask) >= mask_num:
                    break
                mask.add(i)
                spans[-1][-1] = i
    merged: list[list[int]] = []
    for interval in sorted(spans):
        if not merged or merged[-1][1] + 1 < interval[0]:
            merged.append(list(interval))
        else:
            merged[-1][1] = max(merged[-1][1], interval[1])
    assert len(mask) == sum(e - s + 1 for s, e in merged)
    return [tuple(m) for m in merged]


def _two_sample_z(a: list[float], b: list[float]) -> float:
    gap = abs(float(np.mean(a)) - float(np.mean(b)))
    error = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    return gap / error if error > 0 else (0.0 if gap == 0 else math.inf)


@pytest.mark.parametrize(
    ("pieces", "mask_ratio", "p", "upper", "n_words"),
    [((1,), 0.7, 0.3, 20, 200), ((1, 4), 0.5, 0.2, 10, 100), ((1, 2, 3), 0.15, 0.2, 10, 300)],
    ids=["merges", "anchors-over-tokens", "defaults"],
)
def test_span_sampling_matches_spanbert_code(pieces, mask_ratio, p, upper, n_words):
    """Spans a row, tokens on the longest words and run lengths agree with the transcribed loop.

    The first setting masks 70% of a row, where how spans merge shows most (an anchor allowed on
    masked tokens, or a span stopping at one, moves the spans a row by several standard errors);
    the second has words of 1 and 4 pieces, where anchors over words instead of tokens show.
    """
    word_ids = [k for k in range(n_words) for _ in range(pieces[k % len(pieces)])]
    rng = np.random.default_rng(0)
    generator = torch.Generator().manual_seed(0)
    ours, theirs = [], []
    for _ in range(150):
        theirs.append(_spanbert_code_mask(word_ids, rng, mask_ratio, p, upper))
        ours.append(
            spanbert.sample_masked_spans(
                word_ids, generator, mask_ratio=mask_ratio, p=p, max_length=upper
            )[0]
        )
    longest = max(pieces)

    def on_longest_words(spans):
        tokens = [t for s, e in spans for t in range(s, e + 1)]
        return sum(pieces[word_ids[t] % len(pieces)] == longest for t in tokens) / len(tokens)

    for statistic in (len, on_longest_words):
        z = _two_sample_z([statistic(s) for s in ours], [statistic(s) for s in theirs])
        assert z < 5.3, (
            f"{getattr(statistic, '__name__', statistic)}: {z:.1f} standard errors apart"
        )
    # Run lengths in tokens (1..9, 10+): a chi-square test of homogeneity.
    table = np.zeros((2, 10))
    for row, samples in enumerate((ours, theirs)):
        for spans in samples:
            for s, e in spans:
                table[row, min(e - s + 1, 10) - 1] += 1
    table = table[:, table.sum(0) > 0]
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi_square = float(((table - expected) ** 2 / expected).sum())
    df = table.shape[1] - 1
    # Wilson-Hilferty's upper 1e-6 quantile of chi-square with df degrees of freedom
    bound = df * (1 - 2 / (9 * df) + 4.753 * math.sqrt(2 / (9 * df))) ** 3
    assert chi_square < bound, (chi_square, bound, table)


# --------------------------------------------------------------------------------------------------
# The span boundary objective
# --------------------------------------------------------------------------------------------------


def test_sbo_targets_hand_case():
    original = torch.tensor([[CLS, 11, 12, 13, 14, 15, SEP]])
    targets = spanbert.sbo_targets([[(2, 4)]], original)
    assert targets.left.tolist() == [1, 1, 1]
    assert targets.right.tolist() == [5, 5, 5]
    assert targets.relative_position.tolist() == [0, 1, 2]
    assert targets.position.tolist() == [2, 3, 4]
    assert targets.target.tolist() == [12, 13, 14]
    with pytest.raises(ValueError, match="boundary"):
        spanbert.sbo_targets([[(0, 1)]], original)


def test_sbo_head_shapes_and_formula():
    torch.manual_seed(0)
    head = spanbert.SpanBoundaryHead(hidden_size=8, vocab_size=50, max_span_tokens=5).eval()
    hidden = torch.randn(2, 7, 8)
    original = torch.randint(0, 50, (2, 7))
    targets = spanbert.sbo_targets([[(2, 4)], [(1, 1), (3, 5)]], original)
    logits = head(hidden, targets)
    assert logits.shape == (3 + 1 + 3, 50)
    # The first target by hand: [z_1; z_5; p_0] -> LN(GELU(W1 .)) -> LN(GELU(W2 .)) -> W_V.
    h0 = torch.cat([hidden[0, 1], hidden[0, 5], head.position_embeddings.weight[0]])
    h1 = torch.nn.functional.layer_norm(
        torch.nn.functional.gelu(head.dense1(h0)), (8,), head.norm1.weight, head.norm1.bias, 1e-12
    )
    h2 = torch.nn.functional.layer_norm(
        torch.nn.functional.gelu(head.dense2(h1)), (8,), head.norm2.weight, head.norm2.bias, 1e-12
    )
    torch.testing.assert_close(logits[0], head.decoder(h2))
    # The prediction does not look at the span's own outputs, only the boundaries.
    changed = hidden.clone()
    changed[0, 2:5] = 100.0
    torch.testing.assert_close(head(changed, targets), logits)
    with pytest.raises(ValueError, match="at most 5"):
        head(torch.randn(1, 8, 8), spanbert.sbo_targets([[(1, 6)]], torch.randint(0, 50, (1, 8))))


def test_spanbert_loss_is_mlm_plus_sbo():
    torch.manual_seed(0)
    mlm_logits = torch.randn(1, 7, 50)
    labels = torch.tensor([[-100, -100, 12, 13, 14, -100, -100]])
    original = torch.tensor([[1, 11, 12, 13, 14, 15, 2]])
    targets = spanbert.sbo_targets([[(2, 4)]], original)
    sbo_logits = torch.randn(3, 50)
    total = spanbert.spanbert_loss(mlm_logits, labels, sbo_logits, targets)
    mlm = -torch.log_softmax(mlm_logits[0, 2:5], -1)[torch.arange(3), torch.tensor([12, 13, 14])]
    sbo = -torch.log_softmax(sbo_logits, -1)[torch.arange(3), torch.tensor([12, 13, 14])]
    torch.testing.assert_close(total, mlm.mean() + sbo.mean())


def test_sbo_loss_goes_down_on_a_toy_task():
    """Boundary vectors that encode the span's tokens: the head must learn to read them."""
    torch.manual_seed(0)
    vocab, hidden_size, seq = 20, 16, 8
    embed = torch.randn(vocab, hidden_size)
    original = torch.randint(4, vocab, (64, seq))
    hidden = embed[original].clone()
    # Span (3, 4): its tokens equal the left boundary's token shifted by the relative position.
    original[:, 3] = original[:, 2]
    original[:, 4] = (original[:, 2] + 1) % vocab
    hidden = embed[original]
    targets = spanbert.sbo_targets([[(3, 4)]] * 64, original)
    head = spanbert.SpanBoundaryHead(hidden_size, vocab, max_span_tokens=4)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        loss = spanbert.sbo_loss(head(hidden, targets), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
