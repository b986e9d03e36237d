"""Is an emergent-looking curve a mirage? A test that needs a discrete curve, a continuous surrogate, and their CIs.

The mirage thesis makes one checkable prediction: while the discrete metric (exact match, subset accuracy, an
indicator) sits flat at its floor, a continuous surrogate of the same outputs is already improving. So

1. *onset* = the first model whose discrete CI lies wholly above the smallest model's CI (its floor);
2. *precursor* = the surrogate's improvement from the smallest model to the last model before the onset, bounded
   conservatively by the two models' CIs; *total* = its improvement from the smallest to the best model;
3. ``metric-induced`` when the precursor is resolved (lower bound > 0) and at least ``tolerance`` of the total;
   ``persists`` when even its upper bound is below ``tolerance`` of the total (the surrogate was flat too);
   ``inconclusive`` otherwise; ``no flat phase`` when the discrete curve already rises at the second model, and
   ``never rises`` when it never leaves its floor or rises by less than ``min_rise`` (nothing emergent to
   explain). Eq. 1's emergence score is not used: on noise-free or short curves it cannot tell a shifted smooth
   curve from a jump (Chapters 1 and 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ._validation import as_float_array
from .resolution import binomial_ci

VERDICTS = ("metric-induced", "persists", "inconclusive", "no flat phase", "never rises")


@dataclass(frozen=True)
class Curve:
    """A metric across models sorted by scale: point estimates with a (lo, hi) confidence band."""

    mean: NDArray[np.float64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        m, lo, hi = (as_float_array(a, name) for a, name in ((self.mean, "mean"), (self.lo, "lo"), (self.hi, "hi")))
        if m.ndim != 1 or m.shape != lo.shape or m.shape != hi.shape or m.size < 2:
            raise ValueError("mean, lo and hi must be 1-D arrays of the same length >= 2")
        if np.any(lo > m + 1e-12) or np.any(hi < m - 1e-12):
            raise ValueError("each confidence band must contain its point estimate (lo <= mean <= hi)")
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def oriented(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """(mean, lo, hi) with the sign flipped for lower-is-better metrics, so that up is always better."""
        if self.higher_is_better:
            return self.mean, self.lo, self.hi
        return -self.mean, -self.hi, -self.lo


def binary_curve(outcomes: Sequence[ArrayLike], confidence: float = 0.95) -> Curve:
    """Per-model 0/1 outcomes (one array per model, sorted by scale) -> success rate with Wilson intervals."""
    arrays = [as_float_array(o, "outcomes") for o in outcomes]
    if any(a.ndim != 1 or a.size == 0 or np.any((a != 0) & (a != 1)) for a in arrays):
        raise ValueError("each model's outcomes must be a non-empty 1-D array of 0/1")
    k = np.array([a.sum() for a in arrays])
    n = np.array([a.size for a in arrays])
    lo, hi = binomial_ci(k, n, confidence)
    return Curve(k / n, lo, hi, True)


def mean_curve(values: Sequence[ArrayLike], higher_is_better: bool = True, confidence: float = 0.95) -> Curve:
    """Per-model samples (per-example scores or per-seed replicates) -> mean with a Student-t interval."""
    arrays = [as_float_array(v, "values") for v in values]
    if any(a.ndim != 1 or a.size < 2 for a in arrays):
        raise ValueError("each model needs a 1-D array of at least 2 values for an interval")
    means = np.array([a.mean() for a in arrays])
    half = np.array([stats.sem(a) * stats.t.ppf(0.5 + confidence / 2, a.size - 1) if np.ptp(a) > 0 else 0.0
                     for a in arrays])
    return Curve(means, means - half, means + half, higher_is_better)


@dataclass(frozen=True)
class Diagnosis:
    """Verdict and the numbers behind it (indices refer to models sorted by scale)."""

    verdict: str
    onset: int | None
    precursor: float
    precursor_lo: float
    precursor_hi: float
    total: float
    fraction: float
    reason: str


def diagnose(discrete: Curve, continuous: Curve, tolerance: float = 0.1, min_rise: float = 0.05) -> Diagnosis:
    """Decide "metric-induced" vs "persists" for one family (see the module docstring for the rule).

    ``min_rise`` is in the discrete metric's units (0.05 = five points of accuracy for a rate in [0, 1]).
    """
    if discrete.mean.shape != continuous.mean.shape:
        raise ValueError("discrete and continuous curves must cover the same models")
    if not 0 < tolerance < 1:
        raise ValueError("tolerance must be in (0, 1)")
    if min_rise < 0:
        raise ValueError("min_rise must be non-negative")
    d_mean, d_lo, d_hi = discrete.oriented()
    c_mean, c_lo, c_hi = continuous.oriented()
    nan = float("nan")
    above = np.flatnonzero(d_lo[1:] > d_hi[0]) + 1
    if above.size == 0 or d_mean.max() - d_mean[0] < min_rise:
        return Diagnosis("never rises", None, nan, nan, nan, nan, nan,
                         f"the discrete metric never rises resolvably, by at least {min_rise:g}, above its floor")
    onset = int(above[0])
    if onset == 1:
        return Diagnosis("no flat phase", 1, nan, nan, nan, nan, nan,
                         "the discrete metric already rises at the second model: nothing looks emergent")
    b = onset - 1
    precursor, lo, hi = c_mean[b] - c_mean[0], c_lo[b] - c_hi[0], c_hi[b] - c_lo[0]
    total = float(c_mean.max() - c_mean[0])
    if total <= 0:
        return Diagnosis("inconclusive", onset, float(precursor), float(lo), float(hi), total, nan,
                         "the continuous metric does not improve with scale")
    fraction = float(precursor / total)
    if lo > 0 and fraction >= tolerance:
        verdict, why = "metric-induced", (f"the continuous metric had already made {fraction:.0%} of its total "
                                          "improvement, resolved by its CIs, while the discrete one sat at its floor")
    elif hi < tolerance * total:
        verdict, why = "persists", (f"the continuous metric was flat too before the onset (at most "
                                    f"{hi / total:.1%} of its total improvement)")
    else:
        verdict, why = "inconclusive", "the intervals are too wide to tell a precursor from none"
    return Diagnosis(verdict, onset, float(precursor), float(lo), float(hi), total, fraction, why)


def diagnose_table(cases: dict[str, tuple[Curve, Curve]], tolerance: float = 0.1) -> "pd.DataFrame":
    """One row per named (discrete, continuous) pair: verdict, onset index, precursor share and the reason."""
    import pandas as pd

    rows = []
    for name, (disc, cont) in cases.items():
        d = diagnose(disc, cont, tolerance)
        rows.append({"case": name, "verdict": d.verdict, "onset (model index)": d.onset,
                     "precursor share": d.fraction, "reason": d.reason})
    return pd.DataFrame(rows)
