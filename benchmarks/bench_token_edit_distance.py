"""Benchmark: token edit distance over 10^6 random token-sequence pairs of length 1-10 (issue budget: <= 1 s on the
2-core CPU, and >= 50x faster than a pure-Python dynamic programme).

The same pairs are timed in the three forms the book meets: strings (each character a token, e.g. digits of an
arithmetic answer), padded integer matrices (tokenizer output) and lists of integer lists. Each time includes the
conversion the form needs. The pure-Python DP (``metrics.token_edit_distance_reference``) runs on the lists.

Run: ``make bench`` or ``python benchmarks/bench_token_edit_distance.py [--pairs N] [--dp-pairs M]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np

from mirage_utils import metrics
from mirage_utils.seeding import rng

MAX_LEN, VOCAB, PAD = 10, 12, -1


def random_pairs(n_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two padded (n_pairs, 10) token matrices, row lengths uniform in 1..10, tokens in 0..11."""
    gen = rng(seed)
    out = []
    for _ in range(2):
        tokens = gen.integers(0, VOCAB, size=(n_pairs, MAX_LEN))
        lengths = gen.integers(1, MAX_LEN + 1, size=n_pairs)
        out.append(np.where(np.arange(MAX_LEN) < lengths[:, None], tokens, PAD))
    return out[0], out[1]


def as_lists(padded: np.ndarray) -> list[list[int]]:
    return [[t for t in row if t != PAD] for row in padded.tolist()]


def as_strings(padded: np.ndarray) -> list[str]:
    alphabet = "0123456789+="  # 12 single-character tokens, like an arithmetic vocabulary
    return ["".join(alphabet[t] for t in row if t != PAD) for row in padded.tolist()]


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--dp-pairs", type=int, default=None, help="pairs for the pure-Python DP (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    t_pad, p_pad = random_pairs(args.pairs)
    t_list, p_list = as_lists(t_pad), as_lists(p_pad)
    t_str, p_str = as_strings(t_pad), as_strings(p_pad)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(f"pairs: {args.pairs:,}; lengths 1-{MAX_LEN}; vocabulary {VOCAB}")

    n_dp = args.dp_pairs or args.pairs
    start = time.perf_counter()
    reference = [metrics.token_edit_distance_reference(a, b) for a, b in zip(t_list[:n_dp], p_list[:n_dp])]
    dp = (time.perf_counter() - start) * args.pairs / n_dp
    note = "" if n_dp == args.pairs else f" (timed on {n_dp:,} pairs, scaled)"
    print(f"pure-Python DP on lists: {dp:.2f} s{note}")

    forms = {
        "strings (token_edit_distances)": lambda: metrics.token_edit_distances(t_str, p_str),
        "padded int matrix (token_edit_distances_padded)": lambda: metrics.token_edit_distances_padded(t_pad, p_pad),
        "lists of int lists (token_edit_distances)": lambda: metrics.token_edit_distances(t_list, p_list),
    }
    print(f"{'input form':50} {'time (s)':>9} {'speed-up':>9}  budget (<= 1 s, >= 50x)")
    for name, fn in forms.items():
        assert np.array_equal(fn()[:n_dp], reference), f"{name}: result differs from the reference DP"
        seconds = best_of(fn, args.repeats)
        ok = seconds <= 1.0 and dp / seconds >= 50
        print(f"{name:50} {seconds:9.3f} {dp / seconds:8.0f}x  {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
