"""Two builds of the book show the same numbers: one chapter, executed twice, prints the same tables.

The chapter runs twice from its MyST source in two fresh kernels (each with its own hash seed, as two
builds would have), with the environment and the network blocker of the book build, and every text
output a page shows (stdout, and the text/plain, text/markdown and text/html of results and displays)
must be identical. Chapter 06 is the cheapest page with computed tables (about 20 s a run): a
multilingual corpus resampled with a seeded sampler, two WordPiece vocabularies trained with
`tokenizers`, and per-language statistics printed to three or four decimals. The page prints no
timings (other pages do, e.g. "page executed in 50 s"; those would have to be left out by name).
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import jupytext
import nbformat
import netblock
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "06_multilingual.md"
# What a page shows of an output (the book removes stderr: `stderr_output: remove` in _config.yml).
SHOWN_MIME_TYPES = ("text/plain", "text/markdown", "text/html")


def shown_text(notebook: nbformat.NotebookNode) -> list[tuple[int, str, str]]:
    """Every text output of the notebook's code cells, as a page shows it: (cell index, kind, text).

    A cell's stdout is one text, where its first print appeared: how a kernel splits a stream into
    outputs depends on timing, and the book merges them (``nb_merge_streams`` in _config.yml).
    """
    shown: list[tuple[int, str, str]] = []
    for index, cell in enumerate(notebook.cells):
        stdout = None
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                if stdout is None:
                    stdout = len(shown)
                    shown.append((index, "stdout", ""))
                shown[stdout] = (index, "stdout", shown[stdout][2] + output.text)
            elif output.output_type in ("execute_result", "display_data"):
                for mime in SHOWN_MIME_TYPES:
                    if mime in output.data:
                        shown.append((index, mime, output.data[mime]))
            elif output.output_type == "error":
                shown.append((index, "error", f"{output.ename}: {output.evalue}"))
    return shown


def differences(first: list[tuple[int, str, str]], second: list[tuple[int, str, str]]) -> list[str]:
    """Where two runs' outputs differ, one line per differing output (empty when identical)."""
    if [(i, kind) for i, kind, _ in first] != [(i, kind) for i, kind, _ in second]:
        return [f"different outputs: {[o[:2] for o in first]} vs {[o[:2] for o in second]}"]
    found = []
    for (index, kind, a), (_, _, b) in zip(first, second, strict=True):
        if a != b:
            pairs = itertools.zip_longest(a.splitlines(), b.splitlines(), fillvalue="")
            x, y = next((x, y) for x, y in pairs if x != y)
            found.append(f"cell {index} {kind}: {x!r} != {y!r}")
    return found


def execute(path: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """Run a MyST chapter top to bottom in a fresh kernel started with ``env``, as the book does."""
    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    client.execute(env=env)
    return notebook


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list, Path]:
    netlog = tmp_path_factory.mktemp("determinism") / "network.log"
    env = dict(os.environ, CH11_SOURCE="embedded", HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    env.update(netblock.blocker_env(netlog.parent / "site", netlog))
    env.pop("PYTHONHASHSEED", None)  # each kernel draws its own, like two separate builds
    runs = [shown_text(execute(CHAPTER, env)) for _ in range(2)]
    return runs[0], runs[1], netlog


@pytest.mark.slow
def test_a_chapter_prints_the_same_numbers_twice(two_runs: tuple[list, list, Path]) -> None:
    first, second, netlog = two_runs
    numbers = [o for o in first if re.search(r"\d\.\d{3}", o[2])]
    assert len(numbers) >= 4, f"the chapter printed too few computed numbers to compare: {first}"
    assert not any(kind == "error" for _, kind, _ in first), first
    found = differences(first, second)
    assert not found, f"{CHAPTER.name} printed different outputs in two runs:\n" + "\n".join(found)
    assert not netblock.read_log(netlog), netblock.read_log(netlog)


def test_the_comparison_sees_a_changed_digit(two_runs: tuple[list, list, Path]) -> None:
    first = two_runs[0]
    number = re.compile(r"\d\.\d{3}")
    index, (cell, kind, text) = next((i, o) for i, o in enumerate(first) if number.search(o[2]))
    position = number.search(text).end() - 1
    digit = str((int(text[position]) + 1) % 10)
    changed = [*first[:index], (cell, kind, text[:position] + digit + text[position + 1 :])]
    changed += first[index + 1 :]
    assert differences(first, changed) and not differences(first, list(first))
    assert differences(first, first[:-1])  # a missing output is a difference too


def test_wordpiece_training_gives_the_same_vocabulary_every_time() -> None:
    # Chapter 06's tables differed between runs because the `tokenizers` trainer breaks ties in
    # hash-map order; a corpus full of ties (1,728 words seen once each, equally frequent letters
    # at the alphabet's cut-off) gave a different vocabulary in 9 of 10 runs before the fix.
    from ch11lib.multilingual import train_wordpiece

    letters = "abcdefghijklmnopqrstuvwxyzàéèüöäßçñø"
    words = ("".join(w) for w in itertools.product(letters[:12], repeat=3))
    texts = [" ".join(words), letters]
    vocabularies = [
        train_wordpiece(texts, vocab_size=80, limit_alphabet=20).get_vocab() for _ in range(5)
    ]
    assert len(vocabularies[0]) == 80
    assert all(v == vocabularies[0] for v in vocabularies), "two trainings gave different pieces"
