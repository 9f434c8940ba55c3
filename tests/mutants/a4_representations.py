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
        cosine = target @ v / (np.linalg.norm(target) * np.linalg.norm(v))
        if cosine > best_cosine:
            best, best_cosine = sense, cosine
    if best is None:
        raise ValueError("no candidate")
    return best
"""


def _disambiguate(score: str) -> str:
    return _SENSES_OK + _DISAMBIGUATE_OK.replace(
        "cosine = target @ v / (np.linalg.norm(target) * np.linalg.norm(v))", f"cosine = {score}"
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
    matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    t = np.asarray(target, dtype=float)
    return usable[int(np.argmax(matrix @ (t / np.linalg.norm(t))))]
""",
        "average_random_cosine": """
def average_random_cosine(vectors, pairs):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
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

CORRECT["plain_python_torch_and_sklearn"] = {
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
    return float(np.sum(dots / norms) / len(index))
""",
    "zscore_functions": """
from sklearn.preprocessing import StandardScaler


def fit_standardizer(sample):
    scaler = StandardScaler().fit(np.asarray(sample, dtype=float))
    return scaler.mean_, scaler.scale_


def standardize(vectors, mean, sd):
    return (np.asarray(vectors, dtype=float) - mean) * (1.0 / sd)
""",
}
