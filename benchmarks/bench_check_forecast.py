"""Benchmark: ``python -m mirage_utils check FILE --forecast-to SIZE`` on a 10^5-row family (issue budget: the
forecasting part <= 5 s).

A generations table of the paper's math model (5-digit targets, each digit right with the per-token probability
``exp(-(N / c)**alpha)``, the target's probability given as ``token_probability``) over ten sizes, with three seeds
(seed t intervals) or one (parametric bootstrap, 200 draws). Timed, each on its own: validation and the check
(:func:`mirage_utils.checking.analyse.analyse`, not part of the budget), the forecasting part (planning: per-example
scores averaged into family frames; then every forecaster's backtest from every cutoff and its forecast at ten times
the largest size: :func:`mirage_utils.checking.forecasting.plans_for` and ``forecast_section``) and the report's
forecast figures (``forecast_html``).

Run: ``python benchmarks/bench_check_forecast.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

from mirage_utils import scaling
from mirage_utils.checking import validate
from mirage_utils.checking.analyse import analyse
from mirage_utils.checking.forecasting import forecast_html, forecast_section, plans_for
from mirage_utils.seeding import rng

LENGTH = 5


def made_up_family(rows: int, seeds: int, sizes: int = 10, seed: int = 0) -> pd.DataFrame:
    """``rows`` generations over ``sizes`` model sizes and ``seeds`` seeds (each seed's per-token probability a
    little off the math model's, c = 6.1e8, alpha = -0.5)."""
    gen = rng(seed)
    n = np.logspace(7, 11.5, sizes)
    per = rows // (sizes * seeds)
    parts = []
    for s in range(seeds):
        p = scaling.per_token_probability(n, 6.1e8, -0.5) ** np.exp(gen.normal(0, 0.05, sizes))
        p_rows = np.repeat(p, per)
        targets = gen.integers(0, 10, (per * sizes, LENGTH))
        right = gen.random(targets.shape) < p_rows[:, None]
        outputs = np.where(right, targets, (targets + 1) % 10)
        digits = np.array(list("0123456789"))
        parts.append(
            pd.DataFrame(
                {
                    "model": np.repeat([f"m{x:.2e}" for x in n], per),
                    "params": np.repeat(n, per),
                    "seed": s,
                    "example_id": np.tile(np.arange(per), sizes),
                    "target": ["".join(r) for r in digits[targets]],
                    "output": ["".join(r) for r in digits[outputs]],
                    "token_probability": p_rows,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def run(rows: int, seeds: int) -> float:
    table = made_up_family(rows, seeds)
    t0 = time.perf_counter()
    v = validate(table)
    analyse(v)
    t1 = time.perf_counter()
    plans, scale, notes = plans_for(table, validated=v)
    size = 10 * float(table["params"].max())
    section = forecast_section(plans, size, scale, notes=notes)
    t2 = time.perf_counter()
    forecast_html(section)
    t3 = time.perf_counter()
    forecasting = t2 - t1
    fits = sum(len(e["forecasters"]) for e in section["metrics"])
    cutoffs = len(section["metrics"][0]["forecasters"][0]["cutoffs"])
    trusted = [e["forecaster"] for e in section["metrics"] if e["trusted"]]
    print(
        f"{len(table):,} rows, {seeds} seed(s), {fits} forecasters x {cutoffs} cutoffs: check {t1 - t0:.2f} s "
        f"(not in the budget), forecasting {forecasting:.2f} s (budget 5 s: {'met' if forecasting <= 5 else 'NOT met'}"
        f"), report figures {t3 - t2:.2f} s; headline forecasters: {trusted}"
    )
    return forecasting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")  # fmt: skip
    for seeds in (3, 1):
        run(args.rows, seeds)


if __name__ == "__main__":
    main()
