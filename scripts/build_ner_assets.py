"""Build the silver WordNet NER data once and write it to ch11lib/assets/ner_wordnet_silver.jsonl.gz.

Takes a few minutes on a small CPU (WordNet hypernym closures). See ch11lib/data/ner.py for exactly
how the silver tags are made. Usage:  python scripts/build_ner_assets.py
"""

from __future__ import annotations

import time
from collections import Counter

from ch11lib.data import ner as ner_data
from ch11lib.data.wordnet import load_wordnet


def main() -> None:
    start = time.perf_counter()
    records = ner_data.build_silver_ner(load_wordnet())
    ner_data.write_records(records)
    for split, rows in records.items():
        entities = Counter(t[2:] for row in rows for t in row["ner_tags"] if t.startswith("B-"))
        n_tokens = sum(len(row["tokens"]) for row in rows)
        print(f"{split}: {len(rows)} sentences, {n_tokens} tokens, entities {dict(entities)}")
    size = ner_data.ASSET_PATH.stat().st_size
    print(
        f"wrote {ner_data.ASSET_PATH} ({size / 1024:.0f} KiB) in {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
