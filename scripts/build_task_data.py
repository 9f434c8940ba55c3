"""Rebuild the embedded task data (ch11lib/assets/tasks/*.jsonl.gz) from WordNet 3.0 (a few minutes).

Usage: python scripts/build_task_data.py [--check] [supersense] [nli]   (default: both)
With --check nothing is written: the script fails if the files differ from a fresh build.
"""

import sys
from collections import Counter

from ch11lib.data.tasks import BUILDERS, asset_path, read_rows, write_rows
from ch11lib.data.wordnet import load_wordnet


def main() -> int:
    check = "--check" in sys.argv[1:]
    wordnet = load_wordnet()
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or list(BUILDERS)
    unknown = set(names) - set(BUILDERS)
    if unknown:
        raise SystemExit(f"unknown task(s) {sorted(unknown)}; known: {sorted(BUILDERS)}")
    status = 0
    for name in names:
        build = BUILDERS[name]
        rows = build(wordnet)
        path = asset_path(name)
        print(f"{name}: {len(rows)} rows", dict(Counter(row["split"] for row in rows)))
        print("  labels:", dict(sorted(Counter(row["label"] for row in rows).items())))
        if "relation" in rows[0]:
            print("  relations:", dict(Counter(row["relation"] for row in rows)))
        if check:
            same = path.is_file() and read_rows(path) == rows
            print(f"  {path}: {'up to date' if same else 'DIFFERS from a fresh build'}")
            status |= not same
        else:
            write_rows(path, rows)
            print(f"  -> {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
