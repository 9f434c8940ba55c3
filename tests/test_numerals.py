"""Numbers in a chapter's prose come from the page: glued from code, or of a kind that is not computed.

The chapters are MyST-Markdown notebooks. This test reads their Markdown (it does not execute them)
and lists every number in the prose, written in digits or spelled out. Not prose, so not read: code
cells and other code fences, inline code, math (``$...$``, ``$$...$$``), the targets of roles
(``{cite}``, ``{glue:text}``, ``{numref}``...; a ``{term}``'s text is read), link targets and URLs,
labels, directive options, the item numbers of ordered lists, ``{exercise}`` and ``{solution}`` blocks
(their code never runs on the page, so nothing in them can be glued; their numbers are the exercise's
own settings or hand arithmetic), and the closing "Self-check" section (recall questions on constants
the chapter teaches, with their sources cited where it teaches them). Admonitions (``{note}``,
``{dropdown}``...) are prose and are read.

**Numerals** (``41.2%``, ``6``, ``8K``) and **number words** (``three`` to ``twenty``, ``thirty`` to
``ninety``, ``hundred``, ``thousand``, ``million``, ``billion``, ``dozen``, in the singular or the
plural, ``twice`` and ``thrice``) are listed. The words ``one``, ``two`` and ``half`` are the words of
a method's structure ("one vector per word", "two segments", "half the layers"), so they are listed
only where they state an amount: after a hedge or a bound (``about``, ``nearly``, ``under``,
``over``, ``only``, ``exactly``, ``than``, ``most``...; "at least one" is a condition, not an amount)
or before a unit of measurement (``one standard error``, ``two points``, ``one third``, ``two
hours``, ``half a second``). Ordinals ("the first layer") are not numbers of results and are not
listed. A number passes when it is

- a **year** (1900-2039 written as four digits);
- a **name**, not a measurement: a number right after ``chapter``, ``section``, ``§``, ``table``,
  ``figure``, ``equation``, ``exercise``, ``step``, ``layer``, ``head``, ``sentence``, ``seed``,
  ``token``, ``position``, ``question``, ``page``, ``part`` or ``assignment`` (``layer 3`` names a
  layer; ``3 layers`` counts them, and fails);
- part of an **identifier**: right after a letter or a letter and a hyphen (``GPT-2``, ``SST-2``,
  ``CoNLL-2003``, ``L6``, ``SLP3``, ``top-5``);
- a **magnitude word** right after a number (``3.3 billion``, ``two hundred``): that number is checked;
- a cited paper's figure, **tied to its citation** (``{cite}``) in one of two checkable ways: the number
  stands in the clause that the citation closes (after the clause's start, before the ``{cite}``
  role; clauses end at ``,`` ``;`` ``:`` dashes and parentheses), as in "XLM-R reached 80.9%
  {cite}`conneau2020xlmr`"; or it is listed in ``PAPER_FIGURES`` below under that chapter and a paper
  the sentence cites. A Markdown table right after a paragraph that cites is that paper's table, and
  its numbers pass. A number that merely shares a sentence with a citation (a result of the page next
  to the paper's, "ours reaches 81%, against DistilBERT's 97% {cite}`...`") fails;
- on the short **allowlist** below (``ALLOWED``), each entry with its reason: constants of a published
  recipe that the prose restates everywhere (BERT's 15% and 80/10/10, NSP's 50%), hypothetical shares,
  counts that define a task rather than measure a result; and, until their pages' owners review them,
  the entries of ``PENDING`` (numbers found when these rules were tightened, each to be glued or
  reworded).

Every entry of ``ALLOWED`` and ``PAPER_FIGURES`` must still be used by its page (a second test), so
neither list keeps allowances that nothing needs.

A constant of a formula (a slope of 2, a cosine of 0) is written as math. Everything else is a number
the page computes or sets, and must be inserted with MyST-NB's glue: ``glue(key, value)`` in a code
cell (``ch11lib.pages.glue``) and ``{glue:text}`key``` in the prose. A third test checks that every
key the prose pastes is glued by a code cell of the same page. Whether the glued values render is
checked by executing the page (the book build, ``-W``, fails on a missing key).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))

# Per chapter (file stem prefix): numbers allowed although neither glued nor tied to a citation.
# (chapter prefix, a phrase of the sentence, the numbers it may hold, the reason). Keep it short.
ALLOWED: list[tuple[str, str, tuple[str, ...], str]] = [
    ("02", "", ("15%", "80%", "10%", "80/10/10"), "BERT's masking recipe: 15% sampled, 80/10/10"),
    ("03", "", ("50%", "0.5", "50/50"), "NSP's half real, half random pairs: BERT's recipe"),
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
    ("09", "three labels", ("three",), "NLI's label set (entailment, contradiction, neutral)"),
]

# Numbers on pages whose owners had not yet reviewed them against the tightened rules (number words,
# citations tied to their figures) when the rules landed (issue 13); each is to be glued or reworded
# by the page's owner, who then removes its entry. Same form as ALLOWED. Unlike ALLOWED, an entry that
# no longer matches is not reported, so that a page can be fixed without touching this file.
PENDING: list[tuple[str, str, tuple[str, ...], str]] = []  # (chapter, phrase, numbers, why)

# Per chapter, per cited paper (its references.bib key): the paper's figures that the chapter states
# in a sentence citing that paper, outside the clause the citation closes (a list of sizes, a figure
# the sentence returns to). Each one can be checked against the paper.
PAPER_FIGURES: dict[str, dict[str, tuple[str, ...]]] = {
    "01": {
        "devlin2019bert": ("12", "768", "110M", "24", "1024", "16", "340M"),  # the two sizes
        "sanh2019distilbert": ("6", "66M", "40%", "97%"),
        "conneau2020xlmr": ("512",),  # the position table's rows: the maximum length
    },
    "02": {"liu2019roberta": ("40", "10")},  # epochs and copies of BERT's static masking
    "03": {
        "devlin2019bert": ("1,000,000", "256", "512", "3.3"),  # BERT-base's training run
        "liu2019roberta": ("8K", "2K", "10", "160GB"),  # batch sizes, data
    },
    "05": {"joshi2020spanbert": ("10", "ten", "94.6", "1.1", "88.7", "2.0")},  # l_max, F1s
    "06": {"conneau2020xlmr": ("550M",), "lample2019xlm": ("0.5",)},
    "08": {
        "ethayarajh2019contextual": ("1",),  # GPT-2's last layer: an average cosine of almost 1
        "hill2015simlex": ("999",),
        "finkelstein2002wordsim": ("353",),
    },
    "09": {
        "devlin2019bert": ("twelve",),  # BERT-base's layers
        "williams2018multinli": ("three",),  # NLI's three labels
    },
    "12": {
        "sanh2019distilbert": ("12", "6", "66M", "110M", "40%", "60%"),
    },
}

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
UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety"
).split()
MAGNITUDES = ("hundred", "thousand", "million", "billion", "dozen")
NUMBER_WORD = re.compile(
    r"(?<![\w-])("
    + "|".join(
        UNITS[3:] + [m + "s?" for m in MAGNITUDES] + ["twice", "thrice", "one", "two", "half"]
    )
    + r")(?![\w])",
    re.IGNORECASE,
)
# "one", "two" and "half" state an amount only after a hedge or a bound, or before a unit.
STRUCTURE_WORDS = ("one", "two", "half")
HEDGES = (
    "about around roughly nearly almost approximately some under over below above "
    "than least most only exactly barely ~"
).split()
MEASURES = re.compile(
    r"^[-\s]*(standard errors?|points?|percent|percentage points?|times|thirds?|quarters?|"
    r"hours?|minutes?|seconds?|a second|an hour|a minute)\b",
    re.IGNORECASE,
)
# Where clauses end: a citation ties a number only to the clause it closes.
CLAUSE_END = re.compile(r",\s|;\s|:\s|\s--\s|—|\s–\s")
CITE = re.compile(r"\{cite(?::\w+)?\}`[^`]*`")
CITE_MARK = "\x01"  # a citation's place in a sentence, kept through clean()
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


def cited_keys(text: str) -> set[str]:
    """The references.bib keys that the ``{cite}`` roles of ``text`` name."""
    return {
        key
        for role in CITE.findall(text)
        for key in re.split(r"[,;\s]+", role.split("`")[1])
        if key
    }


def sentences(prose: list[tuple[int, str]]) -> list[tuple[int, str, set[str] | None]]:
    """Prose split into sentences: (line it starts on, sentence, keys that cite a table).

    The third item is ``None`` for a sentence; for a row of a Markdown table it is the set of keys
    cited by the row or by the paragraph just before the table (the paragraph that says whose table
    it is), empty when neither cites.
    """
    out: list[tuple[int, str, set[str] | None]] = []
    paragraph: list[tuple[int, str]] = []
    previous_keys: set[str] = set()
    for number, line in [*prose, (0, "")]:
        item = re.match(r"^\s*[-*+]\s", line)  # a list item starts a block of its own
        if line.strip() and not (item and paragraph):
            paragraph.append((number, line))
            continue
        if paragraph:
            start = paragraph[0][0]
            if all(part.lstrip().startswith("|") for _, part in paragraph):  # a table
                for number_, part in paragraph:
                    out.append((number_, part, previous_keys | cited_keys(part)))
                paragraph, previous_keys = ([(number, line)] if line.strip() else []), set()
                continue
            text = " ".join(part.strip() for _, part in paragraph)
            previous_keys = cited_keys(text)
            for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z*(\[{])", text):
                out.append((start, piece, None))
            paragraph = [(number, line)] if line.strip() else []
    return out


def numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, the number as written) for every numeral and number word of ``text``, in order.

    A numeral keeps the letters glued to it (``8K``, ``110M``), so that lists can name it exactly.
    """
    found = []
    for match in NUMERAL.finditer(text):
        numeral = match.group(1).rstrip(",")
        suffix = re.match(r"[A-Za-z]*", text[match.end() :]).group(0)
        found.append((match.start(), match.start() + len(numeral), numeral + suffix))
    found += [(m.start(), m.end(), m.group(1).lower()) for m in NUMBER_WORD.finditer(text)]
    return sorted(found)


