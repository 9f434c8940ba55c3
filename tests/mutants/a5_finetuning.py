"""Wrong and differently-written correct answers for assignment 5 ("Fine-tuning heads, subwords, CRF, spans").

Read by tests/test_mutants.py: every WRONG entry must lose points, every CORRECT entry must get 100.
Each WRONG entry is a mistake students make when they first write these functions.
"""

from __future__ import annotations

from textwrap import dedent, indent


def _body(text: str) -> str:
    return indent(dedent(text).strip("\n"), "    ") + "\n"


def _cls_logits(body: str) -> str:
    return "def cls_logits(last_hidden_state, W_C, b_C):\n" + _body(body)


def _cls_loss(body: str) -> str:
    return "def cls_loss(logits, labels):\n" + _body(body)


def _align(body: str) -> str:
    return (
        "def align_labels(word_ids, word_labels, label_all_subwords=True, b_to_i=None):\n"
        + _body(body)
    )


def _words(body: str) -> str:
    return 'def word_predictions(subword_logits, word_ids, strategy="first"):\n' + _body(body)


def _viterbi(body: str) -> str:
    return "def viterbi(emissions, transitions, start, end):\n" + _body(body)


def _spans(body: str) -> str:
    return "def enumerate_spans(n_tokens, max_width):\n" + _body(body)


def _span_repr(body: str) -> str:
    return "def span_representation(hidden, spans):\n" + _body(body)


_ALIGN_LOOP = """
labels = []
previous = None
for word_id in word_ids:
    if word_id is None:
        labels.append({special})
    elif word_id != previous:
        labels.append({first})
    elif label_all_subwords:
        label = word_labels[word_id]
        labels.append({continuation})
    else:
        labels.append({rest})
    previous = word_id
return labels
"""


def _align_variant(
    special: str = "-100",
    first: str = "word_labels[word_id]",
    continuation: str = "b_to_i.get(label, label) if b_to_i else label",
    rest: str = "-100",
    loop: str = _ALIGN_LOOP,
) -> str:
    return _align(loop.format(special=special, first=first, continuation=continuation, rest=rest))


_VITERBI = """
n, k = emissions.shape
score = {init}
backpointers = []
for i in range(1, n):
    candidates = {candidates}
    best, previous = candidates.max(dim=0)
    score = best + emissions[i]
    backpointers.append(previous)
score = {final}
tag = int(score.argmax())
best_score = float(score[tag])
path = [tag]
for previous in reversed(backpointers):
    tag = int(previous[tag])
    path.append(tag)
return path[::-1], best_score
"""


def _viterbi_variant(
    init: str = "start + emissions[0]",
    candidates: str = "score[:, None] + transitions",
    final: str = "score + end",
) -> str:
    return _viterbi(_VITERBI.format(init=init, candidates=candidates, final=final))


WRONG: dict[str, dict[str, str]] = {
    # --- [CLS] head -------------------------------------------------------------------------------
    "cls_mean_pooling": {
        "cls_logits": _cls_logits("return last_hidden_state.mean(dim=1) @ W_C + b_C")
    },
    "cls_last_token": {"cls_logits": _cls_logits("return last_hidden_state[:, -1] @ W_C + b_C")},
    "cls_returns_probabilities": {
        "cls_logits": _cls_logits(
            "return torch.softmax(last_hidden_state[:, 0] @ W_C + b_C, dim=-1)"
        )
    },
    "cls_forgets_bias": {"cls_logits": _cls_logits("return last_hidden_state[:, 0] @ W_C")},
    # --- loss -------------------------------------------------------------------------------------
    "loss_sum_not_mean": {
        "cls_loss": _cls_loss("return F.cross_entropy(logits, labels, reduction='sum')")
    },
    "loss_softmax_twice": {
        "cls_loss": _cls_loss("return F.cross_entropy(torch.softmax(logits, dim=-1), labels)")
    },
    "loss_no_log": {
        "cls_loss": _cls_loss("""
            probs = torch.softmax(logits, dim=-1)
            return -probs[torch.arange(len(labels)), labels].mean()
        """)
    },
    "loss_wrong_indexing": {
        "cls_loss": _cls_loss("""
            log_probs = torch.log_softmax(logits, dim=-1)
            return -log_probs[:, labels].mean()
        """)
    },
    "loss_naive_log_softmax_overflows": {
        "cls_loss": _cls_loss("""
            probs = torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True)
            return -torch.log(probs[torch.arange(len(labels)), labels]).mean()
        """)
    },
    # --- label alignment --------------------------------------------------------------------------
    "align_every_subword_even_when_first_only_asked": {
        "align_labels": _align_variant(rest="word_labels[word_id]")
    },
    "align_special_tokens_labelled_O": {"align_labels": _align_variant(special="0")},
    "align_b_to_i_ignored": {"align_labels": _align_variant(continuation="label")},
    "align_b_to_i_on_first_piece_too": {
        "align_labels": _align_variant(
            first="(b_to_i or {}).get(word_labels[word_id], word_labels[word_id]) "
            "if label_all_subwords else word_labels[word_id]"
        )
    },
    "align_drops_special_tokens": {
        "align_labels": _align("""
            labels = []
            previous = None
            for word_id in word_ids:
                if word_id is None:
                    continue
                if word_id != previous:
                    labels.append(word_labels[word_id])
                elif label_all_subwords:
                    label = word_labels[word_id]
                    labels.append(b_to_i.get(label, label) if b_to_i else label)
                else:
                    labels.append(-100)
                previous = word_id
            return labels
        """)
    },
    "align_labels_last_piece_not_first": {
        "align_labels": _align("""
            labels = []
            for i, word_id in enumerate(word_ids):
                following = word_ids[i + 1] if i + 1 < len(word_ids) else None
                if word_id is None:
                    labels.append(-100)
                elif following != word_id:
                    labels.append(word_labels[word_id])
                elif label_all_subwords:
                    label = word_labels[word_id]
                    labels.append(b_to_i.get(label, label) if b_to_i else label)
                else:
                    labels.append(-100)
            return labels
        """)
    },
    # --- word-level decoding ----------------------------------------------------------------------
    "words_average_logits": {
        "word_predictions": _words("""
            n_words = max(w for w in word_ids if w is not None) + 1
            out = []
            for word in range(n_words):
                rows = [i for i, w in enumerate(word_ids) if w == word]
                scores = subword_logits[rows[0]] if strategy == "first" else subword_logits[rows].mean(0)
                out.append(int(scores.argmax()))
            return out
        """)
    },
    "words_last_subword": {
        "word_predictions": _words("""
            probs = subword_logits.softmax(-1)
            n_words = max(w for w in word_ids if w is not None) + 1
            out = []
            for word in range(n_words):
                rows = [i for i, w in enumerate(word_ids) if w == word]
                distribution = probs[rows[-1]] if strategy == "first" else probs[rows].mean(0)
                out.append(int(distribution.argmax()))
            return out
        """)
    },
    "words_one_per_subword": {
        "word_predictions": _words("""
            probs = subword_logits.softmax(-1)
            return [int(p.argmax()) for p, w in zip(probs, word_ids) if w is not None]
        """)
    },
    "words_include_special_tokens": {
        "word_predictions": _words("""
            probs = subword_logits.softmax(-1)
            out, previous = [], object()
            for i, w in enumerate(word_ids):
                if w != previous:
                    rows = [i]
                    j = i + 1
                    while w is not None and j < len(word_ids) and word_ids[j] == w:
                        rows.append(j)
                        j += 1
                    d = probs[rows[0]] if strategy == "first" else probs[rows].mean(0)
                    out.append(int(d.argmax()))
                previous = w
            return out
        """)
    },
    # --- Viterbi ----------------------------------------------------------------------------------
    "viterbi_without_start": {"viterbi": _viterbi_variant(init="emissions[0].clone()")},
    "viterbi_without_end": {"viterbi": _viterbi_variant(final="score")},
    "viterbi_transposed_transitions": {
        "viterbi": _viterbi_variant(candidates="score[:, None] + transitions.T")
    },
    "viterbi_greedy": {
        "viterbi": _viterbi("""
            path = [int(e.argmax()) for e in emissions]
            score = start[path[0]] + end[path[-1]] + sum(emissions[i, t] for i, t in enumerate(path))
            score = score + sum(transitions[a, b] for a, b in zip(path, path[1:]))
            return path, float(score)
        """)
    },
    "viterbi_local_transitions_only": {
        "viterbi": _viterbi("""
            path = [int((start + emissions[0]).argmax())]
            for i in range(1, len(emissions)):
                path.append(int((transitions[path[-1]] + emissions[i]).argmax()))
            score = start[path[0]] + end[path[-1]] + sum(emissions[i, t] for i, t in enumerate(path))
            score = score + sum(transitions[a, b] for a, b in zip(path, path[1:]))
            return path, float(score)
        """)
    },
    # --- span enumeration -------------------------------------------------------------------------
    "spans_max_width_exclusive": {
        "enumerate_spans": _spans("""
            return [(s, e) for s in range(n_tokens) for e in range(s, min(s + max_width - 1, n_tokens))]
        """)
    },
    "spans_end_exclusive": {
        "enumerate_spans": _spans("""
            return [(s, s + w) for s in range(n_tokens) for w in range(1, max_width + 1) if s + w <= n_tokens]
        """)
    },
    "spans_miss_the_last_tokens": {
        "enumerate_spans": _spans("""
            return [(s, e) for s in range(n_tokens - 1) for e in range(s, min(s + max_width, n_tokens))]
        """)
    },
    "spans_sorted_by_width": {
        "enumerate_spans": _spans("""
            return [(s, s + w - 1) for w in range(1, max_width + 1) for s in range(n_tokens - w + 1)]
        """)
    },
    # --- span representation ----------------------------------------------------------------------
    "repr_mean_excludes_end": {
        "span_representation": _span_repr("""
            rows = []
            for s, e in spans:
                content = hidden[s:e].mean(0) if e > s else hidden[s]
                rows.append(torch.cat([hidden[s], hidden[e], content]))
            return torch.stack(rows)
        """)
    },
    "repr_end_off_by_one": {
        "span_representation": _span_repr("""
            rows = []
            for s, e in spans:
                last = max(e - 1, s)
                rows.append(torch.cat([hidden[s], hidden[last], hidden[s : e + 1].mean(0)]))
            return torch.stack(rows)
        """)
    },
    "repr_sum_not_mean": {
        "span_representation": _span_repr("""
            return torch.stack([torch.cat([hidden[s], hidden[e], hidden[s : e + 1].sum(0)]) for s, e in spans])
        """)
    },
    "repr_end_before_start": {
        "span_representation": _span_repr("""
            return torch.stack([torch.cat([hidden[e], hidden[s], hidden[s : e + 1].mean(0)]) for s, e in spans])
        """)
    },
}

