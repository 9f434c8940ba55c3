"""Wrong and differently-written correct answers for assignment 2 ("Masked language modelling").

Read by tests/test_mutants.py: every WRONG entry must lose points, every CORRECT entry must get 100.
Each WRONG entry is a mistake students make when they first write BERT's masking and its loss.
"""

from __future__ import annotations

from textwrap import dedent, indent


def _body(*parts: str) -> str:
    """A function body from code blocks, each dedented on its own (they come from differently
    indented string literals), then indented by four spaces."""
    text = "\n".join(dedent(part).strip("\n") for part in parts)
    return indent(text, "    ") + "\n"


def _mask(*parts: str) -> str:
    signature = "def mask_tokens(input_ids, special_ids, mask_id, vocab_size, generator, mlm_probability=0.15):\n"
    return signature + _body(*parts)


def _loss(*parts: str) -> str:
    return "def mlm_loss(logits, labels):\n" + _body(*parts)


def _words(*parts: str) -> str:
    return "def word_ids_from_tokens(tokens, special_tokens):\n" + _body(*parts)


def _wwm(*parts: str) -> str:
    signature = (
        "def whole_word_mask(input_ids, word_ids, special_ids, mask_id, vocab_size, generator, "
        "mlm_probability=0.15):\n"
    )
    return signature + _body(*parts)


# The correct corruption step, shared by several mutants that get the *sampling* wrong.
_CORRUPT = """
    labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
    choice = torch.rand(input_ids.shape, generator=generator)
    keep = torch.ones(vocab_size, dtype=torch.bool)
    keep[list(special_ids)] = False
    ordinary = torch.nonzero(keep).squeeze(1)
    random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
    masked_ids = input_ids.clone()
    masked_ids[sampled & (choice < 0.8)] = mask_id
    to_random = sampled & (choice >= 0.8) & (choice < 0.9)
    masked_ids[to_random] = random_ids[to_random]
    return masked_ids, labels
"""

_SAMPLE_OK = """
    special = torch.isin(input_ids, torch.tensor(list(special_ids)))
    sampled = (torch.rand(input_ids.shape, generator=generator) < mlm_probability) & ~special
"""

_WORD_SAMPLE_OK = """
    n_words = int(word_ids.max()) + 1
    word_sampled = torch.rand((input_ids.shape[0], max(n_words, 1)), generator=generator) < mlm_probability
    sampled = (word_ids >= 0) & torch.gather(word_sampled, 1, word_ids.clamp(min=0))
"""

