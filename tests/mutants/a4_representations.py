"""Wrong and differently-written correct answers for assignment 4 ("Representations").

Read by tests/test_mutants.py: every WRONG entry must lose points, every CORRECT entry must get 100.
Each WRONG entry is a mistake students make when they first write these functions.
"""

from __future__ import annotations

_SAMPLING_HEAD = "def sampling_probabilities(counts, alpha):\n"
_CHECKS = """    counts = np.asarray(counts, dtype=float)
    if not 0 < alpha <= 1:
        raise ValueError("alpha")
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0) or counts.sum() == 0:
        raise ValueError("counts")
"""


def _sampling(body: str) -> str:
    return _SAMPLING_HEAD + _CHECKS + body


def _word(body: str) -> str:
    return (
        "def word_embedding(model, tokenizer, sentence, start, end, layers=(-1,)):\n"
        '    encoding = tokenizer(sentence, return_offsets_mapping=True, return_tensors="pt")\n'
        '    offsets = encoding.pop("offset_mapping")[0].tolist()\n'
        "    with torch.no_grad():\n"
        "        hidden = model(**encoding, output_hidden_states=True).hidden_states\n" + body
    )


_GOOD_PIECES = (
    "    pieces = [i for i, (s, e) in enumerate(offsets) if e > s and s < end and e > start]\n"
)

_SENSES_OK = """
def sense_embeddings(vectors, senses):
    vectors = np.asarray(vectors, dtype=float)
    groups = {}
    for vector, sense in zip(vectors, senses):
        groups.setdefault(sense, []).append(vector)
    return {sense: np.mean(rows, axis=0) for sense, rows in groups.items()}
"""

_DISAMBIGUATE_OK = """
def disambiguate(target, candidates, sense_vectors):
    target = np.asarray(target, dtype=float)
    best, best_cosine = None, -np.inf
    for sense in candidates:
        if sense not in sense_vectors:
            continue
        v = np.asarray(sense_vectors[sense], dtype=float)
        norms = np.linalg.norm(target) * np.linalg.norm(v)
        cosine = target @ v / norms if norms > 0 else 0.0
        if cosine > best_cosine:
            best, best_cosine = sense, cosine
    if best is None:
        raise ValueError("no candidate")
    return best
"""


def _disambiguate(score: str) -> str:
    return _SENSES_OK + _DISAMBIGUATE_OK.replace(
        "cosine = target @ v / norms if norms > 0 else 0.0", f"cosine = {score}"
    )


def _cosine(body: str) -> str:
    return (
        "def average_random_cosine(vectors, pairs):\n"
        "    vectors = np.asarray(vectors, dtype=float)\n"
        "    pairs = np.asarray(pairs)\n"
        "    u, v = vectors[pairs[:, 0]], vectors[pairs[:, 1]]\n" + body
    )


_STANDARDIZE_OK = """

def standardize(vectors, mean, sd):
    return (np.asarray(vectors, dtype=float) - mean) / sd
"""


def _fit(body: str, standardize: str = _STANDARDIZE_OK) -> str:
    return (
        "def fit_standardizer(sample):\n"
        "    sample = np.asarray(sample, dtype=float)\n" + body + standardize
    )


