"""Wrong and differently-written correct answers for assignment 3 ("Sentence pairs and spans").

Read by tests/test_mutants.py: every WRONG entry must lose points, every CORRECT entry must get 100.
Each WRONG entry is a mistake students make when they first build NSP pairs and SpanBERT spans.
"""

from __future__ import annotations

from textwrap import dedent, indent


def _body(*parts: str) -> str:
    """A function body from code blocks, each dedented on its own (they come from differently
    indented string literals), then indented by four spaces."""
    text = "\n".join(dedent(part).strip("\n") for part in parts)
    return indent(text, "    ") + "\n"


def _nsp(*parts: str) -> str:
    return "def make_nsp_examples(documents, rng):\n" + _body(*parts)


def _encode(*parts: str) -> str:
    return "def encode_pair(first_ids, second_ids, cls_id, sep_id, max_length):\n" + _body(*parts)


def _lengths(*parts: str) -> str:
    return "def span_length_probabilities(p=0.2, max_length=10):\n" + _body(*parts)


def _spans(*parts: str) -> str:
    return (
        "def sample_spans(word_ids, generator, mask_ratio=0.15, p=0.2, max_length=10):\n"
        + _body(*parts)
    )


def _sbo(*parts: str) -> str:
    return "def sbo_inputs(hidden, spans):\n" + _body(*parts)


_NSP_LOOP = """
examples = []
for index, document in enumerate(documents):
    for position in range(len(document) - 1):
{inner}
return examples
"""


def _nsp_loop(inner: str) -> str:
    return _nsp(_NSP_LOOP.format(inner=indent(dedent(inner).strip("\n"), "        ")))


_ENCODE_TAIL = """
input_ids = [cls_id] + a + [sep_id] + b + [sep_id]
token_type_ids = [0] * (len(a) + 2) + [1] * (len(b) + 1)
return input_ids, token_type_ids
"""

_CHECKS = """
if not 0 < p <= 1:
    raise ValueError(p)
if max_length < 1:
    raise ValueError(max_length)
"""

# The words of a sequence, as (first token, last token); shared by the span mutants.
_WORDS = """
words = []
for t, w in enumerate(word_ids):
    if w < 0:
        continue
    if t > 0 and word_ids[t - 1] == w and words:
        words[-1] = (words[-1][0], t)
    else:
        words.append((t, t))
n = sum(e - s + 1 for s, e in words)
budget = max(round(mask_ratio * n), 1) if n and mask_ratio > 0 else 0
probabilities = span_length_probabilities(p, max_length)
"""

_SBO_STACK = """
if not rows:
    return hidden.new_zeros((0, 2 * hidden.shape[1])), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
return torch.stack(rows), torch.tensor(positions), torch.tensor(targets)
"""

