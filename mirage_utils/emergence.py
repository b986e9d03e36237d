"""Emergence score of a scaling curve (Eq. 1 of Sec. 4, from Srivastava et al. 2022).

``sign(argmax y - argmin y) * (max y - min y) / sqrt(median((y_i - y_{i-1})**2))`` with points sorted by scale:
large when the curve's whole rise happens in a few of its steps, small when it climbs steadily.

Edge-case rules (stated once, used everywhere):
* fewer than 3 points: ``ValueError`` (:func:`emergence_score`) or NaN (:func:`emergence_table`, "too short");
* duplicate scales: ``ValueError`` (the order of the points would be ambiguous);
* constant curve (max == min): 0.0, nothing changed so nothing emerged;
* non-constant curve whose median squared step is 0 (most steps flat): +-inf, an infinitely sharp jump;
* ties for the max or min take the first (smallest-scale) point, as NumPy's ``argmax``/``argmin`` do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import as_float_array

MIN_POINTS = 3


def emergence_scores(x: ArrayLike, y: ArrayLike, higher_is_better: bool = True) -> NDArray[np.float64]:
    """Emergence score of many curves sharing the scales ``x`` (shape ``(n,)``); ``y`` has shape ``(m, n)``.

    For a lower-is-better metric (edit distance, Brier, loss) pass ``higher_is_better=False``: the curve is negated
    first, so that improvement with scale scores positive for every metric.
    """
    xs = as_float_array(x, "x")
    ys = as_float_array(y, "y")
    if not higher_is_better:
        ys = -ys
    if xs.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {xs.shape}")
    if ys.ndim == 1:
        ys = ys[None, :]
    if ys.ndim != 2 or ys.shape[1] != xs.size:
        raise ValueError(f"y must have shape (m, {xs.size}) to match x, got {ys.shape}")
    if xs.size < MIN_POINTS:
        raise ValueError(f"need at least {MIN_POINTS} points per curve, got {xs.size}")
    if np.unique(xs).size != xs.size:
        raise ValueError("x contains duplicate scales; aggregate them first")
    order = np.argsort(xs, kind="stable")
    ys = ys[:, order]
    span = ys.max(axis=1) - ys.min(axis=1)
    sign = np.sign(ys.argmax(axis=1) - ys.argmin(axis=1)).astype(np.float64)
    noise = np.sqrt(np.median(np.diff(ys, axis=1) ** 2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        score = sign * span / noise
    score[span == 0] = 0.0
    return score


def emergence_score(x: ArrayLike, y: ArrayLike, higher_is_better: bool = True) -> float:
    """Emergence score of one curve: performance ``y`` at model scales ``x`` (any order; sorted here)."""
    ys = as_float_array(y, "y")
    if ys.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {ys.shape}")
    return float(emergence_scores(x, ys, higher_is_better)[0])


def emergence_table(
    df: pd.DataFrame, by: Sequence[str], x: str, y: str, higher_is_better: bool = True
) -> pd.DataFrame:
    """Emergence score per group of a long table (one row per model × series), e.g. task × metric × family.

    Returns one row per group with ``n_points`` and ``emergence_score`` (NaN for groups with < 3 distinct scales).
    Rows with a missing ``x`` or ``y`` are dropped first; repeated scales within a group are averaged.
    """
    missing = [col for col in [*by, x, y] if col not in df.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    clean = df.dropna(subset=[x, y])
    means = clean.groupby([*by, x], as_index=False, sort=True)[y].mean()
    rows = []
    for key, group in means.groupby(list(by), sort=True):
        key_tuple = key if isinstance(key, tuple) else (key,)
        n = len(group)
        score = (
            emergence_score(group[x].to_numpy(), group[y].to_numpy(), higher_is_better) if n >= MIN_POINTS else np.nan
        )
        rows.append({**dict(zip(by, key_tuple)), "n_points": n, "emergence_score": score})
    return pd.DataFrame(rows, columns=[*by, "n_points", "emergence_score"])
