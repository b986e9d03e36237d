"""Let `make test` reuse the chapters that `make book` just executed, so CI executes each chapter once.

    execution_stamp.py begin    before a build: hash everything the chapters' outputs depend on (kept aside) and
                                drop the last build's record
    execution_stamp.py commit   after a successful build: make the hash taken at `begin` the build's record
    execution_stamp.py check    exit 0 if the last build's record matches the current inputs (else 1)
    execution_stamp.py errors   fail if any chapter lacks an executed notebook in the build, has a code cell that was
                                not executed, or has an error output (what nbval --nbval-lax would catch)
    execution_stamp.py cache    before a build: empty jupyter-cache's store if the package, configs or data changed
                                since it was filled (jupyter-cache keys a chapter on its own code only)

The inputs are the chapters' sources, the package, the configs, the book's config and every data file; an edit to
any of them makes `check` fail, and `make test` then executes the chapters itself with nbval.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
STAMP = BUILD / ".executed-inputs.sha256"
PENDING = BUILD / ".executed-inputs.pending"
EXECUTED = BUILD / "jupyter_execute" / "notebooks"
INPUTS = (
    "notebooks/*.md",
    "mirage_utils/**/*.py",
    "configs/*",
    "_config.yml",
    "_toc.yml",
    "data/**/*",
    "tests/fixtures/**/*",
)
SKIP_PARTS = {"__pycache__", "checkpoints", "cache"}  # written while running, not inputs
# What a chapter's outputs depend on besides its own code: jupyter-cache cannot see these, so a change empties it.
CACHE = BUILD / ".jupyter_cache"
CACHE_STAMP = CACHE / ".package-inputs.sha256"
PACKAGE_INPUTS = tuple(p for p in INPUTS if not p.startswith(("notebooks/", "_toc")))


def inputs_hash(patterns: tuple[str, ...] = INPUTS) -> str:
    """SHA-256 over the relative path and bytes of every input file, in sorted order."""
    files = sorted(
        {p for pattern in patterns for p in ROOT.glob(pattern) if p.is_file() and not SKIP_PARTS & set(p.parts)}
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def chapter_errors() -> list[str]:
    """Problems in the build's executed chapters: missing notebooks, unexecuted code cells, error outputs."""
    problems = []
    for source in sorted((ROOT / "notebooks").glob("*.md")):
        executed = EXECUTED / f"{source.stem}.ipynb"
        if not executed.is_file():
            problems.append(f"{source.name}: no executed notebook at {executed.relative_to(ROOT)}")
            continue
        cells = json.loads(executed.read_text())["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
                continue
            if cell.get("execution_count") is None:
                problems.append(f"{source.name}, cell {i}: not executed")
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    problems.append(f"{source.name}, cell {i}: {out.get('ename')}: {out.get('evalue', '')[:200]}")
    return problems


def refresh_cache() -> bool:
    """Empty the execution cache when the package, configs or data differ from those it was filled with.

    Returns True when the cache was emptied (or there was none). A prose-only edit keeps every cached chapter.
    """
    current = inputs_hash(PACKAGE_INPUTS)
    if CACHE_STAMP.is_file() and CACHE_STAMP.read_text().strip() == current:
        return False
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    CACHE_STAMP.write_text(current + "\n")
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("begin", "commit", "check", "errors", "cache"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "cache":
        emptied = refresh_cache()
        print("execution cache: " + ("emptied (package, configs or data changed)" if emptied else "kept"))
        return 0
    if argv[0] == "begin":  # hashed before the build: an edit made while it runs must not look built
        BUILD.mkdir(exist_ok=True)
        STAMP.unlink(missing_ok=True)
        PENDING.write_text(inputs_hash() + "\n")
        return 0
    if argv[0] == "commit":
        if not PENDING.is_file():
            print("execution_stamp: no pending hash (run `begin` before the build)", file=sys.stderr)
            return 1
        PENDING.replace(STAMP)
        return 0
    if argv[0] == "check":
        return 0 if STAMP.is_file() and STAMP.read_text().strip() == inputs_hash() else 1
    problems = chapter_errors()
    for p in problems:
        print(p, file=sys.stderr)
    bad = {p.split(":")[0].split(",")[0] for p in problems}
    n = len(list((ROOT / "notebooks").glob("*.md")))
    print(f"chapters executed by the last book build: {n - len(bad)} of {n} clean")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
