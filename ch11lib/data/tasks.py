"""Task data for fine-tuning: a topic classification task and a natural language inference task.

Pages ``09_sequence_and_pair_classification`` and ``12_distillation``; assignment a5_finetuning.

Both are built offline from WordNet 3.0 {cite}`miller1995wordnet` (Princeton's WordNet licence: free
to use, copy, modify and distribute, with the copyright notice kept), shipped as small files in
``ch11lib/assets/tasks/`` and loaded as ``datasets.DatasetDict`` objects with deterministic, disjoint
``train``/``validation``/``test`` splits. ``python scripts/build_task_data.py`` rebuilds the files (a
couple of minutes: NLTK walks all of WordNet); if a file is missing it is rebuilt on first use.

``resources.load_dataset("supersense")`` -- sequence classification, columns ``id``, ``text``, ``label``.
    Each WordNet noun definition (gloss) labelled with the *lexicographer file* (supersense) of its
    synset: ``noun.animal``, ``noun.artifact``, ``noun.food``... 25 topics (``noun.Tops``, the 51 top
    nodes such as *entity* or *animal*, is left out: its members are the category names themselves and
    would contradict the other labels). The text is the definition alone, without the word it
    defines: "a domesticated carnivorous mammal that typically has a long snout..." -> ``noun.animal``.
    At most :data:`SUPERSENSE_PER_CLASS` synsets per class (chosen by a hash of the synset name) keep
    the classes near balance and the pages fast; each class is split 60/20/20. Definitions that occur
    more than once are dropped. Online (``CH11_SOURCE=hub``): SST-2 from GLUE (binary sentiment of
    movie-review sentences; Socher et al. 2013, distributed with GLUE) in the same schema.

``resources.load_dataset("nli")`` -- pair-wise classification, columns ``id``, ``premise``,
    ``hypothesis``, ``label`` (``entailment``/``neutral``/``contradiction``, MultiNLI's order) and
    ``relation`` (how the pair was made). Following Glockner et al. {cite}`glockner2018breaking`, the
    premise is a WordNet usage example and the hypothesis replaces *one word* of it:

    * by a **hypernym** (*dog* -> *canine*): ``entailment``, valid in upward-monotone contexts only. We
      skip examples with negation or universal quantifiers (*not, no, never, every, all*...), where
      the inference reverses, but other downward contexts (*few*, *without*, conditionals) slip
      through; the replacement also keeps the article (*a*/*an* is fixed by the first letter only).
    * by a **hyponym** (*dog* -> *puppy*): ``neutral`` (the premise does not say which kind).
    * by a **co-hyponym**, another child of the same hypernym (*dog* -> *wolf*): ``contradiction``
      under the SNLI/MultiNLI convention that both sentences describe the same scene. Strictly it is
      often only neutral (a *cat* and a *dog* can both be in the yard), and WordNet siblings are not
      always mutually exclusive: this is the noisiest label.
    * for adjectives, by an **antonym** (*hot* -> *cold*): ``contradiction`` (same caveat for gradable
      adjectives, and negated examples are skipped as above).

    Only nouns of concrete lexicographer files (:data:`CONCRETE_NOUN_FILES`: animals, artefacts,
    food, people, plants...) are substituted; abstract nouns gave mostly nonsense. The target word is
    matched as a whole, lower-case word in its own synset's example, so it has the right sense; the
    replacement is the most frequent (SemCor count) one- or two-word lemma among the candidates. Splits are grouped by the target synset (no premise crosses splits) and each
    split is balanced to equal label counts. Online: MultiNLI (Williams et al. 2018; OANC text under
    its open licence, fiction under CC BY-SA 3.0) in the same schema, ``relation`` = its genre.

Pure functions (:func:`substitute`, :func:`pairs_for_synset`, the ``adapt_*`` hub adapters) are tested
without WordNet or the network.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ch11lib import resources
from ch11lib.cache import atomic_write
from ch11lib.data.splits import SPLITS, hash_split, stable_hash

TASKS_DIR = resources.ASSETS_DIR / "tasks"
SUPERSENSE_PER_CLASS = 120
SUPERSENSE_EXCLUDED: tuple[str, ...] = ("noun.Tops",)
# The descriptions WordNet gives its lexicographer files (lexnames(5WN)), for zero-shot classification.
SUPERSENSE_DESCRIPTIONS: dict[str, str] = {
    "noun.act": "nouns denoting acts or actions",
    "noun.animal": "nouns denoting animals",
    "noun.artifact": "nouns denoting man-made objects",
    "noun.attribute": "nouns denoting attributes of people and objects",
    "noun.body": "nouns denoting body parts",
    "noun.cognition": "nouns denoting cognitive processes and contents",
    "noun.communication": "nouns denoting communicative processes and contents",
    "noun.event": "nouns denoting natural events",
    "noun.feeling": "nouns denoting feelings and emotions",
    "noun.food": "nouns denoting foods and drinks",
    "noun.group": "nouns denoting groupings of people or objects",
    "noun.location": "nouns denoting spatial position",
    "noun.motive": "nouns denoting goals",
    "noun.object": "nouns denoting natural objects (not man-made)",
    "noun.person": "nouns denoting people",
    "noun.phenomenon": "nouns denoting natural phenomena",
    "noun.plant": "nouns denoting plants",
    "noun.possession": "nouns denoting possession and transfer of possession",
    "noun.process": "nouns denoting natural processes",
    "noun.quantity": "nouns denoting quantities and units of measure",
    "noun.relation": "nouns denoting relations between people or things or ideas",
    "noun.shape": "nouns denoting two and three dimensional shapes",
    "noun.state": "nouns denoting stable states of affairs",
    "noun.substance": "nouns denoting substances",
    "noun.time": "nouns denoting time and temporal relations",
}
NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
NLI_RELATION_LABEL = {
    "hypernym": "entailment",
    "hyponym": "neutral",
    "cohyponym": "contradiction",
    "antonym": "contradiction",
}
# Nouns for concrete things, where "the same scene" makes siblings exclusive often enough; abstract
# nouns (acts, attributes, states) gave mostly nonsense substitutions.
CONCRETE_NOUN_FILES = frozenset(
    "noun.animal noun.artifact noun.body noun.food noun.object noun.person noun.plant "
    "noun.substance".split()
)
SST2_LABELS: tuple[str, ...] = ("negative", "positive")
# Zero-shot descriptions of every label a "supersense" data set can have: the offline supersenses
# (WordNet's own words) and, in hub mode, SST-2's sentiments.
LABEL_DESCRIPTIONS: dict[str, str] = SUPERSENSE_DESCRIPTIONS | {
    "negative": "a negative opinion",
    "positive": "a positive opinion",
}
SST2_HUB = resources.HUB_DATASET_IDS["supersense"]
MULTINLI_HUB = resources.HUB_DATASET_IDS["nli"]

# Contexts that reverse (or block) the upward inference from a word to its hypernym: negation anywhere
# in the sentence, a universal quantifier shortly before the word ("every dog" -/-> "every animal").
NEGATION_WORDS = frozenset(
    "not no never none nobody nothing neither nor without cannot n't isn't wasn't aren't weren't "
    "don't doesn't didn't won't can't couldn't shouldn't".split()
)
UNIVERSAL_WORDS = frozenset("every each all any".split())
UNIVERSAL_WINDOW = 3  # words before the target in which a universal quantifier blocks it
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


def _split_of(key: str) -> str:
    # 70/15/15 by the first 8 bytes of an MD5 (the rule the shipped files were built with)
    return hash_split(
        "split:" + key, [("train", 7000), ("validation", 1500), ("test", 1500)], 10_000, "md5-64"
    )


# --------------------------------------------------------------------------------------------------
# Supersense classification
# --------------------------------------------------------------------------------------------------


def supersense_records(wordnet: Any, per_class: int = SUPERSENSE_PER_CLASS) -> list[dict[str, str]]:
    """Rows ``{id, text, label, split}`` from WordNet's noun synsets (see the module docstring)."""
    if per_class < 5:
        raise ValueError(f"per_class must be at least 5 (one per split and more), got {per_class}")
    by_class: dict[str, list[tuple[str, str]]] = defaultdict(list)
    definition_counts: Counter[str] = Counter()
    for synset in wordnet.all_synsets("n"):
        definition = synset.definition().strip()
        definition_counts[definition] += 1
        if synset.lexname() not in SUPERSENSE_EXCLUDED and len(definition.split()) >= 3:
            by_class[synset.lexname()].append((synset.name(), definition))
    rows = []
    for label in sorted(by_class):
        members = [m for m in by_class[label] if definition_counts[m[1]] == 1]
        members.sort(key=lambda member: (stable_hash(member[0], "md5-64"), member[0]))
        chosen = members[:per_class]
        n_train, n_validation = round(0.6 * len(chosen)), round(0.2 * len(chosen))
        for position, (name, definition) in enumerate(chosen):
            split = (
                "train"
                if position < n_train
                else "validation"
                if position < n_train + n_validation
                else "test"
            )
            rows.append({"id": name, "text": definition, "label": label, "split": split})
    return rows


