"""Sharpness of a scaling curve: Eq. 1's emergence score (Sec. 4, from Srivastava et al. 2022) and two measures
that know where the models sit on the scale axis.

Eq. 1 ignores the spacing of the models: a straight line through k sizes scores exactly k - 1, and a curve with a
floor at zero scores +-inf. :func:`steepest_rise_ratio` (the steepest rise per decade over the mean rise per decade,
1 for any straight line in log N) and :func:`rise_width` (the decades the middle 80% of the rise takes) use the
scales themselves, so they compare curves measured on different grids.

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


def _oriented_log_curve(x: ArrayLike, y: ArrayLike, higher_is_better: bool) -> tuple[NDArray, NDArray]:
    xs, ys = as_float_array(x, "x"), as_float_array(y, "y")
    if xs.ndim != 1 or ys.ndim != 1 or xs.size != ys.size:
        raise ValueError("x and y must be 1-D arrays of the same length")
    if xs.size < MIN_POINTS:
        raise ValueError(f"need at least {MIN_POINTS} points, got {xs.size}")
    if np.any(xs <= 0):
        raise ValueError("scales x must be positive (they are read on a log scale)")
    if np.unique(xs).size != xs.size:
        raise ValueError("x contains duplicate scales; aggregate them first")
    order = np.argsort(xs)
    return np.log10(xs[order]), (ys if higher_is_better else -ys)[order]


def steepest_rise_ratio(x: ArrayLike, y: ArrayLike, higher_is_better: bool = True) -> float:
    """Steepest rise per decade between neighbouring sizes, divided by the mean rise per decade over the window.

    1 for a straight line in log N at any spacing and number of points; about W/d for a jump inside one interval of
    d decades of a W-decade window; unchanged by any increasing affine change of the metric. NaN when the curve does
    not rise overall (its last point is not above its first): there is no rise to call sharp or smooth.
    """
    u, v = _oriented_log_curve(x, y, higher_is_better)
    net = v[-1] - v[0]
    if not net > 0:
        return float("nan")
    return float(np.max(np.diff(v) / np.diff(u)) / (net / (u[-1] - u[0])))


def rise_width(x: ArrayLike, y: ArrayLike, higher_is_better: bool = True, lower: float = 0.1,
               upper: float = 0.9) -> float:
    """Decades of scale between the first points where the curve reaches ``lower`` and ``upper`` of its net rise
    (from its first to its last point), interpolated linearly in log10(x). Small means sharp: a line over W decades
    gives (upper - lower) W, whatever its spacing. NaN when the curve does not rise overall."""
    if not 0 <= lower < upper <= 1:
        raise ValueError(f"need 0 <= lower < upper <= 1, got {lower}, {upper}")
    u, v = _oriented_log_curve(x, y, higher_is_better)
    net = v[-1] - v[0]
    if not net > 0:
        return float("nan")
    frac = (v - v[0]) / net

    def first_crossing(level: float) -> float:
        i = int(np.flatnonzero(frac >= level)[0])
        if i == 0:
            return float(u[0])
        return float(u[i - 1] + (level - frac[i - 1]) * (u[i] - u[i - 1]) / (frac[i] - frac[i - 1]))

    return first_crossing(upper) - first_crossing(lower)


def sharpness_table(df: pd.DataFrame, by: Sequence[str], x: str, y: str, higher_is_better: bool = True) -> pd.DataFrame:
    """Per group of a long table: Eq. 1's emergence score, :func:`steepest_rise_ratio` and :func:`rise_width`,
    with the window they were computed on (smallest and largest scale, its width in decades, number of sizes), so
    that every sharpness number is reported with its scope. Groups with fewer than 3 sizes get NaN scores."""
    table = emergence_table(df, by, x, y, higher_is_better)
    means = df.dropna(subset=[x, y]).groupby([*by, x], as_index=False, sort=True)[y].mean()
    extra = []
    for key, group in means.groupby(list(by), sort=True):
        xs, ys = group[x].to_numpy(float), group[y].to_numpy(float)
        ok = len(group) >= MIN_POINTS and np.all(xs > 0)
        extra.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                      "smallest": xs.min(), "largest": xs.max(),
                      "window_decades": float(np.log10(xs.max() / xs.min())) if np.all(xs > 0) else np.nan,
                      "steepest_rise_ratio": steepest_rise_ratio(xs, ys, higher_is_better) if ok else np.nan,
                      "rise_width_decades": rise_width(xs, ys, higher_is_better) if ok else np.nan})
    return table.merge(pd.DataFrame(extra), on=list(by))