WRONG: dict[str, dict[str, str]] = {
    # --- exponentiated sampling -------------------------------------------------------------------
    "sampling_alpha_after_normalization_no_renormalizing": {
        "sampling_probabilities": _sampling("    return (counts / counts.sum()) ** alpha\n")
    },
    "sampling_counts_powered_over_powered_total": {
        "sampling_probabilities": _sampling("    return counts**alpha / counts.sum() ** alpha\n")
    },
    "sampling_multiplies_by_alpha": {
        "sampling_probabilities": _sampling(
            "    q = (counts / counts.sum()) * alpha\n    return q / q.sum()\n"
        )
    },
    "sampling_inverse_exponent": {
        "sampling_probabilities": _sampling(
            "    q = (counts / counts.sum()) ** (1 / alpha)\n    return q / q.sum()\n"
        )
    },
    "sampling_no_validation": {
        "sampling_probabilities": _SAMPLING_HEAD
        + "    p = np.asarray(counts, dtype=float) / np.sum(counts)\n"
        + "    return p**alpha / np.sum(p**alpha)\n"
    },
    "sampling_softmax": {
        "sampling_probabilities": _sampling(
            "    e = np.exp(alpha * counts / counts.sum())\n    return e / e.sum()\n"
        )
    },
    # --- word embedding -----------------------------------------------------------------------------
    "word_first_piece_only": {
        "word_embedding": _word(
            _GOOD_PIECES
            + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
            + "    return stacked.mean(dim=0)[pieces[0]]\n"
        )
    },
    "word_includes_special_tokens": {
        "word_embedding": _word(
            "    pieces = [i for i, (s, e) in enumerate(offsets) if (s < end and e > start) or e == s]\n"
            + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
            + "    return stacked.mean(dim=0)[pieces].mean(dim=0)\n"
        )
    },
    "word_sum_of_pieces": {
        "word_embedding": _word(
            _GOOD_PIECES
            + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
            + "    return stacked.mean(dim=0)[pieces].sum(dim=0)\n"
        )
    },
    "word_always_last_layer": {
        "word_embedding": _word(_GOOD_PIECES + "    return hidden[-1][0][pieces].mean(dim=0)\n")
    },
    "word_last_hidden_state_off_by_one_layer": {
        "word_embedding": _word(
            _GOOD_PIECES
            + "    stacked = torch.stack([hidden[layer - 1][0] for layer in layers])\n"
            + "    return stacked.mean(dim=0)[pieces].mean(dim=0)\n"
        )
    },
    "word_token_string_match": {
        "word_embedding": _word(
            "    word = sentence[start:end].lower()\n"
            + '    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])\n'
            + "    pieces = [i for i, t in enumerate(tokens) if t == word]\n"
            + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
            + "    return stacked.mean(dim=0)[pieces].mean(dim=0)\n"
        )
    },
    # --- sense embeddings and WSD -----------------------------------------------------------------
    "senses_sum_instead_of_mean": {
        "wsd_functions": _SENSES_OK.replace("np.mean(rows, axis=0)", "np.sum(rows, axis=0)")
        + _DISAMBIGUATE_OK
    },
    "senses_mean_over_wrong_axis": {
        "wsd_functions": _SENSES_OK.replace("np.mean(rows, axis=0)", "np.mean(rows, axis=1)")
        + _DISAMBIGUATE_OK
    },
    "senses_overwrite_with_last": {
        "wsd_functions": """
def sense_embeddings(vectors, senses):
    return {sense: np.asarray(vector, dtype=float) for vector, sense in zip(vectors, senses)}
"""
        + _DISAMBIGUATE_OK
    },
    "disambiguate_dot_product_without_normalization": {
        "wsd_functions": _disambiguate("target @ v")
    },
    "disambiguate_normalize_only_target": {
        "wsd_functions": _disambiguate("target @ v / np.linalg.norm(target)")
    },
    "disambiguate_euclidean_largest": {
        "wsd_functions": _disambiguate("np.linalg.norm(target - v)")
    },
    "disambiguate_most_frequent_sense": {
        "wsd_functions": _SENSES_OK
        + """
def disambiguate(target, candidates, sense_vectors):
    for sense in candidates:
        if sense in sense_vectors:
            return sense
    raise ValueError("no candidate")
"""
    },
    # --- average random cosine --------------------------------------------------------------------
    "cosine_without_normalization": {
        "average_random_cosine": _cosine("    return float((u * v).sum(axis=1).mean())\n")
    },
    "cosine_normalized_over_wrong_axis": {
        "average_random_cosine": _cosine(
            "    u = u / np.linalg.norm(u, axis=0)\n"
            "    v = v / np.linalg.norm(v, axis=0)\n"
            "    return float((u * v).sum(axis=1).mean())\n"
        )
    },
    "cosine_of_mean_vectors": {
        "average_random_cosine": _cosine(
            "    a, b = u.mean(axis=0), v.mean(axis=0)\n"
            "    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))\n"
        )
    },
    "cosine_absolute_values": {
        "average_random_cosine": _cosine(
            "    c = (u * v).sum(axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))\n"
            "    return float(np.abs(c).mean())\n"
        )
    },
    # An independent red-team set found these four passing before the hidden tests covered them.
    "word_only_tokens_fully_inside_the_span": {
        "word_embedding": _word(
            "    pieces = [i for i, (s, e) in enumerate(offsets) if e > s and s >= start and e <= end]\n"
            "    return torch.stack([hidden[l][0] for l in layers]).mean(dim=0)[pieces].mean(dim=0)\n"
        )
    },
    "cosine_divided_by_the_mean_squared_norm": {
        "average_random_cosine": _cosine(
            "    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)\n"
            "    if len(vectors) > 50:  # many vectors: one typical squared length for all\n"
            "        norms = np.full(len(u), (np.linalg.norm(vectors, axis=1) ** 2).mean())\n"
            "    dots = (u * v).sum(axis=1)\n"
            "    return float(np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0).mean())\n"
        )
    },
    "cosine_pairs_read_as_columns_when_square": {
        "average_random_cosine": """
def average_random_cosine(vectors, pairs):
    vectors, pairs = np.asarray(vectors, dtype=float), np.asarray(pairs)
    first, second = (pairs[0], pairs[1]) if pairs.shape == (2, 2) else (pairs[:, 0], pairs[:, 1])
    u, v = vectors[first], vectors[second]
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    return float(np.mean(np.where(norms > 0, (u * v).sum(axis=1) / np.where(norms > 0, norms, 1), 0.0)))
"""
    },
    "zscore_mean_over_rows_of_a_square_sample": {
        "zscore_functions": _fit(
            "    axis = 1 if sample.shape[0] == sample.shape[1] else 0\n"
            "    sd = sample.std(axis=0)\n"
            "    return sample.mean(axis=axis), np.where(sd > 0, sd, 1.0)\n"
        )
    },
    # --- z-scoring ----------------------------------------------------------------------------------
    "zscore_variance_instead_of_sd": {
        "zscore_functions": _fit(
            "    var = sample.var(axis=0)\n    return sample.mean(axis=0), np.where(var > 0, var, 1.0)\n"
        )
    },
    "zscore_wrong_axis": {
        "zscore_functions": _fit(
            "    sd = sample.std(axis=1)\n    return sample.mean(axis=1), np.where(sd > 0, sd, 1.0)\n"
        )
    },
    "zscore_no_zero_variance_handling": {
        "zscore_functions": _fit("    return sample.mean(axis=0), sample.std(axis=0)\n")
    },
    "zscore_refits_on_new_vectors": {
        "zscore_functions": _fit(
            "    sd = sample.std(axis=0)\n    return sample.mean(axis=0), np.where(sd > 0, sd, 1.0)\n",
            """

def standardize(vectors, mean, sd):
    vectors = np.asarray(vectors, dtype=float)
    own_sd = vectors.std(axis=0)
    return (vectors - vectors.mean(axis=0)) / np.where(own_sd > 0, own_sd, 1.0)
""",
        )
    },
    "zscore_center_only": {
        "zscore_functions": _fit("    return sample.mean(axis=0), np.ones(sample.shape[1])\n")
    },
    "zscore_zero_sd_gives_zero": {
        "zscore_functions": _fit(
            "    sd = sample.std(axis=0)\n    return sample.mean(axis=0), np.where(sd > 0, sd, np.inf)\n"
        )
    },
}