WRONG: dict[str, dict[str, str]] = {
    # --- mask_tokens ------------------------------------------------------------------------------
    "mask_samples_special_tokens": {
        "mask_tokens": _mask(
            """
            sampled = torch.rand(input_ids.shape, generator=generator) < mlm_probability
            """,
            _CORRUPT,
        )
    },
    "mask_80_10_10_applied_to_all_tokens": {
        # samples 15% for the labels, but corrupts every token 80/10/10 (or rather 15% of them
        # independently): unsampled tokens change
        "mask_tokens": _mask(
            _SAMPLE_OK,
            """
            labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
            choice = torch.rand(input_ids.shape, generator=generator)
            special = torch.isin(input_ids, torch.tensor(list(special_ids)))
            masked_ids = input_ids.clone()
            masked_ids[(choice < 0.15 * 0.8) & ~special] = mask_id
            rand = torch.randint(5, vocab_size, input_ids.shape, generator=generator)
            to_random = (choice >= 0.15 * 0.8) & (choice < 0.15 * 0.9) & ~special
            masked_ids[to_random] = rand[to_random]
            return masked_ids, labels
            """,
        )
    },
    "mask_random_tokens_from_whole_vocabulary": {
        "mask_tokens": _mask(
            _SAMPLE_OK,
            """
            labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
            choice = torch.rand(input_ids.shape, generator=generator)
            random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
            masked_ids = input_ids.clone()
            masked_ids[sampled & (choice < 0.8)] = mask_id
            to_random = sampled & (choice >= 0.8) & (choice < 0.9)
            masked_ids[to_random] = random_ids[to_random]
            return masked_ids, labels
            """,
        )
    },
    "mask_labels_are_corrupted_ids": {
        "mask_tokens": _mask(
            _SAMPLE_OK,
            """
            choice = torch.rand(input_ids.shape, generator=generator)
            keep = torch.ones(vocab_size, dtype=torch.bool)
            keep[list(special_ids)] = False
            ordinary = torch.nonzero(keep).squeeze(1)
            random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
            masked_ids = input_ids.clone()
            masked_ids[sampled & (choice < 0.8)] = mask_id
            to_random = sampled & (choice >= 0.8) & (choice < 0.9)
            masked_ids[to_random] = random_ids[to_random]
            labels = torch.where(sampled, masked_ids, torch.full_like(input_ids, -100))
            return masked_ids, labels
            """,
        )
    },
    "mask_labels_only_at_mask_tokens": {
        # the unchanged and random 10%s get no label: the model is never asked about them
        "mask_tokens": _mask(
            _SAMPLE_OK,
            """
            choice = torch.rand(input_ids.shape, generator=generator)
            keep = torch.ones(vocab_size, dtype=torch.bool)
            keep[list(special_ids)] = False
            ordinary = torch.nonzero(keep).squeeze(1)
            random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
            masked_ids = input_ids.clone()
            to_mask = sampled & (choice < 0.8)
            masked_ids[to_mask] = mask_id
            to_random = sampled & (choice >= 0.8) & (choice < 0.9)
            masked_ids[to_random] = random_ids[to_random]
            labels = torch.where(to_mask, input_ids, torch.full_like(input_ids, -100))
            return masked_ids, labels
            """,
        )
    },
    "mask_labels_everywhere": {
        "mask_tokens": _mask(
            _SAMPLE_OK,
            """
            choice = torch.rand(input_ids.shape, generator=generator)
            masked_ids = input_ids.clone()
            masked_ids[sampled & (choice < 0.8)] = mask_id
            labels = input_ids.clone()
            return masked_ids, labels
            """,
        )
    },
    "mask_modifies_input_in_place": {
        "mask_tokens": _mask(
            _SAMPLE_OK,
            """
            labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
            choice = torch.rand(input_ids.shape, generator=generator)
            keep = torch.ones(vocab_size, dtype=torch.bool)
            keep[list(special_ids)] = False
            ordinary = torch.nonzero(keep).squeeze(1)
            random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
            input_ids[sampled & (choice < 0.8)] = mask_id
            to_random = sampled & (choice >= 0.8) & (choice < 0.9)
            input_ids[to_random] = random_ids[to_random]
            return input_ids, labels
            """,
        )
    },
    "mask_independent_draws_for_random_and_keep": {
        # 0.8 [MASK]; then a *new* draw < 0.1 for random: random is 0.2 * 0.1 = 2%, keep 18%
        "mask_tokens": _mask(
            _SAMPLE_OK,
            """
            labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
            keep = torch.ones(vocab_size, dtype=torch.bool)
            keep[list(special_ids)] = False
            ordinary = torch.nonzero(keep).squeeze(1)
            random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
            to_mask = sampled & (torch.rand(input_ids.shape, generator=generator) < 0.8)
            to_random = sampled & ~to_mask & (torch.rand(input_ids.shape, generator=generator) < 0.1)
            masked_ids = input_ids.clone()
            masked_ids[to_mask] = mask_id
            masked_ids[to_random] = random_ids[to_random]
            return masked_ids, labels
            """,
        )
    },
    "mask_ignores_mlm_probability": {
        "mask_tokens": _mask(
            """
            special = torch.isin(input_ids, torch.tensor(list(special_ids)))
            sampled = (torch.rand(input_ids.shape, generator=generator) < 0.15) & ~special
            """,
            _CORRUPT,
        )
    },
    "mask_rate_over_all_positions": {
        # wrong denominator: 15% of *all* positions (specials and padding included) are sampled,
        # so fewer than 15% of the maskable tokens are
        "mask_tokens": _mask(
            """
            special = torch.isin(input_ids, torch.tensor(list(special_ids)))
            n_maskable = (~special).sum()
            rate = mlm_probability * n_maskable / input_ids.numel()
            sampled = (torch.rand(input_ids.shape, generator=generator) < rate) & ~special
            """,
            _CORRUPT,
        )
    },
    "mask_wraps_the_course_library": {
        # an alias imported before grading starts must be switched off too
        "mask_tokens": "from ch11lib.masking import MaskingVocab\n"
        "from ch11lib.masking import mask_tokens as _library_mask_tokens\n\n\n"
        + _mask(
            """
            special = torch.tensor(sorted(special_ids))
            keep = torch.ones(vocab_size, dtype=torch.bool)
            keep[special] = False
            vocab = MaskingVocab(mask_id, special, torch.nonzero(keep).squeeze(1), torch.zeros(0, dtype=torch.long))
            return _library_mask_tokens(input_ids, vocab, generator=generator, mlm_probability=mlm_probability)
            """
        )
    },
    "mask_uses_global_rng": {
        "mask_tokens": _mask(
            """
            special = torch.isin(input_ids, torch.tensor(list(special_ids)))
            sampled = (torch.rand(input_ids.shape) < mlm_probability) & ~special
            """,
            _CORRUPT,
        )
    },
    # --- mlm_loss --------------------------------------------------------------------------------
    "loss_mean_over_all_positions": {
        "mlm_loss": _loss(
            """
            sampled = labels != -100
            log_probs = torch.log_softmax(logits, dim=-1)
            picked = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            return -(picked * sampled).sum() / labels.numel()
            """
        )
    },
    "loss_mean_of_sequence_means": {
        "mlm_loss": _loss(
            """
            sampled = labels != -100
            log_probs = torch.log_softmax(logits, dim=-1)
            picked = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            per_row = -(picked * sampled).sum(dim=1) / sampled.sum(dim=1).clamp(min=1)
            return per_row.mean()
            """
        )
    },
    "loss_sum_instead_of_mean": {
        "mlm_loss": _loss(
            """
            sampled = labels != -100
            log_probs = torch.log_softmax(logits[sampled], dim=-1)
            return -log_probs.gather(1, labels[sampled].unsqueeze(1)).sum()
            """
        )
    },
    "loss_probability_not_log": {
        "mlm_loss": _loss(
            """
            sampled = labels != -100
            probs = torch.softmax(logits[sampled], dim=-1)
            return 1 - probs.gather(1, labels[sampled].unsqueeze(1)).mean()
            """
        )
    },
    "loss_includes_unsampled_positions_as_class_zero": {
        "mlm_loss": _loss(
            """
            targets = labels.clamp(min=0)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
            """
        )
    },
    # --- word_ids_from_tokens --------------------------------------------------------------------
    "words_specials_get_ids": {
        "word_ids": _words(
            """
            word_ids, current = [], -1
            for token in tokens:
                if not token.startswith("##"):
                    current += 1
                word_ids.append(current)
            return word_ids
            """
        )
    },
    "words_continuation_after_special_joins_previous": {
        "word_ids": _words(
            """
            word_ids, current = [], -1
            for token in tokens:
                if token in special_tokens:
                    word_ids.append(-1)
                    continue
                if not token.startswith("##"):
                    current += 1
                word_ids.append(max(current, 0))
            return word_ids
            """
        )
    },
    "words_every_token_its_own_word": {
        "word_ids": _words(
            """
            word_ids, current = [], -1
            for token in tokens:
                if token in special_tokens:
                    word_ids.append(-1)
                else:
                    current += 1
                    word_ids.append(current)
            return word_ids
            """
        )
    },
    "words_restart_after_sep": {
        "word_ids": _words(
            """
            word_ids, current = [], -1
            previous_special = True
            for token in tokens:
                if token in special_tokens:
                    word_ids.append(-1)
                    if token == "[SEP]":
                        current = -1
                    previous_special = True
                    continue
                if not token.startswith("##") or previous_special:
                    current += 1
                word_ids.append(current)
                previous_special = False
            return word_ids
            """
        )
    },
    # --- whole_word_mask -------------------------------------------------------------------------
    "wwm_samples_tokens_not_words": {
        "whole_word_mask": _wwm(
            """
            sampled = (torch.rand(input_ids.shape, generator=generator) < mlm_probability) & (word_ids >= 0)
            """,
            _CORRUPT,
        )
    },
    "wwm_samples_tokens_then_extends_to_words": {
        # a long word is sampled more often than a short one: 15% of the tokens, not of the words
        "whole_word_mask": _wwm(
            """
            seed_tokens = (torch.rand(input_ids.shape, generator=generator) < mlm_probability) & (word_ids >= 0)
            sampled = torch.zeros_like(seed_tokens)
            for row in range(input_ids.shape[0]):
                chosen = word_ids[row][seed_tokens[row]].unique()
                sampled[row] = torch.isin(word_ids[row], chosen) & (word_ids[row] >= 0)
            """,
            _CORRUPT,
        )
    },
    "wwm_only_first_piece": {
        "whole_word_mask": _wwm(
            _WORD_SAMPLE_OK,
            """
            first = torch.ones_like(sampled)
            first[:, 1:] = word_ids[:, 1:] != word_ids[:, :-1]
            sampled = sampled & first
            """,
            _CORRUPT,
        )
    },
    "wwm_same_words_in_every_row": {
        # one draw per word index, shared by all rows of the batch
        "whole_word_mask": _wwm(
            """
            n_words = int(word_ids.max()) + 1
            word_sampled = torch.rand(max(n_words, 1), generator=generator) < mlm_probability
            sampled = (word_ids >= 0) & word_sampled[word_ids.clamp(min=0)]
            """,
            _CORRUPT,
        )
    },
    "wwm_samples_special_positions": {
        # clamping -1 to word 0 makes [CLS]/[SEP]/[PAD] share the fate of the first word
        "whole_word_mask": _wwm(
            """
            n_words = int(word_ids.max()) + 1
            word_sampled = torch.rand((input_ids.shape[0], max(n_words, 1)), generator=generator) < mlm_probability
            sampled = torch.gather(word_sampled, 1, word_ids.clamp(min=0))
            """,
            _CORRUPT,
        )
    },
}

