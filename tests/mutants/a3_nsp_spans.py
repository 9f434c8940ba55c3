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


# --------------------------------------------------------------------------------------------------
# Wrong answers added with SpanBERT's reference scheme (exact budget, anchors over tokens, merged
# spans) and mask_spans; written as a student would, each one plausible mistake.
# --------------------------------------------------------------------------------------------------


def _mask(*parts: str) -> str:
    return (
        "def mask_spans(input_ids, spans, mask_id, vocab_size, special_ids, generator):\n"
        + _body(*parts)
    )


# One student's sample_spans, with the places where students go wrong as fields.
_SAMPLER = """
tokens = [t for t, w in enumerate(word_ids) if w >= 0]
{budget}
probabilities = {probabilities}
masked = set()
while len(masked) < budget:
    length = {length}
    free = {free}
    anchor = free[int(torch.randint(len(free), (1,), generator=generator))]
    t = {start}
    words = 0
    while t < len(word_ids) and {inside} and len(masked) < budget:
        if t == 0 or word_ids[t - 1] != word_ids[t]:
            words += 1
            if words > length:
                break
{extra}        masked.add(t)
        t += 1
{result}
"""

_FIELDS = {
    "budget": (
        "budget = round(mask_ratio * len(tokens))\n"
        "if tokens and mask_ratio > 0:\n"
        "    budget = max(budget, 1)"
    ),
    "probabilities": "span_length_probabilities(p, max_length)",
    "length": "int(torch.multinomial(probabilities, 1, generator=generator)) + 1",
    "free": "[t for t in tokens if t not in masked]",
    "start": "anchor\n    while t > 0 and word_ids[t - 1] == word_ids[t]:\n        t -= 1",
    "inside": "word_ids[t] >= 0",
    "extra": "",
    "result": (
        "spans = []\n"
        "for t in sorted(masked):\n"
        "    if spans and spans[-1][1] == t - 1:\n"
        "        spans[-1][1] = t\n"
        "    else:\n"
        "        spans.append([t, t])\n"
        "return [tuple(s) for s in spans]"
    ),
}


def _sampler(**fields: str) -> str:
    unknown = set(fields) - set(_FIELDS)
    assert not unknown, unknown
    return _spans(_SAMPLER.format(**{**_FIELDS, **fields}))


_BUDGET = "budget = {}\nif tokens and mask_ratio > 0:\n    budget = max(budget, 1)"

_MASK_HEAD = """
masked_ids = input_ids.clone()
labels = torch.full_like(input_ids, -100)
ordinary = torch.tensor([i for i in range(vocab_size) if i not in set(special_ids)])
"""

