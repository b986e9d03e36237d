#!/usr/bin/env bash
# Set up a fresh notebook kernel (Colab, a bare Jupyter) for the book's chapters; called by each chapter's hidden
# first cell after it has cloned the repository:  bash mirage-book/scripts/colab_setup.sh /path/to/kernel/python
# Installs the package with torch, the data-only wheels, and (where apt-get works, e.g. as root on Colab) the Debian
# data the vision chapter reads. Safe to run twice.
set -euo pipefail
PY="${1:-python3}"
cd "$(dirname "$0")/.."
"$PY" -m pip install -q -e ".[train]"
"$PY" -m mirage_utils datasets install
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -q dataset-fashion-mnist fonts-noto-core) || echo "apt-get failed: Chapter 4 needs dataset-fashion-mnist and fonts-noto-core"
fi
