"""The held-out dictd documents ship with the course, match the databases, and pages need nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ch11lib.data import corpus, heldout_text

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_file_is_what_the_dictd_databases_give(tmp_path: Path):
    # Needs dict-jargon, dict-foldoc and dict-devil (installed for contributors by `make install`).
    rebuilt = tmp_path / "heldout.jsonl.gz"
    count = heldout_text.write_heldout_dictd(rebuilt)
    assert rebuilt.read_bytes() == heldout_text.HELDOUT_PATH.read_bytes()
    shipped = heldout_text.heldout_dictd_documents()
    assert len(shipped) == count
    assert {d.source for d in shipped} == set(heldout_text.DICTD_SOURCES)
    assert all(corpus.is_heldout(d) for d in shipped)
    assert heldout_text.HELDOUT_PATH.stat().st_size < 200_000  # a small asset


def test_sources_are_selected_and_checked():
    devil = heldout_text.heldout_dictd_documents(("devil",))
    assert devil and {d.source for d in devil} == {"devil"}
    assert all(d.sentences for d in devil)
    with pytest.raises(ValueError, match="sources"):
        heldout_text.heldout_dictd_documents(("wordnet",))
    with pytest.raises(ValueError, match="sources"):
        heldout_text.heldout_dictd_documents("devil")


DICTD_READS = re.compile(
    r"load_source\(\s*[\"'](jargon|foldoc|devil)|read_dictd\(|build_corpus\(|cached_corpus_split\(\s*\)"
    r"|load_source\(name\)"
)


@pytest.mark.parametrize(
    "page", sorted(p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("chapters/*.md"),
                                                            *ROOT.glob("assignments/*/*.ipynb")])
)  # fmt: skip
def test_no_page_or_assignment_reads_the_dictd_databases(page: str):
    text = (ROOT / page).read_text()
    assert not DICTD_READS.search(text), (
        f"{page} reads a dictd database: {DICTD_READS.search(text)}"
    )