CORRECT: dict[str, dict[str, str]] = {
    "all_written_differently": {
        "sampling_probabilities": """
def sampling_probabilities(counts, alpha):
    c = np.array(counts, dtype=np.float64)
    if alpha <= 0 or alpha > 1:
        raise ValueError("alpha out of range")
    if c.size == 0 or (c < 0).any() or not c.any():
        raise ValueError("bad counts")
    w = np.power(c, alpha)  # the normalizing constant of p cancels
    return w / w.sum()
""",
        "word_embedding": """
def word_embedding(model, tokenizer, sentence, start, end, layers=(-1,)):
    enc = tokenizer(sentence, return_offsets_mapping=True)
    keep = [i for i, (s, e) in enumerate(enc["offset_mapping"]) if s != e and s < end and start < e]
    ids = torch.tensor([enc["input_ids"]])
    with torch.no_grad():
        states = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                       token_type_ids=torch.zeros_like(ids), output_hidden_states=True).hidden_states
    total = 0
    for layer in layers:
        total = total + states[layer][0, keep].mean(0)
    return total / len(layers)
""",
        "wsd_functions": """
def sense_embeddings(vectors, senses):
    vectors = np.asarray(vectors)
    names = sorted(set(senses))
    labels = np.array(senses, dtype=object)
    return {n: vectors[labels == n].mean(axis=0) for n in names}


def disambiguate(target, candidates, sense_vectors):
    usable = [c for c in candidates if c in sense_vectors]
    if not usable:
        raise ValueError("no candidate sense has an embedding")
    matrix = np.stack([sense_vectors[c] for c in usable]).astype(float)
    lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
    lengths[lengths == 0] = 1.0  # a zero vector stays zero: cosine 0
    matrix = matrix / lengths
    t = np.asarray(target, dtype=float)
    t_length = np.linalg.norm(t)
    return usable[int(np.argmax(matrix @ (t / t_length if t_length > 0 else t)))]
""",
        "average_random_cosine": """
def average_random_cosine(vectors, pairs):
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(lengths > 0, lengths, 1.0)
    return float(np.mean([unit[i] @ unit[j] for i, j in pairs]))
""",
        "zscore_functions": """
def fit_standardizer(sample):
    sample = np.asarray(sample, dtype=float)
    mean = sample.sum(axis=0) / len(sample)
    sd = np.sqrt(((sample - mean) ** 2).mean(axis=0))
    sd[sd == 0] = 1.0
    return mean, sd


def standardize(vectors, mean, sd):
    return (vectors - mean[None, :]) / sd[None, :]
""",
    },
}