WRONG.update(
    {
        # --- make_nsp_examples ---------------------------------------------------------------------
        "nsp_sentence_uniform_over_other_sentences": {
            # a sentence uniformly among all other documents' sentences: long documents win
            "nsp_examples": _nsp_loop(
                """
                if rng.random() < 0.5:
                    examples.append((document[position], document[position + 1], IS_NEXT))
                else:
                    pool = [s for d, other in enumerate(documents) if d != index for s in other]
                    examples.append((document[position], rng.choice(pool), NOT_NEXT))
                """
            )
        },
        "nsp_negative_at_the_same_position": {
            "nsp_examples": _nsp_loop(
                """
                if rng.random() < 0.5:
                    examples.append((document[position], document[position + 1], IS_NEXT))
                else:
                    other = rng.choice([d for d in range(len(documents)) if d != index])
                    sentences = documents[other]
                    examples.append((document[position], sentences[min(position, len(sentences) - 1)], NOT_NEXT))
                """
            )
        },
        "nsp_negative_never_the_last_sentence": {
            "nsp_examples": _nsp_loop(
                """
                if rng.random() < 0.5:
                    examples.append((document[position], document[position + 1], IS_NEXT))
                else:
                    other = documents[rng.choice([d for d in range(len(documents)) if d != index])]
                    examples.append((document[position], other[rng.randrange(max(1, len(other) - 1))], NOT_NEXT))
                """
            )
        },
        "nsp_own_seed_ignores_rng": {
            "nsp_examples": _nsp(
                """
                rng = random.Random(42)
                examples = []
                for index, document in enumerate(documents):
                    for position in range(len(document) - 1):
                        if rng.random() < 0.5:
                            examples.append((document[position], document[position + 1], IS_NEXT))
                        else:
                            other = rng.choice([d for d in range(len(documents)) if d != index])
                            examples.append((document[position], rng.choice(documents[other]), NOT_NEXT))
                return examples
                """
            )
        },
        "nsp_global_random": {
            "nsp_examples": _nsp_loop(
                """
                if random.random() < 0.5:
                    examples.append((document[position], document[position + 1], IS_NEXT))
                else:
                    other = random.choice([d for d in range(len(documents)) if d != index])
                    examples.append((document[position], random.choice(documents[other]), NOT_NEXT))
                """
            )
        },
        "nsp_alternating_labels": {
            "nsp_examples": _nsp_loop(
                """
                if position % 2 == 0:
                    examples.append((document[position], document[position + 1], IS_NEXT))
                else:
                    other = rng.choice([d for d in range(len(documents)) if d != index])
                    examples.append((document[position], rng.choice(documents[other]), NOT_NEXT))
                """
            )
        },
        "nsp_wraps_the_course_library": {
            "nsp_examples": "from ch11lib.nsp import _random_other_document\n\n\n"
            + _nsp_loop(
                """
                if rng.random() < 0.5:
                    examples.append((document[position], document[position + 1], IS_NEXT))
                else:
                    other = _random_other_document(rng, len(documents), index)
                    examples.append((document[position], rng.choice(documents[other]), NOT_NEXT))
                """
            )
        },
        # --- encode_pair ---------------------------------------------------------------------------
        "encode_uses_the_tokenizers_special_ids": {
            "encode_pair": _encode(
                """
                a, b = list(first_ids), list(second_ids)
                while len(a) + len(b) > max_length - 3:
                    (a if len(a) > len(b) else b).pop()
                input_ids = [CLS_ID] + a + [SEP_ID] + b + [SEP_ID]
                return input_ids, [0] * (len(a) + 2) + [1] * (len(b) + 1)
                """
            )
        },
        "encode_pops_the_arguments": {
            "encode_pair": _encode(
                """
                a, b = first_ids, second_ids
                while len(a) + len(b) > max_length - 3:
                    (a if len(a) > len(b) else b).pop()
                """,
                _ENCODE_TAIL,
            )
        },
        "encode_cuts_the_shorter_first": {
            "encode_pair": _encode(
                """
                a, b = list(first_ids), list(second_ids)
                while len(a) + len(b) > max_length - 3:
                    (b if len(a) > len(b) else a).pop()
                """,
                _ENCODE_TAIL,
            )
        },
        "encode_wraps_the_course_library": {
            "encode_pair": "from ch11lib.nsp import truncate_longest_first\n\n\n"
            + _encode(
                """
                a, b = truncate_longest_first(first_ids, second_ids, max_length - 3)
                """,
                _ENCODE_TAIL,
            )
        },
        # --- span_length_probabilities ---------------------------------------------------------------
        "lengths_geometric_support_from_one": {
            # torch's Geometric counts failures (support 0, 1, ...): this is P(ell = k + 1) shifted
            "span_lengths": _lengths(
                _CHECKS,
                """
                geometric = torch.distributions.Geometric(probs=torch.tensor(float(p)))
                pmf = geometric.log_prob(torch.arange(1, max_length + 1, dtype=torch.float32)).exp()
                return pmf / pmf.sum()
                """,
            )
        },
        "lengths_default_max_length_nine": {
            "span_lengths": "def span_length_probabilities(p=0.2, max_length=9):\n"
            + _body(
                _CHECKS,
                """
                weights = torch.tensor([p * (1 - p) ** (k - 1) for k in range(1, max_length + 1)])
                return weights / weights.sum()
                """,
            ),
        },
        # --- sample_spans --------------------------------------------------------------------------
        "spans_anchor_uniform_over_words": {
            "sample_spans": _sampler(
                free="[t for t in tokens if t not in masked and (t == 0 or word_ids[t - 1] != word_ids[t])]"
            )
        },
        "spans_start_at_the_anchor_token": {"sample_spans": _sampler(start="anchor")},
        "spans_cross_special_tokens": {
            # skips over [SEP] instead of stopping there
            "sample_spans": _sampler(
                inside="True",
                extra="        if word_ids[t] < 0:\n            t += 1\n            continue\n",
            )
        },
        "spans_budget_rounded_up": {
            "sample_spans": "import math\n\n\n"
            + _sampler(budget=_BUDGET.format("math.ceil(mask_ratio * len(tokens))"))
        },
        "spans_budget_truncated": {
            "sample_spans": _sampler(budget=_BUDGET.format("int(mask_ratio * len(tokens))"))
        },
        "spans_budget_rounds_halves_up": {
            "sample_spans": _sampler(budget=_BUDGET.format("int(mask_ratio * len(tokens) + 0.5)"))
        },
        "spans_budget_counts_special_tokens": {
            "sample_spans": _sampler(budget=_BUDGET.format("round(mask_ratio * len(word_ids))"))
        },
        "spans_one_word_too_many": {
            "sample_spans": _sampler(
                length="int(torch.multinomial(probabilities, 1, generator=generator)) + 2"
            )
        },
        "spans_ignore_max_length": {
            "sample_spans": _sampler(probabilities="span_length_probabilities(p, 10)")
        },
        "spans_ignore_p": {
            "sample_spans": _sampler(probabilities="span_length_probabilities(0.2, max_length)")
        },
        "spans_global_torch_rng": {
            "sample_spans": _sampler(length="int(torch.multinomial(probabilities, 1)) + 1")
        },
        "spans_geometric_clipped_not_truncated": {
            "sample_spans": _sampler(
                length="min(int(torch.distributions.Geometric(torch.tensor(p)).sample()) + 1, max_length)"
            )
        },
        "spans_lengths_from_the_course_library": {
            "sample_spans": "from ch11lib import spanbert as _spanbert\n\n\n"
            + _sampler(length="int(_spanbert.sample_span_lengths(1, p, max_length, generator)[0])")
        },
        "spans_end_exclusive": {
            "sample_spans": _sampler(
                result=(
                    "spans = []\n"
                    "for t in sorted(masked):\n"
                    "    if spans and spans[-1][1] == t:\n"
                    "        spans[-1][1] = t + 1\n"
                    "    else:\n"
                    "        spans.append([t, t + 1])\n"
                    "return [tuple(s) for s in spans]"
                )
            )
        },
        # --- mask_spans ----------------------------------------------------------------------------
        "mask_decision_per_token": {
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    for i in range(s, e + 1):
                        u = float(torch.rand((), generator=generator))
                        if u < 0.8:
                            masked_ids[i] = mask_id
                        elif u < 0.9:
                            masked_ids[i] = ordinary[int(torch.randint(len(ordinary), (1,), generator=generator))]
                return masked_ids, labels
                """,
            )
        },
        "mask_one_decision_per_sequence": {
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                u = float(torch.rand((), generator=generator))
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = ordinary[torch.randint(len(ordinary), (e - s + 1,), generator=generator)]
                return masked_ids, labels
                """,
            )
        },
        "mask_random_may_be_special": {
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = torch.randint(vocab_size, (e - s + 1,), generator=generator)
                return masked_ids, labels
                """,
            )
        },
        "mask_specials_assumed_first": {
            # BERT's vocabulary has [PAD] at 0 and others around 100: not at the start in general
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = torch.randint(len(special_ids), vocab_size, (e - s + 1,), generator=generator)
                return masked_ids, labels
                """,
            )
        },
        "mask_one_random_token_per_span": {
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = ordinary[int(torch.randint(len(ordinary), (1,), generator=generator))]
                return masked_ids, labels
                """,
            )
        },
        "mask_labels_only_where_changed": {
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        labels[s:e + 1] = input_ids[s:e + 1]
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        labels[s:e + 1] = input_ids[s:e + 1]
                        masked_ids[s:e + 1] = ordinary[torch.randint(len(ordinary), (e - s + 1,), generator=generator)]
                return masked_ids, labels
                """,
            )
        },
        "mask_changes_input_in_place": {
            "mask_spans": _mask(
                """
                masked_ids = input_ids
                labels = torch.full_like(input_ids, -100)
                ordinary = torch.tensor([i for i in range(vocab_size) if i not in set(special_ids)])
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = ordinary[torch.randint(len(ordinary), (e - s + 1,), generator=generator)]
                return masked_ids, labels
                """,
            )
        },
        "mask_thresholds_not_cumulative": {
            # `u < 0.1` after `u < 0.8` never holds: no random spans, 20% kept
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.1:
                        masked_ids[s:e + 1] = ordinary[torch.randint(len(ordinary), (e - s + 1,), generator=generator)]
                return masked_ids, labels
                """,
            )
        },
        "mask_uses_the_tokenizers_vocabulary": {
            "mask_spans": _mask(
                """
                masked_ids = input_ids.clone()
                labels = torch.full_like(input_ids, -100)
                specials = set(tokenizer.all_special_ids)
                ordinary = torch.tensor([i for i in range(len(tokenizer)) if i not in specials])
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e + 1] = tokenizer.mask_token_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = ordinary[torch.randint(len(ordinary), (e - s + 1,), generator=generator)]
                return masked_ids, labels
                """,
            )
        },
        "mask_global_torch_rng": {
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand(()))
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = ordinary[torch.randint(len(ordinary), (e - s + 1,))]
                return masked_ids, labels
                """,
            )
        },
        "mask_end_exclusive": {
            "mask_spans": _mask(
                _MASK_HEAD,
                """
                for s, e in spans:
                    labels[s:e] = input_ids[s:e]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e] = ordinary[torch.randint(len(ordinary), (e - s,), generator=generator)]
                return masked_ids, labels
                """,
            )
        },
        "mask_random_excludes_only_mask": {
            "mask_spans": _mask(
                """
                masked_ids = input_ids.clone()
                labels = torch.full_like(input_ids, -100)
                ordinary = torch.tensor([i for i in range(vocab_size) if i != mask_id])
                for s, e in spans:
                    labels[s:e + 1] = input_ids[s:e + 1]
                    u = float(torch.rand((), generator=generator))
                    if u < 0.8:
                        masked_ids[s:e + 1] = mask_id
                    elif u < 0.9:
                        masked_ids[s:e + 1] = ordinary[torch.randint(len(ordinary), (e - s + 1,), generator=generator)]
                return masked_ids, labels
                """,
            )
        },
        # --- sbo_inputs ----------------------------------------------------------------------------
        "sbo_rebuilds_float32_copies": {
            "sbo_inputs": _sbo(
                """
                rows, positions, targets = [], [], []
                for s, e in spans:
                    for i in range(s, e + 1):
                        rows.append(torch.tensor(hidden[s - 1].tolist() + hidden[e + 1].tolist()))
                        positions.append(i - s + 1)
                        targets.append(i)
                """,
                _SBO_STACK,
            )
        },
        "sbo_targets_relative": {
            "sbo_inputs": _sbo(
                """
                rows, positions, targets = [], [], []
                for s, e in spans:
                    for i in range(s, e + 1):
                        rows.append(torch.cat([hidden[s - 1], hidden[e + 1]]))
                        positions.append(i - s + 1)
                        targets.append(i - s)
                """,
                _SBO_STACK,
            )
        },
        "sbo_empty_width_fixed": {
            "sbo_inputs": _sbo(
                """
                rows, positions, targets = [], [], []
                for s, e in spans:
                    for i in range(s, e + 1):
                        rows.append(torch.cat([hidden[s - 1], hidden[e + 1]]))
                        positions.append(i - s + 1)
                        targets.append(i)
                if not rows:
                    return torch.zeros(0, 768), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
                return torch.stack(rows), torch.tensor(positions), torch.tensor(targets)
                """,
            )
        },
        "sbo_positions_float": {
            "sbo_inputs": _sbo(
                """
                rows, positions, targets = [], [], []
                for s, e in spans:
                    rows += [torch.cat([hidden[s - 1], hidden[e + 1]])] * (e - s + 1)
                    positions.append(torch.arange(1.0, e - s + 2))
                    targets.append(torch.arange(s, e + 1))
                if not rows:
                    return hidden.new_zeros((0, 2 * hidden.shape[1])), torch.zeros(0), torch.zeros(0, dtype=torch.long)
                return torch.stack(rows), torch.cat(positions), torch.cat(targets)
                """,
            )
        },
    }
)

