"""One source of randomness for the whole book: every random draw starts from a seed passed through here."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is an optional extra ("train"); import it only when a generator is asked for.
    import pandas as pd
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


PLATFORM_KEYS = ("platform_cpu", "platform_os", "platform_python", "platform_numpy", "platform_torch",
                 "platform_threads", "platform_blas")  # fmt: skip
UNKNOWN_PLATFORM = "unknown"  # what runs made before platforms were recorded carry


def _cpu_model() -> str:
    import platform
    from pathlib import Path

    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or UNKNOWN_PLATFORM


def _blas() -> str:
    """The BLAS torch was built with (torch's own build summary), else numpy's."""
    try:
        import torch

        found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
        if found:
            return f"torch: {found.group(1)}"
    except ImportError:
        pass
    config = np.show_config(mode="dicts")
    blas = config.get("Build Dependencies", {}).get("blas", {}) if isinstance(config, dict) else {}
    return f"numpy: {blas.get('name', UNKNOWN_PLATFORM)} {blas.get('version', '')}".strip()


def platform_record() -> dict[str, str]:
    """Where a training run ran: CPU model, OS, Python, numpy and torch versions, torch threads and BLAS.

    Seeded code is bit-identical on the same hardware and software only: another CPU or BLAS rounds differently and
    sends training down another path (another draw from the same family). Every shard records this so a reader can
    tell whether a difference from the committed artifacts is expected.
    """
    import platform

    try:
        import torch

        torch_version, threads = str(torch.__version__), str(torch.get_num_threads())
    except ImportError:
        torch_version, threads = UNKNOWN_PLATFORM, UNKNOWN_PLATFORM
    values = (_cpu_model(), platform.platform(), platform.python_version(), np.__version__, torch_version, threads,
              _blas())  # fmt: skip
    return dict(zip(PLATFORM_KEYS, values, strict=True))


def fill_platform(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` (one row per training run) with every platform column, ``"unknown"`` where a run predates them."""
    out = records.copy()
    for key in PLATFORM_KEYS:
        out[key] = out[key].fillna(UNKNOWN_PLATFORM) if key in out else UNKNOWN_PLATFORM
    return out