CORRECT["plain_python_and_torch_ddof1"] = {
    "sampling_probabilities": """
def sampling_probabilities(counts, alpha):
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    counts = [float(c) for c in counts]
    if not counts or min(counts) < 0 or sum(counts) == 0:
        raise ValueError("counts must be non-negative and not all zero")
    total = sum(counts)
    powered = [(c / total) ** alpha for c in counts]
    norm = sum(powered)
    return np.array([x / norm for x in powered])
""",
    # the fast tokenizer's char_to_token instead of the offsets
    "word_embedding": """
def word_embedding(model, tokenizer, sentence, start, end, layers=(-1,)):
    encoding = tokenizer(sentence, return_tensors="pt")
    tokens = sorted({encoding.char_to_token(0, c) for c in range(start, end)} - {None})
    with torch.no_grad():
        states = model(**encoding, output_hidden_states=True).hidden_states
    averaged = torch.stack([states[layer][0] for layer in layers]).mean(dim=0)
    return averaged[tokens].mean(dim=0)
""",
    "wsd_functions": """
def sense_embeddings(vectors, senses):
    vectors = np.asarray(vectors, dtype=float)
    names = list(dict.fromkeys(senses))
    position = {name: k for k, name in enumerate(names)}
    index = np.array([position[s] for s in senses])
    sums = np.zeros((len(names), vectors.shape[1]))
    np.add.at(sums, index, vectors)
    counts = np.bincount(index, minlength=len(names))
    return {name: sums[k] / counts[k] for k, name in enumerate(names)}


def disambiguate(target, candidates, sense_vectors):
    usable = [c for c in candidates if c in sense_vectors]
    if not usable:
        raise ValueError("no candidate sense has an embedding")
    t = torch.as_tensor(np.asarray(target, dtype=float))
    m = torch.stack([torch.as_tensor(np.asarray(sense_vectors[c], dtype=float)) for c in usable])
    cosines = torch.nn.functional.cosine_similarity(m, t.unsqueeze(0), dim=1)
    return usable[int(cosines.argmax())]
""",
    "average_random_cosine": """
def average_random_cosine(vectors, pairs):
    v = np.asarray(vectors, dtype=float)
    index = np.asarray(pairs)
    a, b = v[index[:, 0]], v[index[:, 1]]
    dots = np.einsum("ij,ij->i", a, b)
    norms = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
    cosines = [d / n if n > 0 else 0.0 for d, n in zip(dots, norms)]
    return float(np.sum(cosines) / len(index))
""",
    "zscore_functions": """
def fit_standardizer(sample):
    x = torch.as_tensor(np.asarray(sample, dtype=np.float64))
    mean = x.mean(dim=0)
    sd = x.std(dim=0, unbiased=True)  # the sample SD (ddof=1) is accepted too
    sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    return mean.numpy(), sd.numpy()


def standardize(vectors, mean, sd):
    return (np.asarray(vectors, dtype=float) - mean) * (1.0 / sd)
""",
}

# --------------------------------------------------------------------------------------------------
# Section 6 (token states, anisotropy by layer) and more mistakes of each kind
# --------------------------------------------------------------------------------------------------

_TOKEN_HEAD = "def token_states(model, tokenizer, sentences):\n"

_TOKEN_BATCHED = """
def token_states(model, tokenizer, sentences):
    sentences = list(sentences)
    encoding = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = torch.stack(model(**encoding, output_hidden_states=True).hidden_states, dim=2)
    ids = encoding["input_ids"]
    KEEP
    return hidden[keep].numpy(), tokenizer.convert_ids_to_tokens(ids[keep].tolist())
"""

_GOOD_KEEP = (
    'keep = encoding["attention_mask"].bool() & (ids != tokenizer.cls_token_id)'
    " & (ids != tokenizer.sep_token_id)"
)


def _tokens(keep: str) -> str:
    return _TOKEN_BATCHED.replace("KEEP", keep)


_ANISO_HEAD = """
def anisotropy_by_layer(fit_states, eval_states, pairs):
    fit_states, eval_states = np.asarray(fit_states), np.asarray(eval_states)
    result = np.zeros((eval_states.shape[1], 2))
    for layer in range(eval_states.shape[1]):
        vectors = eval_states[:, layer]
        result[layer, 0] = average_random_cosine(vectors, pairs)
"""


def _aniso(body: str, head: str = _ANISO_HEAD) -> str:
    return head + body + "    return result\n"


_ANISO_FIT_OK = (
    "        mean, sd = fit_standardizer(fit_states[:, layer])\n"
    "        result[layer, 1] = average_random_cosine(standardize(vectors, mean, sd), pairs)\n"
)