CORRECT: dict[str, dict[str, str]] = {
    "vectorised_and_library_calls": {
        "cls_logits": _cls_logits(
            "return torch.einsum('bh,hk->bk', last_hidden_state[:, 0], W_C) + b_C"
        ),
        "cls_loss": _cls_loss("return F.nll_loss(F.log_softmax(logits, dim=-1), labels)"),
        "align_labels": _align("""
            out = []
            for i, w in enumerate(word_ids):
                if w is None:
                    out.append(-100)
                    continue
                label = word_labels[w]
                if i > 0 and word_ids[i - 1] == w:
                    if not label_all_subwords:
                        out.append(-100)
                        continue
                    label = (b_to_i or {}).get(label, label)
                out.append(label)
            return out
        """),
        "word_predictions": _words("""
            ids = torch.tensor([-1 if w is None else w for w in word_ids])
            keep = ids >= 0
            probs = subword_logits.softmax(-1)
            n_words = int(ids.max()) + 1
            if strategy == "average":
                sums = torch.zeros(n_words, probs.shape[1]).index_add(0, ids[keep], probs[keep])
                counts = torch.bincount(ids[keep], minlength=n_words).unsqueeze(1)
                return (sums / counts).argmax(-1).tolist()
            firsts = {}
            for i, w in enumerate(word_ids):
                if w is not None and w not in firsts:
                    firsts[w] = i
            return [int(probs[firsts[w]].argmax()) for w in range(n_words)]
        """),
        "viterbi": _viterbi("""
            n, k = emissions.shape
            delta = [[float(start[t] + emissions[0, t]) for t in range(k)]]
            back = []
            for i in range(1, n):
                row, pointers = [], []
                for t in range(k):
                    options = [delta[-1][p] + float(transitions[p, t]) for p in range(k)]
                    best = max(range(k), key=lambda p: options[p])
                    row.append(options[best] + float(emissions[i, t]))
                    pointers.append(best)
                delta.append(row)
                back.append(pointers)
            final = [delta[-1][t] + float(end[t]) for t in range(k)]
            tag = max(range(k), key=lambda t: final[t])
            path = [tag]
            for pointers in reversed(back):
                path.append(pointers[path[-1]])
            return path[::-1], final[tag]
        """),
        "enumerate_spans": _spans("""
            spans = [(s, s + w - 1) for s in range(n_tokens) for w in range(1, max_width + 1)]
            return sorted(span for span in spans if span[1] < n_tokens)
        """),
        "span_representation": _span_repr("""
            starts = torch.tensor([s for s, _ in spans])
            ends = torch.tensor([e for _, e in spans])
            # prefix sums in float64: sum(s..e) = prefix[e + 1] - prefix[s]
            prefix = torch.cat([torch.zeros(1, hidden.shape[1], dtype=torch.float64), hidden.double().cumsum(0)])
            mean = (prefix[ends + 1] - prefix[starts]) / (ends - starts + 1).unsqueeze(1)
            return torch.cat([hidden[starts], hidden[ends], mean.to(hidden.dtype)], dim=1)
        """),
    },
}

CORRECT["addmm_manual_softmax_memoised_viterbi"] = {
    "cls_logits": _cls_logits("return torch.addmm(b_C, last_hidden_state.select(1, 0), W_C)"),
    "cls_loss": _cls_loss("""
        shifted = logits - logits.max(dim=-1, keepdim=True).values
        log_probs = shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
        return -log_probs.gather(1, labels.view(-1, 1)).squeeze(1).mean()
    """),
    # pairs (previous, current) instead of a running variable
    "align_labels": _align("""
        labels = []
        for previous, current in zip([None, *word_ids[:-1]], word_ids):
            if current is None:
                labels.append(-100)
            elif current != previous:
                labels.append(word_labels[current])
            elif not label_all_subwords:
                labels.append(-100)
            else:
                label = word_labels[current]
                labels.append(b_to_i[label] if b_to_i and label in b_to_i else label)
        return labels
    """),
    # a (words x subwords) membership matrix: first piece by argmax, average by a matrix product
    "word_predictions": _words("""
        probs = torch.softmax(subword_logits, dim=-1)
        pieces = [(i, w) for i, w in enumerate(word_ids) if w is not None]
        n_words = max(w for _, w in pieces) + 1
        membership = torch.zeros(n_words, len(word_ids), dtype=probs.dtype)
        for i, w in pieces:
            membership[w, i] = 1.0
        if strategy == "first":
            return probs[membership.argmax(dim=1)].argmax(dim=-1).tolist()
        averaged = (membership @ probs) / membership.sum(dim=1, keepdim=True)
        return averaged.argmax(dim=-1).tolist()
    """),
    # top-down: the best continuation from (position, tag), memoised
    "viterbi": _viterbi("""
        from functools import lru_cache

        n, k = emissions.shape
        E, T = emissions.tolist(), transitions.tolist()
        S, END = start.tolist(), end.tolist()

        @lru_cache(maxsize=None)
        def best_from(i, tag):
            if i == n - 1:
                return END[tag], ()
            options = []
            for following in range(k):
                score, rest = best_from(i + 1, following)
                options.append((T[tag][following] + E[i + 1][following] + score, (following, *rest)))
            return max(options, key=lambda option: option[0])

        totals = []
        for tag in range(k):
            score, rest = best_from(0, tag)
            totals.append((S[tag] + E[0][tag] + score, [tag, *rest]))
        score, path = max(totals, key=lambda total: total[0])
        return path, score
    """),
    "enumerate_spans": _spans("""
        import itertools

        pairs = itertools.combinations_with_replacement(range(n_tokens), 2)
        return [(s, e) for s, e in pairs if e - s < max_width]
    """),
    # an averaging matrix over the tokens inside each span
    "span_representation": _span_repr("""
        positions = torch.arange(hidden.shape[0])
        starts = torch.tensor([s for s, _ in spans])
        ends = torch.tensor([e for _, e in spans])
        inside = (positions[None, :] >= starts[:, None]) & (positions[None, :] <= ends[:, None])
        weights = inside.to(hidden.dtype)
        weights = weights / weights.sum(dim=1, keepdim=True)
        return torch.cat([hidden.index_select(0, starts), hidden.index_select(0, ends), weights @ hidden], dim=-1)
    """),
}