def _named(text: str, begin: int) -> bool:
    words = text[:begin].split()
    return bool(words) and words[-1].lower().strip("(*_") in NAMING_WORDS


def closes_clause_with_citation(text: str, end: int) -> bool:
    """Whether a citation closes the clause in which the number ending at ``end`` stands.

    Read on from the number to the clause's end (``,`` ``;`` ``:`` or a dash). A parenthesis the
    number stands in is part of its clause (``84.3 (94.0 against 94.9) {cite}``); a later parenthesis
    is skipped, unless it is a citation that names no number (``(their appendix A.2 {cite})``), which
    cites the clause: a citation inside a parenthesis that holds figures ties only those figures.
    """
    index = end
    while index < len(text):
        char = text[index]
        if char == CITE_MARK:
            return True
        if char == "(":
            depth, close = 0, index
            for close in range(index, len(text)):
                depth += {"(": 1, ")": -1}.get(text[close], 0)
                if depth == 0:
                    break
            inner = text[index + 1 : close]
            if CITE_MARK in inner and all(
                _named(inner, begin) for begin, _, _ in numbers(inner.replace(CITE_MARK, " "))
            ):
                return True
            index = close + 1
            continue
        if CLAUSE_END.match(text, index):
            return False
        index += 1
    return False


def _structure_word(token: str, before: str, after: str) -> bool:
    """Whether ``one``/``two``/``half`` is a word of structure here, not an amount.

    "at least one" states that something exists (a condition), not an amount.
    """
    if token == "one" and re.search(r"\bat least\s*$", before, re.IGNORECASE):
        return True
    previous = before.split()[-1].lower().strip("(*_\"'") if before.split() else ""
    return previous not in HEDGES and not MEASURES.match(after)