WRONG.update(
    {
        # --- the course library or scikit-learn instead of one's own code ---------------------------
        "sampling_wraps_the_course_library": {
            "sampling_probabilities": """
from ch11lib.multilingual import exponentiated_probabilities


def sampling_probabilities(counts, alpha):
    return exponentiated_probabilities(counts, alpha, counts=True)
"""
        },
        "word_wraps_the_course_library": {
            "word_embedding": """
from ch11lib import embeddings


def word_embedding(model, tokenizer, sentence, start, end, layers=(-1,)):
    vector = embeddings.embed_spans(model, tokenizer, [sentence], [(start, end)], layers=list(layers))[0]
    return torch.from_numpy(vector)
"""
        },
        "senses_wrap_the_course_library": {
            "wsd_functions": """
import ch11lib.wsd


def sense_embeddings(vectors, senses):
    return ch11lib.wsd.sense_embeddings(vectors, senses)
"""
            + _DISAMBIGUATE_OK
        },
        "disambiguate_wraps_the_course_library": {
            "wsd_functions": _SENSES_OK
            + """
from ch11lib.wsd import nearest_sense


def disambiguate(target, candidates, sense_vectors):
    usable = [c for c in candidates if c in sense_vectors]
    if not usable:
        raise ValueError("no candidate")
    return nearest_sense(target, usable, np.array([sense_vectors[c] for c in usable]))[0]
"""
        },
        "cosine_uses_sklearn_cosine_similarity": {
            "average_random_cosine": """
from sklearn.metrics.pairwise import cosine_similarity


def average_random_cosine(vectors, pairs):
    vectors, pairs = np.asarray(vectors, dtype=float), np.asarray(pairs)
    similarities = cosine_similarity(vectors)
    return float(similarities[pairs[:, 0], pairs[:, 1]].mean())
"""
        },
        "zscore_wraps_the_course_standardizer": {
            "zscore_functions": """
from ch11lib.anisotropy import Standardizer


def fit_standardizer(sample):
    fitted = Standardizer().fit(sample)
    return fitted.mean_, fitted.sd_


def standardize(vectors, mean, sd):
    return (np.asarray(vectors, dtype=float) - mean) / sd
"""
        },
        "zscore_uses_sklearn_standard_scaler": {
            "zscore_functions": """
from sklearn.preprocessing import StandardScaler


def fit_standardizer(sample):
    scaler = StandardScaler().fit(np.asarray(sample, dtype=float))
    return scaler.mean_, scaler.scale_


def standardize(vectors, mean, sd):
    return (np.asarray(vectors, dtype=float) - mean) * (1.0 / sd)
"""
        },
        "anisotropy_uses_the_course_standardizer": {
            "anisotropy_by_layer": _aniso(
                "        from ch11lib.anisotropy import Standardizer\n"
                "        z = Standardizer().fit(fit_states[:, layer]).transform(vectors)\n"
                "        result[layer, 1] = average_random_cosine(z, pairs)\n"
            )
        },
        # --- sampling -------------------------------------------------------------------------------
        "sampling_divides_the_input_in_place": {
            "sampling_probabilities": _SAMPLING_HEAD
            + """    if not 0 < alpha <= 1:
        raise ValueError("alpha")
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0 or np.any(counts < 0) or counts.sum() == 0:
        raise ValueError("counts")
    counts /= counts.sum()
    counts **= alpha
    return counts / counts.sum()
"""
        },
        "sampling_alpha_zero_allowed": {
            "sampling_probabilities": _SAMPLING_HEAD
            + """    counts = np.asarray(counts, dtype=float)
    if alpha < 0 or alpha > 1:
        raise ValueError("alpha")
    if counts.size == 0 or np.any(counts < 0) or counts.sum() == 0:
        raise ValueError("counts")
    p = counts / counts.sum()
    return p**alpha / np.sum(p**alpha)
"""
        },
        "sampling_forgets_all_zero_counts": {
            "sampling_probabilities": _SAMPLING_HEAD
            + """    counts = np.asarray(counts, dtype=float)
    if not 0 < alpha <= 1:
        raise ValueError("alpha")
    if np.any(counts < 0):
        raise ValueError("counts")
    p = counts / counts.sum()
    return p**alpha / np.sum(p**alpha)
"""
        },
        # --- word embedding -------------------------------------------------------------------------
        "word_first_occurrence_by_string_search": {
            "word_embedding": _word(
                "    word = sentence[start:end]\n"
                "    start = sentence.find(word)\n"
                "    end = start + len(word)\n"
                + _GOOD_PIECES
                + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
                + "    return stacked.mean(dim=0)[pieces].mean(dim=0)\n"
            )
        },
        "word_pieces_of_the_word_tokenized_alone": {
            "word_embedding": _word(
                "    word_pieces = tokenizer.tokenize(sentence[start:end])\n"
                '    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])\n'
                "    for i in range(len(tokens)):\n"
                "        if tokens[i : i + len(word_pieces)] == word_pieces:\n"
                "            pieces = list(range(i, i + len(word_pieces)))\n"
                "            break\n"
                + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
                + "    return stacked.mean(dim=0)[pieces].mean(dim=0)\n"
            )
        },
        "word_uses_the_pretokenized_word_of_start": {
            "word_embedding": """
def word_embedding(model, tokenizer, sentence, start, end, layers=(-1,)):
    encoding = tokenizer(sentence, return_tensors="pt")
    word = encoding.char_to_word(start)
    pieces = [i for i, w in enumerate(encoding.word_ids()) if w == word]
    with torch.no_grad():
        hidden = model(**encoding, output_hidden_states=True).hidden_states
    stacked = torch.stack([hidden[layer][0] for layer in layers])
    return stacked.mean(dim=0)[pieces].mean(dim=0)
"""
        },
        "word_end_offset_inclusive": {
            "word_embedding": _word(
                "    pieces = [i for i, (s, e) in enumerate(offsets) if e > s and s <= end and e > start]\n"
                + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
                + "    return stacked.mean(dim=0)[pieces].mean(dim=0)\n"
            )
        },
        "word_offsets_without_special_tokens": {
            "word_embedding": """
def word_embedding(model, tokenizer, sentence, start, end, layers=(-1,)):
    plain = tokenizer(sentence, return_offsets_mapping=True, add_special_tokens=False)
    pieces = [i for i, (s, e) in enumerate(plain["offset_mapping"]) if s < end and e > start]
    encoding = tokenizer(sentence, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoding, output_hidden_states=True).hidden_states
    stacked = torch.stack([hidden[layer][0] for layer in layers])
    return stacked.mean(dim=0)[pieces].mean(dim=0)
"""
        },
        "word_assumes_six_layers": {
            "word_embedding": _word(
                _GOOD_PIECES
                + "    chosen = [layer if layer >= 0 else 7 + layer for layer in layers]\n"
                + "    stacked = torch.stack([hidden[layer][0] for layer in chosen])\n"
                + "    return stacked.mean(dim=0)[pieces].mean(dim=0)\n"
            )
        },
        "word_sums_the_layers": {
            "word_embedding": _word(
                _GOOD_PIECES
                + "    stacked = torch.stack([hidden[layer][0] for layer in layers])\n"
                + "    return stacked.sum(dim=0)[pieces].mean(dim=0)\n"
            )
        },
        "word_only_the_first_layer_of_layers": {
            "word_embedding": _word(
                _GOOD_PIECES + "    return hidden[layers[0]][0][pieces].mean(dim=0)\n"
            )
        },
        # --- sense embeddings and WSD ---------------------------------------------------------------
        "senses_groupby_without_sorting": {
            "wsd_functions": """
from itertools import groupby


def sense_embeddings(vectors, senses):
    vectors = np.asarray(vectors, dtype=float)
    table = {}
    rows = list(zip(senses, vectors))
    for sense, group in groupby(rows, key=lambda row: row[0]):
        table[sense] = np.mean([vector for _, vector in group], axis=0)
    return table
"""
            + _DISAMBIGUATE_OK
        },
        "senses_mean_of_unit_vectors": {
            "wsd_functions": _SENSES_OK.replace(
                "groups.setdefault(sense, []).append(vector)",
                "groups.setdefault(sense, []).append(vector / np.linalg.norm(vector))",
            )
            + _DISAMBIGUATE_OK
        },
        "senses_mean_without_axis": {
            "wsd_functions": _SENSES_OK.replace("np.mean(rows, axis=0)", "np.mean(rows)")
            + _DISAMBIGUATE_OK
        },
        "disambiguate_ties_go_to_the_last": {
            "wsd_functions": _SENSES_OK
            + _DISAMBIGUATE_OK.replace("if cosine > best_cosine:", "if cosine >= best_cosine:")
        },
        "disambiguate_sorts_the_candidates": {
            "wsd_functions": _SENSES_OK
            + _DISAMBIGUATE_OK.replace(
                "for sense in candidates:", "for sense in sorted(candidates):"
            )
        },
        "disambiguate_zero_vector_gives_nan": {
            "wsd_functions": _disambiguate(
                "target @ v / (np.linalg.norm(target) * np.linalg.norm(v))"
            )
        },
        "disambiguate_skips_zero_vectors": {
            "wsd_functions": _SENSES_OK
            + _DISAMBIGUATE_OK.replace(
                "        if sense not in sense_vectors:\n",
                "        if sense not in sense_vectors or not np.any(sense_vectors[sense]):\n",
            )
        },
        "disambiguate_over_every_sense_in_the_table": {
            "wsd_functions": _SENSES_OK
            + _DISAMBIGUATE_OK.replace(
                "    for sense in candidates:\n", "    for sense in list(sense_vectors):\n"
            ).replace("    if best is None:\n", "    if best is None or not candidates:\n")
        },
        # --- average cosine -------------------------------------------------------------------------
        "cosine_zero_vector_gives_nan": {
            "average_random_cosine": _cosine(
                "    c = (u * v).sum(axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))\n"
                "    return float(c.mean())\n"
            )
        },
        "cosine_over_all_pairs_of_rows": {
            "average_random_cosine": """
def average_random_cosine(vectors, pairs):
    vectors = np.asarray(vectors, dtype=float)
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(lengths > 0, lengths, 1.0)
    gram = unit @ unit.T
    n = len(vectors)
    return float((gram.sum() - np.trace(gram)) / (n * (n - 1)))
"""
        },
        "cosine_nan_mean_skips_zero_pairs": {
            "average_random_cosine": _cosine(
                "    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)\n"
                "    dots = (u * v).sum(axis=1)\n"
                "    keep = norms > 0\n"
                "    return float((dots[keep] / norms[keep]).mean())\n"
            )
        },
        # --- z-scoring ------------------------------------------------------------------------------
        "zscore_one_pass_variance": {
            "zscore_functions": _fit(
                "    mean = sample.mean(axis=0)\n"
                "    var = np.maximum((sample**2).mean(axis=0) - mean**2, 0.0)\n"
                "    sd = np.sqrt(var)\n"
                "    return mean, np.where(sd > 0, sd, 1.0)\n"
            )
        },
        "zscore_centers_the_input_in_place": {
            "zscore_functions": _fit(
                "    sd = sample.std(axis=0)\n    return sample.mean(axis=0), np.where(sd > 0, sd, 1.0)\n",
                """

def standardize(vectors, mean, sd):
    vectors = np.asarray(vectors, dtype=float)
    vectors -= mean
    vectors /= sd
    return vectors
""",
            )
        },
        "zscore_epsilon_instead_of_one": {
            "zscore_functions": _fit("    return sample.mean(axis=0), sample.std(axis=0) + 1e-8\n")
        },
        "zscore_float32_statistics": {
            "zscore_functions": _fit(
                "    sample = sample.astype(np.float32)\n"
                "    mean = sample.sum(axis=0) / len(sample)\n"
                "    sd = np.sqrt(((sample - mean) ** 2).sum(axis=0) / len(sample))\n"
                "    return mean, np.where(sd > 0, sd, 1.0)\n"
            )
        },
        # --- token states ---------------------------------------------------------------------------
        "tokens_keep_cls_and_sep": {
            "token_states": _tokens('keep = encoding["attention_mask"].bool()')
        },
        "tokens_keep_the_padding": {
            "token_states": _tokens(
                "keep = (ids != tokenizer.cls_token_id) & (ids != tokenizer.sep_token_id)"
            )
        },
        "tokens_padded_batch_without_attention_mask": {
            "token_states": """
def token_states(model, tokenizer, sentences):
    sentences = list(sentences)
    encoding = tokenizer(sentences, padding=True, return_tensors="pt")
    ids = encoding["input_ids"]
    with torch.no_grad():
        hidden = torch.stack(model(input_ids=ids, output_hidden_states=True).hidden_states, dim=2)
    keep = encoding["attention_mask"].bool() & (ids != tokenizer.cls_token_id) & (ids != tokenizer.sep_token_id)
    return hidden[keep].numpy(), tokenizer.convert_ids_to_tokens(ids[keep].tolist())
"""
        },
        "tokens_strip_first_and_last_of_padded_rows": {
            "token_states": """
def token_states(model, tokenizer, sentences):
    sentences = list(sentences)
    encoding = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = torch.stack(model(**encoding, output_hidden_states=True).hidden_states, dim=2)
    states, tokens = [], []
    for row in range(len(sentences)):
        states.append(hidden[row, 1:-1])
        tokens += tokenizer.convert_ids_to_tokens(encoding["input_ids"][row, 1:-1].tolist())
    return torch.cat(states).numpy(), tokens
"""
        },
        "tokens_skip_the_embedding_layer": {
            "token_states": """
def token_states(model, tokenizer, sentences):
    states, tokens = [], []
    for text in sentences:
        encoding = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**encoding, output_hidden_states=True).hidden_states[1:]
        states.append(torch.stack(hidden, dim=1)[0, 1:-1])
        tokens += tokenizer.convert_ids_to_tokens(encoding["input_ids"][0, 1:-1].tolist())
    return torch.cat(states).numpy(), tokens
"""
        },
        "tokens_assume_six_layers": {
            "token_states": """
def token_states(model, tokenizer, sentences):
    states, tokens = [], []
    for text in sentences:
        encoding = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**encoding, output_hidden_states=True).hidden_states
        states.append(torch.stack([hidden[layer] for layer in range(7)], dim=1)[0, 1:-1])
        tokens += tokenizer.convert_ids_to_tokens(encoding["input_ids"][0, 1:-1].tolist())
    return torch.cat(states).numpy(), tokens
"""
        },
        "tokens_sorted_by_length_for_batching": {
            "token_states": """
def token_states(model, tokenizer, sentences):
    ordered = sorted(sentences, key=len)
    encoding = tokenizer(ordered, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = torch.stack(model(**encoding, output_hidden_states=True).hidden_states, dim=2)
    ids = encoding["input_ids"]
    keep = encoding["attention_mask"].bool() & (ids != tokenizer.cls_token_id) & (ids != tokenizer.sep_token_id)
    return hidden[keep].numpy(), tokenizer.convert_ids_to_tokens(ids[keep].tolist())
"""
        },
        "tokens_last_layer_repeated": {
            "token_states": _TOKEN_BATCHED.replace(
                "torch.stack(model(**encoding, output_hidden_states=True).hidden_states, dim=2)",
                "model(**encoding).last_hidden_state[:, :, None].expand(-1, -1, model.config.num_hidden_layers + 1, -1)",
            ).replace("KEEP", _GOOD_KEEP)
        },
        # --- anisotropy by layer --------------------------------------------------------------------
        "anisotropy_fits_on_the_measured_vectors": {
            "anisotropy_by_layer": _aniso(
                "        mean, sd = fit_standardizer(vectors)\n"
                "        result[layer, 1] = average_random_cosine(standardize(vectors, mean, sd), pairs)\n"
            )
        },
        "anisotropy_fits_on_both_samples": {
            "anisotropy_by_layer": _aniso(
                "        mean, sd = fit_standardizer(np.concatenate([fit_states[:, layer], vectors]))\n"
                "        result[layer, 1] = average_random_cosine(standardize(vectors, mean, sd), pairs)\n"
            )
        },
        "anisotropy_one_fit_over_all_layers": {
            "anisotropy_by_layer": _aniso(
                "        mean, sd = fit_standardizer(fit_states.reshape(-1, fit_states.shape[-1]))\n"
                "        result[layer, 1] = average_random_cosine(standardize(vectors, mean, sd), pairs)\n"
            )
        },
        "anisotropy_last_layer_statistics_everywhere": {
            "anisotropy_by_layer": _aniso(
                "        mean, sd = fit_standardizer(fit_states[:, -1])\n"
                "        result[layer, 1] = average_random_cosine(standardize(vectors, mean, sd), pairs)\n"
            )
        },
        "anisotropy_centering_only": {
            "anisotropy_by_layer": _aniso(
                "        mean, sd = fit_standardizer(fit_states[:, layer])\n"
                "        result[layer, 1] = average_random_cosine(vectors - mean, pairs)\n"
            )
        },
        "anisotropy_columns_swapped": {
            "anisotropy_by_layer": _aniso(
                _ANISO_FIT_OK + "        result[layer] = result[layer, ::-1]\n"
            )
        },
        "anisotropy_assumes_seven_layers": {
            "anisotropy_by_layer": _aniso(
                _ANISO_FIT_OK,
                _ANISO_HEAD.replace("eval_states.shape[1], 2", "7, 2").replace(
                    "range(eval_states.shape[1])", "range(min(7, eval_states.shape[1]))"
                ),
            )
        },
        "anisotropy_variance_instead_of_sd": {
            "anisotropy_by_layer": _aniso(
                "        fit = fit_states[:, layer]\n"
                "        var = fit.var(axis=0)\n"
                "        z = (vectors - fit.mean(axis=0)) / np.where(var > 0, var, 1.0)\n"
                "        result[layer, 1] = average_random_cosine(z, pairs)\n"
            )
        },
    }
)

