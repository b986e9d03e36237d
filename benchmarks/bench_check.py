"""Benchmark: ``python -m mirage_utils check`` on 10^6 rows of generations (issue budget: <= 10 s on the 2-core CPU).

Ten models x 100,000 examples of 4-digit answers, outputs with digit errors; times reading the CSV, the analysis
(validation, metrics, intervals, sharpness, mirage test) and writing the report, each on its own.

Run: ``python benchmarks/bench_check.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mirage_utils.checking import check, read_table
from mirage_utils.checking.report import write_report
from mirage_utils.seeding import rng


def made_up_family(rows: int, models: int = 10, seed: int = 0) -> pd.DataFrame:
    """``rows`` generations of 4-digit answers over ``models`` sizes; each digit right with a probability rising
    with size."""
    gen = rng(seed)
    per = rows // models
    sizes = np.logspace(7, 11, models)
    digits = gen.integers(0, 10, size=(per * models, 4))
    p = np.repeat(np.linspace(0.3, 0.99, models), per)[:, None]
    wrong = gen.random(digits.shape) > p
    out = np.where(wrong, (digits + 1) % 10, digits)
    join = lambda a: ["".join(map(str, r)) for r in a]
    return pd.DataFrame(
        {
            "model": np.repeat([f"m{i}" for i in range(models)], per),
            "params": np.repeat(sizes, per),
            "example_id": np.tile(np.arange(per), models),
            "target": join(digits),
            "output": join(out),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    frame = made_up_family(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "family.csv"
        frame.to_csv(path, index=False)
        t0 = time.perf_counter()
        table = read_table(path)
        t1 = time.perf_counter()
        result = check(table)
        t2 = time.perf_counter()
        write_report(result, Path(tmp) / "report")
        t3 = time.perf_counter()
    total = t3 - t0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    print(
        f"{len(frame):,} rows: read {t1 - t0:.2f} s, analyse {t2 - t1:.2f} s, report {t3 - t2:.2f} s, "
        f"total {total:.2f} s (budget 10 s: {'met' if total <= 10 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