# The old masking scheme (a uniform start among the words with room for the whole span, the last span
# kept whole): a student who read SpanBERT's paper but not its code.
WRONG["spans_start_needs_room_last_span_whole"] = {
    "sample_spans": _spans(
        """
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
            spans.append((words[k][0], words[k + length - 1][1]))
            covered += words[k + length - 1][1] - words[k][0] + 1
        return sorted(spans)
        """
    )
}


# A student's loop that keeps the spans as drawn (first token, last token), for the mistakes about
# what is returned and where a span ends.
_DRAWN = """
tokens = [t for t, w in enumerate(word_ids) if w >= 0]
budget = round(mask_ratio * len(tokens))
if tokens and mask_ratio > 0:
    budget = max(budget, 1)
probabilities = span_length_probabilities(p, max_length)
masked, drawn = set(), []
while len(masked) < budget:
    length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
    free = [t for t in tokens if t not in masked]
    t = free[int(torch.randint(len(free), (1,), generator=generator))]
    while t > 0 and word_ids[t - 1] == word_ids[t]:
        t -= 1
    start, words = t, 0
    while t < len(word_ids) and word_ids[t] >= 0 and {go_on}:
        if {new_word}:
            words += 1
            if words > length:
                break
        masked.add(t)
        t += 1
    drawn.append((start, t - 1))
{result}
"""