WRONG: dict[str, dict[str, str]] = {
    # --- make_nsp_examples -------------------------------------------------------------------------
    "nsp_labels_reversed": {
        "nsp_examples": _nsp_loop(
            """
            if rng.random() < 0.5:
                examples.append((document[position], document[position + 1], 1))
            else:
                other = rng.choice([d for d in range(len(documents)) if d != index])
                examples.append((document[position], rng.choice(documents[other]), 0))
            """
        )
    },
    "nsp_negative_may_come_from_same_document": {
        "nsp_examples": _nsp_loop(
            """
            if rng.random() < 0.5:
                examples.append((document[position], document[position + 1], IS_NEXT))
            else:
                other = rng.randrange(len(documents))
                examples.append((document[position], rng.choice(documents[other]), NOT_NEXT))
            """
        )
    },
    "nsp_negative_always_from_next_document": {
        "nsp_examples": _nsp_loop(
            """
            if rng.random() < 0.5:
                examples.append((document[position], document[position + 1], IS_NEXT))
            else:
                other = (index + 1) % len(documents)
                examples.append((document[position], rng.choice(documents[other]), NOT_NEXT))
            """
        )
    },
    "nsp_one_coin_per_document": {
        "nsp_examples": _nsp(
            """
            examples = []
            for index, document in enumerate(documents):
                positive = rng.random() < 0.5
                for position in range(len(document) - 1):
                    if positive:
                        examples.append((document[position], document[position + 1], IS_NEXT))
                    else:
                        other = rng.choice([d for d in range(len(documents)) if d != index])
                        examples.append((document[position], rng.choice(documents[other]), NOT_NEXT))
            return examples
            """
        )
    },
    "nsp_positive_skips_a_sentence": {
        "nsp_examples": _nsp(
            """
            examples = []
            for index, document in enumerate(documents):
                for position in range(len(document) - 1):
                    if rng.random() < 0.5:
                        following = document[min(position + 2, len(document) - 1)]
                        examples.append((document[position], following, IS_NEXT))
                    else:
                        other = rng.choice([d for d in range(len(documents)) if d != index])
                        examples.append((document[position], rng.choice(documents[other]), NOT_NEXT))
            return examples
            """
        )
    },
    "nsp_negative_always_first_sentence": {
        "nsp_examples": _nsp_loop(
            """
            if rng.random() < 0.5:
                examples.append((document[position], document[position + 1], IS_NEXT))
            else:
                other = rng.choice([d for d in range(len(documents)) if d != index])
                examples.append((document[position], documents[other][0], NOT_NEXT))
            """
        )
    },
    # --- encode_pair -----------------------------------------------------------------------------
    "encode_final_sep_in_segment_0": {
        "encode_pair": _encode(
            """
            a, b = list(first_ids), list(second_ids)
            while len(a) + len(b) > max_length - 3:
                (a if len(a) > len(b) else b).pop()
            input_ids = [cls_id] + a + [sep_id] + b + [sep_id]
            token_type_ids = [0] * (len(a) + 2) + [1] * len(b) + [0]
            return input_ids, token_type_ids
            """
        )
    },
    "encode_first_sep_in_segment_1": {
        "encode_pair": _encode(
            """
            a, b = list(first_ids), list(second_ids)
            while len(a) + len(b) > max_length - 3:
                (a if len(a) > len(b) else b).pop()
            input_ids = [cls_id] + a + [sep_id] + b + [sep_id]
            token_type_ids = [0] * (len(a) + 1) + [1] * (len(b) + 2)
            return input_ids, token_type_ids
            """
        )
    },
    "encode_truncates_only_second": {
        "encode_pair": _encode(
            """
            a, b = list(first_ids), list(second_ids)
            b = b[: max(0, max_length - 3 - len(a))]
            """,
            _ENCODE_TAIL,
        )
    },
    "encode_truncates_from_the_front": {
        "encode_pair": _encode(
            """
            a, b = list(first_ids), list(second_ids)
            while len(a) + len(b) > max_length - 3:
                (a if len(a) > len(b) else b).pop(0)
            """,
            _ENCODE_TAIL,
        )
    },
    "encode_forgets_room_for_specials": {
        "encode_pair": _encode(
            """
            a, b = list(first_ids), list(second_ids)
            while len(a) + len(b) > max_length:
                (a if len(a) > len(b) else b).pop()
            """,
            _ENCODE_TAIL,
        )
    },
    "encode_truncates_proportionally": {
        "encode_pair": _encode(
            """
            a, b = list(first_ids), list(second_ids)
            total = len(a) + len(b)
            if total > max_length - 3:
                keep_a = round(len(a) * (max_length - 3) / total)
                a, b = a[:keep_a], b[: max_length - 3 - keep_a]
            """,
            _ENCODE_TAIL,
        )
    },
    # --- span_length_probabilities ---------------------------------------------------------------
    "lengths_wrap_the_course_library": {
        "span_lengths": "from ch11lib.spanbert import span_length_probabilities as _library_lengths\n\n\n"
        + _lengths(
            """
            return _library_lengths(p, max_length)
            """
        )
    },
    "lengths_not_renormalized": {
        "span_lengths": _lengths(
            _CHECKS,
            """
            return torch.tensor([p * (1 - p) ** (k - 1) for k in range(1, max_length + 1)])
            """,
        )
    },
    "lengths_exponent_off_by_one": {
        "span_lengths": _lengths(
            _CHECKS,
            """
            weights = torch.tensor([p * (1 - p) ** k for k in range(1, max_length + 1)])
            return weights / weights.sum()
            """,
        )
    },
    "lengths_tail_mass_on_the_maximum": {
        # clipping Geo(p) at max_length instead of truncating: the tail lands on the last length
        "span_lengths": _lengths(
            _CHECKS,
            """
            weights = torch.tensor([p * (1 - p) ** (k - 1) for k in range(1, max_length + 1)])
            weights[-1] += 1 - weights.sum()
            return weights
            """,
        )
    },
    "lengths_no_input_checks": {
        "span_lengths": _lengths(
            """
            weights = torch.tensor([p * (1 - p) ** (k - 1) for k in range(1, max_length + 1)], dtype=torch.float64)
            return weights / weights.sum()
            """
        )
    },
    # --- sample_spans ----------------------------------------------------------------------------
    "spans_count_tokens_not_words": {
        # the length is taken in tokens, so a span can stop in the middle of a word
        "sample_spans": _spans(
            """
            n = sum(w >= 0 for w in word_ids)
            budget = max(round(mask_ratio * n), 1) if n and mask_ratio > 0 else 0
            probabilities = span_length_probabilities(p, max_length)
            used = [w < 0 for w in word_ids]
            spans, covered = [], 0
            while covered < budget:
                length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
                starts = [t for t in range(len(word_ids) - length + 1) if not any(used[t:t + length])]
                if not starts:
                    continue
                t = starts[int(torch.randint(len(starts), (1,), generator=generator))]
                for j in range(t, t + length):
                    used[j] = True
                spans.append((t, t + length - 1))
                covered += length
            return spans
            """
        )
    },
    "spans_may_overlap": {
        "sample_spans": _spans(
            _WORDS,
            """
            spans, covered, masked = [], 0, set()
            while covered < budget:
                length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
                starts = [k for k in range(len(words) - length + 1)
                          if all(words[j + 1][0] == words[j][1] + 1 for j in range(k, k + length - 1))]
                if not starts:
                    continue
                k = starts[int(torch.randint(len(starts), (1,), generator=generator))]
                spans.append((words[k][0], words[k + length - 1][1]))
                masked |= set(range(words[k][0], words[k + length - 1][1] + 1))
                covered = len(masked)
            return spans
            """,
        )
    },
    "spans_cross_special_tokens": {
        "sample_spans": _spans(
            _WORDS,
            """
            used = [False] * len(words)
            spans, covered = [], 0
            while covered < budget:
                length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
                starts = [k for k in range(len(words) - length + 1) if not any(used[k:k + length])]
                if not starts:
                    continue
                k = starts[int(torch.randint(len(starts), (1,), generator=generator))]
                for j in range(k, k + length):
                    used[j] = True
                spans.append((words[k][0], words[k + length - 1][1]))
                covered += words[k + length - 1][1] - words[k][0] + 1
            return spans
            """,
        )
    },
    "spans_end_exclusive": {
        "sample_spans": _spans(
            _WORDS,
            """
            used = [False] * len(words)
            spans, covered = [], 0
            while covered < budget:
                length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
                starts = [k for k in range(len(words) - length + 1) if not any(used[k:k + length])
                          and all(words[j + 1][0] == words[j][1] + 1 for j in range(k, k + length - 1))]
                if not starts:
                    continue
                k = starts[int(torch.randint(len(starts), (1,), generator=generator))]
                for j in range(k, k + length):
                    used[j] = True
                spans.append((words[k][0], words[k + length - 1][1] + 1))
                covered += words[k + length - 1][1] - words[k][0] + 1
            return spans
            """,
        )
    },
    "spans_one_extra_span_past_budget": {
        "sample_spans": _spans(
            _WORDS,
            """
            used = [False] * len(words)
            spans, covered = [], 0
            while covered <= budget:
                length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
                starts = [k for k in range(len(words) - length + 1) if not any(used[k:k + length])
                          and all(words[j + 1][0] == words[j][1] + 1 for j in range(k, k + length - 1))]
                if not starts:
                    if not any(not u for u in used):
                        break
                    continue
                k = starts[int(torch.randint(len(starts), (1,), generator=generator))]
                for j in range(k, k + length):
                    used[j] = True
                spans.append((words[k][0], words[k + length - 1][1]))
                covered += words[k + length - 1][1] - words[k][0] + 1
            return spans
            """,
        )
    },
    "spans_geometric_clipped_not_truncated": {
        # draws an untruncated geometric length and clips it at max_length
        "sample_spans": _spans(
            _WORDS,
            """
            used = [False] * len(words)
            spans, covered = [], 0
            while covered < budget:
                length = 1
                while float(torch.rand((), generator=generator)) > p:
                    length += 1
                length = min(length, max_length)
                starts = [k for k in range(len(words) - length + 1) if not any(used[k:k + length])
                          and all(words[j + 1][0] == words[j][1] + 1 for j in range(k, k + length - 1))]
                if not starts:
                    continue
                k = starts[int(torch.randint(len(starts), (1,), generator=generator))]
                for j in range(k, k + length):
                    used[j] = True
                spans.append((words[k][0], words[k + length - 1][1]))
                covered += words[k + length - 1][1] - words[k][0] + 1
            return spans
            """,
        )
    },
    # --- sbo_inputs ------------------------------------------------------------------------------
    "sbo_boundaries_inside_the_span": {
        "sbo_inputs": _sbo(
            """
            rows, positions, targets = [], [], []
            for s, e in spans:
                for i in range(s, e + 1):
                    rows.append(torch.cat([hidden[s], hidden[e]]))
                    positions.append(i - s + 1)
                    targets.append(i)
            """,
            _SBO_STACK,
        )
    },
    "sbo_positions_from_zero": {
        "sbo_inputs": _sbo(
            """
            rows, positions, targets = [], [], []
            for s, e in spans:
                for i in range(s, e + 1):
                    rows.append(torch.cat([hidden[s - 1], hidden[e + 1]]))
                    positions.append(i - s)
                    targets.append(i)
            """,
            _SBO_STACK,
        )
    },
    "sbo_boundaries_swapped": {
        "sbo_inputs": _sbo(
            """
            rows, positions, targets = [], [], []
            for s, e in spans:
                for i in range(s, e + 1):
                    rows.append(torch.cat([hidden[e + 1], hidden[s - 1]]))
                    positions.append(i - s + 1)
                    targets.append(i)
            """,
            _SBO_STACK,
        )
    },
    "sbo_misses_last_token": {
        "sbo_inputs": _sbo(
            """
            rows, positions, targets = [], [], []
            for s, e in spans:
                for i in range(s, e):
                    rows.append(torch.cat([hidden[s - 1], hidden[e + 1]]))
                    positions.append(i - s + 1)
                    targets.append(i)
            """,
            _SBO_STACK,
        )
    },
    "sbo_detaches_the_boundaries": {
        "sbo_inputs": _sbo(
            """
            rows, positions, targets = [], [], []
            for s, e in spans:
                for i in range(s, e + 1):
                    rows.append(torch.cat([hidden[s - 1], hidden[e + 1]]).detach())
                    positions.append(i - s + 1)
                    targets.append(i)
            """,
            _SBO_STACK,
        )
    },
}

