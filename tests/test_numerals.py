"""Numbers in a chapter's prose come from the page: glued from code, or of a kind that is not computed.

The chapters are MyST-Markdown notebooks. This test reads their Markdown (it does not execute them)
and lists every numeral written in digits in the prose. Not prose, so not read: code cells and other
code fences, inline code, math (``$...$``, ``$$...$$``), the targets of roles (``{cite}``,
``{glue:text}``, ``{numref}``...; a ``{term}``'s text is read), link targets and URLs, labels, directive
options, the item numbers of ordered lists, ``{exercise}`` and ``{solution}`` blocks (their code never
runs on the page, so nothing in them can be glued; their numbers are the exercise's own settings or
hand arithmetic), and the closing "Self-check" section (recall questions on constants the chapter
teaches, with their sources cited where it teaches them). Admonitions (``{note}``, ``{dropdown}``...)
are prose and are read. A numeral passes when it is

- a **year** (1900-2039 written as four digits);
- a **name**, not a measurement: a number right after ``chapter``, ``section``, ``§``, ``table``,
  ``figure``, ``equation``, ``exercise``, ``step``, ``layer``, ``head``, ``sentence``, ``seed``,
  ``token``, ``position``, ``question``, ``page``, ``part`` or ``assignment`` (``layer 3`` names a
  layer; ``3 layers`` counts them, and fails);
- part of an **identifier**: right after a letter or a letter and a hyphen (``GPT-2``, ``SST-2``,
  ``CoNLL-2003``, ``L6``, ``SLP3``, ``top-5``);
- in a **sentence that carries a citation** (``{cite}``), or in a Markdown table right after a
  paragraph that does: a cited paper's figure or setting;
- on the short **allowlist** below, each entry with its reason: constants of a published recipe that
  the prose restates everywhere (BERT's 15% and 80/10/10, NSP's 50%) and two hypothetical shares.

A constant of a formula (a slope of 2, a cosine of 0) is written as math. Everything else is a number
the page computes or sets, and must be inserted with MyST-NB's glue: ``glue(key, value)`` in a code
cell (``ch11lib.pages.glue``) and ``{glue:text}`key``` in the prose. A second test checks that every
key the prose pastes is glued by a code cell of the same page. Whether the glued values render is
checked by executing the page (the book build, ``-W``, fails on a missing key).

Numbers spelled in words ("four pieces") are not listed: "one token" and "two sentences" are
everywhere and rarely computed. Words that stated a computed count were glued by hand when the pages
were reviewed (issue 13).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))

# Per chapter (file stem prefix): numerals allowed outside a cited sentence, each with its reason.
# Keys are (chapter prefix, the numeral as written); the value is the reason. Keep it short and honest.
ALLOWED: list[tuple[str, str, tuple[str, ...], str]] = [
    # (chapter prefix, a phrase of the sentence, the numerals it may hold, the reason)
    ("02", "", ("15%", "80%", "10%", "80/10/10"), "BERT's masking recipe: 15% sampled, 80/10/10"),
    ("03", "", ("50%", "0.5"), "NSP's half real, half random pairs: a constant of BERT's recipe"),
    ("04", "", ("15%", "80%", "10%", "80/10/10"), "BERT's masking recipe: 15% sampled, 80/10/10"),
    ("04", "skips 85%", ("85%",), "100% - 15%, the recipe's unsampled share"),
    ("05", "", ("15%", "80%", "10%", "80/10/10"), "the masking recipe SpanBERT keeps from BERT"),
    (
        "06",
        "a language that is 0.1% of the text",
        ("0.1%",),
        "a hypothetical share, an illustration",
    ),
    (
        "06",
        "a language that has 0.01% of the data",
        ("0.01%",),
        "a hypothetical share, an illustration",
    ),
    (
        "03",
        "approximately 40",
        ("40",),
        "the paper's words, quoted; the section computes the figure",
    ),
]

YEAR = re.compile(r"^(19|20[0-3])\d$")
NAMING_WORDS = (
    "chapter",
    "chapters",
    "ch.",
    "section",
    "sections",
    "§",
    "table",
    "tables",
    "figure",
    "fig.",
    "equation",
    "eq.",
    "exercise",
    "step",
    "stage",
    "layer",
    "layers",
    "head",
    "heads",
    "sentence",
    "seed",
    "token",
    "position",
    "question",
    "page",
    "part",
    "assignment",
)
NUMERAL = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?(?:[-–/]\d[\d,]*(?:\.\d+)?)*%?)")
CITE = re.compile(r"\{cite(?::\w+)?\}`[^`]*`")
GLUE_USE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")
GLUE_DEF = re.compile(r"""\bglue\(\s*["']([^"']+)["']""")


PROSE_DIRECTIVES = {
    "note",
    "tip",
    "warning",
    "important",
    "admonition",
    "dropdown",
    "seealso",
    "hint",
    "caution",
    "attention",
    "margin",
    "figure",
}
UNEXECUTED_DIRECTIVES = {"exercise", "solution"}


def split_cells(text: str) -> tuple[list[tuple[int, str]], str]:
    """(line number, prose line) pairs, and the source of all code cells.

    Prose is what lies outside code cells and other code fences, display math, directive options,
    labels and comments, exercises and solutions (their code is never run, so nothing in them can be
    glued), and the closing Self-check section (recall questions on the chapter's constants).
    A blank line (0, "") marks a paragraph break where something was left out.
    """
    lines = text.splitlines()
    prose: list[tuple[int, str]] = []
    code: list[str] = []
    fences: list[tuple[str, str]] = []  # (fence string, "prose" | "code" | "skip")
    i = 0
    if lines and lines[0].strip() == "---":  # front matter
        i = 1
        while i < len(lines) and lines[i].strip() != "---":
            i += 1
        i += 1
    in_math = False
    skip_level = 0  # heading level of a skipped section (Self-check), 0 when none
    for number in range(i, len(lines)):
        line = lines[number]
        stripped = line.strip()
        heading = re.match(r"^(#+)\s+(.*)", line)
        if heading and not fences:
            level = len(heading.group(1))
            if skip_level and level <= skip_level:
                skip_level = 0
            if heading.group(2).strip().lower().startswith("self-check"):
                skip_level = level
        if skip_level:
            continue
        match = re.match(r"^(`{3,}|:{3,})\s*(\{[\w:-]+\}|\w*)", stripped)
        if match:
            fence, kind = match.group(1), match.group(2).strip("{}")
            if fences and stripped == fences[-1][0]:
                fences.pop()
                prose.append((0, ""))
                continue
            if not fences or fences[-1][1] == "prose":
                if kind in PROSE_DIRECTIVES:
                    mode = "prose"
                elif kind in UNEXECUTED_DIRECTIVES:
                    mode = "skip"
                else:
                    mode = "code"
                fences.append((fence, mode))
                prose.append((0, ""))
                continue
            if kind or len(fence) >= len(
                fences[-1][0]
            ):  # a fence nested in code or a skipped block
                fences.append((fence, fences[-1][1]))
                continue
        if fences and fences[-1][1] != "prose":
            if fences[0][1] == "code" and match is None:
                code.append(line)
            continue
        if stripped.startswith("$$"):
            if stripped.count("$$") == 1:
                in_math = not in_math
            prose.append((0, ""))
            continue
        if in_math:
            continue
        if re.match(r"^:[\w-]+:", stripped):  # directive options
            continue
        if re.match(r"^\([\w-]+\)=$", stripped) or stripped.startswith("<!--"):  # labels, comments
            continue
        line = re.sub(r"^(\s*)\d+\.(\s|$)", r"\1\2", line)  # an ordered list's item numbers
        prose.append((number + 1, line))
    return prose, "\n".join(code)


def clean(sentence: str) -> str:
    """The prose with code spans, math, roles' targets and link targets removed."""
    sentence = re.sub(
        r"\{(?:glue|numref|ref|eq|doc|download|cite)(?::\w+)?\}`[^`]*`", " ", sentence
    )
    sentence = re.sub(r"\{term\}`([^`<]*)(?:<[^`]*>)?`", r"\1", sentence)
    sentence = re.sub(r"\{\w+\}`[^`]*`", " ", sentence)
    sentence = re.sub(r"``[^`]+``|`[^`]+`", " ", sentence)
    sentence = re.sub(r"\$\$.*?\$\$|\$[^$]+\$", " ", sentence)
    sentence = re.sub(r"\]\([^)]*\)", "]", sentence)  # link targets
    sentence = re.sub(r"<https?://[^>]*>|https?://\S+", " ", sentence)
    return sentence


def sentences(prose: list[tuple[int, str]]) -> list[tuple[int, str, bool]]:
    """Prose split into sentences: (line it starts on, sentence, whether it counts as cited).

    A sentence counts as cited when it carries a citation; a Markdown table counts as cited when the
    paragraph just before it carries one (the paragraph that says whose table it is).
    """
    out: list[tuple[int, str, bool]] = []
    paragraph: list[tuple[int, str]] = []
    previous_cited = False
    for number, line in [*prose, (0, "")]:
        item = re.match(r"^\s*[-*+]\s", line)  # a list item starts a block of its own
        if line.strip() and not (item and paragraph):
            paragraph.append((number, line))
            continue
        if paragraph:
            start = paragraph[0][0]
            if all(part.lstrip().startswith("|") for _, part in paragraph):  # a table
                for number_, part in paragraph:
                    out.append((number_, part, previous_cited or bool(CITE.search(part))))
                paragraph, previous_cited = ([(number, line)] if line.strip() else []), False
                continue
            text = " ".join(part.strip() for _, part in paragraph)
            previous_cited = bool(CITE.search(text))
            for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z*(\[{])", text):
                out.append((start, piece, bool(CITE.search(piece))))
            paragraph = [(number, line)] if line.strip() else []
    return out


def unglued_numerals(path: Path) -> list[str]:
    """'page:line: numeral in: sentence' for every numeral the rules do not allow."""
    prose, _ = split_cells(path.read_text(encoding="utf-8"))
    chapter = path.name[:2]
    problems = []
    for start, sentence, cited in sentences(prose):
        if cited:
            continue
        text = clean(sentence)
        for match in NUMERAL.finditer(text):
            numeral = match.group(1).rstrip(",")
            before = text[: match.start()]
            after = text[match.end() :]
            if YEAR.match(numeral) and not after.startswith(("%", ",")):
                continue
            if re.search(r"[A-Za-z]-?$", before):  # an identifier: GPT-2, L6, SLP3
                continue
            words = before.split()
            previous = words[-1].lower().strip("(*_") if words else ""
            if previous in NAMING_WORDS:
                continue
            if any(
                chapter == where and numeral in numerals and phrase in sentence
                for where, phrase, numerals, _ in ALLOWED
            ):
                continue
            problems.append(f"{path.name}:{start}: {numeral!r} in: {sentence.strip()[:160]}")
    return problems


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem[:2])
def test_prose_numbers_are_glued_or_allowed(page: Path):
    problems = unglued_numerals(page)
    assert not problems, (
        "numbers typed in the prose (glue them, or see this test's rules):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem[:2])
def test_every_pasted_key_is_glued_on_the_page(page: Path):
    text = page.read_text(encoding="utf-8")
    prose, code = split_cells(text)
    used = {key for _, line in prose for key in GLUE_USE.findall(line)}
    defined = set(GLUE_DEF.findall(code))
    assert used <= defined, f"pasted but never glued: {sorted(used - defined)}"


def test_the_rules_catch_a_typed_number_and_pass_the_allowed_kinds(tmp_path: Path):
    page = tmp_path / "99_example.md"
    page.write_text(
        "---\njupytext: {}\n---\n\n# Title\n\n"
        "The model gets 41.2% of the tokens right.\n"
        "In 2019 chapter 11 of SLP3 used GPT-2 in layer 3 with 66M parameters {cite}`devlin2019bert`.\n"
        "It reaches {glue:text}`acc` here, $p = 0.15$ in math, `x = 3` in code.\n\n"
        "1. A numbered item with 17 typed words.\n\n"
        "Their table {cite}`devlin2019bert`:\n\n| a | b |\n| --- | --- |\n| 84.3 | 92.8 |\n\n"
        "| uncited | table |\n| --- | --- |\n| 5.5 | 6 |\n\n"
        "```{code-cell} ipython3\nglue('acc', 0.5)\nprint(12345)\n```\n\n"
        "```{note}\nA note with 8 typed heads.\n```\n\n"
        "````{exercise}\n:label: ex-1\n\nTry 7 heads.\n```python\nx = 9\n```\n````\n\n"
        "## Self-check\n\n1. BERT samples 15% of its tokens.\n\n## After\n\nAnd 99 more.\n"
    )
    found = [re.search(r"'([^']*)' in:", line).group(1) for line in unglued_numerals(page)]
    assert found == ["41.2%", "17", "5.5", "6", "8", "99"]
    prose, code = split_cells(page.read_text())
    assert "glue('acc', 0.5)" in code and "x = 9" not in code
    assert GLUE_USE.findall(page.read_text()) == ["acc"] and GLUE_DEF.findall(code) == ["acc"]
