"""Lint the chapters' code the way ruff and a duplicate-code check see a package.

Each notebooks/*.md chapter's code cells are extracted (jupytext) into one .py file in a temporary folder; ruff then
checks them (pyflakes and pycodestyle rules at the column width the pages have, 88) and that they are formatted, and
pylint's similarity checker looks for blocks of six or more lines shared between chapters or with the package.
The hidden first cell (the Colab install, identical in every chapter by design, tests/test_notebooks.py) is left out
of the duplicate check. Figure captions and alt texts must each be one line (jupytext's metadata round trip mangles
multi-line ones). Usage: python scripts/lint_chapters.py [--fix]  (--fix formats the code cells with ruff and puts
each caption and alt text on one line).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WIDTH = "88"
# Cells run top to bottom, so an import may follow code (E402); the chapters' helpers may be small lambdas (E731).
RUFF_RULES = ["--select", "E,F,W,I", "--ignore", "E402,E731", "--line-length", WIDTH]


def extract(folder: Path, with_setup: bool) -> list[Path]:
    """One .py per chapter holding its code cells in order (with or without the hidden install cell)."""
    out = []
    for md in sorted((ROOT / "notebooks").glob("*.md")):
        cells = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
        if not with_setup:
            cells = [c for c in cells if "remove-cell" not in c.metadata.get("tags", [])]
        path = folder / f"{md.stem}.py"
        path.write_text("\n\n# %%\n".join(c.source for c in cells) + "\n")
        out.append(path)
    return out


def multiline_figure_text(md: Path) -> list[str]:
    """Figure captions and alt texts written over several lines. jupytext re-serialises cell metadata (``--fix``
    and ``make sync`` do), turning a ``|`` block into a quoted string with blank lines inside: write each as one
    line, which survives the round trip and folds back to the same text."""
    found = []
    for i, cell in enumerate(jupytext.read(md).cells):
        opts = cell.metadata.get("mystnb", {})
        for key, field in (("figure", "caption"), ("image", "alt")):
            text = opts.get(key, {}).get(field)
            if isinstance(text, str) and "\n" in text.strip():
                found.append(f"{md.name}, cell {i}: {key}.{field} spans several lines")
    return found


def one_line_figure_text(md: Path) -> None:
    """Rewrite ``md`` with every figure caption and alt text on one line (whitespace runs become one space)."""
    nb = jupytext.read(md)
    changed = False
    for cell in nb.cells:
        opts = cell.metadata.get("mystnb", {})
        for key, field in (("figure", "caption"), ("image", "alt")):
            text = opts.get(key, {}).get(field)
            if isinstance(text, str) and "\n" in text.strip():
                opts[key][field] = " ".join(text.split())
                changed = True
    if changed:
        jupytext.write(nb, md, fmt="md:myst")


def run(cmd: list[str]) -> int:
    print("$", " ".join(cmd[:3]), "...", flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fix", action="store_true", help="format the chapters' code cells with ruff (in place)")
    args = parser.parse_args()
    if args.fix:
        for md in sorted((ROOT / "notebooks").glob("*.md")):
            pipe = f"{BIN / 'ruff'} format --isolated --line-length {WIDTH} -"
            subprocess.run([str(BIN / "jupytext"), "--quiet", "--pipe", pipe, str(md)], check=True)
            one_line_figure_text(md)
        return 0
    multiline = [m for md in sorted((ROOT / "notebooks").glob("*.md")) for m in multiline_figure_text(md)]
    for m in multiline:
        print(m)
    failures = len(multiline)
    with tempfile.TemporaryDirectory() as tmp:
        full, code_only = Path(tmp, "full"), Path(tmp, "code")
        full.mkdir()
        code_only.mkdir()
        files = extract(full, with_setup=True)
        failures += run([str(BIN / "ruff"), "check", "--isolated", *RUFF_RULES, *map(str, files)])
        fmt = [str(BIN / "ruff"), "format", "--isolated", "--check", "--line-length", WIDTH, *map(str, files)]
        failures += run(fmt)
        similar = [
            str(BIN / "pylint"),
            "--disable=all",
            "--enable=duplicate-code",
            "--min-similarity-lines=6",
            "--ignore-imports=yes",
            "--ignore-docstrings=yes",
            "--ignore-comments=yes",
            "--score=no",
            *map(str, extract(code_only, with_setup=False)),
            str(ROOT / "mirage_utils"),
        ]
        failures += run(similar)
    print("chapter lint:", "clean" if not failures else "FAILED (see above; `--fix` formats the code cells)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