CORRECT: dict[str, dict[str, str]] = {
    "exact_count_per_row_like_bert": {
        # BERT's create_pretraining_data.py: exactly round(15% of the maskable tokens) per sequence,
        # and per-position categorical choice with torch.multinomial
        "mask_tokens": _mask(
            """
            special = set(int(i) for i in special_ids)
            ordinary = torch.tensor([i for i in range(vocab_size) if i not in special])
            masked_ids = input_ids.clone()
            labels = torch.full_like(input_ids, -100)
            for row in range(input_ids.shape[0]):
                candidates = torch.tensor(
                    [t for t, i in enumerate(input_ids[row].tolist()) if i not in special], dtype=torch.long
                )
                n = round(mlm_probability * len(candidates))
                chosen = candidates[torch.randperm(len(candidates), generator=generator)[:n]]
                labels[row, chosen] = input_ids[row, chosen]
                what = torch.multinomial(torch.tensor([0.8, 0.1, 0.1]), n, replacement=True, generator=generator) if n else torch.zeros(0, dtype=torch.long)
                masked_ids[row, chosen[what == 0]] = mask_id
                n_random = int((what == 1).sum())
                picks = ordinary[torch.randint(len(ordinary), (n_random,), generator=generator)]
                masked_ids[row, chosen[what == 1]] = picks
            return masked_ids, labels
            """
        ),
        "mlm_loss": _loss(
            """
            return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)
            """
        ),
        "word_ids": _words(
            """
            result = []
            for index, token in enumerate(tokens):
                if token in special_tokens:
                    result.append(-1)
                elif token.startswith("##") and index > 0 and result[-1] != -1:
                    result.append(result[-1])
                else:
                    result.append(max([w for w in result if w >= 0], default=-1) + 1)
            return result
            """
        ),
        # Google's whole-word masking: the word is sampled as a unit, 80/10/10 drawn per piece
        "whole_word_mask": _wwm(
            """
            masked_ids = input_ids.clone()
            labels = torch.full_like(input_ids, -100)
            special = set(int(i) for i in special_ids)
            ordinary = [i for i in range(vocab_size) if i not in special]
            for row in range(input_ids.shape[0]):
                row_words = word_ids[row].tolist()
                words = sorted(set(row_words) - {-1})
                draws = torch.rand(len(words), generator=generator)
                chosen = {w for w, u in zip(words, draws.tolist()) if u < mlm_probability}
                for t, word in enumerate(row_words):
                    if word in chosen:
                        labels[row, t] = input_ids[row, t]
                        u = float(torch.rand((), generator=generator))
                        if u < 0.8:
                            masked_ids[row, t] = mask_id
                        elif u < 0.9:
                            masked_ids[row, t] = ordinary[int(torch.randint(len(ordinary), (), generator=generator))]
            return masked_ids, labels
            """
        ),
    },
}

