"""Benchmark: ``python -m mirage_utils check`` on 10^6 rows of generations with ``prompt`` and ``token_logprobs``
(issue 24's budget: <= 15 s on the 2-core CPU, peak memory stated).

Ten models x 100,000 examples of 4-digit sums, outputs with digit errors, each row with its prompt (two solved
examples and the question, so the prompt-copy check searches real text; one row in fifty prints its own answer) and
the per-token log-probabilities of the target as a JSON list. Times reading the CSV, the analysis (validation with
the prompt-copy check and the list parse, metrics, intervals, sharpness, mirage test) and writing the report, each
on its own, in this process, and reports CPU time beside wall time (the machine may be shared) and the peak
resident memory of the process (``resource.getrusage``).

Run: ``python benchmarks/bench_check.py [--rows N] [--plain]`` (``--plain``: the old benchmark, target and output
only).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mirage_utils.checking import check, read_table
from mirage_utils.checking.report import write_report
from mirage_utils.seeding import rng

BUDGET_S = 15.0


def made_up_family(rows: int, models: int = 10, seed: int = 0, extras: bool = True) -> pd.DataFrame:
    """``rows`` generations of 4-digit answers over ``models`` sizes; each digit right with a probability rising
    with size; with ``extras`` a prompt and the target tokens' log-probabilities per row."""
    gen = rng(seed)
    per = rows // models
    n = per * models
    sizes = np.logspace(7, 11, models)
    a, b = gen.integers(1000, 5000, n), gen.integers(1000, 5000, n)
    target = (a + b).astype(str)
    p = np.repeat(np.linspace(0.3, 0.99, models), per)
    wrong = gen.random((n, 4)) > p[:, None]
    shift = (wrong * np.array([1000, 100, 10, 1])).sum(axis=1)
    output = (a + b + shift).astype(str)
    frame = pd.DataFrame(
        {
            "model": np.repeat([f"m{i}" for i in range(models)], per),
            "params": np.repeat(sizes, per),
            "example_id": np.tile(np.arange(per), models),
            "target": target,
            "output": output,
        }
    )
    if extras:
        c, d = gen.integers(1000, 5000, n), gen.integers(1000, 5000, n)
        copy = gen.random(n) < 0.02  # the answer itself among the solved examples
        shown = np.where(copy, a + b, c + d).astype(str)
        text = [pd.Series(v.astype(str)) for v in (c, d, shown, a, b)]
        frame["prompt"] = text[0] + " + " + text[1] + " = " + text[2] + "\n" + text[3] + " + " + text[4] + " ="
        logp = np.log(np.clip(p[:, None] + gen.normal(0, 0.02, (n, 4)), 0.01, 1.0))
        frame["token_logprobs"] = [f"[{x[0]:.4f}, {x[1]:.4f}, {x[2]:.4f}, {x[3]:.4f}]" for x in logp.tolist()]
    return frame


def peak_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path) -> None:
    """Read, check and report ``path`` in this (fresh) process: its peak memory is the check's alone."""
    c0, t0 = time.process_time(), time.perf_counter()
    table = read_table(path)
    t1 = time.perf_counter()
    result = check(table)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_report(result, Path(tmp) / "report")
    t3, c3 = time.perf_counter(), time.process_time()
    total = t3 - t0
    print(f"input: {len(table):,} rows, columns {list(table.columns)}, CSV {path.stat().st_size / 2**20:.0f} MiB")
    print(f"excluded: {result['excluded']}")
    print(
        f"read {t1 - t0:.2f} s, analyse {t2 - t1:.2f} s, report {t3 - t2:.2f} s: total {total:.2f} s wall, "
        f"{c3 - c0:.2f} s CPU (budget {BUDGET_S:.0f} s: {'met' if total <= BUDGET_S else 'NOT met'})"
    )
    print(f"peak resident memory of the check: {peak_mb():.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--plain", action="store_true", help="target and output only (no prompt, no log-probs)")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        measure(args.measure)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "family.csv"
        made_up_family(args.rows, extras=not args.plain).to_csv(path, index=False)
        subprocess.run([sys.executable, __file__, "--measure", str(path)], check=True)


if __name__ == "__main__":
    main()
