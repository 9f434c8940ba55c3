#!/usr/bin/env bash
# Install the course: `make install` (Linux, macOS, Windows with WSL). Safe to run again.
#
#   bash scripts/install.sh [--cuda]
#
#   PYTHON=python3.12   the Python that builds .venv (3.10 to 3.13; default python3)
#   --cuda              on Linux, PyTorch's default (CUDA) build from PyPI instead of the CPU build
#                       (also CH11_TORCH=cuda); CH11_TORCH_INDEX overrides the CPU wheel index
#   CH11_NO_APT=1       never call apt-get (the script then says which packages to install)
#   CH11_OFFLINE=1      never try the network for WordNet (nltk.download)
#
# The pages and assignments need Python packages and WordNet 3.0, nothing else. A contributor's
# checkout (one with tests/) also gets the test and grading tools and the Debian packages the tests
# use: the dictd corpora the course BERT is retrained on, Chromium for the browser test, bubblewrap.
# It exits non-zero, saying what to run, when the pages could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_BUILD=${CH11_TORCH:-cpu}
TORCH_INDEX=${CH11_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
# The build this course is tested with; used wherever pip is served it without an index (this
# project's machines keep it on disk), so that no other torch is downloaded there.
SERVED_TORCH="torch==2.13.0"
for arg in ${1+"$@"}; do  # (bash 3.2, macOS: "$@" alone is "unbound" under set -u)
  case $arg in
    --cuda) TORCH_BUILD=cuda ;;
    --cpu) TORCH_BUILD=cpu ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

fail() {
  echo >&2
  echo "install: FAILED. $*" >&2
  exit 1
}

# 1. Python 3.10-3.13 ---------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 ||
  fail "No '$PYTHON' on PATH. Install Python 3.10-3.13 (Debian/Ubuntu: sudo apt-get install python3 python3-venv; macOS: brew install python@3.12), or name one: make install PYTHON=python3.12"
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$PYTHON" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 14))' ||
  fail "$PYTHON is Python $version; the course needs 3.10 to 3.13. Name another: make install PYTHON=python3.12"

if [ -d tests ]; then EXTRAS=dev; else EXTRAS=book; fi

# 2. Debian packages, where apt-get exists ---------------------------------------------------------
WORDNET_PACKAGES="wordnet-base wordnet-sense-index"
APT_PACKAGES=$WORDNET_PACKAGES
if [ "$EXTRAS" = dev ]; then
  APT_PACKAGES="$APT_PACKAGES dict-jargon dict-foldoc dict-devil chromium chromium-driver bubblewrap"
fi
apt_note=""
if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 && [ -z "${CH11_NO_APT:-}" ]; then
  needed=""
  for package in $APT_PACKAGES; do
    dpkg -s "$package" >/dev/null 2>&1 || needed="$needed $package"
  done
  if [ -n "$needed" ]; then
    if [ "$(id -u)" = 0 ]; then
      SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO="sudo"
    else
      SUDO="none"
      apt_note="sudo apt-get install --no-install-recommends$needed"
      echo "note: not root, so these Debian packages are not installed:$needed" >&2
      echo "      run: $apt_note" >&2
    fi
    if [ "$SUDO" != none ]; then
      $SUDO apt-get update -qq
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $needed
    fi
  fi
fi

# 3. The virtual environment ---------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv; then
    rm -rf .venv
    fail "$PYTHON could not create a virtual environment: its venv/ensurepip module is missing. On Debian/Ubuntu install the package python3-venv (for this Python: python$version-venv): sudo apt-get install python3-venv   then run make install again."
  fi
fi
PIP=".venv/bin/python -m pip"
$PIP install --quiet --upgrade pip || echo "note: pip could not be upgraded; going on with the one in .venv" >&2

# 4. PyTorch: the served build, else the CPU build on Linux, else PyPI's ---------------------------
TORCH_RANGE=$(grep -o '"torch[<>=!~][^"]*"' pyproject.toml | head -n 1 | tr -d '"')
if $PIP install --quiet --dry-run --no-deps --no-index "$SERVED_TORCH" >/dev/null 2>&1; then
  echo "torch: $SERVED_TORCH, served to pip on this machine"
  $PIP install --quiet "$SERVED_TORCH"
elif [ "$(uname -s)" = Linux ] && [ "$TORCH_BUILD" = cpu ]; then
  echo "torch: the CPU build from $TORCH_INDEX (for CUDA: make install CUDA=1)"
  $PIP install --quiet "$TORCH_RANGE" --index-url "$TORCH_INDEX"
else
  echo "torch: from PyPI ($TORCH_RANGE; Linux: the CUDA build, macOS: CPU and Apple's MPS)"
  $PIP install --quiet "$TORCH_RANGE"
fi

# 5. The course and its Python dependencies -------------------------------------------------------
$PIP install --quiet -e ".[$EXTRAS]"
.venv/bin/python -c "import torch, transformers, ch11lib" ||
  fail "the Python packages were installed but do not import (see the error above)"

# 6. WordNet 3.0: NLTK's data, else Debian's packages, else nltk.download when online --------------
WORDNET_CHECK="from ch11lib.wordnet import load_wordnet; load_wordnet()"
if ! .venv/bin/python -c "$WORDNET_CHECK" >/dev/null 2>&1; then
  if [ -z "${CH11_OFFLINE:-}" ]; then
    echo "WordNet: not found; trying nltk.download('wordnet') (needs internet)"
    .venv/bin/python -c "import socket, sys, nltk; socket.setdefaulttimeout(30); sys.exit(not nltk.download('wordnet', quiet=True))" >/dev/null 2>&1 || true
  fi
  if ! .venv/bin/python -c "$WORDNET_CHECK" >/dev/null 2>&1; then
    fail "WordNet 3.0 is missing, so the pages and assignments cannot run. Install it with one of:
    sudo apt-get install wordnet-base wordnet-sense-index          (Debian/Ubuntu, works offline)
    .venv/bin/python -c \"import nltk; nltk.download('wordnet')\"    (any system, needs internet)
then run make install again."
  fi
fi

if [ "$EXTRAS" = dev ]; then
  [ -z "$apt_note" ] || echo "note: the pages run; for every test, still run: $apt_note" >&2
  echo "Installed. Next: make book  (build the book)   make test  (run the tests)"
else
  echo "Installed. Next: make lab  (open the pages and assignments)   make book  (build the book)"
fi