# --------------------------------------------------------------------------------------------------
# NLI by single-word substitution
# --------------------------------------------------------------------------------------------------


def substitute(sentence: str, word: str, replacement: str) -> str | None:
    """``sentence`` with the first whole-word, lower-case ``word`` replaced, or None if unusable.

    None when the word is absent, when the sentence has a negation (:data:`NEGATION_WORDS`) or a
    universal quantifier shortly before the word (:data:`UNIVERSAL_WORDS`), or when the word is part of a hyphenated compound. A preceding
    indefinite article is adjusted to the replacement (*a* before a consonant letter, *an* before a
    vowel letter; *an hour* and *a unicorn* are missed).
    """
    if not all(isinstance(x, str) for x in (sentence, word, replacement)):
        raise TypeError("sentence, word and replacement must be strings")
    if not word or not replacement:
        raise ValueError("word and replacement must be non-empty")
    tokens = {token.lower() for token in _WORD.findall(sentence)}
    if tokens & NEGATION_WORDS:
        return None
    match = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", sentence)
    if match is None:
        return None
    before, after = sentence[: match.start()], sentence[match.end() :]
    preceding = [token.lower() for token in _WORD.findall(before)][-UNIVERSAL_WINDOW:]
    if set(preceding) & UNIVERSAL_WORDS:
        return None
    article = re.search(r"(?:^|(?<=\W))(a|an|A|An)\s+$", before)
    if article is not None:
        wanted = "an" if replacement[0].lower() in "aeiou" else "a"
        if article.group(1)[0].isupper():
            wanted = wanted.capitalize()
        before = before[: article.start(1)] + wanted + before[article.end(1) :]
    return before + replacement + after


