"""The held-out documents of the dictd sources, shipped with the course so that pages need no dictd.

The course BERT is pretrained on WordNet and three dictd databases from Debian (the Jargon File,
FOLDOC, the Devil's Dictionary; see :mod:`ch11lib.data.corpus`). The pages that measure it (chapters 02-05)
read only the **held-out** documents of those databases, about 400 documents and 25,000 words, so the
course ships exactly those in ``ch11lib/assets/corpus/heldout_dictd.jsonl.gz`` and the dictd packages
are needed only to retrain the model (``scripts/pretrain_course_bert.py``). WordNet's held-out
documents come from WordNet itself, which every page needs anyway.

:func:`write_heldout_dictd` rebuilds the file from the installed dictd databases
(``python -m ch11lib.data.heldout_text``); ``tests/test_heldout_text.py`` checks that it matches them.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

from ch11lib.data.corpus import Document, build_corpus, split_corpus
from ch11lib.errors import MissingResourceError

DICTD_SOURCES: tuple[str, ...] = ("jargon", "foldoc", "devil")
HELDOUT_PATH = Path(__file__).resolve().parents[1] / "assets" / "corpus" / "heldout_dictd.jsonl.gz"


def heldout_dictd_documents(sources: Sequence[str] = DICTD_SOURCES) -> list[Document]:
    """The held-out documents of the dictd ``sources``, in corpus order, from the shipped file."""
    unknown = sorted(set(sources) - set(DICTD_SOURCES))
    if isinstance(sources, str) or unknown:
        raise ValueError(f"sources must be a list of {DICTD_SOURCES}, got {sources!r}")
    if not HELDOUT_PATH.is_file():
        raise MissingResourceError(
            f"{HELDOUT_PATH} is missing: restore it from the course (git checkout -- "
            "ch11lib/assets/corpus) or rebuild it with  python -m ch11lib.data.heldout_text"
        )
    documents = []
    for line in gzip.decompress(HELDOUT_PATH.read_bytes()).decode("utf-8").splitlines():
        row = json.loads(line)
        if row["source"] in sources:
            documents.append(Document(row["source"], row["title"], tuple(row["sentences"])))
    return documents


def heldout_dictd_from_databases() -> list[Document]:
    """The same documents computed from the installed dictd databases (needs the Debian packages)."""
    _, heldout = split_corpus(build_corpus(DICTD_SOURCES))
    return heldout


def write_heldout_dictd(path: Path = HELDOUT_PATH) -> int:
    """Rebuild the shipped file from the dictd databases; returns the number of documents."""
    documents = heldout_dictd_from_databases()
    lines = [
        json.dumps({"source": d.source, "title": d.title, "sentences": list(d.sentences)},
                   ensure_ascii=False)
        for d in documents
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same documents give the same bytes
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    return len(documents)


if __name__ == "__main__":
    print(f"{write_heldout_dictd()} held-out documents written to {HELDOUT_PATH}")
