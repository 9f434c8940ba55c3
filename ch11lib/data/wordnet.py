"""WordNet 3.0 through NLTK, offline.

Pages ``02_masked_language_modelling``, ``05_spanbert``, ``07_contextual_embeddings_wsd`` and every
WordNet-derived data set.

The course needs WordNet for word sense disambiguation, for the supersense classification task and as
a source of real English sentences. Two offline sources are accepted, tried in this order:

1. NLTK's own data (``nltk.download('wordnet')``), wherever ``nltk.data.path`` finds it;
2. Debian's ``wordnet-base`` + ``wordnet-sense-index`` packages (``/usr/share/wordnet``). They lack the
   ``lexnames`` file NLTK's reader needs, so we arrange an NLTK data directory under a cache folder
   (plain copies, about 30 MB: nltk 3.10 refuses symbolic links that leave the root and hard links), write ``lexnames`` (45 fixed lines from the WordNet documentation, lexnames(5WN))
   and register the folder on ``nltk.data.path`` (nltk >= 3.9 refuses corpus roots outside it).

If neither exists, :func:`load_wordnet` raises :class:`MissingResourceError` naming the command to run.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from ch11lib.cache import atomic_write, cache_dir
from ch11lib.errors import MissingResourceError

if TYPE_CHECKING:
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")

# lexnames(5WN): file number, lexicographer file name, syntactic category (1 n, 2 v, 3 adj, 4 adv).
LEXNAMES: tuple[str, ...] = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)  # fmt: skip
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

# The files NLTK's WordNetCorpusReader opens; index.sense and cntlist.rev serve lemma keys and counts.
_REQUIRED_FILES = (
    "data.noun", "data.verb", "data.adj", "data.adv",
    "index.noun", "index.verb", "index.adj", "index.adv",
    "noun.exc", "verb.exc", "adj.exc", "adv.exc", "index.sense",
)  # fmt: skip
_OPTIONAL_FILES = ("cntlist.rev", "cntlist", "sents.vrb", "sentidx.vrb", "frames.vrb")

INSTALL_HINT = (
    "WordNet 3.0 was not found. Install it with one of:\n"
    "  sudo apt-get install wordnet-base wordnet-sense-index   # Debian/Ubuntu, works offline\n"
    "  python -c \"import nltk; nltk.download('wordnet')\"        # needs internet"
)


def lexnames_text() -> str:
    """The contents of WordNet's ``lexnames`` file: ``NN<TAB>name<TAB>category`` per line."""
    lines = [
        f"{number:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}"
        for number, name in enumerate(LEXNAMES)
    ]
    return "\n".join(lines) + "\n"


def arrange_debian_wordnet(
    source: Path = DEBIAN_WORDNET_DIR, nltk_data: Path | None = None
) -> Path:
    """Make an NLTK data directory (``<nltk_data>/corpora/wordnet``) from Debian's WordNet files.

    Returns the NLTK data directory (the folder to put on ``nltk.data.path``).
    """
    missing = [name for name in _REQUIRED_FILES if not (source / name).is_file()]
    if missing:
        raise MissingResourceError(f"{source} lacks {', '.join(missing)}.\n{INSTALL_HINT}")
    nltk_data = nltk_data or cache_dir() / "nltk_data"
    corpus = nltk_data / "corpora" / "wordnet"
    corpus.mkdir(parents=True, exist_ok=True)
    for name in _REQUIRED_FILES + _OPTIONAL_FILES:
        original, copy = source / name, corpus / name
        if original.is_file() and not copy.exists():
            atomic_write(copy, original.read_bytes())
    lexnames = corpus / "lexnames"
    if not lexnames.exists() or lexnames.read_text() != lexnames_text():
        atomic_write(lexnames, lexnames_text().encode())
    return nltk_data


def _nltk_has_wordnet() -> bool:
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
        return True
    except LookupError:
        pass
    try:
        nltk.data.find("corpora/wordnet.zip")
        return True
    except LookupError:
        return False


@functools.cache
def load_wordnet() -> WordNetCorpusReader:
    """Return NLTK's WordNet reader, loaded from NLTK data or from Debian's packages.

    Raises:
        MissingResourceError: neither source is installed; the message says what to run.
    """
    import nltk

    if not _nltk_has_wordnet():
        if not DEBIAN_WORDNET_DIR.is_dir():
            raise MissingResourceError(INSTALL_HINT)
        nltk_data = str(arrange_debian_wordnet())
        if nltk_data not in nltk.data.path:
            nltk.data.path.append(nltk_data)
    from nltk.corpus import wordnet

    wordnet.ensure_loaded()
    if not wordnet.synsets("dog"):
        raise MissingResourceError(f"WordNet loaded but is empty.\n{INSTALL_HINT}")
    return wordnet
