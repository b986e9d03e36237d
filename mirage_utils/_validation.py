"""Input checks shared by the public functions: fail early with a ValueError that says what was wrong."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_float_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert to a float array and reject NaN/inf, naming the offending argument."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def positive(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Finite float array with every entry > 0."""
    arr = as_float_array(value, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got min {arr.min()!r}")
    return arr


def probability(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Finite float array with every entry in [0, 1]."""
    arr = as_float_array(value, name)
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must lie in [0, 1]")
    return arr


def positive_int(value: int, name: str) -> int:
    """A Python int >= 1 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)