# --- CRF forward algorithm, distillation, and calls into the course library ---------------------------


def _crf(body: str) -> str:
    return "def crf_log_partition(emissions, transitions, start, end):\n" + _body(body)


def _soft(body: str) -> str:
    return "def soft_target_loss(student_logits, teacher_logits, temperature):\n" + _body(body)


def _distill(
    body: str, signature: str = "temperature=2.0, soft_weight=5.0, hard_weight=2.0"
) -> str:
    return f"def distillation_loss(student_logits, teacher_logits, labels, {signature}):\n" + _body(
        body
    )


_CRF = """
alpha = {init}
for i in range(1, emissions.shape[0]):
    alpha = {step}
return {final}
"""


def _crf_variant(
    init: str = "start + emissions[0]",
    step: str = "torch.logsumexp(alpha[:, None] + transitions, dim=0) + emissions[i]",
    final: str = "torch.logsumexp(alpha + end, dim=0)",
) -> str:
    return _crf(_CRF.format(init=init, step=step, final=final))


_SOFT = """
log_q = {log_q}
log_p = {log_p}
kl = {kl}
return {scale} * kl
"""


def _soft_variant(
    log_q: str = "F.log_softmax(student_logits / temperature, dim=-1)",
    log_p: str = "F.log_softmax(teacher_logits / temperature, dim=-1)",
    kl: str = "(log_p.exp() * (log_p - log_q)).sum(dim=-1).mean()",
    scale: str = "temperature**2",
) -> str:
    return _soft(_SOFT.format(log_q=log_q, log_p=log_p, kl=kl, scale=scale))


_DISTILL = """
soft = {soft}
hard = {hard}
return {total}
"""


def _distill_variant(
    soft: str = "soft_target_loss(student_logits, teacher_logits, temperature)",
    hard: str = "F.cross_entropy(student_logits, labels)",
    total: str = "soft_weight * soft + hard_weight * hard",
    signature: str = "temperature=2.0, soft_weight=5.0, hard_weight=2.0",
) -> str:
    return _distill(_DISTILL.format(soft=soft, hard=hard, total=total), signature)


WRONG.update(
    {
        # --- the course library instead of one's own code (switched off while grading) ------------
        "library_align_labels": {
            "align_labels": _align("""
                from ch11lib import tagging
                return tagging.align_labels(word_ids, word_labels, label_all_subwords=label_all_subwords,
                                            b_to_i=b_to_i)
            """)
        },
        "library_enumerate_spans_old_name": {
            "enumerate_spans": _spans("""
                from ch11lib.span_heads import enumerate_spans as library_spans
                return library_spans(n_tokens, max_width)
            """)
        },
        "library_enumerate_spans_imported_at_top": {
            "enumerate_spans": "from ch11lib.span_ner import enumerate_spans\n"
        },
        "library_crf_log_partition": {
            "crf_log_partition": _crf("""
                from ch11lib.tagging import CRF
                crf = CRF(emissions.shape[1])
                crf.transitions.data, crf.start_transitions.data = transitions, start
                crf.end_transitions.data = end
                return crf.log_partition(emissions[None])[0]
            """)
        },
        "library_viterbi": {
            "viterbi": _viterbi("""
                from ch11lib import tagging
                crf = tagging.CRF(emissions.shape[1])
                with torch.no_grad():
                    crf.transitions.copy_(transitions)
                    crf.start_transitions.copy_(start)
                    crf.end_transitions.copy_(end)
                path = crf.decode(emissions[None])[0]
                score = start[path[0]] + end[path[-1]] + sum(emissions[i, t] for i, t in enumerate(path))
                return path, float(score + sum(transitions[a, b] for a, b in zip(path, path[1:])))
            """)
        },
        "library_soft_target_loss": {
            "soft_target_loss": _soft("""
                from ch11lib import distillation
                return distillation.soft_target_loss(student_logits, teacher_logits, temperature)
            """)
        },
        "library_hard_loss": {
            "cls_loss": _cls_loss("""
                from ch11lib.distillation import hard_loss
                return hard_loss(logits, labels)
            """)
        },
        # --- CRF forward algorithm ----------------------------------------------------------------
        "crf_log_of_sum_of_exp_overflows": {
            "crf_log_partition": _crf_variant(
                step="(alpha[:, None] + transitions).exp().sum(dim=0).log() + emissions[i]",
                final="(alpha + end).exp().sum().log()",
            )
        },
        "crf_max_instead_of_logsumexp": {
            "crf_log_partition": _crf_variant(
                step="(alpha[:, None] + transitions).max(dim=0).values + emissions[i]",
                final="(alpha + end).max()",
            )
        },
        "crf_without_start": {"crf_log_partition": _crf_variant(init="emissions[0].clone()")},
        "crf_without_end": {
            "crf_log_partition": _crf_variant(final="torch.logsumexp(alpha, dim=0)")
        },
        "crf_transposed_transitions": {
            "crf_log_partition": _crf_variant(
                step="torch.logsumexp(alpha[:, None] + transitions.T, dim=0) + emissions[i]"
            )
        },
        "crf_logsumexp_over_the_wrong_axis": {
            "crf_log_partition": _crf_variant(
                step="torch.logsumexp(alpha[:, None] + transitions, dim=1) + emissions[i]"
            )
        },
        "crf_returns_a_float": {
            "crf_log_partition": _crf_variant(final="float(torch.logsumexp(alpha + end, dim=0))")
        },
        "crf_in_place_on_start": {
            "crf_log_partition": _crf("""
                alpha = start
                alpha += emissions[0]
                for i in range(1, emissions.shape[0]):
                    alpha = torch.logsumexp(alpha[:, None] + transitions, dim=0) + emissions[i]
                return torch.logsumexp(alpha + end, dim=0)
            """)
        },
        "crf_sums_the_final_scores": {
            "crf_log_partition": _crf_variant(final="(alpha + end).sum()")
        },
        "crf_forgets_the_first_emission": {"crf_log_partition": _crf_variant(init="start.clone()")},
        "crf_detached": {
            "crf_log_partition": _crf_variant(final="torch.logsumexp(alpha + end, dim=0).detach()")
        },
        "crf_log_mean_exp": {
            "crf_log_partition": _crf_variant(
                step="torch.logsumexp(alpha[:, None] + transitions, dim=0) - math.log(len(alpha)) + emissions[i]"
            )
        },
        "crf_emission_added_before_the_transition": {
            "crf_log_partition": _crf_variant(
                step="torch.logsumexp(alpha[:, None] + emissions[i][:, None] + transitions, dim=0)"
            )
        },
        # --- soft-target loss -----------------------------------------------------------------------
        "soft_kl_reversed": {
            "soft_target_loss": _soft_variant(
                kl="(log_q.exp() * (log_q - log_p)).sum(dim=-1).mean()"
            )
        },
        "soft_without_t_squared": {"soft_target_loss": _soft_variant(scale="1.0")},
        "soft_times_t_not_t_squared": {"soft_target_loss": _soft_variant(scale="temperature")},
        "soft_divides_by_t_squared": {"soft_target_loss": _soft_variant(scale="temperature**-2")},
        "soft_kl_div_mean_over_entries": {
            "soft_target_loss": _soft_variant(
                kl='F.kl_div(log_q, log_p, reduction="mean", log_target=True)'
            )
        },
        "soft_kl_div_sum_over_batch": {
            "soft_target_loss": _soft_variant(
                kl='F.kl_div(log_q, log_p, reduction="sum", log_target=True)'
            )
        },
        "soft_kl_div_arguments_swapped": {
            "soft_target_loss": _soft_variant(
                kl='F.kl_div(log_p, log_q.exp(), reduction="batchmean")'
            )
        },
        "soft_kl_div_log_target_forgotten": {
            "soft_target_loss": _soft_variant(kl='F.kl_div(log_q, log_p, reduction="batchmean")')
        },
        "soft_temperature_only_on_the_student": {
            "soft_target_loss": _soft_variant(log_p="F.log_softmax(teacher_logits, dim=-1)")
        },
        "soft_no_temperature_inside": {
            "soft_target_loss": _soft_variant(
                log_q="F.log_softmax(student_logits, dim=-1)",
                log_p="F.log_softmax(teacher_logits, dim=-1)",
            )
        },
        "soft_log_of_softmax_underflows": {
            "soft_target_loss": _soft_variant(
                log_q="(student_logits / temperature).softmax(dim=-1).log()",
                log_p="(teacher_logits / temperature).softmax(dim=-1).log()",
            )
        },
        "soft_cross_entropy_not_kl": {
            "soft_target_loss": _soft_variant(kl="-(log_p.exp() * log_q).sum(dim=-1).mean()")
        },
        "soft_mean_over_labels_too": {
            "soft_target_loss": _soft_variant(kl="(log_p.exp() * (log_p - log_q)).mean()")
        },
        # --- distillation loss ------------------------------------------------------------------------
        "distill_hard_loss_at_temperature": {
            "distillation_loss": _distill_variant(
                hard="F.cross_entropy(student_logits / temperature, labels)"
            )
        },
        "distill_weights_swapped": {
            "distillation_loss": _distill_variant(total="hard_weight * soft + soft_weight * hard")
        },
        "distill_weights_ignored": {
            "distillation_loss": _distill_variant(total="5.0 * soft + 2.0 * hard")
        },
        "distill_hard_labels_from_the_teacher": {
            "distillation_loss": _distill_variant(
                hard="F.cross_entropy(student_logits, teacher_logits.argmax(dim=-1))"
            )
        },
        "distill_convex_mix": {
            "distillation_loss": _distill_variant(
                total="soft_weight * soft + (1 - soft_weight) * hard"
            )
        },
        "distill_default_temperature_one": {
            "distillation_loss": _distill_variant(
                signature="temperature=1.0, soft_weight=5.0, hard_weight=2.0"
            )
        },
        "distill_hard_loss_summed": {
            "distillation_loss": _distill_variant(
                hard='F.cross_entropy(student_logits, labels, reduction="sum")'
            )
        },
        "distill_temperature_ignored": {
            "distillation_loss": _distill_variant(
                soft="soft_target_loss(student_logits, teacher_logits, 2.0)"
            )
        },
        "distill_soft_without_t_squared": {
            "distillation_loss": _distill_variant(
                soft="soft_target_loss(student_logits, teacher_logits, temperature) / temperature**2"
            )
        },
    }
)

