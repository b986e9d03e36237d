"""Benchmark: backtest and forecast a 10^5-row family with :mod:`mirage_utils.forecast` (issue budget: <= 5 s).

Ten sizes of per-example scores on 4-token answers (exact match, token edit distance, mean per-token probability and
cross-entropy, a loss), tokens right with a probability from the paper's math model. Times, each on its own:
averaging the examples into a family frame, the standard backtest of every forecaster of
:func:`mirage_utils.forecast.arithmetic_plan` from every cutoff (with crossing sizes), and the forecast at ten times
the largest size. Run twice: three seeds (seed t intervals) and one replicate (parametric bootstrap, 200 draws).

Run: ``python benchmarks/bench_forecast.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

from mirage_utils import forecast as fc
from mirage_utils import scaling
from mirage_utils.seeding import rng

LENGTH = 4
CHANCE = 10.0**-LENGTH


def made_up_family(rows: int, replicates: int, sizes: int = 10, seed: int = 0) -> pd.DataFrame:
    """``rows`` per-example scores over ``sizes`` model sizes and ``replicates`` seeds; each replicate's per-token
    probability is the math model's (c = 1e9, alpha = -0.5) with a little seed-to-seed noise."""
    gen = rng(seed)
    n = np.logspace(7, 11, sizes)
    per = rows // (sizes * replicates)
    parts = []
    for r in range(replicates):
        p = scaling.per_token_probability(n, 1e9, -0.5) ** np.exp(gen.normal(0, 0.05, sizes))
        tok = np.clip(np.repeat(p, per)[:, None] + gen.normal(0, 0.02, (per * sizes, LENGTH)), 1e-6, 1 - 1e-9)
        right = gen.random(tok.shape) < tok
        parts.append(
            pd.DataFrame(
                {
                    "params": np.repeat(n, per),
                    "seed": r,
                    "exact_match": right.all(axis=1).astype(float),
                    "ted": (~right).sum(axis=1).astype(float),
                    "token_prob": tok.mean(axis=1),
                    "cross_entropy": -np.log(tok).mean(axis=1),
                    "chance": CHANCE,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out.assign(loss=out["cross_entropy"] * 1.5)


def run(rows: int, replicates: int) -> float:
    table = made_up_family(rows, replicates)
    t0 = time.perf_counter()
    cols = ["exact_match", "ted", "token_prob", "cross_entropy", "chance", "loss"]
    family = fc.family_frame(table, "params", cols, "seed", per_example=True)
    t1 = time.perf_counter()
    plan, levels, down = fc.arithmetic_plan(CHANCE, LENGTH)
    result = fc.backtest(family, plan, levels=levels, lower_is_better=down)
    summary = fc.summarise(result)
    t2 = time.perf_counter()
    ahead = fc.forecast(family, plan, [10 * family["x"].max()])
    t3 = time.perf_counter()
    total = t3 - t0
    print(
        f"{len(table):,} rows, {replicates} replicate(s), {len(plan)} forecasters x "
        f"{result.predictions['cutoff'].nunique()} cutoffs ({summary['interval'].iloc[0]}): "
        f"family frame {t1 - t0:.2f} s, backtest {t2 - t1:.2f} s, forecast {t3 - t2:.2f} s, total {total:.2f} s "
        f"(budget 5 s: {'met' if total <= 5 else 'NOT met'}); {len(ahead)} forecasts"
    )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for replicates in (3, 1):
        run(args.rows, replicates)


if __name__ == "__main__":
    main()