def _drawn(
    go_on: str = "len(masked) < budget",
    new_word: str = "t == 0 or word_ids[t - 1] != word_ids[t]",
    result: str = "return drawn",
) -> str:
    return _spans(_DRAWN.format(go_on=go_on, new_word=new_word, result=result))


WRONG.update(
    {
        # returns the spans as drawn: unsorted, overlapping, touching
        "spans_not_merged": {"sample_spans": _drawn()},
        # sorts and merges overlapping spans, but leaves touching ones apart
        "spans_touching_not_merged": {
            "sample_spans": _drawn(
                result=(
                    "merged = []\n"
                    "for start, end in sorted(drawn):\n"
                    "    if merged and start <= merged[-1][1]:\n"
                    "        merged[-1][1] = max(merged[-1][1], end)\n"
                    "    else:\n"
                    "        merged.append([start, end])\n"
                    "return [tuple(m) for m in merged]"
                )
            )
        },
        # finishes the span that reaches the budget
        "spans_last_span_not_cut": {
            "sample_spans": _drawn(go_on="True", result="return sorted(drawn)")
        },
        # ell counts tokens, not words
        "spans_length_in_tokens": {
            "sample_spans": _drawn(
                new_word="True",
                result=(
                    "merged = []\n"
                    "for t in sorted(masked):\n"
                    "    if merged and merged[-1][1] == t - 1:\n"
                    "        merged[-1][1] = t\n"
                    "    else:\n"
                    "        merged.append([t, t])\n"
                    "return [tuple(m) for m in merged]"
                ),
            )
        },
    }
)

