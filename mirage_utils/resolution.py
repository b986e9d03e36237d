"""Finite test sets measure accuracy only to a resolution (App. A.1); these helpers quantify that limit.

A test set of ``n`` items, each ``L`` tokens long, can resolve a per-token error rate only to ``1/(n L)`` and an
accuracy only to ``1/n``: a true accuracy well below ``1/n`` is usually *measured* as exactly 0.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from ._validation import as_float_array, positive, positive_int, probability
from .seeding import DEFAULT_SEED, rng

CIMethod = Literal["wilson", "clopper-pearson"]
_STATSMODELS_METHOD = {"wilson": "wilson", "clopper-pearson": "beta"}


def round_to_resolution(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Eq. 3 of App. A.1, ``[a]_b``: ``a`` rounded to the nearest integer multiple of ``1/b`` (halves round up)."""
    x = as_float_array(a, "a")
    res = positive(b, "b")
    return np.floor(x * res + 0.5) / res


def resolution_limit(n_items: int, target_length: int = 1) -> float:
    """Smallest per-token error rate that ``n_items`` targets of ``target_length`` tokens can resolve: ``1/(nL)``."""
    return 1.0 / (positive_int(n_items, "n_items") * positive_int(target_length, "target_length"))


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def binomial_ci(
    successes: ArrayLike, trials: ArrayLike, confidence: float = 0.95, method: CIMethod = "wilson"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Confidence interval ``(low, high)`` for a proportion: Wilson score or exact Clopper–Pearson (vectorised).

    Wilson is the default: it stays inside [0, 1] and has a non-zero upper end when 0 successes are seen.
    """
    if method not in _STATSMODELS_METHOD:
        raise ValueError(f"method must be one of {sorted(_STATSMODELS_METHOD)}, got {method!r}")
    k = as_float_array(successes, "successes")
    n = positive(trials, "trials")
    if np.any(k < 0) or np.any(k > n) or np.any(k != np.round(k)) or np.any(n != np.round(n)):
        raise ValueError("successes and trials must be whole numbers with 0 <= successes <= trials")
    low, high = proportion_confint(k, n, alpha=1.0 - _check_confidence(confidence), method=_STATSMODELS_METHOD[method])
    low = np.clip(np.asarray(low, dtype=np.float64), 0, 1)
    high = np.clip(np.asarray(high, dtype=np.float64), 0, 1)
    # Both methods give exactly 0 (k = 0) and 1 (k = n) there; statsmodels returns a few ulps off.
    return np.where(k == 0, 0.0, low), np.where(k == n, 1.0, high)


def min_test_size_nonzero(accuracy: ArrayLike, confidence: float = 0.95) -> NDArray[np.int64]:
    """Items needed so that at least one is answered correctly with probability ``confidence``.

    Below this size a model with true ``accuracy`` is likely to *read* as 0: ``n = ceil(log(1-conf)/log(1-acc))``.
    """
    acc = probability(accuracy, "accuracy")
    if np.any(acc <= 0) or np.any(acc >= 1):
        raise ValueError("accuracy must lie strictly between 0 and 1")
    conf = _check_confidence(confidence)
    return cast(NDArray[np.int64], np.ceil(np.log1p(-conf) / np.log1p(-acc)).astype(np.int64))


def min_test_size_relative(
    accuracy: ArrayLike, relative_halfwidth: float = 0.5, confidence: float = 0.95
) -> NDArray[np.int64]:
    """Items needed for a normal-approximation CI half-width of ``relative_halfwidth * accuracy``.

    ``n = z**2 (1 - a) / (a r**2)``: resolving an accuracy of 1e-4 to +-50% needs about 1.5 million items.
    """
    acc = probability(accuracy, "accuracy")
    if np.any(acc <= 0) or np.any(acc >= 1):
        raise ValueError("accuracy must lie strictly between 0 and 1")
    if not relative_halfwidth > 0:
        raise ValueError(f"relative_halfwidth must be > 0, got {relative_halfwidth!r}")
    z = stats.norm.ppf(0.5 + _check_confidence(confidence) / 2)
    return np.ceil(z**2 * (1 - acc) / (acc * relative_halfwidth**2)).astype(np.int64)


def simulate_measured_accuracy(
    true_accuracy: ArrayLike, n_items: int, n_repeats: int = 1, seed: int = DEFAULT_SEED
) -> NDArray[np.float64]:
    """Accuracies a researcher would *measure* on ``n_items`` fresh test items (binomial draws), shape
    (repeats, ...)."""
    acc = probability(true_accuracy, "true_accuracy")
    n = positive_int(n_items, "n_items")
    reps = positive_int(n_repeats, "n_repeats")
    draws = rng(seed).binomial(n, acc, size=(reps, *acc.shape))
    return draws / n


# --- What a researcher reads: the median reading, and Monte Carlo claim checks ----------------------------------------


def zero_reading_probability(true_accuracy: ArrayLike, n_items: int) -> NDArray[np.float64]:
    """Probability that ``n_items`` independent items all fail, so the measured accuracy is exactly 0: ``(1-a)**N``."""
    acc = probability(true_accuracy, "true_accuracy")
    return np.power(1.0 - acc, positive_int(n_items, "n_items"))


def median_zero_threshold(n_items: int) -> float:
    """True accuracy below which the *median* reading on ``n_items`` items is 0: ``1 - 2**(-1/N)``, about ln 2 / N.

    Not the ``1/(2N)`` below which :func:`round_to_resolution` puts the expected accuracy at 0 (1.39 times lower).
    """
    return float(-np.expm1(-np.log(2.0) / positive_int(n_items, "n_items")))


def zero_fraction_crossing(x: ArrayLike, readings: ArrayLike) -> float:
    """Where the fraction of readings equal to 0 passes 1/2 along increasing ``x`` (linear interpolation; NaN if never).

    ``readings`` has shape ``(repeats, len(x))``, as from :func:`simulate_measured_accuracy`; the fraction may rise or
    fall with ``x``.
    """
    from .scaling import crossing

    xs, r = as_float_array(x, "x"), as_float_array(readings, "readings")
    if xs.ndim != 1 or xs.size < 2 or np.any(np.diff(xs) <= 0):
        raise ValueError("x must be a strictly increasing 1-D array with at least 2 points")
    if r.ndim != 2 or r.shape[1] != xs.size:
        raise ValueError(f"readings must have shape (repeats, {xs.size}), got {r.shape}")
    zero = (r == 0).mean(axis=0)
    return crossing(xs, zero if zero[0] < 0.5 else 1.0 - zero, 0.5)


def median_zero_onset_matches(x: ArrayLike, readings: ArrayLike, predicted: float, atol: float) -> bool:
    """Claim check: the simulated readings turn to a zero median within ``atol`` of ``predicted`` (same units as x)."""
    if not atol > 0:
        raise ValueError(f"atol must be > 0, got {atol!r}")
    observed = zero_fraction_crossing(x, readings)
    return bool(np.isfinite(observed) and abs(observed - float(predicted)) <= atol)


def _three(
    a: ArrayLike, b: ArrayLike, se: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    arrs = np.broadcast_arrays(as_float_array(a, "estimate"), as_float_array(b, "reference"), as_float_array(se, "se"))
    if np.any(arrs[2] < 0):
        raise ValueError("se must be >= 0")
    if arrs[0].size == 0:
        raise ValueError("need at least one estimate")
    return arrs[0], arrs[1], arrs[2]


def within_standard_errors(
    estimate: ArrayLike, reference: ArrayLike, se: ArrayLike, z: float = 4.0, atol: float = 0.0
) -> bool:
    """Claim check: every Monte Carlo ``estimate`` lies within ``z`` standard errors (plus ``atol``) of
    ``reference``."""
    e, r, s = _three(estimate, reference, se)
    return bool(np.all(np.abs(e - r) <= z * s + atol))


def clearly_greater(estimate: ArrayLike, reference: ArrayLike, se: ArrayLike, z: float = 4.0) -> bool:
    """Claim check: every ``estimate`` exceeds ``reference`` by more than ``z`` standard errors."""
    e, r, s = _three(estimate, reference, se)
    return bool(np.all(e - r > z * s))


def at_most(estimate: ArrayLike, bound: ArrayLike, se: ArrayLike, z: float = 4.0) -> bool:
    """Claim check: no ``estimate`` exceeds ``bound`` by more than ``z`` standard errors (``bound`` is an upper
    bound)."""
    e, r, s = _three(estimate, bound, se)
    return bool(np.all(e <= r + z * s))


def zero_rate_matches_binomial(readings: ArrayLike, true_accuracy: ArrayLike, n_items: int, z: float = 4.0) -> bool:
    """Claim check: how often the readings are exactly 0 agrees with ``(1-a)**N`` (independent items) within ``z`` SE.

    ``readings`` has shape ``(repeats, len(true_accuracy))``; items that share difficulty (one template) fail it.
    """
    r, acc = as_float_array(readings, "readings"), probability(true_accuracy, "true_accuracy")
    if r.ndim != 2 or acc.ndim != 1 or r.shape[1] != acc.size:
        raise ValueError(f"readings must have shape (repeats, {acc.size}), got {r.shape}")
    p0 = zero_reading_probability(acc, n_items)
    se = np.sqrt(p0 * (1 - p0) / r.shape[0])
    # 1/repeats: the resolution of a frequency over `repeats` draws (A.1 again), where p0 is ~0 or ~1
    return within_standard_errors((r == 0).mean(axis=0), p0, se, z, atol=1.0 / r.shape[0])