def check_page(
    path: Path,
    allowed: list[tuple[str, str, tuple[str, ...], str]] | None = None,
    paper_figures: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> tuple[list[str], set[tuple[str, ...]]]:
    """The page's problems ('page:line: number in: sentence'), and the allowances it used.

    An allowance is ``("allowed", index into ALLOWED)`` or ``("paper", chapter, key, number)``.
    """
    allowed = ALLOWED + PENDING if allowed is None else allowed
    paper_figures = PAPER_FIGURES if paper_figures is None else paper_figures
    prose, _ = split_cells(path.read_text(encoding="utf-8"))
    chapter = path.name[:2]
    problems: list[str] = []
    used: set[tuple[str, ...]] = set()
    for start, sentence, table_keys in sentences(prose):
        if table_keys:  # a cited paper's table
            continue
        keys = cited_keys(sentence)
        text = clean(CITE.sub(f" {CITE_MARK} ", sentence))
        for begin, end, token in numbers(text):
            before, after = text[:begin], text[end:]
            bare = re.sub(r"[A-Za-z]+$", "", token) if token[0].isdigit() else token
            if YEAR.match(bare) and not after.startswith(("%", ",")):
                continue
            if re.search(r"[A-Za-z]-?$", before):  # an identifier: GPT-2, L6, SLP3
                continue
            words = before.split()
            previous = words[-1].lower().strip("(*_") if words else ""
            if previous in NAMING_WORDS:
                continue
            if token.startswith(MAGNITUDES) and re.search(
                r"(\d|\b(?:" + "|".join(UNITS) + r"))\s*-?$", before, re.IGNORECASE
            ):  # 3.3 billion, two hundred: the number before it is checked
                continue
            if token in STRUCTURE_WORDS and _structure_word(token, before, after):
                continue
            if closes_clause_with_citation(text, end):
                continue
            figures = [
                ("paper", chapter, key, name)
                for key in sorted(keys)
                for name in (bare, token)
                if name in paper_figures.get(chapter, {}).get(key, ())
            ]
            if figures:
                used.add(figures[0])
                continue
            rules = [
                ("allowed", str(index))
                for index, (where, phrase, listed, _) in enumerate(allowed)
                if chapter == where and (bare in listed or token in listed) and phrase in sentence
            ]
            if rules:
                used.add(rules[0])
                continue
            shown = sentence.strip().replace(CITE_MARK, "")[:160]
            problems.append(f"{path.name}:{start}: {token!r} in: {shown}")
    return problems, used


def unglued_numerals(path: Path, **lists) -> list[str]:
    """'page:line: number in: sentence' for every number the rules do not allow."""
    return check_page(path, **lists)[0]


def unused_allowances(
    pages: list[Path],
    allowed: list[tuple[str, str, tuple[str, ...], str]] | None = None,
    paper_figures: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> list[str]:
    """Entries of ALLOWED and PAPER_FIGURES that no page needs (each number listed must be used)."""
    allowed = ALLOWED if allowed is None else allowed
    paper_figures = PAPER_FIGURES if paper_figures is None else paper_figures
    used: set[tuple[str, ...]] = set()
    for page in pages:
        used |= check_page(page, allowed, paper_figures)[1]
    unused = [
        f"ALLOWED[{index}] {entry[:3]}"
        for index, entry in enumerate(allowed)
        if ("allowed", str(index)) not in used
    ]
    unused += [
        f"PAPER_FIGURES[{chapter!r}][{key!r}]: {name!r}"
        for chapter, papers in paper_figures.items()
        for key, names in papers.items()
        for name in names
        if ("paper", chapter, key, name) not in used
    ]
    return unused


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem[:2])
def test_prose_numbers_are_glued_or_allowed(page: Path):
    problems = unglued_numerals(page)
    assert not problems, (
        "numbers typed in the prose (glue them, or see this test's rules):\n" + "\n".join(problems)
    )


def test_every_allowance_is_still_needed():
    unused = unused_allowances(CHAPTERS)
    assert not unused, "allowances no page needs any more (remove them):\n" + "\n".join(unused)


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem[:2])
def test_every_pasted_key_is_glued_on_the_page(page: Path):
    text = page.read_text(encoding="utf-8")
    prose, code = split_cells(text)
    used = {key for _, line in prose for key in GLUE_USE.findall(line)}
    defined = set(GLUE_DEF.findall(code))
    assert used <= defined, f"pasted but never glued: {sorted(used - defined)}"