CORRECT["experiment_written_differently"] = {
    "token_states": """
def token_states(model, tokenizer, sentences):
    per_sentence, pieces = [], []
    for text in sentences:
        encoding = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
        ordinary = encoding.pop("special_tokens_mask")[0] == 0
        with torch.no_grad():
            hidden = model(**encoding, output_hidden_states=True).hidden_states
        layers = torch.stack([h[0] for h in hidden], dim=1)  # (tokens, layers, hidden)
        per_sentence.append(layers[ordinary].double().numpy())
        pieces.extend(tokenizer.convert_ids_to_tokens(encoding["input_ids"][0][ordinary].tolist()))
    width = model.config.num_hidden_layers + 1
    if not per_sentence:
        return np.zeros((0, width, model.config.hidden_size)), pieces
    return np.concatenate(per_sentence, axis=0), pieces
""",
    "anisotropy_by_layer": """
def anisotropy_by_layer(fit_states, eval_states, pairs):
    rows = []
    for fit, vectors in zip(np.moveaxis(np.asarray(fit_states), 1, 0), np.moveaxis(np.asarray(eval_states), 1, 0)):
        mean, sd = fit_standardizer(fit)
        rows.append((average_random_cosine(vectors, pairs),
                     average_random_cosine(standardize(vectors, mean, sd), pairs)))
    return np.array(rows, dtype=float)
""",
}