CORRECT: dict[str, dict[str, str]] = {
    "alternative_solutions": {
        "nsp_examples": _nsp(
            """
            result = []
            for d, sentences in enumerate(documents):
                others = [k for k in range(len(documents)) if k != d]
                for first, following in zip(sentences, sentences[1:]):
                    if rng.random() >= 0.5:
                        chosen = documents[rng.choice(others)]
                        result.append((first, chosen[rng.randrange(len(chosen))], NOT_NEXT))
                    else:
                        result.append((first, following, IS_NEXT))
            return result
            """
        ),
        # the tokenizers library's rule: the shorter keeps min(its length, budget // 2)
        "encode_pair": _encode(
            """
            budget = max_length - 3
            a, b = list(first_ids), list(second_ids)
            if len(a) + len(b) > budget:
                if len(a) > len(b):
                    keep_b = min(len(b), budget // 2)
                    a, b = a[: budget - keep_b], b[:keep_b]
                else:
                    keep_a = min(len(a), budget // 2)
                    a, b = a[:keep_a], b[: budget - keep_a]
            ids = [cls_id, *a, sep_id, *b, sep_id]
            return ids, [0] * (len(a) + 2) + [1] * (len(b) + 1)
            """
        ),
        "span_lengths": _lengths(
            """
            if not (0 < p <= 1) or max_length < 1:
                raise ValueError("p must be in (0, 1] and max_length >= 1")
            q = 1 - p
            return torch.tensor([p * q ** (k - 1) / (1 - q ** max_length) if q < 1 else float(k == 1)
                                 for k in range(1, max_length + 1)])
            """
        ),
        # rejection sampling: draw a length and a start word; retry when the span does not fit
        "sample_spans": _spans(
            _WORDS,
            """
            used = [False] * len(words)
            spans, covered = [], 0
            while covered < budget:
                length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
                fits = [k for k in range(len(words) - length + 1) if not any(used[k:k + length])
                        and all(words[j + 1][0] == words[j][1] + 1 for j in range(k, k + length - 1))]
                if not fits:
                    continue
                k = fits[int(torch.randint(len(fits), (1,), generator=generator))]
                used[k:k + length] = [True] * length
                start, end = words[k][0], words[k + length - 1][1]
                spans.append((start, end))
                covered += end - start + 1
            return spans
            """,
        ),
        "sbo_inputs": _sbo(
            """
            index = [(s, e, i) for s, e in spans for i in range(s, e + 1)]
            left = torch.tensor([s - 1 for s, _, _ in index], dtype=torch.long)
            right = torch.tensor([e + 1 for _, e, _ in index], dtype=torch.long)
            boundaries = torch.cat([hidden[left], hidden[right]], dim=-1)
            positions = torch.tensor([i - s + 1 for s, _, i in index], dtype=torch.long)
            targets = torch.tensor([i for _, _, i in index], dtype=torch.long)
            return boundaries, positions, targets
            """
        ),
    },
}