# marks the masked tokens in the argument (as -1) to keep track of them
WRONG["spans_mark_masked_in_word_ids"] = {
    "sample_spans": _spans(
        """
        n = sum(w >= 0 for w in word_ids)
        budget = max(round(mask_ratio * n), 1) if n and mask_ratio > 0 else 0
        probabilities = span_length_probabilities(p, max_length)
        original = list(word_ids)
        covered = 0
        while covered < budget:
            length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
            free = [t for t, w in enumerate(word_ids) if w >= 0]
            t = free[int(torch.randint(len(free), (1,), generator=generator))]
            while t > 0 and original[t - 1] == original[t]:
                t -= 1
            words = 0
            while t < len(word_ids) and original[t] >= 0 and covered < budget:
                if t == 0 or original[t - 1] != original[t]:
                    words += 1
                    if words > length:
                        break
                if word_ids[t] >= 0:
                    word_ids[t] = -1
                    covered += 1
                t += 1
        spans = []
        for t in range(len(word_ids)):
            if original[t] >= 0 and word_ids[t] < 0:
                if spans and spans[-1][1] == t - 1:
                    spans[-1][1] = t
                else:
                    spans.append([t, t])
        return [tuple(s) for s in spans]
        """
    )
}

_MERGED = """
merged = []
for t in sorted(masked):
    if merged and merged[-1][1] == t - 1:
        merged[-1][1] = t
    else:
        merged.append([t, t])
return [tuple(m) for m in merged]
"""
# finishes the span that reaches the budget (the paper's description, not its code)
WRONG["spans_last_span_not_cut"] = {"sample_spans": _drawn(go_on="True", result=_MERGED)}
# stops at the budget, but only at the end of a word
WRONG["spans_last_word_not_cut"] = {
    "sample_spans": _drawn(
        go_on="(len(masked) < budget or word_ids[t - 1] == word_ids[t])", result=_MERGED
    )
}
WRONG["spans_length_in_tokens"] = {"sample_spans": _drawn(new_word="True", result=_MERGED)}

