"""The library's layout: one explicit table of data sets, and old module names that handed-out
notebooks import still work."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import ch11lib

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"

# (old name, new name): the old one is an alias, the very same module object
ALIASES = [
    ("ch11lib.spans", "ch11lib.spanbert"),
    ("ch11lib.span_heads", "ch11lib.span_ner"),
    ("ch11lib.wordnet", "ch11lib.data.wordnet"),
    ("ch11lib.tasks", "ch11lib.data.tasks"),
    ("ch11lib.ner_data", "ch11lib.data.ner"),
    ("ch11lib.corpus", "ch11lib.data.corpus"),
    ("ch11lib.heldout_text", "ch11lib.data.heldout_text"),
    ("ch11lib.everyday_text", "ch11lib.data.everyday_text"),
]
DATA_MODULES = [
    "ch11lib.data.chatterbot",
    "ch11lib.data.corpus",
    "ch11lib.data.everyday_text",
    "ch11lib.data.heldout_text",
    "ch11lib.data.ner",
    "ch11lib.data.splits",
    "ch11lib.data.tasks",
    "ch11lib.data.word_similarity",
    "ch11lib.data.wordnet",
    "ch11lib.data.wsd_examples",
]


@pytest.mark.parametrize(("old", "new"), ALIASES)
def test_old_module_name_is_the_new_module(old: str, new: str) -> None:
    old_module = importlib.import_module(old)
    new_module = importlib.import_module(new)
    assert old_module is new_module, f"{old} must be an alias of {new}"
    package, _, leaf = old.rpartition(".")
    assert getattr(importlib.import_module(package), leaf) is new_module


def test_old_names_reach_the_functions_the_assignments_switch_off() -> None:
    from ch11lib.span_heads import enumerate_spans as old_enumerate
    from ch11lib.span_ner import enumerate_spans
    from ch11lib.spanbert import span_length_probabilities
    from ch11lib.spans import span_length_probabilities as old_lengths

    # The same function objects: switching off ch11lib.spanbert also switches off what a student
    # imported under the old name.
    assert old_lengths is span_length_probabilities
    assert old_enumerate is enumerate_spans


def test_the_data_set_table_is_explicit_and_every_entry_resolves() -> None:
    from ch11lib import resources

    before = dict(resources.DATASETS)
    for module in DATA_MODULES:
        importlib.import_module(module)
    assert resources.DATASETS == before, "importing a data module changed the table of data sets"
    assert not hasattr(resources, "register_dataset") and not hasattr(resources, "DATASET_MODULES")
    assert set(before) == {
        "supersense", "nli", "ner", "chatterbot-multilingual", "simlex999", "wordsim353"
    }  # fmt: skip
    for spec in before.values():
        for name in filter(None, (spec.embedded, spec.hub)):
            module, _, function = name.partition(":")
            assert module.startswith("ch11lib.data."), f"{spec.name}: {name} is not a data module"
            assert callable(getattr(importlib.import_module(module), function)), name
    with pytest.raises(KeyError, match="unknown data set"):
        resources.load_dataset("no-such-set")


def test_one_hash_split_rule() -> None:
    from ch11lib.data.splits import hash_split, stable_hash

    shares = [("test", 1), ("validation", 1), ("train", 8)]
    counts = {name: 0 for name, _ in shares}
    for i in range(5000):
        counts[hash_split(f"key{i}", shares, 10)] += 1
    assert abs(counts["test"] / 5000 - 0.1) < 0.02 and abs(counts["train"] / 5000 - 0.8) < 0.03
    assert hash_split("bank.n.01", shares, 10) == hash_split("bank.n.01", shares, 10)
    assert stable_hash("a", "md5-64") == stable_hash("a", "md5") >> 64
    with pytest.raises(ValueError, match="add up"):
        hash_split("x", [("train", 5)], 10)
    with pytest.raises(ValueError, match="unknown hash"):
        stable_hash("x", "sha1")  # type: ignore[arg-type]


# The grader's modules (ch11lib/grading/ and its old import paths) serve instructors, not a page.
GRADER_MODULES = {"autograde", "course", "forkkernel", "grading", "guard"}


def _library_modules() -> list[Path]:
    package = Path(ch11lib.__file__).parent
    return sorted(
        p
        for p in package.rglob("*.py")
        if "grading" not in p.relative_to(package).parts and p.stem not in GRADER_MODULES
    )


def test_every_module_names_its_page_and_the_package_maps_every_page() -> None:
    pages = {p.stem for p in CHAPTERS.glob("[01][0-9]_*.md")}
    assert len(pages) == 12
    for path in _library_modules():
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        named = set(re.findall(r"\b(?:0[1-9]|1[0-2])_[a-z_]+[a-z]", doc))
        assert named <= pages, f"{path.name} names pages that do not exist: {named - pages}"
        assert named or re.search(r"[Cc]hapters? \d\d|shown on no page|^Alias of", doc), (
            f"{path.name}: its docstring must name the chapter page it serves (or say it is a "
            "utility shown on no page)"
        )
    overview = ch11lib.__doc__ or ""
    for page in pages:
        assert page in overview, f"ch11lib/__init__.py's map lacks {page}"
    for module in re.findall(r"^\d\d_\w+\s+(.+?)\s{2,}", overview, flags=re.MULTILINE):
        for name in re.findall(r"``([\w.]+)``", module):
            importlib.import_module(f"ch11lib.{name}")


def test_no_helper_is_pasted_into_two_pages() -> None:
    """A function the pages share lives in the library (ch11lib.pages), not in copies on each page."""
    seen: dict[str, str] = {}
    for page in sorted(CHAPTERS.glob("[01][0-9]_*.md")):
        text = page.read_text()
        for match in re.finditer(
            r"^def (\w+)\(.*?(?=^\S|\Z)", text, flags=re.MULTILINE | re.DOTALL
        ):
            body = re.sub(r"\s+", " ", match.group()).strip()
            assert body not in seen, (
                f"{match.group(1)} is pasted into {seen.get(body)} and {page.name}"
            )
            seen[body] = page.name


def test_markdown_table_renders_rows(monkeypatch) -> None:
    import IPython.display

    from ch11lib.pages import markdown_table

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    markdown_table(["a", "b"], [[1, "x"], [2, "y"]])
    assert [m.data for m in shown] == ["| a | b |\n| --- | --- |\n| 1 | x |\n| 2 | y |"]
