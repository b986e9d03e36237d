"""Probe a training recipe for the arithmetic family: is 4-digit addition being learned, digit by digit?

Trains one size for one seed with the given recipe and, at log-spaced steps, prints the mean teacher-forced
probability of each correct digit of 400 held-out 4-digit sums (by position from the units digit) and their exact
match. These probes chose the family's recipe (Chapter 2's ablation table); each row of that table is one call, e.g.

    python benchmarks/probe_arithmetic_recipe.py --layers 3 --width 96 --heads 4 --tokens 8e6 --batch 32 \\
        --positions rotary --mix addition_4digit=0.3,addition_1to4digit=0.2,multiplication_0_99=0.3,redefined=0.2

Run with OMP_NUM_THREADS set to the threads to use. Minutes per probe on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from mirage_utils.arithmetic import evaluate as ev
from mirage_utils.arithmetic import task as ar
from mirage_utils.arithmetic import train as tr
from mirage_utils.seeding import rng


def digit_probabilities(model, tests, reverse: bool) -> list[float]:
    """Mean p(correct digit | correct prefix) at answer positions 0..3 counted from the units digit."""
    full = ar.pack([p + ar.written(t, reverse) + ar.EOS for p, t in zip(tests["prompt"], tests["target"])])
    x = torch.from_numpy(full)
    first = np.array([len(p) for p in tests["prompt"]]) - 1
    with torch.no_grad():
        probs = torch.softmax(model(x[:, :-1]), -1)
    out = []
    for k in range(4):
        vals = []
        for i, target in enumerate(tests["target"]):
            pos = k if reverse else len(target) - 1 - k  # written position of the digit of place value 10^k
            vals.append(probs[i, first[i] + pos, x[i, first[i] + pos + 1]].item())
        out.append(float(np.mean(vals)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--width", type=int, default=96)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--tokens", type=float, default=8e6)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--positions", default="absolute", choices=["absolute", "line", "rotary"])
    p.add_argument("--abacus", action="store_true")
    p.add_argument("--reverse-operands", action="store_true")
    p.add_argument("--msb-first", action="store_true", help="answers most-significant digit first")
    p.add_argument("--mix", default="addition_4digit=0.45,multiplication_0_99=0.35,redefined=0.2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoints", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    mix = {k: float(v) for k, v in (item.split("=") for item in args.mix.split(","))}
    cfg = tr.FamilyConfig(
        name="probe",
        models=(tr.ModelSpec("probe", args.layers, args.width, args.heads, args.lr),),
        train_tokens=int(args.tokens),
        batch_size=args.batch,
        seeds=(args.seed,),
        mix=mix,
        reverse=not args.msb_first,
        reverse_operands=args.reverse_operands,
        positions=args.positions,
        abacus=args.abacus,
        n_checkpoints=args.checkpoints,
        warmup_steps=100,
    )
    tests = ev.build_test_set(
        ar.get_task("addition_4digit"),
        "test",
        rng(5),
        cfg.split_seed,
        cfg.test_fraction,
        400,
        cfg.reverse,
        cfg.reverse_operands,
    )
    start = time.perf_counter()

    def report(model, step: int, tokens: int) -> None:
        ps = digit_probabilities(model, tests, cfg.reverse)
        em = ev.score_problems(model, tests, cfg.reverse)["exact_match"].mean()
        print(
            f"step {step:6d}  tokens {tokens / 1e6:6.2f}M  {time.perf_counter() - start:6.0f}s  "
            f"p(digit) units..thousands " + " ".join(f"{v:.2f}" for v in ps) + f"  EM {em:.3f}",
            flush=True,
        )

    _, _, summary = tr.train_shard(cfg.models[0], cfg, args.seed, on_checkpoint=report, progress=False)
    print(
        f"{summary['n_params']:,} non-embedding parameters, {summary['steps']} steps, "
        f"{summary['train_seconds']:.0f} s, {summary['tokens_per_second']:,.0f} positions/s"
    )


if __name__ == "__main__":
    main()