def _usable_lemma(name: str) -> bool:
    words = name.split("_")
    return len(words) <= 2 and all(w.isalpha() and w.islower() for w in words)


def _best_lemma(synset: Any, exclude: Iterable[str] = ()) -> tuple[str, int] | None:
    """The most frequent usable lemma of ``synset`` (SemCor count, then name) and its count."""
    excluded = set(exclude)
    lemmas = [
        lemma
        for lemma in synset.lemmas()
        if _usable_lemma(lemma.name()) and lemma.name() not in excluded
    ]
    if not lemmas:
        return None
    best = min(lemmas, key=lambda lemma: (-lemma.count(), lemma.name()))
    return best.name().replace("_", " "), best.count()


def _pick(candidates: Sequence[Any], key: str, exclude: set[str]) -> str | None:
    """The most frequent replacement word among candidate synsets (ties broken by a hash of ``key``)."""
    scored = {}
    for synset in candidates:
        best = _best_lemma(synset, exclude)
        if best is not None and best[0].replace(" ", "_") not in exclude:
            scored[best[0]] = max(best[1], scored.get(best[0], 0))
    if not scored:
        return None
    return min(
        scored, key=lambda word: (-scored[word], stable_hash(f"{key}:{word}", "md5-64"), word)
    )


def pairs_for_synset(synset: Any) -> list[dict[str, str]]:
    """All NLI pairs made from one synset's examples: ``{id, premise, hypothesis, label, relation}``.

    Nouns give one hypernym, one hyponym and one co-hyponym pair per usable example; adjectives give
    antonym pairs.
    """
    pos = synset.pos()
    own = {lemma.name() for lemma in synset.lemmas()}
    pairs: list[dict[str, str]] = []
    for lemma in synset.lemmas():
        word = lemma.name()
        if "_" in word or not _usable_lemma(word):
            continue
        options: dict[str, str | None] = {}
        if pos == "n":
            if synset.lexname() not in CONCRETE_NOUN_FILES:
                break
            hypernyms = synset.hypernyms()
            hyponyms = synset.hyponyms()
            related = {lem.name() for s in hypernyms + hyponyms for lem in s.lemmas()}
            siblings = [
                s
                for h in hypernyms
                for s in h.hyponyms()
                if s != synset
                and s not in hyponyms
                and s.lexname() == synset.lexname()
                and not set(s.lemma_names()) & own
            ]
            options["hypernym"] = _pick(hypernyms, f"{synset.name()}:{word}:up", own)
            options["hyponym"] = _pick(hyponyms, f"{synset.name()}:{word}:down", own)
            options["cohyponym"] = _pick(siblings, f"{synset.name()}:{word}:side", own | related)
        elif pos in ("a", "s"):
            antonyms = sorted(a.name() for a in lemma.antonyms() if _usable_lemma(a.name()))
            options["antonym"] = antonyms[0].replace("_", " ") if antonyms else None
        else:
            continue
        for number, example in enumerate(synset.examples()):
            for relation, replacement in options.items():
                if replacement is None:
                    continue
                hypothesis = substitute(example, word, replacement)
                if hypothesis is None or hypothesis == example:
                    continue
                pairs.append(
                    {
                        "id": f"{synset.name()}:{word}:{number}:{relation}",
                        "premise": example,
                        "hypothesis": hypothesis,
                        "label": NLI_RELATION_LABEL[relation],
                        "relation": relation,
                    }
                )
    return pairs