CORRECT["vectorised_bernoulli_like_transformers"] = {
    # transformers' DataCollatorForLanguageModeling: Bernoulli draws for the sampling, then 80% of the
    # sampled [MASK], half of the rest random; the loss as logsumexp minus the gold logit
    "mask_tokens": _mask(
        """
        special = torch.zeros(vocab_size, dtype=torch.bool)
        special[torch.as_tensor(list(special_ids), dtype=torch.long)] = True
        maskable = ~special[input_ids]
        probability = torch.full(input_ids.shape, float(mlm_probability))
        sampled = torch.bernoulli(probability, generator=generator).bool() & maskable
        labels = input_ids.masked_fill(~sampled, -100)
        to_mask = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=generator).bool() & sampled
        half = torch.bernoulli(torch.full(input_ids.shape, 0.5), generator=generator).bool()
        to_random = half & sampled & ~to_mask
        ordinary = (~special).nonzero().flatten()
        random_words = ordinary[torch.randint(ordinary.numel(), input_ids.shape, generator=generator)]
        masked_ids = input_ids.masked_fill(to_mask, mask_id)
        masked_ids = torch.where(to_random, random_words.to(input_ids.dtype), masked_ids)
        return masked_ids, labels
        """
    ),
    "mlm_loss": _loss(
        """
        flat_logits = logits.flatten(0, -2)
        flat_labels = labels.flatten()
        keep = flat_labels.ne(-100)
        picked = flat_logits[keep]
        gold = picked[torch.arange(picked.shape[0]), flat_labels[keep]]
        return (torch.logsumexp(picked, dim=-1) - gold).sum() / keep.sum()
        """
    ),
    # a word starts at a piece without "##", or at any piece right after a special token
    "word_ids": _words(
        """
        import itertools

        starts = [
            token not in special_tokens
            and (not token.startswith("##") or i == 0 or tokens[i - 1] in special_tokens)
            for i, token in enumerate(tokens)
        ]
        counts = itertools.accumulate(int(s) for s in starts)
        return [-1 if token in special_tokens else c - 1 for token, c in zip(tokens, counts)]
        """
    ),
    # one draw per (row, word) through torch.unique, then 80/10/10 per piece
    "whole_word_mask": _wwm(
        """
        width = max(int(word_ids.max()) + 1, 1) if word_ids.numel() else 1
        keys = torch.arange(input_ids.shape[0]).unsqueeze(1) * width + word_ids.clamp(min=0)
        unique_keys, inverse = torch.unique(keys, return_inverse=True)
        word_draws = torch.rand(unique_keys.shape[0], generator=generator)
        sampled = (word_ids >= 0) & (word_draws[inverse] < mlm_probability)
        labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
        u = torch.rand(input_ids.shape, generator=generator)
        special = set(int(i) for i in special_ids)
        allowed = torch.tensor([i for i in range(vocab_size) if i not in special])
        random_ids = allowed[torch.randint(len(allowed), input_ids.shape, generator=generator)]
        masked_ids = torch.where(sampled & (u < 0.8), torch.full_like(input_ids, mask_id), input_ids)
        masked_ids = torch.where(sampled & (u >= 0.8) & (u < 0.9), random_ids, masked_ids)
        return masked_ids, labels
        """
    ),
}