EXAMPLE_PAGE = (
    "---\njupytext: {}\n---\n\n# Title\n\n"
    "The model gets 41.2% of the tokens right.\n"
    "In 2019 chapter 11 of SLP3 used GPT-2 in layer 3 with 66M parameters {cite}`devlin2019bert`.\n"
    "Our student keeps 81.5%, against DistilBERT's 97% {cite}`sanh2019distilbert`.\n"
    "BERT-base has 12 layers, 110M parameters (about 3.3 billion words) {cite}`devlin2019bert`,"
    " ran 90% of its steps at 128 tokens (the paper's appendix A.2 {cite}`devlin2019bert`).\n"
    "A 6-layer teacher {cite}`wang2020minilm` teaches a 3-layer student.\n"
    "It reaches {glue:text}`acc` here, $p = 0.15$ in math, `x = 3` in code.\n\n"
    "Timing took five rounds and a thousand steps, twice as long, within about one standard error.\n"
    "Each pair has two segments and one vector per word; one of them is half the size, the first"
    " layer a third of it, and a hypothetical 0.1% share stays.\n\n"
    "1. A numbered item with 17 typed words.\n\n"
    "Their table {cite}`devlin2019bert`:\n\n| a | b |\n| --- | --- |\n| 84.3 | 92.8 |\n\n"
    "| uncited | table |\n| --- | --- |\n| 5.5 | six |\n\n"
    "```{code-cell} ipython3\nglue('acc', 0.5)\nprint(12345)\n```\n\n"
    "```{note}\nA note with 8 typed heads.\n```\n\n"
    "````{exercise}\n:label: ex-1\n\nTry 7 heads, or seven.\n```python\nx = 9\n```\n````\n\n"
    "## Self-check\n\n1. BERT samples 15% of its tokens, in four ways.\n\n## After\n\nAnd 99 more.\n"
)
EXAMPLE_ALLOWED = [
    ("99", "a hypothetical 0.1% share", ("0.1%",), "a hypothetical share"),
    ("99", "no such phrase", ("1%",), "an allowance nothing needs"),
]
EXAMPLE_FIGURES = {"99": {"devlin2019bert": ("12", "24")}}


