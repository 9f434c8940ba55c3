"""Everyday English text for continued pretraining: a utility shown on no page (training only).

The course corpus (:mod:`ch11lib.data.corpus`) is dictionary glosses and computing jargon. These sources
add ordinary English, each from a package that ships it with a licence that allows it:

==============  ================================================  =================================
source          what it is                                        licence (package)
==============  ================================================  =================================
``chatterbot``  ChatterBot's English conversation corpus (YAML):  BSD-3-Clause (PyPI
                short question/answer dialogues on everyday        ``chatterbot-corpus``, already a
                topics                                             course dependency)
``web-bible``   The World English Bible (2015), a modern-English  public domain (Debian
                translation: narrative about families, animals,    ``sword-text-web``)
                food, places
``fortunes``    The fortune(6) cookie files: quotations, jokes,    BSD (Debian ``fortunes``; the
                proverbs, short anecdotes                          files as collected by fortune-mod)
==============  ================================================  =================================

:func:`documents` returns :class:`ch11lib.data.corpus.Document` lists, so they join the course corpus.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from ch11lib.data.corpus import Document, split_sentences
from ch11lib.errors import MissingResourceError

SWORD_WEB_DIR = Path("/usr/share/sword/modules/texts/ztext/engWEB2015eb")
FORTUNES_DIR = Path("/usr/share/games/fortunes")
# Fortune files that are not prose (pictures, program output) or not everyday English.
FORTUNE_SKIP = {"ascii-art", "art", "debian", "linux", "computers", "knghtbrd", "zippy"}


def _require(path: Path, install: str) -> None:
    if not path.exists():
        raise MissingResourceError(f"{path} is missing. Install it with:  {install}")


def chatterbot_documents() -> list[Document]:
    """One document per conversation of ChatterBot's English corpus (questions and answers)."""
    import chatterbot_corpus
    import yaml

    directory = Path(chatterbot_corpus.__file__).parent / "data" / "english"
    documents = []
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for number, conversation in enumerate(data.get("conversations") or []):
            sentences = [
                s for turn in conversation if isinstance(turn, str) for s in split_sentences(turn)
            ]
            if sentences:
                documents.append(Document("chatterbot", f"{path.stem} {number}", tuple(sentences)))
    return documents


def _sword_blocks(directory: Path, testament: str) -> list[str]:
    """The zlib blocks of a SWORD zText module (index: offset, size, uncompressed size; u32 LE)."""
    index = (directory / f"{testament}.bzs").read_bytes()
    data = (directory / f"{testament}.bzz").read_bytes()
    blocks = []
    for start in range(0, len(index) - 11, 12):
        offset, size, _ = struct.unpack("<III", index[start : start + 12])
        blocks.append(zlib.decompress(data[offset : offset + size]).decode("utf-8", "replace"))
    return blocks


def web_bible_documents(directory: Path = SWORD_WEB_DIR) -> list[Document]:
    """The World English Bible, one document per chapter-sized run of paragraphs (notes removed)."""
    _require(directory, "apt-get install --no-install-recommends sword-text-web")
    documents = []
    for testament in ("ot", "nt"):
        for number, block in enumerate(_sword_blocks(directory, testament)):
            text = re.sub(r"<note\b.*?</note>", " ", block, flags=re.DOTALL)
            text = re.sub(r"<title\b.*?</title>", "\n", text, flags=re.DOTALL)
            text = re.sub(r"<[^>]+>", " ", text).replace("\u2019", "'").replace("\u2018", "'")
            text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2014", " - ")
            sentences = split_sentences(re.sub(r"\s+", " ", text))
            # chapter-sized documents keep NSP's "another document" meaningful
            for part in range(0, len(sentences), 40):
                chunk = tuple(sentences[part : part + 40])
                documents.append(Document("web-bible", f"{testament} {number} {part}", chunk))
    return documents


def fortunes_documents(directory: Path = FORTUNES_DIR) -> list[Document]:
    """One document per fortune cookie (quotation, joke, proverb), attributions dropped."""
    _require(directory, "apt-get install --no-install-recommends fortunes")
    documents = []
    for path in sorted(directory.iterdir()):
        if path.suffix or path.name in FORTUNE_SKIP or not path.is_file():
            continue
        cookies = path.read_text(encoding="utf-8", errors="replace").split("\n%\n")
        for number, cookie in enumerate(cookies):
            lines = [line for line in cookie.split("\n") if not line.strip().startswith("--")]
            sentences = split_sentences(re.sub(r"\s+", " ", " ".join(lines)).strip())
            if sentences and sum(len(s.split()) for s in sentences) >= 4:
                documents.append(Document("fortunes", f"{path.name} {number}", tuple(sentences)))
    return documents