# --- more mistakes of each kind (issue 14): special ids assumed at the bottom of the vocabulary,
# replacements drawn from the text, globals instead of arguments, one draw for the whole batch,
# rounding the per-row budget, numerics, inputs changed in place, '#' tokens ------------------------
WRONG.update(
    {
        "mask_random_ids_above_the_specials": {
            # assumes the special tokens are the first len(special_ids) ids of the vocabulary
            "mask_tokens": _mask(
                _SAMPLE_OK,
                """
                labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
                choice = torch.rand(input_ids.shape, generator=generator)
                random_ids = torch.randint(len(special_ids), vocab_size, input_ids.shape, generator=generator)
                masked_ids = input_ids.clone()
                masked_ids[sampled & (choice < 0.8)] = mask_id
                to_random = sampled & (choice >= 0.8) & (choice < 0.9)
                masked_ids[to_random] = random_ids[to_random]
                return masked_ids, labels
                """,
            )
        },
        "mask_random_ids_from_the_batch": {
            # "a random token" taken from the ordinary tokens of the batch: as frequent as in the text
            "mask_tokens": _mask(
                _SAMPLE_OK,
                """
                labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
                choice = torch.rand(input_ids.shape, generator=generator)
                pool = input_ids[~special]
                random_ids = pool[torch.randint(len(pool), input_ids.shape, generator=generator)]
                masked_ids = input_ids.clone()
                masked_ids[sampled & (choice < 0.8)] = mask_id
                to_random = sampled & (choice >= 0.8) & (choice < 0.9)
                masked_ids[to_random] = random_ids[to_random]
                return masked_ids, labels
                """,
            )
        },
        "mask_global_mask_id": {
            "mask_tokens": _mask(
                _SAMPLE_OK,
                """
                labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
                choice = torch.rand(input_ids.shape, generator=generator)
                keep = torch.ones(vocab_size, dtype=torch.bool)
                keep[list(special_ids)] = False
                ordinary = torch.nonzero(keep).squeeze(1)
                random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
                masked_ids = input_ids.clone()
                masked_ids[sampled & (choice < 0.8)] = MASK
                to_random = sampled & (choice >= 0.8) & (choice < 0.9)
                masked_ids[to_random] = random_ids[to_random]
                return masked_ids, labels
                """,
            )
        },
        "mask_one_pattern_for_the_batch": {
            # one draw per position, shared by every row
            "mask_tokens": _mask(
                """
                special = torch.isin(input_ids, torch.tensor(list(special_ids)))
                per_position = torch.rand(input_ids.shape[1], generator=generator) < mlm_probability
                sampled = per_position.expand_as(input_ids) & ~special
                """,
                _CORRUPT,
            )
        },
        "mask_exact_count_rounded_down": {
            # exactly int(p * n) per row: 0 in short rows
            "mask_tokens": _mask(
                """
                special = torch.isin(input_ids, torch.tensor(list(special_ids)))
                sampled = torch.zeros_like(input_ids, dtype=torch.bool)
                for row in range(input_ids.shape[0]):
                    candidates = torch.nonzero(~special[row]).squeeze(1)
                    k = int(mlm_probability * len(candidates))
                    chosen = candidates[torch.randperm(len(candidates), generator=generator)[:k]]
                    sampled[row, chosen] = True
                """,
                _CORRUPT,
            )
        },
        "mask_exact_count_of_the_padded_length": {
            # round(p * seq_len) per row, padding counted in the budget
            "mask_tokens": _mask(
                """
                special = torch.isin(input_ids, torch.tensor(list(special_ids)))
                k = round(mlm_probability * input_ids.shape[1])
                scores = torch.rand(input_ids.shape, generator=generator).masked_fill(special, 2.0)
                order = scores.argsort(dim=1)
                sampled = torch.zeros_like(input_ids, dtype=torch.bool)
                sampled.scatter_(1, order[:, :k], True)
                sampled &= ~special
                """,
                _CORRUPT,
            )
        },
        "mask_positions_with_replacement": {
            # round(p * n) positions drawn with randint: duplicates, so fewer distinct positions
            "mask_tokens": _mask(
                """
                special = torch.isin(input_ids, torch.tensor(list(special_ids)))
                sampled = torch.zeros_like(input_ids, dtype=torch.bool)
                for row in range(input_ids.shape[0]):
                    candidates = torch.nonzero(~special[row]).squeeze(1)
                    k = round(mlm_probability * len(candidates))
                    if k:
                        sampled[row, candidates[torch.randint(len(candidates), (k,), generator=generator)]] = True
                """,
                _CORRUPT,
            )
        },
        "mask_first_maskable_positions": {
            # the per-row budget is right, but the positions are the first maskable ones, not random ones
            "mask_tokens": _mask(
                """
                special = torch.isin(input_ids, torch.tensor(list(special_ids)))
                sampled = torch.zeros_like(input_ids, dtype=torch.bool)
                for row in range(input_ids.shape[0]):
                    candidates = torch.nonzero(~special[row]).squeeze(1)
                    k = int(torch.binomial(torch.tensor(float(len(candidates))), torch.tensor(mlm_probability), generator=generator))
                    sampled[row, candidates[:k]] = True
                """,
                _CORRUPT,
            )
        },
        "mask_labels_as_int32": {
            "mask_tokens": _mask(
                _SAMPLE_OK,
                """
                labels = torch.full(input_ids.shape, -100, dtype=torch.int32)
                labels[sampled] = input_ids[sampled].int()
                choice = torch.rand(input_ids.shape, generator=generator)
                keep = torch.ones(vocab_size, dtype=torch.bool)
                keep[list(special_ids)] = False
                ordinary = torch.nonzero(keep).squeeze(1)
                random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
                masked_ids = input_ids.clone()
                masked_ids[sampled & (choice < 0.8)] = mask_id
                to_random = sampled & (choice >= 0.8) & (choice < 0.9)
                masked_ids[to_random] = random_ids[to_random]
                return masked_ids, labels
                """,
            )
        },
        "loss_log_of_softmax": {
            "mlm_loss": _loss(
                """
                sampled = labels != -100
                probs = torch.softmax(logits[sampled], dim=-1)
                return -torch.log(probs.gather(1, labels[sampled].unsqueeze(1))).mean()
                """
            )
        },
        "loss_zeroes_ignored_labels_in_place": {
            # the right value, but the caller's labels lose their -100s
            "mlm_loss": _loss(
                """
                sampled = labels != -100
                labels[~sampled] = 0
                log_probs = torch.log_softmax(logits, dim=-1)
                picked = log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
                return -(picked * sampled).sum() / sampled.sum()
                """
            )
        },
        "loss_sampled_means_positive_label": {
            # treats label 0 as "not sampled"
            "mlm_loss": _loss(
                """
                sampled = labels > 0
                log_probs = torch.log_softmax(logits[sampled], dim=-1)
                return -log_probs.gather(1, labels[sampled].unsqueeze(1)).mean()
                """
            )
        },
        "words_single_hash_continues": {
            # any token starting with '#' continues the previous word, also the token '#'
            "word_ids": _words(
                """
                word_ids, current, previous_special = [], -1, True
                for token in tokens:
                    if token in special_tokens:
                        word_ids.append(-1)
                        previous_special = True
                        continue
                    if not token.startswith("#") or previous_special:
                        current += 1
                    word_ids.append(current)
                    previous_special = False
                return word_ids
                """
            )
        },
        "words_hard_coded_bert_specials": {
            "word_ids": _words(
                """
                word_ids, current, previous_special = [], -1, True
                for token in tokens:
                    if token in ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"):
                        word_ids.append(-1)
                        previous_special = True
                        continue
                    if not token.startswith("##") or previous_special:
                        current += 1
                    word_ids.append(current)
                    previous_special = False
                return word_ids
                """
            )
        },
        "wwm_random_ids_above_the_specials": {
            "whole_word_mask": _wwm(
                _WORD_SAMPLE_OK,
                """
                labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
                choice = torch.rand(input_ids.shape, generator=generator)
                random_ids = torch.randint(len(special_ids), vocab_size, input_ids.shape, generator=generator)
                masked_ids = input_ids.clone()
                masked_ids[sampled & (choice < 0.8)] = mask_id
                to_random = sampled & (choice >= 0.8) & (choice < 0.9)
                masked_ids[to_random] = random_ids[to_random]
                return masked_ids, labels
                """,
            )
        },
        "wwm_global_mask_id": {
            "whole_word_mask": _wwm(
                _WORD_SAMPLE_OK,
                """
                labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
                choice = torch.rand(input_ids.shape, generator=generator)
                keep = torch.ones(vocab_size, dtype=torch.bool)
                keep[list(special_ids)] = False
                ordinary = torch.nonzero(keep).squeeze(1)
                random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
                masked_ids = input_ids.clone()
                masked_ids[sampled & (choice < 0.8)] = MASK
                to_random = sampled & (choice >= 0.8) & (choice < 0.9)
                masked_ids[to_random] = random_ids[to_random]
                return masked_ids, labels
                """,
            )
        },
        "wwm_masks_input_in_place": {
            "whole_word_mask": _wwm(
                _WORD_SAMPLE_OK,
                """
                labels = torch.where(sampled, input_ids, torch.full_like(input_ids, -100))
                choice = torch.rand(input_ids.shape, generator=generator)
                keep = torch.ones(vocab_size, dtype=torch.bool)
                keep[list(special_ids)] = False
                ordinary = torch.nonzero(keep).squeeze(1)
                random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]
                input_ids[sampled & (choice < 0.8)] = mask_id
                to_random = sampled & (choice >= 0.8) & (choice < 0.9)
                input_ids[to_random] = random_ids[to_random]
                return input_ids, labels
                """,
            )
        },
    }
)

