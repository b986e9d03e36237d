"""Benchmark: the arithmetic family's training throughput against this machine's dense matmul peak.

Prints the measured float32 matmul FLOP/s (torch, 1024x1024, best of several), then for each trained size the
tokens/s and FLOP/s recorded in ``models.csv`` (6N + attention FLOPs per token, see ``models.gpt.flops_per_token``)
and that as a fraction of the matmul figure. Run after ``python -m mirage_utils arithmetic run``.

Run: ``python benchmarks/bench_training_throughput.py [--artifacts data/artifacts/arithmetic/family]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
import torch

from mirage_utils.data import REPO_ROOT


def matmul_flops(n: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=REPO_ROOT / "data" / "artifacts" / "arithmetic" / "family")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    peak = matmul_flops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: dense matmul 1024^2 float32 = "
          f"{peak / 1e9:.1f} GFLOP/s")
    models = pd.read_csv(args.artifacts / "models.csv")
    models["GFLOP/s"] = models["flops_per_second"] / 1e9
    models["fraction of matmul"] = models["flops_per_second"] / peak
    cols = ["model", "n_params", "train_tokens", "train_seconds", "tokens_per_second", "GFLOP/s", "fraction of matmul"]
    print(models[cols].to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print(f"whole family: {models['train_seconds'].sum() / 60:.1f} min of training")


if __name__ == "__main__":
    main()