def test_the_rules_catch_typed_numbers_and_pass_the_allowed_kinds(tmp_path: Path):
    page = tmp_path / "99_example.md"
    page.write_text(EXAMPLE_PAGE)
    lists = {"allowed": EXAMPLE_ALLOWED, "paper_figures": EXAMPLE_FIGURES}
    found = [re.search(r"'([^']*)' in:", line).group(1) for line in unglued_numerals(page, **lists)]
    # 41.2%: a typed result; 81.5%: a result beside a cited figure; 3: after the citation's clause;
    # five, thousand, twice, one (standard error): results spelled out; the uncited table; the note.
    assert found == ["41.2%", "81.5%", "3", "five", "thousand", "twice", "one", "17", "5.5"] + [
        "six",
        "8",
        "99",
    ]
    assert unused_allowances([page], **lists) == [
        "ALLOWED[1] ('99', 'no such phrase', ('1%',))",
        "PAPER_FIGURES['99']['devlin2019bert']: '24'",
    ]
    prose, code = split_cells(page.read_text())
    assert "glue('acc', 0.5)" in code and "x = 9" not in code
    assert GLUE_USE.findall(page.read_text()) == ["acc"] and GLUE_DEF.findall(code) == ["acc"]


def test_a_cited_figure_needs_its_tie(tmp_path: Path):
    page = tmp_path / "99_example.md"
    page.write_text("# T\n\nBERT-base has 12 layers (110M parameters {cite}`devlin2019bert`).\n")
    assert [line.split("'")[1] for line in unglued_numerals(page)] == ["12"]
    assert unglued_numerals(page, paper_figures={"99": {"devlin2019bert": ("12",)}}) == []
    assert unglued_numerals(page, paper_figures={"99": {"sanh2019distilbert": ("12",)}}) != []
