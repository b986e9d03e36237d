"""One source of randomness for the whole book: every random draw starts from a seed passed through here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is an optional extra ("train"); import it only when a generator is asked for.
    import torch

DEFAULT_SEED = 20230428  # the paper's arXiv submission date


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def rng(seed: int = DEFAULT_SEED) -> np.random.Generator:
    """A NumPy Generator (PCG64) for ``seed``: same seed, same numbers, on every machine."""
    return np.random.default_rng(_check_seed(seed))


def torch_generator(seed: int = DEFAULT_SEED, device: str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded like :func:`rng`, for data order and initialisation in training code."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(_check_seed(seed))
    return gen