def balance(rows: Sequence[dict[str, str]], label_key: str = "label") -> list[dict[str, str]]:
    """Keep the same number of rows of every label (the rarest label's count), chosen by hash of id."""
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[label_key]].append(row)
    if not by_label:
        return []
    size = min(len(group) for group in by_label.values())
    kept = []
    for label in sorted(by_label):
        group = sorted(
            by_label[label], key=lambda row: (stable_hash(row["id"], "md5-64"), row["id"])
        )
        kept.extend(group[:size])
    return sorted(kept, key=lambda row: row["id"])


def nli_records(wordnet: Any) -> list[dict[str, str]]:
    """Rows ``{id, premise, hypothesis, label, relation, split}``, balanced within each split."""
    rows: list[dict[str, str]] = []
    for pos in ("n", "a"):
        for synset in wordnet.all_synsets(pos):
            if synset.examples():
                for pair in pairs_for_synset(synset):
                    # group split by target synset: a premise never appears in two splits
                    pair["split"] = _split_of(synset.name())
                    rows.append(pair)
    balanced = []
    for split in SPLITS:
        balanced.extend(balance([row for row in rows if row["split"] == split]))
    return balanced


# --------------------------------------------------------------------------------------------------
# Files and DatasetDicts
# --------------------------------------------------------------------------------------------------


def asset_path(name: str) -> Path:
    """Where the embedded rows of task ``name`` are kept."""
    return TASKS_DIR / f"{name}.jsonl.gz"


def write_rows(path: Path, rows: Sequence[dict[str, str]]) -> None:
    """Write rows as gzipped JSON lines, byte-for-byte reproducible (no timestamp in the gzip header)."""
    text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    atomic_write(path, gzip.compress(text.encode(), mtime=0))


def read_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


BUILDERS = {"supersense": supersense_records, "nli": nli_records}
"""Task name -> the function that builds its rows from WordNet (``scripts/build_task_data.py`` runs them)."""


def embedded_rows(name: str) -> list[dict[str, str]]:
    """The rows of task ``name`` from its file, rebuilt from WordNet (and saved) if the file is missing."""
    if name not in BUILDERS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(sorted(BUILDERS))}")
    path = asset_path(name)
    if not path.is_file():
        from ch11lib.data.wordnet import load_wordnet

        write_rows(path, BUILDERS[name](load_wordnet()))
    return read_rows(path)


