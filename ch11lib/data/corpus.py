"""The course's pretraining corpus: real English documents that install offline from Debian.

Pages ``02_masked_language_modelling`` to ``05_spanbert`` (the course BERT's corpus, page
``04_pretraining_a_bert``).

BERT was pretrained on 3.3 billion words (BooksCorpus + English Wikipedia). Neither installs offline, so
the course's own small BERT learns from what the Debian archive ships with a licence that allows it:

============  ===================================================  ==============================
source        what it is                                           licence (Debian package)
============  ===================================================  ==============================
``wordnet``   WordNet 3.0 glosses and example sentences, one       WordNet 3.0 licence, permissive
              document per group of sibling synsets (the            (``wordnet-base``)
              hyponyms of one hypernym), so documents are topical
``jargon``    The Jargon File 4.4.7: essays on hacker slang         public domain (``dict-jargon``)
``foldoc``    Free On-line Dictionary of Computing (entries that    GNU FDL 1.1+ (``dict-foldoc``)
              merely copy the Jargon File are left out)
``devil``     Ambrose Bierce, *The Devil's Dictionary* (1911)       public domain (``dict-devil``)
============  ===================================================  ==============================

A :class:`Document` is a list of sentences (NSP needs sentence boundaries inside documents). The build
is deterministic (sorted sources, no randomness) and so is the held-out split: a document is held out
when the CRC32 of its source and title falls in the first ``heldout_percent`` of 100 buckets, so
it never depends on the order or the number of documents. Install the sources with
``apt-get install --no-install-recommends dictd dict-jargon dict-foldoc dict-devil wordnet-base``.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ch11lib.data.splits import hash_split
from ch11lib.errors import MissingResourceError

DICTD_DIR = Path("/usr/share/dictd")
DEFAULT_SOURCES: tuple[str, ...] = ("wordnet", "jargon", "foldoc", "devil")


@dataclass(frozen=True)
class SourceInfo:
    """Where one source comes from and under which licence."""

    name: str
    title: str
    licence: str
    debian_package: str


SOURCES: dict[str, SourceInfo] = {
    "wordnet": SourceInfo(
        "wordnet", "WordNet 3.0 glosses and examples", "WordNet 3.0 licence", "wordnet-base"
    ),
    "jargon": SourceInfo("jargon", "The Jargon File 4.4.7", "public domain", "dict-jargon"),
    "foldoc": SourceInfo(
        "foldoc", "Free On-line Dictionary of Computing", "GNU FDL 1.1 or later", "dict-foldoc"
    ),
    "devil": SourceInfo(
        "devil", "Ambrose Bierce, The Devil's Dictionary (1911)", "public domain", "dict-devil"
    ),
    # Everyday English for continued pretraining (ch11lib.data.everyday_text); not in DEFAULT_SOURCES.
    "chatterbot": SourceInfo(
        "chatterbot", "ChatterBot English dialogues", "BSD-3-Clause", "chatterbot-corpus (PyPI)"
    ),
    "web-bible": SourceInfo(
        "web-bible", "World English Bible (2015)", "public domain", "sword-text-web"
    ),
    "fortunes": SourceInfo("fortunes", "fortune(6) cookie files", "BSD", "fortunes"),
}


@dataclass(frozen=True)
class Document:
    """One document of the corpus: where it came from, a title, and its sentences in order."""

    source: str
    title: str
    sentences: tuple[str, ...]

    @property
    def n_words(self) -> int:
        return sum(len(sentence.split()) for sentence in self.sentences)


# --------------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|Mr|Mrs|Dr|St|No|Fig|esp|approx|U\.S)\.$")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences at ``. ! ?`` followed by a capital (a small regex splitter).

    Common abbreviations (``e.g.``, ``i.e.``, ``etc.``, ``Mr.``...) and list numbers (``2.``) do not
    end a sentence.
    """
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].strip()
        if _ABBREVIATION.search(candidate) or re.search(r"(?:^|\s)\(?\d{1,2}\.$", candidate):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]


# --------------------------------------------------------------------------------------------------
# dictd databases (Jargon File, FOLDOC, Devil's Dictionary)
# --------------------------------------------------------------------------------------------------

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _decode_dictd_number(text: str) -> int:
    value = 0
    for character in text:
        value = value * 64 + _B64.index(character)
    return value


def read_dictd(name: str, directory: Path = DICTD_DIR) -> list[tuple[str, str]]:
    """The ``(headword, entry text)`` pairs of dictd database ``name``, in file order."""
    index_path, data_path = directory / f"{name}.index", directory / f"{name}.dict.dz"
    if not index_path.is_file() or not data_path.is_file():
        package = SOURCES[name].debian_package if name in SOURCES else f"dict-{name}"
        raise MissingResourceError(
            f"the dictd database {name!r} is not installed ({data_path} missing). Install it with:\n"
            f"  sudo apt-get install --no-install-recommends dictd {package}"
        )
    data = gzip.decompress(data_path.read_bytes())
    entries: dict[int, tuple[str, str]] = {}
    for line in index_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if (
            len(parts) < 3
            or parts[0].startswith("00-database")
            or parts[0].startswith("00database")
        ):
            continue
        offset, length = _decode_dictd_number(parts[1]), _decode_dictd_number(parts[2])
        # Several headwords may point at one entry; keep the entry once.
        if offset not in entries:
            entries[offset] = (parts[0], data[offset : offset + length].decode("utf-8", "replace"))
    return [entries[offset] for offset in sorted(entries)]


