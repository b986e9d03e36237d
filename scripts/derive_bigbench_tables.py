"""Re-derive the BIG-bench files the book uses from their public source, the PyPI sdist ``bigbench==1.0.0``.

Writes ``task_metadata.csv`` (one row per task.json, one per programmatic task; schema in
``data/third_party/bigbench-pypi-tasks/PROVENANCE.md``) and copies the arithmetic task.json files, verbatim, into an
output folder, then compares each result with the hash registered in ``mirage_utils.data``.

Usage: python scripts/derive_bigbench_tables.py OUT_DIR [--sdist PATH]
Without --sdist, pip fetches the 358 MB archive from the package index (see fetch_sdist).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from mirage_utils import data

SDIST_SHA256 = "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"
TASKS_PREFIX = "bigbench-1.0.0/bigbench/benchmark_tasks/"
ARITHMETIC = [
    "arithmetic/task.json",
    "arithmetic/2_digit_multiplication/task.json",
    "arithmetic/4_digit_addition/task.json",
]
COLUMNS = [
    "task",
    "subtask",
    "name",
    "metrics",
    "preferred_score",
    "keywords",
    "n_examples",
    "n_examples_with_target_scores",
    "n_examples_with_target",
    "append_choices_to_input",
    "canary",
    "task_type",
]


def fetch_sdist(folder: Path) -> Path:
    """Download the sdist with pip 23.2.1 in a throwaway venv: newer pips refuse it while preparing its metadata
    ("Distributions from PyPI cannot declare direct URL dependencies", a dependency on a bleurt zip)."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "-q", "pip==23.2.1"], check=True)
    subprocess.run([*pip, "download", "--no-deps", "-d", str(folder), "bigbench==1.0.0"], check=True)
    return next(folder.glob("bigbench-1.0.0.tar.gz"))


def json_row(task: str, subtask: str, doc: dict) -> dict:
    examples = doc.get("examples", [])
    return {
        "task": task,
        "subtask": subtask,
        "name": doc.get("name", ""),
        "metrics": ";".join(doc.get("metrics", [])),
        "preferred_score": doc.get("preferred_score", ""),
        "keywords": ";".join(doc.get("keywords", [])),
        "n_examples": len(examples),
        "n_examples_with_target_scores": sum("target_scores" in e for e in examples),
        "n_examples_with_target": sum("target" in e for e in examples),
        "append_choices_to_input": doc.get("append_choices_to_input", ""),  # as written in the file, else empty
        "canary": "canary" in doc,
        "task_type": "json",
    }


def derive(sdist: Path, out: Path) -> pd.DataFrame:
    rows, programmatic = [], set()
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if not member.name.startswith(TASKS_PREFIX) or not member.isfile():
                continue
            rel = member.name[len(TASKS_PREFIX) :]
            parts = rel.split("/")
            if parts[-1] == "task.json" and len(parts) in (2, 3):
                doc = json.load(tar.extractfile(member))
                rows.append(json_row(parts[0], parts[1] if len(parts) == 3 else "", doc))
                if rel in ARITHMETIC:
                    target = out / "bigbench" / "benchmark_tasks" / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())
            elif parts[-1] == "task.py" and len(parts) == 2:
                programmatic.add(parts[0])
    json_tasks = {r["task"] for r in rows}
    for task in sorted(programmatic - json_tasks):
        rows.append({**{c: "" for c in COLUMNS}, "task": task, "name": task, "task_type": "programmatic"})
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["task", "subtask"]).reset_index(drop=True)
    table.to_csv(out / "task_metadata.csv", index=False, lineterminator="\r\n")  # as the csv module writes
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sdist", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or fetch_sdist(Path(tmp))
        if data.sha256_of(sdist) != SDIST_SHA256:
            print(f"{sdist}: SHA-256 differs from the recorded {SDIST_SHA256}", file=sys.stderr)
            return 1
        table = derive(sdist, args.out)
    print(
        f"{len(table)} rows, {table['task'].nunique()} tasks "
        f"({(table['task_type'] == 'programmatic').sum()} programmatic) -> {args.out / 'task_metadata.csv'}"
    )
    status = 0
    for key in ("bigbench/task_metadata", "bigbench/2_digit_multiplication", "bigbench/4_digit_addition"):
        rel = data.REGISTRY[key].path.removeprefix("bigbench-pypi-tasks/")
        same = data.sha256_of(args.out / rel) == data.REGISTRY[key].sha256
        print(f"{rel}: {'identical to' if same else 'DIFFERS from'} the registered file")
        status |= 0 if same else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
