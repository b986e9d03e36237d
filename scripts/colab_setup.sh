#!/usr/bin/env bash
# Set up a fresh notebook kernel (Colab, a bare Jupyter) for the book's chapters; called by each chapter's hidden
# first cell after it has cloned the repository:  bash mirage-book/scripts/colab_setup.sh /path/to/kernel/python
# Installs the package with torch, MyST-NB (the chapters glue computed numbers into their text with myst_nb.glue) and
# the data-only wheels. No system package is needed: the Omniglot-like substitute ships built (Debian's
# fonts-noto-core is needed only to rebuild it). Safe to run twice.
set -euo pipefail
PY="${1:-python3}"
cd "$(dirname "$0")/.."
"$PY" -m pip install -q -e ".[train]" "myst-nb==1.4.0"
"$PY" -m mirage_utils datasets install