_CORRECT_NEW = [
    {
        # the max-shift written out, and the vectorised step with the emission inside the logsumexp
        "crf_log_partition": _crf("""
            def log_sum_exp(x, dim):
                m = x.max(dim=dim, keepdim=True).values
                return (m + (x - m).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim)

            alpha = start + emissions[0]
            for i in range(1, len(emissions)):
                alpha = log_sum_exp(alpha[:, None] + transitions + emissions[i][None, :], dim=0)
            return log_sum_exp(alpha + end, dim=0)
        """),
        "soft_target_loss": _soft("""
            log_q = F.log_softmax(student_logits / temperature, dim=-1)
            log_p = F.log_softmax(teacher_logits / temperature, dim=-1)
            return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * temperature * temperature
        """),
        "distillation_loss": _distill("""
            t = temperature
            log_q = F.log_softmax(student_logits / t, dim=-1)
            p = F.softmax(teacher_logits / t, dim=-1)
            soft = t * t * F.kl_div(log_q, p, reduction="sum") / student_logits.shape[0]
            hard = F.nll_loss(F.log_softmax(student_logits, dim=-1), labels)
            return hard_weight * hard + soft_weight * soft
        """),
    },
    {
        # the backward algorithm: beta from the end, then log Z from the start
        "crf_log_partition": _crf("""
            n = emissions.shape[0]
            beta = end
            for i in range(n - 1, 0, -1):
                beta = torch.logsumexp(transitions + (emissions[i] + beta)[None, :], dim=1)
            return torch.logsumexp(start + emissions[0] + beta, dim=-1)
        """),
        # entropy and cross-entropy separately: KL(p || q) = sum p log p - sum p log q
        "soft_target_loss": _soft("""
            p = torch.softmax(teacher_logits / temperature, dim=1)
            log_p = torch.log_softmax(teacher_logits / temperature, dim=1)
            log_q = torch.log_softmax(student_logits / temperature, dim=1)
            per_example = (p * log_p).sum(1) - (p * log_q).sum(1)
            return temperature**2 * per_example.sum() / len(per_example)
        """),
        "distillation_loss": _distill("""
            log_q = student_logits.log_softmax(-1)
            hard = -log_q[torch.arange(len(labels)), labels].mean()
            return soft_weight * soft_target_loss(student_logits, teacher_logits, temperature) + hard_weight * hard
        """),
    },
]
for _name, _cells in zip(
    ("vectorised_and_library_calls", "addmm_manual_softmax_memoised_viterbi"),
    _CORRECT_NEW,
    strict=True,
):
    CORRECT[_name].update(_cells)


# --- the NLI pair input and the pair features ----------------------------------------------------------


def _nli(body: str) -> str:
    return "def encode_nli_batch(pairs, max_length, cls_id, sep_id, pad_id):\n" + _body(body)


def _pair(body: str) -> str:
    return "def pair_features(u, v):\n" + _body(body)


_NLI = """
if max_length < {smallest}:
    raise ValueError("max_length too small")
budget = max_length - {specials}
rows = []
for a_ids, b_ids in pairs:
    a, b = list(a_ids), list(b_ids)
    if len(a) + len(b) > budget:
{cut}
    ids = [cls_id, *a, sep_id, *b, sep_id]
    rows.append((ids, {segments}))
length = {length}
input_ids = torch.full((len(rows), length), {pad}, dtype=torch.long)
token_type_ids = torch.zeros(len(rows), length, dtype=torch.long)
attention_mask = torch.zeros(len(rows), length, dtype=torch.long)
for row, (ids, segments) in enumerate(rows):
    input_ids[row, : len(ids)] = torch.tensor(ids)
    token_type_ids[row, : len(ids)] = torch.tensor(segments)
    attention_mask[row, : len(ids)] = 1
return {{"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask}}
"""

_NLI_CUT = """
shorter = min(len(a), len(b), budget // 2)
if len(a) > len(b):
    a, b = a[: budget - shorter], b[:shorter]
else:
    a, b = a[:shorter], b[: budget - shorter]
"""


_NLI_DEFAULTS = {
    "cut": _NLI_CUT,
    "segments": "[0] * (len(a) + 2) + [1] * (len(b) + 1)",
    "specials": "3",
    "smallest": "3",
    "length": "max(len(ids) for ids, _ in rows)",
    "pad": "pad_id",
}