def _clean_markup(text: str) -> str:
    text = text.replace("{", "").replace("}", "")
    text = re.sub(r"^\s*\(\d{4}-\d{2}-\d{2}\)\s*$", "", text, flags=re.MULTILINE)  # FOLDOC dates
    text = re.sub(r"^\s*\[[^\]]*\]\s*$", "", text, flags=re.MULTILINE)  # "[Jargon File]" lines
    text = re.sub(r"<[a-z ,/.-]+>\s*", "", text)  # FOLDOC subject tags such as <jargon>
    return text


def _dictd_documents(name: str) -> list[Document]:
    documents = []
    for headword, entry in read_dictd(name):
        if name == "foldoc" and "[{Jargon File}]" in entry:
            continue  # the same text is in the Jargon File source
        if name == "devil":
            match = re.match(r"^\s*([A-Z][A-Z' -]*[A-Z]),\s*[a-z. ]+\.\s+", entry)
            title = match.group(1).title() if match else headword
            body = entry[match.end() :] if match else entry
        else:
            lines = entry.split("\n")
            # The entry opens with the headword (and, in the Jargon File, a pronunciation line)
            # followed by a blank line; the body comes after it.
            blank = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
            title = lines[0].strip() or headword
            body = "\n".join(lines[blank:])
        sentences = split_sentences(_clean_markup(body))
        if sentences:
            sentences[0] = f"{title}: {sentences[0]}"
            documents.append(Document(name, title, tuple(sentences)))
    return documents


# --------------------------------------------------------------------------------------------------
# WordNet
# --------------------------------------------------------------------------------------------------


def _capitalise(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _definition_sentence(synset) -> str:
    lemma = synset.lemmas()[0].name().replace("_", " ")
    gloss = synset.definition()
    pos = synset.pos()
    if pos == "n":
        article = "An" if lemma[:1].lower() in "aeiou" else "A"
        return _capitalise(f"{article} {lemma} is {gloss}")
    if pos == "v":
        return _capitalise(f"To {lemma} is to {gloss}")
    return _capitalise(f"{lemma} means {gloss}")


def _wordnet_documents() -> list[Document]:
    from ch11lib.data.wordnet import load_wordnet

    wordnet = load_wordnet()
    groups: dict[str, list] = defaultdict(list)
    for synset in wordnet.all_synsets():
        hypernyms = synset.hypernyms() + synset.instance_hypernyms()
        if hypernyms:
            key = "hyponyms of " + min(h.name() for h in hypernyms)
        else:
            # Adjectives, adverbs and root synsets: runs of neighbours in their lexicographer file.
            key = f"{synset.lexname()} {synset.offset() // 20000:04d}"
        groups[key].append(synset)
    documents = []
    for key in sorted(groups):
        sentences: list[str] = []
        for synset in sorted(groups[key], key=lambda s: s.offset()):
            sentences.append(_definition_sentence(synset))
            sentences.extend(_capitalise(example) for example in synset.examples())
        documents.append(Document("wordnet", key, tuple(sentences)))
    return documents


# --------------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------------


def load_source(name: str) -> list[Document]:
    """All documents of one source (see :data:`SOURCES`)."""
    if name not in SOURCES:
        raise ValueError(f"unknown corpus source {name!r}; known: {', '.join(SOURCES)}")
    if name == "wordnet":
        return _wordnet_documents()
    if name in ("chatterbot", "web-bible", "fortunes"):
        from ch11lib.data import everyday_text

        return getattr(everyday_text, name.replace("-", "_") + "_documents")()
    return _dictd_documents(name)


def build_corpus(sources: Sequence[str] = DEFAULT_SOURCES) -> list[Document]:
    """The documents of ``sources``, in a fixed order, with exact duplicates removed."""
    if isinstance(sources, str) or len(sources) == 0:
        raise ValueError(f"sources must be a non-empty list of source names, got {sources!r}")
    seen: set[tuple[str, ...]] = set()
    documents = []
    for name in sources:
        for document in load_source(name):
            if document.sentences not in seen:
                seen.add(document.sentences)
                documents.append(document)
    return documents


def is_heldout(document: Document, heldout_percent: int = 3) -> bool:
    """Whether ``document`` belongs to the held-out split (a hash of source and title, no RNG).

    The hash is CRC-32 because the course BERT was trained on the split it gives.
    """
    key = f"{document.source}/{document.title}"
    shares = [("heldout", heldout_percent), ("train", 100 - heldout_percent)]
    return hash_split(key, shares, 100, "crc32") == "heldout"


def split_corpus(
    documents: Iterable[Document], heldout_percent: int = 3
) -> tuple[list[Document], list[Document]]:
    """``(train, heldout)``: about ``heldout_percent``% of the documents are held out, by hash."""
    if not 0 <= heldout_percent <= 100:
        raise ValueError(f"heldout_percent must be in [0, 100], got {heldout_percent}")
    train, heldout = [], []
    for document in documents:
        (heldout if is_heldout(document, heldout_percent) else train).append(document)
    return train, heldout


def corpus_statistics(documents: Iterable[Document]) -> dict[str, dict[str, int]]:
    """Documents, sentences and words (whitespace-separated) per source, plus a ``"total"`` row."""
    stats: dict[str, dict[str, int]] = {}
    for document in documents:
        for key in (document.source, "total"):
            row = stats.setdefault(key, {"documents": 0, "sentences": 0, "words": 0})
            row["documents"] += 1
            row["sentences"] += len(document.sentences)
            row["words"] += document.n_words
    return stats


def source_table_rows(statistics: dict[str, dict[str, int]], names: Iterable[str]) -> str:
    """Markdown rows ``| source | title | licence | package | documents | words |`` for model cards."""
    return "\n".join(
        f"| {name} | {SOURCES[name].title} | {SOURCES[name].licence} | `{SOURCES[name].debian_package}` "
        f"| {statistics[name]['documents']:,} | {statistics[name]['words']:,} |"
        for name in names
        if name in statistics
    )