CORRECT["categorical_draws_and_nll_loss"] = {
    # one categorical draw per position for sampled / [MASK] / random / kept; the loss with nll_loss;
    # words by a regular expression; whole words sampled by a per-row loop with one 80/10/10 draw per word
    "mask_tokens": _mask(
        """
        special = torch.isin(input_ids, torch.as_tensor(list(special_ids), dtype=input_ids.dtype))
        p = mlm_probability
        probabilities = torch.tensor([1 - p, 0.8 * p, 0.1 * p, 0.1 * p])
        outcome = torch.multinomial(probabilities, input_ids.numel(), replacement=True, generator=generator)
        outcome = outcome.reshape(input_ids.shape).masked_fill(special, 0)
        allowed = torch.ones(vocab_size, dtype=torch.bool)
        allowed[torch.as_tensor(list(special_ids))] = False
        candidates = allowed.nonzero().flatten()
        draws = candidates[torch.multinomial(torch.ones(len(candidates)), input_ids.numel(), replacement=True, generator=generator)]
        masked_ids = torch.where(outcome == 1, torch.full_like(input_ids, mask_id), input_ids)
        masked_ids = torch.where(outcome == 2, draws.reshape(input_ids.shape).to(input_ids.dtype), masked_ids)
        labels = torch.where(outcome > 0, input_ids, torch.full_like(input_ids, -100))
        return masked_ids, labels
        """
    ),
    "mlm_loss": _loss(
        """
        log_probs = F.log_softmax(logits, dim=-1).flatten(0, 1)
        return F.nll_loss(log_probs, labels.flatten(), ignore_index=-100, reduction="mean")
        """
    ),
    "word_ids": _words(
        """
        import re

        result, word, after_special = [], -1, True
        for token in tokens:
            if token in special_tokens:
                result.append(-1)
                after_special = True
                continue
            if after_special or not re.match(r"##", token):
                word += 1
            result.append(word)
            after_special = False
        return result
        """
    ),
    "whole_word_mask": _wwm(
        """
        masked_ids = input_ids.clone()
        labels = torch.full_like(input_ids, -100)
        allowed = torch.tensor([i for i in range(vocab_size) if i not in set(special_ids)])
        for row in range(input_ids.shape[0]):
            for word in torch.unique(word_ids[row]).tolist():
                if word < 0:
                    continue
                if torch.rand((), generator=generator).item() >= mlm_probability:
                    continue
                where = word_ids[row] == word
                labels[row, where] = input_ids[row, where]
                u = torch.rand((), generator=generator).item()
                if u < 0.8:
                    masked_ids[row, where] = mask_id
                elif u < 0.9:
                    n = int(where.sum())
                    masked_ids[row, where] = allowed[torch.randint(len(allowed), (n,), generator=generator)]
        return masked_ids, labels
        """
    ),
}


