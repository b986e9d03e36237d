"""Sharpness of a scaling curve: Eq. 1's emergence score (Sec. 4, from Srivastava et al. 2022) and two measures
that know where the models sit on the scale axis.

Eq. 1 ignores the spacing of the models: a straight line through k sizes scores exactly k - 1, and a curve with a
floor at zero scores +-inf. :func:`steepest_rise_ratio` (the steepest rise per decade over the mean rise per decade,
1 for any straight line in log N) and :func:`rise_width` (the decades the middle 80% of the rise takes) use the
scales themselves, so they compare curves measured on different grids. :func:`sharpness` picks a measure by name;
:func:`sharpness_interval` gives a measured curve's uncertainty (Jeffreys-posterior or Gaussian draws of each point),
:func:`line_null_test` asks whether it is sharper than a straight line measured with the same noise, and
:func:`sharper` / :func:`sharper_share` are the claim checks that compare two curves.

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
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import as_float_array, positive
from .seeding import DEFAULT_SEED, rng

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
        score: NDArray[np.float64] = sign * span / noise
    score[span == 0] = 0.0
    return score


def emergence_score(x: ArrayLike, y: ArrayLike, higher_is_better: bool = True) -> float:
    """Emergence score of one curve: performance ``y`` at model scales ``x`` (any order; sorted here)."""
    ys = as_float_array(y, "y")
    if ys.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {ys.shape}")
    return float(emergence_scores(x, ys, higher_is_better)[0])


def emergence_table(df: pd.DataFrame, by: Sequence[str], x: str, y: str, higher_is_better: bool = True) -> pd.DataFrame:
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


def _oriented_log_curve(
    x: ArrayLike, y: ArrayLike, higher_is_better: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
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
    return float(steepest_rise_ratios(10.0**u, v[None, :])[0])


def steepest_rise_ratios(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """:func:`steepest_rise_ratio` of every row of ``y`` (series x sizes, higher is better) on the shared, increasing
    scales ``x``, vectorised for simulations; NaN for a row that does not rise overall."""
    u, v = np.log10(positive(x, "x")), as_float_array(y, "y")
    if v.ndim != 2 or v.shape[1] != u.size or u.size < MIN_POINTS or np.any(np.diff(u) <= 0):
        raise ValueError(f"need y of shape (series, {u.size}) on >= {MIN_POINTS} strictly increasing scales x")
    net = v[:, -1] - v[:, 0]
    steepest = np.max(np.diff(v, axis=1) / np.diff(u), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(net > 0, steepest / (net / (u[-1] - u[0])), np.nan)


def rise_width(
    x: ArrayLike, y: ArrayLike, higher_is_better: bool = True, lower: float = 0.1, upper: float = 0.9
) -> float:
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
        extra.append(
            {
                **dict(zip(by, key if isinstance(key, tuple) else (key,))),
                "smallest": xs.min(),
                "largest": xs.max(),
                "window_decades": float(np.log10(xs.max() / xs.min())) if np.all(xs > 0) else np.nan,
                "steepest_rise_ratio": steepest_rise_ratio(xs, ys, higher_is_better) if ok else np.nan,
                "rise_width_decades": rise_width(xs, ys, higher_is_better) if ok else np.nan,
            }
        )
    return table.merge(pd.DataFrame(extra), on=list(by))


# --- one entry point per measure, the uncertainty of a measured curve's sharpness, and claim checks ---------------

MEASURES = ("emergence_score", "steepest_rise_ratio", "rise_width")
# For every measure but rise width a larger value is sharper; a narrower rise is sharper.
LARGER_IS_SHARPER = {"emergence_score": True, "steepest_rise_ratio": True, "rise_width": False}


def _check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    return measure


def sharpness(x: ArrayLike, y: ArrayLike, measure: str, higher_is_better: bool = True) -> float:
    """One sharpness measure of one curve by name: ``"emergence_score"`` (Eq. 1), ``"steepest_rise_ratio"`` or
    ``"rise_width"`` (decades); see :data:`LARGER_IS_SHARPER` for which direction is sharp."""
    fn = {"emergence_score": emergence_score, "steepest_rise_ratio": steepest_rise_ratio, "rise_width": rise_width}[
        _check_measure(measure)
    ]
    return float(fn(x, y, higher_is_better))


def is_sharper(a: float, b: float, measure: str, factor: float = 1.0) -> bool:
    """``a`` is sharper than ``b`` under ``measure`` by more than ``factor`` (larger, or for rise width narrower);
    False when either is NaN, so an undefined score never counts as sharp."""
    if not factor >= 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if np.isnan(a) or np.isnan(b):
        return False
    if LARGER_IS_SHARPER[_check_measure(measure)]:
        return bool(a > factor * b) if np.isfinite(b) else False
    return bool(a * factor < b)


def sharper(
    x: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    measure: str,
    factor: float = 1.25,
    a_higher_is_better: bool = True,
    b_higher_is_better: bool = True,
) -> bool:
    """Claim check: curve ``a`` is sharper than curve ``b`` (same sizes ``x``) under ``measure`` by more than
    ``factor``; the margin keeps two equally sharp curves (two straight lines, say) from counting."""
    return is_sharper(
        sharpness(x, a, measure, a_higher_is_better), sharpness(x, b, measure, b_higher_is_better), measure, factor
    )


def sharper_share(
    x: ArrayLike,
    a_draws: ArrayLike,
    b_draws: ArrayLike,
    measure: str,
    factor: float = 1.0,
    a_higher_is_better: bool = True,
    b_higher_is_better: bool = True,
) -> float:
    """Share of paired draws (rows of ``a_draws`` and ``b_draws``, e.g. simulated measurements of two metrics on
    the same test sets) in which ``a`` is sharper than ``b`` by more than ``factor``; undefined scores count as not."""
    a_arr, b_arr = as_float_array(a_draws, "a_draws"), as_float_array(b_draws, "b_draws")
    if a_arr.ndim != 2 or a_arr.shape != b_arr.shape:
        raise ValueError(f"a_draws and b_draws must be 2-D of the same shape, got {a_arr.shape} and {b_arr.shape}")
    wins = [
        is_sharper(
            sharpness(x, ra, measure, a_higher_is_better),
            sharpness(x, rb, measure, b_higher_is_better),
            measure,
            factor,
        )
        for ra, rb in zip(a_arr, b_arr)
    ]
    return float(np.mean(wins))


def _noise_draws(
    y: NDArray[np.float64],
    n_items: float | None,
    se: ArrayLike | None,
    n_draws: int,
    gen: np.random.Generator,
    centre: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """``n_draws`` curves around ``centre`` (default ``y``): binomial rates on ``n_items`` or Gaussian with ``se``."""
    if (n_items is None) == (se is None):
        raise ValueError("give exactly one of n_items (a proportion measured on n items) or se (standard errors)")
    mid = y if centre is None else centre
    if n_items is not None:
        if not n_items >= 1:
            raise ValueError(f"n_items must be >= 1, got {n_items}")
        if np.any((y < 0) | (y > 1)):
            raise ValueError("with n_items, y must be proportions in [0, 1]")
        if centre is None:  # Jeffreys posterior of each point's true rate, y * n successes out of n
            return gen.beta(y * n_items + 0.5, (1 - y) * n_items + 0.5, size=(n_draws, y.size))
        return gen.binomial(int(round(n_items)), np.clip(mid, 0, 1), size=(n_draws, y.size)) / round(n_items)
    sd = np.broadcast_to(as_float_array(cast(ArrayLike, se), "se"), y.shape)
    if np.any(sd < 0):
        raise ValueError("se must be >= 0")
    return mid + sd * gen.standard_normal((n_draws, y.size))


def _check_draw_args(level: float, n_draws: int) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 100:
        raise ValueError(f"n_draws must be an integer >= 100, got {n_draws!r}")


def sharpness_draws(
    x: ArrayLike,
    y: ArrayLike,
    measure: str = "steepest_rise_ratio",
    *,
    n_items: float | None = None,
    se: ArrayLike | None = None,
    higher_is_better: bool = True,
    n_draws: int = 2000,
    seed: int = DEFAULT_SEED,
) -> NDArray[np.float64]:
    """The measure on ``n_draws`` plausible true curves: each point drawn from the Jeffreys posterior
    Beta(y n + 1/2, (1 - y) n + 1/2) of a rate measured on ``n_items`` items, or from Normal(y, se) for a metric
    with standard errors ``se``. NaN where a draw does not rise overall."""
    _check_draw_args(0.5, n_draws)
    _check_measure(measure)
    xs, ys = as_float_array(x, "x"), as_float_array(y, "y")
    draws = _noise_draws(ys, n_items, se, n_draws, rng(seed))
    return np.array([sharpness(xs, d, measure, higher_is_better) for d in draws])


def line_null_draws(
    x: ArrayLike,
    y: ArrayLike,
    measure: str = "steepest_rise_ratio",
    *,
    n_items: float | None = None,
    se: ArrayLike | None = None,
    higher_is_better: bool = True,
    n_draws: int = 2000,
    seed: int = DEFAULT_SEED,
) -> NDArray[np.float64]:
    """The measure on ``n_draws`` measurements of steady growth: the straight line in log10 N through the first and
    last readings (same net rise, constant rate per decade), measured with the same noise (binomial on ``n_items``,
    or Gaussian ``se``)."""
    _check_draw_args(0.5, n_draws)
    _check_measure(measure)
    xs, ys = as_float_array(x, "x"), as_float_array(y, "y")
    u = np.log10(positive(xs, "x"))
    if u.ndim != 1 or u.shape != ys.shape or u.size < MIN_POINTS:
        raise ValueError(f"x and y must be 1-D of the same length >= {MIN_POINTS}")
    first, last = np.argmin(u), np.argmax(u)
    line = ys[first] + (ys[last] - ys[first]) * (u - u[first]) / (u[last] - u[first])
    draws = _noise_draws(ys, n_items, se, n_draws, rng(seed), centre=line)
    if measure == "steepest_rise_ratio" and np.unique(xs).size == xs.size:
        # all draws at once, the same arithmetic per draw as steepest_rise_ratio (so the same values, bit for bit)
        order = np.argsort(xs)
        return steepest_rise_ratios(10.0 ** np.log10(xs[order]), (draws if higher_is_better else -draws)[:, order])
    return np.array([sharpness(xs, d, measure, higher_is_better) for d in draws])


@dataclass(frozen=True)
class SharpnessInterval:
    """A sharpness estimate with a percentile interval over draws of the curve; ``undefined`` is the share of draws
    on which the measure is undefined (no net rise), left out of the interval."""

    measure: str
    estimate: float
    low: float
    high: float
    level: float
    n_draws: int
    undefined: float


def sharpness_interval(
    x: ArrayLike,
    y: ArrayLike,
    measure: str = "steepest_rise_ratio",
    *,
    n_items: float | None = None,
    se: ArrayLike | None = None,
    higher_is_better: bool = True,
    level: float = 0.95,
    n_draws: int = 2000,
    seed: int = DEFAULT_SEED,
) -> SharpnessInterval:
    """Uncertainty of a measured curve's sharpness: the central ``level`` percentile interval of
    :func:`sharpness_draws` (noise raises a steepest slope, so a measured line's interval sits above 1: compare
    with :func:`line_null_test`, not with 1)."""
    _check_draw_args(level, n_draws)
    estimate = sharpness(x, y, measure, higher_is_better)
    values = sharpness_draws(
        x, y, measure, n_items=n_items, se=se, higher_is_better=higher_is_better, n_draws=n_draws, seed=seed
    )
    ok = values[~np.isnan(values)]
    tail = (1 - level) / 2
    low, high = (
        (float(np.quantile(ok, tail, method="inverted_cdf")), float(np.quantile(ok, 1 - tail, method="inverted_cdf")))
        if ok.size
        else (np.nan, np.nan)
    )
    return SharpnessInterval(measure, estimate, low, high, level, n_draws, float(np.isnan(values).mean()))


@dataclass(frozen=True)
class LineTest:
    """How a curve's sharpness compares with steady growth measured with the same noise (:func:`line_null_draws`):
    the observed value, the null's median and 99th percentile (1st for rise width), a one-sided Monte Carlo p-value."""

    measure: str
    observed: float
    null_median: float
    null_extreme: float
    p_value: float
    n_draws: int

    def sharper_than_line(self, alpha: float = 0.01) -> bool:
        """Claim check: the curve is sharper than a straight line measured the same way (p < ``alpha``)."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
        return bool(self.p_value < alpha)


def line_null_test(
    x: ArrayLike,
    y: ArrayLike,
    measure: str = "steepest_rise_ratio",
    *,
    n_items: float | None = None,
    se: ArrayLike | None = None,
    higher_is_better: bool = True,
    n_draws: int = 2000,
    seed: int = DEFAULT_SEED,
) -> LineTest:
    """Is the curve sharper than steady growth? The share of :func:`line_null_draws` at least as sharp as the
    observed curve, with the usual +1 correction (undefined null draws count as less sharp)."""
    observed = sharpness(x, y, measure, higher_is_better)
    if np.isnan(observed):
        raise ValueError("the curve does not rise overall; its sharpness is undefined")
    null = line_null_draws(
        x, y, measure, n_items=n_items, se=se, higher_is_better=higher_is_better, n_draws=n_draws, seed=seed
    )
    larger = LARGER_IS_SHARPER[measure]
    as_sharp = np.where(np.isnan(null), False, null >= observed if larger else null <= observed)
    finite = null[~np.isnan(null)]
    extreme = float(np.quantile(finite, 0.99 if larger else 0.01, method="inverted_cdf")) if finite.size else np.nan
    return LineTest(
        measure,
        observed,
        float(np.median(finite)) if finite.size else np.nan,
        extreme,
        float((1 + as_sharp.sum()) / (1 + n_draws)),
        n_draws,
    )


def reference_curves(
    x: ArrayLike, centre: float, widths: Sequence[float] = (0.5, 1.0, 2.0)
) -> dict[str, NDArray[np.float64]]:
    """Known cases on sizes ``x``: a straight line in log10 N from 0 to 1, logistics in log10 N centred on
    ``centre`` (log10 N) that take ``w`` decades from 10% to 90% for each ``w`` in ``widths``, a 0/1 step at
    ``centre``, and a floor (0 up to ``centre``, then a straight rise)."""
    u = np.log10(positive(x, "x"))
    if u.ndim != 1 or u.size < MIN_POINTS:
        raise ValueError(f"x must be 1-D with at least {MIN_POINTS} sizes")
    w = as_float_array(widths, "widths")
    if np.any(w <= 0):
        raise ValueError("widths must be > 0 decades")
    span = u.max() - u.min()
    curves = {"line": (u - u.min()) / span}
    for width in w:
        curves[f"logistic {width:g} dec"] = 1 / (1 + np.exp(-(u - centre) * 2 * np.log(9) / width))
    curves["step"] = (u >= centre).astype(float)
    curves["floor"] = np.clip(u - centre, 0, None) / max(u.max() - centre, 1e-12)
    return curves