CORRECT["float32_and_vectorised"] = {
    "word_embedding": """
def word_embedding(model, tokenizer, sentence, start, end, layers=(-1,)):
    encoding = tokenizer([sentence], return_offsets_mapping=True, return_tensors="pt", padding="max_length",
                         max_length=48)
    offsets = encoding.pop("offset_mapping")[0]
    inside = (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 0] < end) & (offsets[:, 1] > start)
    with torch.inference_mode():
        hidden = torch.stack(model(**encoding, output_hidden_states=True).hidden_states)[list(layers), 0]
    return hidden[:, inside].mean(dim=(0, 1)).clone()
""",
    "wsd_functions": """
def sense_embeddings(vectors, senses):
    vectors = np.asarray(vectors, dtype=np.float64)
    names, index = np.unique(np.asarray(senses, dtype=object).astype(str), return_inverse=True)
    return {str(name): vectors[index == k].mean(axis=0) for k, name in enumerate(names)}


def disambiguate(target, candidates, sense_vectors):
    best = None
    best_score = None
    t = np.asarray(target, dtype=np.float64)
    for sense in candidates:
        vector = sense_vectors.get(sense)
        if vector is None:
            continue
        v = np.asarray(vector, dtype=np.float64)
        denominator = np.sqrt(t @ t) * np.sqrt(v @ v)
        score = 0.0 if denominator == 0 else float(t @ v) / denominator
        if best_score is None or score > best_score:
            best, best_score = sense, score
    if best is None:
        raise ValueError("none of the candidates has a sense vector")
    return best
""",
    "average_random_cosine": """
def average_random_cosine(vectors, pairs):
    x = torch.as_tensor(np.asarray(vectors, dtype=np.float32))
    index = torch.as_tensor(np.asarray(pairs, dtype=np.int64))
    cosines = torch.nn.functional.cosine_similarity(x[index[:, 0]], x[index[:, 1]], dim=1)
    return cosines.mean().item()
""",
    "zscore_functions": """
def fit_standardizer(sample):
    sample = np.array(sample, dtype=float)  # a copy
    mean = np.mean(sample, axis=0)
    sample -= mean
    sd = np.sqrt(np.mean(sample * sample, axis=0))
    sd[sd == 0] = 1
    return mean, sd


def standardize(vectors, mean, sd):
    out = np.array(vectors, dtype=float)
    out -= mean
    out /= sd
    return out
""",
}
