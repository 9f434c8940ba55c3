"""Rebuild ch11lib/assets/wsd/wordnet_examples.jsonl.gz from WordNet 3.0 (about a minute).

Usage: python scripts/build_wsd_examples.py
"""

from collections import Counter

from ch11lib.wsd import EXAMPLES_ASSET, build_examples, write_examples_asset


def main() -> None:
    examples = build_examples()
    write_examples_asset(examples)
    print(f"{len(examples)} examples -> {EXAMPLES_ASSET}")
    print("splits:", dict(Counter(e.split for e in examples)))
    print("parts of speech:", dict(Counter(e.pos for e in examples)))
    print("polysemous targets:", sum(len(e.candidates) > 1 for e in examples))


if __name__ == "__main__":
    main()