def rows_to_dataset(
    rows: Sequence[dict[str, str]], label_names: Sequence[str], columns: Sequence[str]
):
    """A ``DatasetDict`` with one split per ``row["split"]`` and ``label`` as a ``ClassLabel``."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features(
        {
            c: ClassLabel(names=list(label_names)) if c == "label" else Value("string")
            for c in columns
        }
    )
    unknown = {row["label"] for row in rows} - set(label_names)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among {list(label_names)}")
    splits = {}
    for split in SPLITS:
        chosen = [row for row in rows if row["split"] == split]
        if not chosen:
            raise ValueError(f"split {split!r} is empty")
        data = {c: [row[c] for row in chosen] for c in columns}
        data["label"] = [label_names.index(label) for label in data["label"]]
        splits[split] = Dataset.from_dict(data, features=features)
    return DatasetDict(splits)


def relations_of(split: Any) -> list[str]:
    """The kinds of pair in an NLI split (its ``relation`` column), each once: the offline data's
    lexical relations in :data:`NLI_RELATION_LABEL`'s order, anything else (MultiNLI's genres, in hub
    mode) sorted after them."""
    present = set(split["relation"])
    known = [relation for relation in NLI_RELATION_LABEL if relation in present]
    return known + sorted(present - set(known))


def load_supersense_embedded():
    """The WordNet supersense task (see the module docstring) as a ``DatasetDict``."""
    rows = embedded_rows("supersense")
    labels = sorted({row["label"] for row in rows})
    return rows_to_dataset(rows, labels, ("id", "text", "label"))


def load_nli_embedded():
    """The WordNet substitution NLI task (see the module docstring) as a ``DatasetDict``."""
    return rows_to_dataset(
        embedded_rows("nli"), NLI_LABELS, ("id", "premise", "hypothesis", "label", "relation")
    )


# --------------------------------------------------------------------------------------------------
# Hub adapters: the real data sets in the same schemas
# --------------------------------------------------------------------------------------------------


def adapt_sst2(raw: Any, validation_size: int = 872, seed: int = 0):
    """GLUE SST-2 (``sentence``, ``label``, ``idx``) as ``{id, text, label}``.

    GLUE's test labels are hidden (-1), so GLUE's validation split becomes our ``test`` and a seeded
    sample of ``validation_size`` training sentences our ``validation``.
    """
    from datasets import ClassLabel, DatasetDict, Features, Value

    for split in ("train", "validation"):
        if split not in raw:
            raise ValueError(f"SST-2 needs a {split!r} split, got {list(raw)}")
        missing = {"sentence", "label", "idx"} - set(raw[split].column_names)
        if missing:
            raise ValueError(f"SST-2 split {split!r} lacks columns {sorted(missing)}")
    features = Features(
        {
            "id": Value("string"),
            "text": Value("string"),
            "label": ClassLabel(names=list(SST2_LABELS)),
        }
    )

    def convert(dataset: Any) -> Any:
        dataset = dataset.filter(lambda row: row["label"] >= 0)
        return dataset.map(
            lambda row: {
                "id": f"sst2-{row['idx']}",
                "text": row["sentence"].strip(),
                "label": row["label"],
            },
            remove_columns=dataset.column_names,
            features=features,
        )

    train = convert(raw["train"])
    if not 0 < validation_size < len(train):
        raise ValueError(f"validation_size must be in (0, {len(train)}), got {validation_size}")
    held_out = train.train_test_split(test_size=validation_size, seed=seed, shuffle=True)
    return DatasetDict(
        {
            "train": held_out["train"],
            "validation": held_out["test"],
            "test": convert(raw["validation"]),
        }
    )


def adapt_multinli(raw: Any):
    """MultiNLI (``premise``, ``hypothesis``, ``label``, ``genre``, ``pairID``) as our NLI schema.

    ``train`` -> ``train``, ``validation_matched`` -> ``validation``, ``validation_mismatched`` ->
    ``test`` (the official test labels are hidden); pairs without a gold label (-1) are dropped.
    MultiNLI's label ids are already entailment 0, neutral 1, contradiction 2.
    """
    from datasets import ClassLabel, DatasetDict, Features, Value

    mapping = {
        "train": "train",
        "validation_matched": "validation",
        "validation_mismatched": "test",
    }
    missing_splits = set(mapping) - set(raw)
    if missing_splits:
        raise ValueError(f"MultiNLI lacks splits {sorted(missing_splits)}; got {list(raw)}")
    features = Features(
        {
            "id": Value("string"),
            "premise": Value("string"),
            "hypothesis": Value("string"),
            "label": ClassLabel(names=list(NLI_LABELS)),
            "relation": Value("string"),
        }
    )
    names = (
        raw["train"].features["label"].names
        if hasattr(raw["train"].features["label"], "names")
        else None
    )
    if names is not None and tuple(names) != NLI_LABELS:
        raise ValueError(f"MultiNLI label names {names} are not {NLI_LABELS}")

    def convert(dataset: Any) -> Any:
        missing = {"premise", "hypothesis", "label", "genre", "pairID"} - set(dataset.column_names)
        if missing:
            raise ValueError(f"MultiNLI lacks columns {sorted(missing)}")
        dataset = dataset.filter(lambda row: row["label"] >= 0)
        return dataset.map(
            lambda row: {
                "id": f"mnli-{row['pairID']}",
                "premise": row["premise"],
                "hypothesis": row["hypothesis"],
                "label": row["label"],
                "relation": f"mnli:{row['genre']}",
            },
            remove_columns=dataset.column_names,
            features=features,
        )

    return DatasetDict({ours: convert(raw[theirs]) for theirs, ours in mapping.items()})


def load_sst2_hub():
    """SST-2 from the Hugging Face hub (needs internet), in the supersense schema."""
    import datasets

    return adapt_sst2(datasets.load_dataset(*SST2_HUB))


def load_multinli_hub():
    """MultiNLI from the Hugging Face hub (needs internet), in the NLI schema."""
    import datasets

    return adapt_multinli(datasets.load_dataset(MULTINLI_HUB[0]))