CORRECT["second_alternative_solutions"] = {
    # the other document by rejection (redraw while it is the current one): uniform as well
    "nsp_examples": _nsp(
        """
        examples = []
        for index, document in enumerate(documents):
            for first, following in zip(document[:-1], document[1:]):
                if rng.random() < 0.5:
                    examples.append((first, following, IS_NEXT))
                    continue
                other = index
                while other == index:
                    other = rng.randrange(len(documents))
                examples.append((first, rng.choice(documents[other]), NOT_NEXT))
        return examples
        """
    ),
    # count down the kept lengths (ties cut A), then slice once
    "encode_pair": _encode(
        """
        n_a, n_b = len(first_ids), len(second_ids)
        while n_a + n_b > max_length - 3:
            if n_a >= n_b:
                n_a -= 1
            else:
                n_b -= 1
        ids = [cls_id, *first_ids[:n_a], sep_id, *second_ids[:n_b], sep_id]
        return ids, [0 if k <= n_a + 1 else 1 for k in range(len(ids))]
        """
    ),
    "span_lengths": _lengths(
        """
        if not 0 < p <= 1:
            raise ValueError(f"p must be in (0, 1], got {p}")
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length}")
        geometric = torch.distributions.Geometric(probs=torch.tensor(float(p), dtype=torch.float64))
        pmf = geometric.log_prob(torch.arange(max_length, dtype=torch.float64)).exp()
        return pmf / pmf.sum()
        """
    ),
    # candidate starts from maximal runs of free words that touch each other
    "sample_spans": _spans(
        """
        starts, ends = [], []
        for t, w in enumerate(word_ids):
            if w < 0:
                continue
            if starts and t > 0 and word_ids[t - 1] == w:
                ends[-1] = t
            else:
                starts.append(t)
                ends.append(t)
        n = sum(e - s + 1 for s, e in zip(starts, ends))
        if n == 0 or mask_ratio <= 0:
            return []
        budget = max(round(mask_ratio * n), 1)
        probabilities = span_length_probabilities(p, max_length)
        free = [True] * len(starts)
        spans, covered = [], 0
        while covered < budget:
            length = int(torch.multinomial(probabilities, 1, generator=generator)[0]) + 1
            candidates, k = [], 0
            while k < len(starts):
                if not free[k]:
                    k += 1
                    continue
                last = k
                while last + 1 < len(starts) and free[last + 1] and starts[last + 1] == ends[last] + 1:
                    last += 1
                candidates.extend(range(k, last - length + 2))
                k = last + 1
            if not candidates:
                continue
            k = candidates[int(torch.randint(len(candidates), (1,), generator=generator)[0])]
            free[k : k + length] = [False] * length
            spans.append((starts[k], ends[k + length - 1]))
            covered += ends[k + length - 1] - starts[k] + 1
        return spans
        """
    ),
    # vectorised with repeat_interleave and index_select
    "sbo_inputs": _sbo(
        """
        if len(spans) == 0:
            empty = torch.zeros(0, dtype=torch.long)
            return hidden.new_zeros(0, 2 * hidden.shape[-1]), empty, empty.clone()
        s = torch.tensor([int(a) for a, _ in spans])
        e = torch.tensor([int(b) for _, b in spans])
        widths = e - s + 1
        first = torch.repeat_interleave(s, widths)
        last = torch.repeat_interleave(e, widths)
        offsets = torch.arange(int(widths.sum())) - torch.repeat_interleave(widths.cumsum(0) - widths, widths)
        boundaries = torch.cat([hidden.index_select(0, first - 1), hidden.index_select(0, last + 1)], dim=1)
        return boundaries, offsets + 1, first + offsets
        """
    ),
}