# Escapes found before the merge-rate check (test_spans_distribution counts the spans of 500-word
# rows at mask_ratio 0.7 against the reference scheme): they change only how often spans merge.
# the anchor drawn over every word token, masked or not (a masked anchor wastes the span or re-masks it)
WRONG["spans_anchor_may_be_masked"] = {"sample_spans": _sampler(free="tokens")}
# a span that meets a masked token stops there instead of going on over it
WRONG["spans_stop_at_masked_token"] = {
    "sample_spans": _sampler(inside="word_ids[t] >= 0 and t not in masked")
}
# the course library's sampler as the answer: switched off while grading
WRONG["spans_from_the_course_library"] = {
    "sample_spans": _spans(
        """
        from ch11lib.spanbert import sample_masked_spans

        words = [None if w < 0 else w for w in word_ids]
        return sample_masked_spans(words, generator, mask_ratio=mask_ratio, p=p, max_length=max_length)[0]
        """
    )
}

# --------------------------------------------------------------------------------------------------
# Correct answers written differently
# --------------------------------------------------------------------------------------------------

# as SpanBERT's code: the anchor over all positions, both draws again when it is special or masked;
# the span's tokens collected first, then cut at the budget
CORRECT["alternative_solutions"]["sample_spans"] = _spans(
    """
    n = sum(1 for w in word_ids if w >= 0)
    if n == 0 or mask_ratio <= 0:
        return []
    budget = max(round(mask_ratio * n), 1)
    lengths = span_length_probabilities(p, max_length)
    is_masked = torch.zeros(len(word_ids), dtype=torch.bool)
    while int(is_masked.sum()) < budget:
        length = int(torch.multinomial(lengths, 1, generator=generator)[0]) + 1
        anchor = int(torch.randint(0, len(word_ids), (), generator=generator))
        if word_ids[anchor] < 0 or is_masked[anchor]:
            continue
        first = anchor
        while first > 0 and word_ids[first - 1] == word_ids[anchor]:
            first -= 1
        positions, count, t = [], 0, first
        while t < len(word_ids) and word_ids[t] >= 0:
            if t == first or word_ids[t] != word_ids[t - 1]:
                count += 1
            if count > length:
                break
            positions.append(t)
            t += 1
        room = budget - int(is_masked.sum())
        for t in positions:
            if room == 0:
                break
            if not is_masked[t]:
                is_masked[t] = True
                room -= 1
    where = torch.nonzero(is_masked).flatten().tolist()
    spans, begin = [], None
    for k, t in enumerate(where):
        if begin is None:
            begin = t
        if k + 1 == len(where) or where[k + 1] != t + 1:
            spans.append((begin, t))
            begin = None
    return spans
    """
)

# words first (start, end), the anchor's word found by bisection; the anchor among the unmasked word
# tokens (only the anchor is drawn again: the length is independent of it)
CORRECT["second_alternative_solutions"]["sample_spans"] = "import bisect\n\n\n" + _spans(
    """
    starts, ends = [], []
    for t, w in enumerate(word_ids):
        if w < 0:
            continue
        if starts and ends[-1] == t - 1 and word_ids[t - 1] == w:
            ends[-1] = t
        else:
            starts.append(t)
            ends.append(t)
    tokens = [t for s, e in zip(starts, ends) for t in range(s, e + 1)]
    n = len(tokens)
    budget = round(mask_ratio * n)
    if n and mask_ratio > 0 and budget == 0:
        budget = 1
    probabilities = span_length_probabilities(p, max_length)
    masked = [False] * len(word_ids)
    left = budget
    while left > 0:
        length = int(torch.multinomial(probabilities, 1, generator=generator).item()) + 1
        while True:
            anchor = tokens[int(torch.randint(len(tokens), (1,), generator=generator).item())]
            if not masked[anchor]:
                break
        word = bisect.bisect_right(starts, anchor) - 1
        last = word
        while (last + 1 < len(starts) and last + 1 - word < length
               and starts[last + 1] == ends[last] + 1):
            last += 1
        for t in range(starts[word], ends[last] + 1):
            if left == 0:
                break
            if not masked[t]:
                masked[t] = True
                left -= 1
    spans = []
    for t, m in enumerate(masked):
        if m and spans and spans[-1][1] == t - 1:
            spans[-1] = (spans[-1][0], t)
        elif m:
            spans.append((t, t))
    return spans
    """
)

