"""A small, real, very skewed multilingual corpus that is available offline (chapter 06,
``06_multilingual``): the ChatterBot dialogue corpus, ``resources.load_dataset("chatterbot-multilingual")``.
"""

from __future__ import annotations

from pathlib import Path

from ch11lib.errors import MissingResourceError


def load_chatterbot_corpus() -> dict[str, list[str]]:
    """Utterances of the ChatterBot dialogue corpus (PyPI ``chatterbot-corpus``, BSD licence) by language.

    Each language folder holds YAML files with ``conversations`` (lists of utterances); sizes range
    from a few hundred bytes (Telugu, Thai) to a few hundred kilobytes (English, Persian).
    """
    try:
        import chatterbot_corpus
        import yaml
    except ImportError as error:
        raise MissingResourceError(
            "The multilingual dialogue corpus is not installed. Run:  pip install chatterbot-corpus pyyaml"
        ) from error
    root = Path(chatterbot_corpus.__file__).parent / "data"
    corpora: dict[str, list[str]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        texts: list[str] = []
        for path in sorted(folder.glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for conversation in data.get("conversations") or []:
                texts.extend(
                    str(u).strip() for u in conversation if u is not None and str(u).strip()
                )
        if texts:
            corpora[folder.name] = texts
    return corpora