def _nli_variant(**changes: str) -> str:
    """The reference encode_nli_batch with some of the pieces of _NLI_DEFAULTS changed."""
    pieces = {**_NLI_DEFAULTS, **changes}
    pieces["cut"] = indent(dedent(pieces["cut"]).strip("\n"), " " * 8)
    return _nli(_NLI.format(**pieces))


_PAIR = "return torch.cat([{parts}], dim={dim})"


def _pair_variant(parts: str = "u, v, (u - v).abs(), u * v", dim: str = "-1") -> str:
    return _pair(_PAIR.format(parts=parts, dim=dim))


def _variants(grade_id: str, make, table: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """{mutant name: {grade_id: make(**changes)}}: one wrong variant of a template per row."""
    return {name: {grade_id: make(**changes)} for name, changes in table.items()}


_NLI_CUT_FROM_THE_FRONT = _NLI_CUT.replace(
    "a[: budget - shorter], b[:shorter]", "a[len(a) - (budget - shorter):], b[len(b) - shorter:]"
).replace(
    "a[:shorter], b[: budget - shorter]", "a[len(a) - shorter:], b[len(b) - (budget - shorter):]"
)

_NLI_CUT_PROPORTIONAL = """
keep_a = round(budget * len(a) / (len(a) + len(b)))
a, b = a[:keep_a], b[: budget - keep_a]
"""

# the loop of the original BERT code: on ties B loses a token, so A keeps the odd one
_NLI_CUT_ONE_AT_A_TIME = """
while len(a) + len(b) > budget:
    if len(a) > len(b):
        a.pop()
    else:
        b.pop()
"""

_NLI_CUT_TIES_KEEP_A = _NLI_CUT.replace("if len(a) > len(b):", "if len(a) >= len(b):")

WRONG.update(
    _variants(
        "encode_nli_batch",
        _nli_variant,
        {
            "nli_first_sep_in_segment_1": {"segments": "[0] * (len(a) + 1) + [1] * (len(b) + 2)"},
            "nli_cls_in_segment_1_too": {
                "segments": "[1] + [0] * (len(a) + 1) + [1] * (len(b) + 1)"
            },
            "nli_only_second_truncated": {
                "cut": "b = b[: max(budget - len(a), 0)]\na = a[:budget]"
            },
            "nli_truncates_from_the_front": {"cut": _NLI_CUT_FROM_THE_FRONT},
            "nli_budget_off_by_one": {"specials": "2", "smallest": "2"},
            "nli_proportional_truncation": {"cut": _NLI_CUT_PROPORTIONAL},
            "nli_one_at_a_time_ties_cut_b": {"cut": _NLI_CUT_ONE_AT_A_TIME},
            "nli_ties_cut_the_second_keeps_a_longer": {"cut": _NLI_CUT_TIES_KEEP_A},
            "nli_pads_to_max_length": {"length": "max_length"},
            "nli_pads_with_zero_not_pad_id": {"pad": "0"},
        },
    )
)
WRONG.update(
    _variants(
        "pair_features",
        _pair_variant,
        {
            "pair_difference_without_abs": {"parts": "u, v, u - v, u * v"},
            "pair_premise_twice": {"parts": "u, u, (u - v).abs(), u * v"},
            "pair_no_interactions": {"parts": "u, v"},
            "pair_concatenated_along_axis_0": {"dim": "0"},
            "pair_concatenated_along_axis_1": {"dim": "1"},
            "pair_product_and_distance_swapped": {"parts": "u, v, u * v, (u - v).abs()"},
            "pair_cast_to_float32": {
                "parts": "u.float(), v.float(), (u - v).abs().float(), (u * v).float()"
            },
            "pair_squared_difference": {"parts": "u, v, (u - v) ** 2, u * v"},
        },
    )
)
WRONG.update(
    {
        "nli_no_error_when_max_length_too_small": {
            "encode_nli_batch": _nli_variant(smallest="0").replace(
                "budget = max_length - 3", "budget = max(max_length - 3, 0)"
            )
        },
        "nli_calls_the_tokenizer": {
            "encode_nli_batch": _nli("""
                premises = [tokenizer.decode(a) for a, _ in pairs]
                hypotheses = [tokenizer.decode(b) for _, b in pairs]
                out = tokenizer(premises, hypotheses, truncation="longest_first", max_length=max_length,
                                padding=True, return_tensors="pt")
                return {key: out[key] for key in ("input_ids", "token_type_ids", "attention_mask")}
            """)
        },
        "library_nsp_encode_pair": {
            "encode_nli_batch": _nli("""
                from ch11lib import nsp
                if max_length < 3:
                    raise ValueError("max_length too small")
                rows = []
                for a_ids, b_ids in pairs:
                    a, b = nsp.truncate_longest_first(a_ids, b_ids, max_length - 3)
                    rows.append(([cls_id, *a, sep_id, *b, sep_id], [0] * (len(a) + 2) + [1] * (len(b) + 1)))
                length = max(len(ids) for ids, _ in rows)
                pad = lambda xs, v: xs + [v] * (length - len(xs))
                return {
                    "input_ids": torch.tensor([pad(ids, pad_id) for ids, _ in rows]),
                    "token_type_ids": torch.tensor([pad(seg, 0) for _, seg in rows]),
                    "attention_mask": torch.tensor([pad([1] * len(ids), 0) for ids, _ in rows]),
                }
            """)
        },
    }
)

CORRECT["vectorised_and_library_calls"].update(
    {
        # the one-token-at-a-time loop, with HF's choice of who keeps the odd token
        "encode_nli_batch": _nli("""
            if max_length < 3:
                raise ValueError(f"max_length={max_length} cannot hold [CLS] A [SEP] B [SEP]")
            encoded = []
            for a_ids, b_ids in pairs:
                a, b = [int(i) for i in a_ids], [int(i) for i in b_ids]
                a_was_longer = len(a) > len(b)
                while len(a) + len(b) > max_length - 3:
                    if len(a) > len(b) or (len(a) == len(b) and not a_was_longer):
                        a.pop()
                    else:
                        b.pop()
                encoded.append(([cls_id] + a + [sep_id] + b + [sep_id], len(a) + 2, len(b) + 1))
            from torch.nn.utils.rnn import pad_sequence

            ids = pad_sequence([torch.tensor(e[0]) for e in encoded], batch_first=True, padding_value=pad_id)
            segments = pad_sequence([torch.tensor([0] * n_a + [1] * n_b) for _, n_a, n_b in encoded], batch_first=True)
            mask = pad_sequence([torch.ones(len(e[0]), dtype=torch.long) for e in encoded], batch_first=True)
            return {"input_ids": ids.long(), "token_type_ids": segments.long(), "attention_mask": mask}
        """),
        "pair_features": _pair("""
            return torch.concat((u, v, torch.abs(torch.sub(u, v)), torch.mul(u, v)), dim=u.dim() - 1)
        """),
    }
)
CORRECT["addmm_manual_softmax_memoised_viterbi"].update(
    {
        # lengths first, by the closed form of the Rust tokenizers, then one tensor filled in place
        "encode_nli_batch": _nli("""
            if max_length < 3:
                raise ValueError("need at least 3 tokens for the special tokens")
            m = max_length - 3
            kept = []
            for a_ids, b_ids in pairs:
                n1, n2 = len(a_ids), len(b_ids)
                if n1 + n2 > m:
                    if n1 > n2:
                        n2 = min(n2, m // 2)
                        n1 = m - n2
                    else:
                        n1 = min(n1, m // 2)
                        n2 = m - n1
                kept.append((list(a_ids)[:n1], list(b_ids)[:n2]))
            width = max(len(a) + len(b) + 3 for a, b in kept)
            out = {key: torch.zeros(len(kept), width, dtype=torch.int64)
                   for key in ("input_ids", "token_type_ids", "attention_mask")}
            out["input_ids"].fill_(pad_id)
            for row, (a, b) in enumerate(kept):
                n = len(a) + len(b) + 3
                out["input_ids"][row, :n] = torch.tensor([cls_id] + a + [sep_id] + b + [sep_id])
                out["token_type_ids"][row, len(a) + 2 : n] = 1
                out["attention_mask"][row, :n] = 1
            return out
        """),
        "pair_features": _pair("""
            hidden = u.shape[-1]
            out = u.new_empty(*u.shape[:-1], 4 * hidden)
            out[..., :hidden] = u
            out[..., hidden : 2 * hidden] = v
            out[..., 2 * hidden : 3 * hidden] = (v - u).abs()
            out[..., 3 * hidden :] = v * u
            return out
        """),
    }
)

# --- kinds of mistakes the first hidden tests let through (issue 14, section 6) -------------------------
WRONG.update(
    {
        "cls_squeezes_a_batch_of_one": {
            "cls_logits": _cls_logits("return (last_hidden_state[:, 0] @ W_C + b_C).squeeze()")
        },
        "cls_casts_to_float32": {
            "cls_logits": _cls_logits(
                "return last_hidden_state[:, 0].float() @ W_C.float() + b_C.float()"
            )
        },
        "words_default_strategy_average": {
            "word_predictions": (
                _words("return _words_impl(subword_logits, word_ids, strategy)").replace(
                    'strategy="first"', 'strategy="average"'
                )
                + _words("""
                    probs = subword_logits.softmax(dim=-1)
                    out = []
                    for word in range(max(w for w in word_ids if w is not None) + 1):
                        rows = [i for i, w in enumerate(word_ids) if w == word]
                        out.append(int((probs[rows[0]] if strategy == "first" else probs[rows].mean(0)).argmax()))
                    return out
                """).replace("def word_predictions", "def _words_impl")
            )
        },
        "repr_filled_into_float32_zeros": {
            "span_representation": _span_repr("""
                size = hidden.shape[1]
                out = torch.zeros(len(spans), 3 * size)
                for row, (s, e) in enumerate(spans):
                    out[row, :size], out[row, size : 2 * size] = hidden[s], hidden[e]
                    out[row, 2 * size :] = hidden[s : e + 1].mean(0)
                return out
            """)
        },
        "repr_spans_sorted_first": {
            "span_representation": _span_repr("""
                rows = [torch.cat([hidden[s], hidden[e], hidden[s : e + 1].mean(0)]) for s, e in sorted(map(tuple, spans))]
                return torch.stack(rows)
            """)
        },
        "align_b_to_i_assumed_plus_one": {
            "align_labels": _align_variant(
                continuation="label + 1 if b_to_i and label in b_to_i else label"
            )
        },
    }
)

_WORDS_BY_EXP = """
probs = subword_logits.exp() / subword_logits.exp().sum(dim=-1, keepdim=True)
out = []
for word in range(max(w for w in word_ids if w is not None) + 1):
    rows = [i for i, w in enumerate(word_ids) if w == word]
    out.append(int((probs[rows[0]] if strategy == "first" else probs[rows].mean(0)).argmax()))
return out
"""

# --- more kinds of mistakes (issue 14, section 6): extreme values, inputs changed in place, a list
# without special tokens, a global in place of an argument, float32 buffers, ties -----------------------
WRONG.update(
    {
        "loss_log_softmax_plus_epsilon": {
            "cls_loss": _cls_loss("""
                probs = logits.softmax(dim=-1)
                return -(probs[torch.arange(len(labels)), labels] + 1e-12).log().mean()
            """)
        },
        "loss_stabilised_in_place": {
            "cls_loss": _cls_loss("""
                logits -= logits.max(dim=-1, keepdim=True).values
                log_probs = logits - logits.exp().sum(dim=-1, keepdim=True).log()
                return -log_probs[torch.arange(len(labels)), labels].mean()
            """)
        },
        # word_ids[i - 1] at i = 0 is the last entry: a list without [CLS] loses its first "first"
        "align_previous_wraps_around": {
            "align_labels": _align_variant(
                loop=_ALIGN_LOOP.replace(
                    "previous = None\nfor word_id in word_ids:",
                    "for i, word_id in enumerate(word_ids):",
                )
                .replace("word_id != previous", "word_id != word_ids[i - 1]")
                .replace("    previous = word_id\n", "")
            )
        },
        "align_uses_the_global_b_to_i": {
            "align_labels": _align_variant(
                continuation="B_TO_I.get(label, label) if b_to_i else label"
            )
        },
        "words_manual_softmax_overflows": {"word_predictions": _words(_WORDS_BY_EXP)},
        "words_stabilised_in_place": {
            "word_predictions": _words(
                "subword_logits -= subword_logits.max(dim=-1, keepdim=True).values\n"
                + _WORDS_BY_EXP
            )
        },
        "words_first_piece_by_previous_wraps": {
            "word_predictions": _words("""
                probs = subword_logits.softmax(dim=-1)
                first, pieces = {}, {}
                for i, w in enumerate(word_ids):
                    if w is None:
                        continue
                    pieces.setdefault(w, []).append(i)
                    if w != word_ids[i - 1]:
                        first[w] = i
                out = []
                for w in sorted(pieces):
                    if strategy == "first":
                        out.append(int(probs[first.get(w, pieces[w][-1])].argmax()))
                    else:
                        out.append(int(probs[pieces[w]].mean(0).argmax()))
                return out
            """)
        },
        # forward and backward max-scores, then the best tag at each position: right when the best
        # sequence is unique, a mix of two best sequences when there are ties
        "viterbi_max_marginals_mix_ties": {
            "viterbi": _viterbi("""
                n, k = emissions.shape
                forward = [start + emissions[0]]
                for i in range(1, n):
                    forward.append((forward[-1][:, None] + transitions).max(dim=0).values + emissions[i])
                backward = [end]
                for i in range(n - 1, 0, -1):
                    backward.append((transitions + (emissions[i] + backward[-1])[None, :]).max(dim=1).values)
                backward = backward[::-1]
                path = [int((f + b).argmax()) for f, b in zip(forward, backward)]
                return path, float((forward[-1] + end).max())
            """)
        },
        "viterbi_in_probability_space": {
            "viterbi": _viterbi("""
                n, k = emissions.shape
                prob = start.exp() * emissions[0].exp()
                backpointers = []
                for i in range(1, n):
                    best, previous = (prob[:, None] * transitions.exp()).max(dim=0)
                    prob = best * emissions[i].exp()
                    backpointers.append(previous)
                prob = prob * end.exp()
                tag = int(prob.argmax())
                best_score = float(prob[tag].log())
                path = [tag]
                for previous in reversed(backpointers):
                    tag = int(previous[tag])
                    path.append(tag)
                return path[::-1], best_score
            """)
        },
        "crf_alphas_in_a_float32_buffer": {
            "crf_log_partition": _crf("""
                n, k = emissions.shape
                alpha = torch.zeros(n, k)
                alpha[0] = start + emissions[0]
                for i in range(1, n):
                    alpha[i] = torch.logsumexp(alpha[i - 1][:, None] + transitions, dim=0) + emissions[i]
                return torch.logsumexp(alpha[-1] + end, dim=0)
            """)
        },
        "distill_hard_log_of_softmax": {
            "distillation_loss": _distill_variant(
                hard="-student_logits.softmax(-1)[torch.arange(len(labels)), labels].log().mean()"
            )
        },
    }
)

WRONG.update(
    {
        # right labels, but the B- -> I- step is written into the caller's list of word labels
        "align_b_to_i_written_into_word_labels": {
            "align_labels": _align_variant(
                first="word_labels[word_id]",
                continuation="label",
                loop=_ALIGN_LOOP.replace(
                    "        labels.append({first})\n",
                    "        labels.append({first})\n"
                    "        if label_all_subwords and b_to_i:\n"
                    "            word_labels[word_id] = b_to_i.get(word_labels[word_id], word_labels[word_id])\n",
                ),
            )
        },
    }
)

# a third correct solution: torch.nn.functional where the rules allow it, tensors returned where lists
# or floats are asked, log-space averaging, prefix sums for span means
CORRECT["functional_calls_tensors_and_prefix_sums"] = {
    "cls_logits": _cls_logits("return F.linear(last_hidden_state[:, 0], W_C.T, b_C)"),
    "cls_loss": _cls_loss("return F.cross_entropy(logits, labels)"),
    "encode_nli_batch": _nli("""
        if max_length < 3:
            raise ValueError(f"no room for [CLS] A [SEP] B [SEP] in {max_length} tokens")
        room = max_length - 3
        rows, segments = [], []
        for a_ids, b_ids in pairs:
            la, lb = len(a_ids), len(b_ids)
            if la + lb > room:  # the shorter keeps up to half the room, the longer (B on ties) the rest
                short = min(la, lb, room // 2)
                la, lb = (room - short, short) if la > lb else (short, room - short)
            a = torch.as_tensor(list(a_ids)[:la], dtype=torch.long)
            b = torch.as_tensor(list(b_ids)[:lb], dtype=torch.long)
            rows.append(torch.cat([torch.tensor([cls_id]), a, torch.tensor([sep_id]), b, torch.tensor([sep_id])]))
            segments.append(torch.cat([torch.zeros(la + 2, dtype=torch.long), torch.ones(lb + 1, dtype=torch.long)]))
        width = max(len(r) for r in rows)
        return {
            "input_ids": torch.stack([F.pad(r, (0, width - len(r)), value=pad_id) for r in rows]),
            "token_type_ids": torch.stack([F.pad(s, (0, width - len(s))) for s in segments]),
            "attention_mask": torch.stack([F.pad(torch.ones_like(r), (0, width - len(r))) for r in rows]),
        }
    """),
    "pair_features": _pair("return torch.stack([u, v, (u - v).abs(), u * v], dim=-2).flatten(-2)"),
    "align_labels": _align("""
        out = []
        for i, w in enumerate(word_ids):
            starts = w is not None and (i == 0 or word_ids[i - 1] != w)
            if w is None or (not starts and not label_all_subwords):
                out.append(-100)
            elif starts or not b_to_i:
                out.append(word_labels[w])
            else:
                out.append(b_to_i.get(word_labels[w], word_labels[w]))
        return out
    """),
    "word_predictions": _words("""
        log_probs = F.log_softmax(subword_logits, dim=-1)
        last = max(w for w in word_ids if w is not None)
        out = []
        for w in range(last + 1):
            rows = torch.tensor([i for i, x in enumerate(word_ids) if x == w])
            if strategy == "first":
                score = log_probs[rows[0]]
            else:  # log of the summed probabilities: the same argmax as their mean
                score = torch.logsumexp(log_probs[rows], dim=0)
            out.append(int(score.argmax()))
        return out
    """),
    "viterbi": _viterbi("""
        n, k = emissions.shape
        delta = start + emissions[0]
        back = torch.zeros(n, k, dtype=torch.long)
        for i in range(1, n):
            candidates = delta.unsqueeze(1) + transitions
            back[i] = candidates.argmax(dim=0)
            delta = candidates.max(dim=0).values + emissions[i]
        final = delta + end
        path = torch.zeros(n, dtype=torch.long)
        path[-1] = final.argmax()
        for i in range(n - 1, 0, -1):
            path[i - 1] = back[i, path[i]]
        return path, final.max()
    """),
    "crf_log_partition": _crf("""
        alpha = start + emissions[0]
        for emission in emissions[1:]:
            alpha = emission + torch.logsumexp(alpha.unsqueeze(-1) + transitions, dim=-2)
        return (alpha + end).logsumexp(-1)
    """),
    "enumerate_spans": _spans(
        "return [(s, s + w) for s in range(n_tokens) for w in range(max_width) if s + w < n_tokens]"
    ),
    "span_representation": _span_repr("""
        bounds = torch.tensor([[s, e] for s, e in spans], dtype=torch.long).reshape(-1, 2)
        starts, ends = bounds[:, 0], bounds[:, 1]
        prefix = torch.cat([torch.zeros_like(hidden[:1]), hidden.cumsum(dim=0)])
        widths = (ends - starts + 1).unsqueeze(1).to(hidden.dtype)
        return torch.cat([hidden[starts], hidden[ends], (prefix[ends + 1] - prefix[starts]) / widths], dim=-1)
    """),
    "soft_target_loss": _soft("""
        log_q = F.log_softmax(student_logits / temperature, dim=-1)
        log_p = F.log_softmax(teacher_logits / temperature, dim=-1)
        return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * temperature**2
    """),
    "distillation_loss": _distill("""
        soft = soft_target_loss(student_logits, teacher_logits, temperature)
        hard = -F.log_softmax(student_logits, dim=-1).gather(1, labels[:, None]).mean()
        return soft_weight * soft + hard_weight * hard
    """),
}

_NLI_CUT_IN_PLACE = """
shorter = min(len(a), len(b), budget // 2)
if len(a) > len(b):
    del a[budget - shorter :], b[shorter:]
else:
    del a[shorter:], b[budget - shorter :]
"""

WRONG.update(
    {
        # the right cut, made with del on the caller's own lists (a = a_ids is no copy)
        "nli_cuts_the_callers_lists": {
            "encode_nli_batch": _nli_variant(cut=_NLI_CUT_IN_PLACE).replace(
                "a, b = list(a_ids), list(b_ids)", "a, b = a_ids, b_ids"
            )
        },
    }
)


def _source(text: str) -> str:
    return dedent(text).lstrip("\n")


# An independent red-team set: mistakes the hidden tests did not catch before (each caught now).
WRONG.update(
    {
        # float64 logits cast to float32: a float32 loss (the spec: results in the inputs' dtype)
        "loss_casts_to_float32": {
            "cls_loss": _source("""
def cls_loss(logits, labels):
    return F.cross_entropy(logits.float(), labels.long())
""")
        },
        # everything cast to float64: float32 inputs give a float64 log Z
        "crf_computes_in_float64": {
            "crf_log_partition": _source("""
def crf_log_partition(emissions, transitions, start, end):
    emissions, transitions, start, end = (x.double() for x in (emissions, transitions, start, end))
    alpha = start + emissions[0]
    for i in range(1, emissions.shape[0]):
        alpha = torch.logsumexp(alpha[:, None] + transitions, dim=0) + emissions[i]
    return torch.logsumexp(alpha + end, dim=0)
""")
        },
        # computed in float64 for safety: float32 logits give a float64 loss
        "soft_computes_in_float64": {
            "soft_target_loss": _source("""
def soft_target_loss(student_logits, teacher_logits, temperature):
    log_q = F.log_softmax(student_logits.double() / temperature, dim=-1)
    log_p = F.log_softmax(teacher_logits.double() / temperature, dim=-1)
    return temperature**2 * (log_p.exp() * (log_p - log_q)).sum(-1).mean()
""")
        },
        # float32 logits give a float64 loss
        "distill_computes_in_float64": {
            "distillation_loss": _source("""
def distillation_loss(student_logits, teacher_logits, labels, temperature=2.0, soft_weight=5.0, hard_weight=2.0):
    s, t = student_logits.double(), teacher_logits.double()
    soft = soft_target_loss(s, t, temperature)
    return soft_weight * soft + hard_weight * F.cross_entropy(s, labels)
""")
        },
        # z_CLS detached: the head trains, but fine-tuning could not train the encoder
        "cls_detaches_the_encoder_output": {
            "cls_logits": _source("""
def cls_logits(last_hidden_state, W_C, b_C):
    z_cls = last_hidden_state[:, 0, :].detach()
    return z_cls @ W_C + b_C
""")
        },
        # float64 logits cast to float32: the digits of float64 are lost
        "soft_casts_to_float32": {
            "soft_target_loss": _source("""
def soft_target_loss(student_logits, teacher_logits, temperature):
    log_q = F.log_softmax(student_logits.float() / temperature, dim=-1)
    log_p = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    return temperature**2 * (log_p.exp() * (log_p - log_q)).sum(-1).mean()
""")
        },
        # float64 logits cast to float32 before both losses
        "distill_casts_to_float32": {
            "distillation_loss": _source("""
def distillation_loss(student_logits, teacher_logits, labels, temperature=2.0, soft_weight=5.0, hard_weight=2.0):
    s, t = student_logits.float(), teacher_logits.float()
    soft = soft_target_loss(s, t, temperature)
    return soft_weight * soft + hard_weight * F.cross_entropy(s, labels)
""")
        },
    }
)

CORRECT["einsum_free_gather_detached_max_sorted_widths"] = {
    "cls_logits": _source("""
def cls_logits(last_hidden_state, W_C, b_C):
    return (last_hidden_state @ W_C + b_C)[:, 0]
"""),
    "cls_loss": _source("""
def cls_loss(logits, labels):
    picked = logits.gather(1, labels[:, None]).squeeze(1)
    return (torch.logsumexp(logits, dim=1) - picked).mean()
"""),
    "pair_features": _source("""
def pair_features(u, v):
    return torch.cat((u, v, torch.abs(v - u), torch.mul(u, v)), -1)
"""),
    "align_labels": _source("""
def align_labels(word_ids, word_labels, label_all_subwords=True, b_to_i=None):
    mapping = b_to_i or {}
    out = []
    for i, w in enumerate(word_ids):
        if w is None:
            out.append(-100)
            continue
        is_first = i == 0 or word_ids[i - 1] != w
        if is_first:
            out.append(word_labels[w])
        elif not label_all_subwords:
            out.append(-100)
        else:
            out.append(mapping.get(word_labels[w], word_labels[w]))
    return out
"""),
    "word_predictions": _source("""
def word_predictions(subword_logits, word_ids, strategy="first"):
    groups = {}
    for i, w in enumerate(word_ids):
        if w is not None:
            groups.setdefault(w, []).append(i)
    out = []
    for w in range(max(groups) + 1):
        rows = groups[w]
        if strategy == "first":
            out.append(int(subword_logits[rows[0]].argmax()))
        else:
            out.append(int(torch.softmax(subword_logits[rows], dim=-1).sum(0).argmax()))
    return out
"""),
    "viterbi": _source("""
def viterbi(emissions, transitions, start, end):
    n = emissions.shape[0]
    delta = start + emissions[0]
    pointers = []
    for i in range(1, n):
        cand = delta[None, :] + transitions.T  # [next, previous]
        delta, arg = cand.max(dim=1)
        delta = delta + emissions[i]
        pointers.append(arg.tolist())
    final = delta + end
    best = int(torch.argmax(final))
    path = [best]
    for ptr in pointers[::-1]:
        path.insert(0, ptr[path[0]])
    return path, final[best].item()
"""),
    "crf_log_partition": _source("""
def crf_log_partition(emissions, transitions, start, end):
    def lse(x, dim):
        m = x.max(dim=dim, keepdim=True).values.detach()
        return (m + (x - m).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim)
    alpha = start + emissions[0]
    for row in emissions[1:]:
        alpha = lse(alpha.unsqueeze(1) + transitions, 0) + row
    return lse(alpha + end, 0)
"""),
    "enumerate_spans": _source("""
def enumerate_spans(n_tokens, max_width):
    spans = []
    for width in range(1, max_width + 1):
        for start in range(n_tokens - width + 1):
            spans.append((start, start + width - 1))
    return sorted(spans)
"""),
    "span_representation": _source("""
def span_representation(hidden, spans):
    index = torch.tensor([list(span) for span in spans], dtype=torch.long).reshape(-1, 2)
    positions = torch.arange(hidden.shape[0])
    inside = (positions >= index[:, :1]) & (positions <= index[:, 1:])
    weights = inside.to(hidden.dtype)
    weights = weights / weights.sum(dim=1, keepdim=True)
    return torch.cat([hidden[index[:, 0]], hidden[index[:, 1]], weights @ hidden], dim=1)
"""),
    "soft_target_loss": _source("""
def soft_target_loss(student_logits, teacher_logits, temperature):
    p = F.softmax(teacher_logits / temperature, dim=-1)
    log_q = F.log_softmax(student_logits / temperature, dim=-1)
    return F.kl_div(log_q, p, reduction="batchmean") * temperature ** 2
"""),
    "distillation_loss": _source("""
def distillation_loss(student_logits, teacher_logits, labels, temperature=2.0, soft_weight=5.0, hard_weight=2.0):
    hard = F.nll_loss(F.log_softmax(student_logits, dim=-1), labels)
    soft = soft_target_loss(student_logits, teacher_logits.detach(), temperature)
    return hard_weight * hard + soft_weight * soft
"""),
    "encode_nli_batch": _source("""
def encode_nli_batch(pairs, max_length, cls_id, sep_id, pad_id):
    if max_length < 3:
        raise ValueError(f"max_length must be >= 3, got {max_length}")
    m = max_length - 3
    encoded = []
    for a_ids, b_ids in pairs:
        la, lb = len(a_ids), len(b_ids)
        if la + lb > m:
            if la > lb:
                lb = min(lb, m // 2)
                la = m - lb
            else:
                la = min(la, m // 2)
                lb = m - la
        a, b = list(a_ids)[:la], list(b_ids)[:lb]
        encoded.append(([cls_id] + a + [sep_id] + b + [sep_id], la + 2))
    width = max(len(ids) for ids, _ in encoded)
    out = {k: torch.zeros(len(encoded), width, dtype=torch.long) for k in ("input_ids", "token_type_ids", "attention_mask")}
    out["input_ids"].fill_(pad_id)
    for r, (ids, first_len) in enumerate(encoded):
        out["input_ids"][r, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        out["token_type_ids"][r, first_len:len(ids)] = 1
        out["attention_mask"][r, :len(ids)] = 1
    return out
"""),
}

CORRECT["python_lists_viterbi_prefix_sum_spans"] = {
    "cls_logits": _source("""
def cls_logits(last_hidden_state, W_C, b_C):
    return torch.einsum("bh,hk->bk", last_hidden_state[:, 0, :], W_C) + b_C
"""),
    "cls_loss": _source("""
def cls_loss(logits, labels):
    return F.nll_loss(F.log_softmax(logits, dim=1), labels)
"""),
    "viterbi": _source("""
def viterbi(emissions, transitions, start, end):
    E, T, s, e = emissions.tolist(), transitions.tolist(), start.tolist(), end.tolist()
    n, k = len(E), len(s)
    best = [s[t] + E[0][t] for t in range(k)]
    back = []
    for i in range(1, n):
        new, ptr = [], []
        for t in range(k):
            a = max(range(k), key=lambda a: best[a] + T[a][t])
            ptr.append(a)
            new.append(best[a] + T[a][t] + E[i][t])
        best = new
        back.append(ptr)
    last = max(range(k), key=lambda t: best[t] + e[t])
    score = best[last] + e[last]
    path = [last]
    for ptr in reversed(back):
        path.append(ptr[path[-1]])
    return path[::-1], score
"""),
    "enumerate_spans": _source("""
def enumerate_spans(n_tokens, max_width):
    import itertools
    return [(i, j) for i, j in itertools.product(range(n_tokens), repeat=2) if 0 <= j - i < max_width]
"""),
    "span_representation": _source("""
def span_representation(hidden, spans):
    cs = torch.cat([torch.zeros_like(hidden[:1]), hidden.cumsum(0)])
    out = []
    for s, e in spans:
        out.append(torch.cat([hidden[s], hidden[e], (cs[e + 1] - cs[s]) / (e - s + 1)]))
    return torch.stack(out)
"""),
    "word_predictions": _source("""
def word_predictions(subword_logits, word_ids, strategy="first"):
    words = sorted({w for w in word_ids if w is not None})
    probs = F.softmax(subword_logits, dim=-1)
    result = []
    for w in range(words[-1] + 1):
        mask = torch.tensor([x == w for x in word_ids])
        if strategy == "average":
            result.append(probs[mask].mean(0).argmax().item())
        else:
            result.append(probs[mask][0].argmax().item())
    return result
"""),
}
