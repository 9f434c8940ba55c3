"""Word-similarity benchmarks, SimLex-999 and WordSim-353, read from gensim's wheel (chapter 08,
``08_anisotropy``).

``resources.load_dataset("simlex999")`` / ``("wordsim353")`` return ``(word1, word2, human score)``
triples, the same offline and online (the files ship in gensim's test data).
"""

from __future__ import annotations

import importlib.resources

from ch11lib.errors import MissingResourceError

WORD_SIMILARITY_FILES = {"simlex999": "simlex999.txt", "wordsim353": "wordsim353.tsv"}


def load_word_similarity(name: str) -> list[tuple[str, str, float]]:
    """(word1, word2, human score) triples of a benchmark, read from gensim's test data files."""
    if name not in WORD_SIMILARITY_FILES:
        raise KeyError(f"unknown benchmark {name!r}; known: {sorted(WORD_SIMILARITY_FILES)}")
    try:
        folder = importlib.resources.files("gensim") / "test" / "test_data"
    except ModuleNotFoundError as error:
        raise MissingResourceError(
            "SimLex-999 and WordSim-353 come from gensim's test data. Run:  pip install gensim"
        ) from error
    rows = []
    for line in (folder / WORD_SIMILARITY_FILES[name]).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        first, second, score = line.split("\t")[:3]
        rows.append((first.lower(), second.lower(), float(score)))
    return rows
