#!/usr/bin/env bash
# Set up a fresh notebook kernel (Colab, a bare Jupyter) for the book's chapters; called by each chapter's hidden
# first cell after it has cloned the repository:  bash mirage-book/scripts/colab_setup.sh /path/to/kernel/python
# Installs the package with torch and the chapters' libraries, MyST-NB (the chapters glue computed numbers into their
# text with myst_nb.glue) and the data-only wheels. No system package is needed: the Omniglot-like substitute ships
# built (Debian's fonts-noto-core is needed only to rebuild it). Safe to run twice.
# Versions: the book's lock (constraints.txt) for the package's own dependencies, so the chapters compute with the
# versions they were checked with; not for Jupyter's, so the kernel's own ipykernel, tornado, ... stay as they are.
set -euo pipefail
PY="${1:-python3}"
cd "$(dirname "$0")/.."
PINS="$(mktemp)"
"$PY" - "$PINS" <<'EOF'
import re, sys, tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = project["optional-dependencies"]
key = lambda name: re.sub(r"[-_.]+", "-", name).lower()
own = {key(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in project["dependencies"] + extras["train"] + extras["chapters"]}
lock = [ln for ln in open("constraints.txt") if "==" in ln and key(ln.split("==")[0]) in own]
open(sys.argv[1], "w").writelines(lock)
EOF
"$PY" -m pip install -q -c "$PINS" -e ".[train,chapters]" "myst-nb==1.4.0"
rm -f "$PINS"
"$PY" -m mirage_utils datasets install
