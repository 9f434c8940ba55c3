"""WordNet loads offline from Debian's files, with the generated lexnames file NLTK needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ch11lib import MissingResourceError
from ch11lib.data import wordnet


def test_lexnames_has_the_45_lexicographer_files():
    lines = wordnet.lexnames_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3"
    assert lines[5] == "05\tnoun.animal\t1"
    assert lines[44] == "44\tadj.ppl\t3"


def test_wordnet_loads_with_senses_counts_and_lexnames():
    wn = wordnet.load_wordnet()
    mouse = wn.synsets("mouse", pos="n")
    assert len(mouse) == 4
    assert mouse[0].lexname() == "noun.animal"
    assert "computer" in " ".join(s.definition() for s in mouse)
    assert wn.lemma("dog.n.01.dog").count() > 0  # SemCor counts (cntlist.rev) are there
    assert wn.lemma_from_key("bank%1:17:01::").synset().name() == "bank.n.01"


def test_debian_files_are_arranged_as_nltk_data(tmp_path):
    data = wordnet.arrange_debian_wordnet(nltk_data=tmp_path)
    corpus = data / "corpora" / "wordnet"
    assert (corpus / "lexnames").read_text() == wordnet.lexnames_text()
    assert not any(path.is_symlink() for path in corpus.iterdir())


def test_missing_wordnet_says_what_to_install(tmp_path):
    with pytest.raises(MissingResourceError, match="apt-get install wordnet-base"):
        wordnet.arrange_debian_wordnet(source=Path(tmp_path))