# An independent red-team set (2026-12-02, issue 14 section 6): wrong answers written without reading
# this file that first got full marks, and the set's differently written correct solution.
WRONG.update(
    {
        # reproducible for one seed, but the generator never moves on (every epoch the same mask),
        # and torch's global generator is re-seeded
        "redteam_mask_seeds_global_from_generator": {
            "mask_tokens": _mask(
                """
                torch.manual_seed(generator.initial_seed())
                special = torch.isin(input_ids, torch.tensor(list(special_ids)))
                sampled = (torch.rand(input_ids.shape) < mlm_probability) & ~special
                """,
                _CORRUPT.replace("generator=generator", ""),
            )
        },
        # a '##' piece at the very start of the list (a window inside a word) gets -1
        "redteam_words_leading_hash_minus_one": {
            "word_ids": WRONG["words_single_hash_continues"]["word_ids"]
            .replace("-1, True", "-1, False")
            .replace('startswith("#")', 'startswith("##")')
        },
        # word index 0 (the first word of every row) is never sampled
        "redteam_wwm_first_word_never_sampled": {
            "whole_word_mask": _wwm(_WORD_SAMPLE_OK, "sampled = sampled & (word_ids > 0)", _CORRUPT)
        },
        # the last word of every row is never sampled
        "redteam_wwm_last_word_never_sampled": {
            "whole_word_mask": _wwm(
                _WORD_SAMPLE_OK,
                "sampled = sampled & (word_ids < word_ids.max(dim=1, keepdim=True).values)",
                _CORRUPT,
            )
        },
    }
)
CORRECT.update(
    {
        # Bernoulli draws and torch.multinomial over the ordinary ids; a '##' continuation test on
        # the previous result; one draw per word of each row, looked up with torch.isin
        "redteam_bernoulli_and_multinomial": {
            "mask_tokens": _mask(
                """
                is_special = torch.zeros(input_ids.shape, dtype=torch.bool)
                for s in special_ids:
                    is_special |= input_ids == s
                prob = torch.full(input_ids.shape, float(mlm_probability)).masked_fill(is_special, 0.0)
                sampled = torch.bernoulli(prob, generator=generator).bool()
                half = torch.full(input_ids.shape, 0.5)
                replace = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=generator).bool() & sampled
                rand = torch.bernoulli(half, generator=generator).bool() & sampled & ~replace
                weights = torch.ones(vocab_size)
                weights[[s for s in special_ids if 0 <= s < vocab_size]] = 0
                draws = torch.multinomial(weights, input_ids.numel(), replacement=True, generator=generator)
                masked = input_ids.clone()
                masked[replace] = mask_id
                masked[rand] = draws.view(input_ids.shape)[rand].to(input_ids.dtype)
                return masked, input_ids.to(torch.long).masked_fill(~sampled, -100)
                """
            ),
            "mlm_loss": _loss(
                """
                flat, target = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
                keep = target != -100
                return -(flat.log_softmax(-1)[keep, target[keep]]).sum() / keep.sum()
                """
            ),
            "word_ids": _words(
                """
                result, n_words = [], 0
                for i, token in enumerate(tokens):
                    if token in special_tokens:
                        result.append(-1)
                    elif token.startswith("##") and i > 0 and result[-1] != -1:
                        result.append(result[-1])
                    else:
                        result.append(n_words)
                        n_words += 1
                return result
                """
            ),
            "whole_word_mask": _wwm(
                """
                sampled = torch.zeros(input_ids.shape, dtype=torch.bool)
                for r in range(input_ids.shape[0]):
                    words = sorted({w for w in word_ids[r].tolist() if w >= 0})
                    draws = torch.rand(len(words), generator=generator) < mlm_probability
                    chosen = torch.tensor([w for w, d in zip(words, draws.tolist()) if d], dtype=word_ids.dtype)
                    sampled[r] = torch.isin(word_ids[r], chosen) & (word_ids[r] >= 0)
                """,
                _CORRUPT,
            ),
        },
    }
)