# one multinomial draw over the three decisions; random ids by rejection of the special ones
CORRECT["alternative_solutions"]["mask_spans"] = _mask(
    """
    decision_probs = torch.tensor([0.8, 0.1, 0.1])
    specials = set(int(i) for i in special_ids)
    out = input_ids.clone()
    labels = torch.full(input_ids.shape, -100, dtype=torch.long)
    for s, e in spans:
        labels[s : e + 1] = input_ids[s : e + 1]
        decision = int(torch.multinomial(decision_probs, 1, generator=generator))
        if decision == 0:
            out[s : e + 1] = mask_id
        elif decision == 1:
            for i in range(s, e + 1):
                token = int(torch.randint(vocab_size, (1,), generator=generator))
                while token in specials:
                    token = int(torch.randint(vocab_size, (1,), generator=generator))
                out[i] = token
    return out, labels
    """
)

# random first, then keep, then [MASK]; the ordinary ids from torch.isin; a boolean mask of span tokens
CORRECT["second_alternative_solutions"]["mask_spans"] = _mask(
    """
    allowed = torch.arange(vocab_size)
    allowed = allowed[~torch.isin(allowed, torch.as_tensor(list(special_ids), dtype=torch.long))]
    result = input_ids.clone()
    in_span = torch.zeros_like(input_ids, dtype=torch.bool)
    for s, e in spans:
        in_span[s : e + 1] = True
        u = torch.rand(1, generator=generator).item()
        if u < 0.1:
            result[s : e + 1] = allowed[torch.randint(0, len(allowed), (e - s + 1,), generator=generator)]
        elif u >= 0.2:
            result[s : e + 1] = mask_id
    labels = torch.where(in_span, input_ids, torch.full_like(input_ids, -100))
    return result, labels
    """
)

CORRECT["third_alternative_solutions"] = {
    # the other document: a draw among n - 1, the current one standing for the last; a coin from randint
    "nsp_examples": _nsp(
        """
        pairs = []
        last = len(documents) - 1
        for d, doc in enumerate(documents):
            for i in range(len(doc) - 1):
                if rng.randint(0, 1) == 0:
                    pairs.append((doc[i], doc[i + 1], IS_NEXT))
                else:
                    other = rng.randrange(last)
                    if other == d:
                        other = last
                    pairs.append((doc[i], documents[other][rng.randrange(len(documents[other]))], NOT_NEXT))
        return pairs
        """
    ),
    # the probabilities from the closed form of the truncated geometric's normalizer, in float32
    "span_lengths": _lengths(
        """
        if not 0 < p <= 1:
            raise ValueError("p must be in (0, 1]")
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        k = torch.arange(max_length, dtype=torch.float32)
        return p * (1 - p) ** k / (1 - (1 - p) ** max_length)
        """
    ),
    # per-token rows gathered with index_select, positions from a cumulative count
    "sbo_inputs": _sbo(
        """
        lefts, rights, positions, targets = [], [], [], []
        for s, e in spans:
            for offset, i in enumerate(range(s, e + 1), start=1):
                lefts.append(s - 1)
                rights.append(e + 1)
                positions.append(offset)
                targets.append(i)
        left = hidden.index_select(0, torch.tensor(lefts, dtype=torch.long))
        right = hidden.index_select(0, torch.tensor(rights, dtype=torch.long))
        return (torch.cat([left, right], dim=1), torch.tensor(positions, dtype=torch.long),
                torch.tensor(targets, dtype=torch.long))
        """
    ),
}

# groups the tokens by their word id, as if ids were unique and increasing over the whole row
WRONG["spans_words_by_id_value"] = {
    "sample_spans": _spans(
        """
        groups = {}
        for t, w in enumerate(word_ids):
            if w >= 0:
                groups.setdefault(w, []).append(t)
        n = sum(len(g) for g in groups.values())
        budget = max(round(mask_ratio * n), 1) if n and mask_ratio > 0 else 0
        probabilities = span_length_probabilities(p, max_length)
        masked = set()
        while len(masked) < budget:
            length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
            free = [t for w in groups.values() for t in w if t not in masked]
            anchor = free[int(torch.randint(len(free), (1,), generator=generator))]
            for word in range(word_ids[anchor], word_ids[anchor] + length):
                for t in groups.get(word, []):
                    if len(masked) < budget:
                        masked.add(t)
        spans = []
        for t in sorted(masked):
            if spans and spans[-1][1] == t - 1:
                spans[-1][1] = t
            else:
                spans.append([t, t])
        return [tuple(s) for s in spans]
        """
    )
}
