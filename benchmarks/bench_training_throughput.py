"""Benchmark: training throughput of every size of the arithmetic family, on the CPU and (if present) on CUDA.

For each size of ``configs/arithmetic.json`` it times ``--steps`` optimizer steps of the family's recipe on the
family's own token stream (after two warm-up steps) and prints tokens/s (positions processed, padding included) and
achieved FLOP/s (6N + attention per position, ``arithmetic.model.flops_per_token``), next to this machine's dense
float32 matmul rate. It also prints, from the committed shards, the measured training time of every finished shard
and the time the whole family would take at the measured rates.

Run: ``python benchmarks/bench_training_throughput.py [--steps 20] [--device cpu|cuda|all]``
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from mirage_utils.arithmetic import shards
from mirage_utils.arithmetic import task as ar
from mirage_utils.arithmetic import train as tr
from mirage_utils.arithmetic.config import FamilyConfig
from mirage_utils.arithmetic.model import flops_per_token
from mirage_utils.data import REPO_ROOT


def matmul_flops(device: str, n: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for i in range(repeats + 3):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= 3:
            best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def time_size(spec, cfg: FamilyConfig, batches: list[np.ndarray], device: str, steps: int) -> dict:
    tr.configure_device(device)
    model = tr.build_model(spec, cfg, 0).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr)
    positions = flops = 0.0
    for i in range(steps + 2):
        if i == 2:
            if device == "cuda":
                torch.cuda.synchronize()
            start, positions, flops = time.perf_counter(), 0.0, 0.0
        b = batches[i % len(batches)]
        ids = torch.from_numpy(b.astype(np.int64)).to(device)
        mask = torch.from_numpy(ar.answer_mask(b)[:, :-1]).to(device)
        with tr.autocast(device):
            logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits[mask].float(), ids[:, 1:][mask])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        width = b.shape[1] - 1
        positions += b.shape[0] * width
        flops += b.shape[0] * width * flops_per_token(model, width)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "device": device,
        "model": spec.name,
        "n_params": model.n_params(),
        "tokens/s": positions / seconds,
        "GFLOP/s": flops / seconds / 1e9,
        "s/step": seconds / steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO_ROOT / "configs" / "arithmetic.json"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    cfg = FamilyConfig.load(args.config)
    small = FamilyConfig.from_dict({**cfg.to_dict(), "train_tokens": 200_000})  # the same mix, a short stream
    batches = tr.training_batches(small, 0)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    rows = []
    for device in devices:
        peak = matmul_flops(device)
        print(
            f"{device}: torch {torch.__version__}, {torch.get_num_threads()} CPU threads, dense matmul 1024^2 "
            f"float32 = {peak / 1e9:.1f} GFLOP/s"
        )
        for spec in cfg.models:
            row = time_size(spec, cfg, batches, device, args.steps)
            row["fraction of matmul"] = row["GFLOP/s"] * 1e9 / peak
            rows.append(row)
    table = pd.DataFrame(rows)
    positions_per_shard = cfg.train_tokens * 1.28  # padding measured on the family's stream: ~22% of positions
    table["est. min per shard"] = positions_per_shard / table["tokens/s"] / 60
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.3g}"))
    for device, g in table.groupby("device"):
        print(
            f"{device}: whole family ({len(cfg.seeds)} seeds) at these rates, one process: "
            f"{g['est. min per shard'].sum() * len(cfg.seeds) / 60:.1f} h"
        )
    done = sorted(shards.shards_root(cfg).glob("*/summary.json"))
    if done:
        measured = pd.DataFrame([json.loads(p.read_text()) for p in done])
        print(f"\n{len(done)} finished shards (measured, evaluation excluded):")
        print(
            measured[
                [
                    "model",
                    "seed",
                    "n_params",
                    "device",
                    "torch_threads",
                    "train_seconds",
                    "tokens_per_second",
                    "flops_per_second",
                ]
            ].to_string(index=False, float_format=lambda v: f"{v:,.4g}")
        )


if __name__ == "__main__":
    main()
