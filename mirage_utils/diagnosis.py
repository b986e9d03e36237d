"""Is an emergent-looking curve a mirage? A test that needs a discrete curve, a continuous surrogate, and their CIs.

The mirage thesis makes one checkable prediction: while the discrete metric (exact match, subset accuracy, an
indicator) sits flat at its floor, a continuous surrogate of the same outputs is already improving. So

1. *onset* = the first model whose discrete CI lies wholly above the smallest model's CI (its floor), and, with
   ``onset_rise`` > 0, whose point estimate is also at least that much above the floor's;
2. *precursor* = the surrogate's improvement from the smallest model to the last model before the onset, bounded
   conservatively by the two models' CIs; *total* = its improvement from the smallest to the best model;
3. ``negligible gain`` when the total is below ``min_effect`` (the surrogate's units), ``inconclusive`` when it
   is not resolved (no model's lower bound above the smallest model's upper bound); with ``monotone``,
   ``discordant`` when at some step from the smallest model through the onset the surrogate moves against the
   discrete metric by more than ``tolerance`` of the total, both moves resolved by the CIs (it falls while the
   discrete metric does not, or rises while the discrete metric falls): the discrete curve is then not a monotone
   readout of the surrogate, which is what the mirage mechanism needs; also with ``monotone``, ``inconclusive``
   when the discrete metric's point estimates had already climbed by ``min_rise`` or more before its first
   resolved rise (seeds that learn at different sizes give such curves): then no flat phase is resolved;
4. ``metric-induced`` when the precursor is resolved (lower bound > 0) and at least ``tolerance`` of the total;
   ``persists`` when even its upper bound is below ``tolerance`` of the total (the surrogate was flat too);
   ``inconclusive`` otherwise; ``no flat phase`` when the discrete curve already rises at the second model, and
   ``never rises`` when it never leaves its floor or rises by less than ``min_rise`` (nothing emergent to
   explain). ``min_effect=None, monotone=False`` is the rule without step 3 (only a total <= 0 is set aside, as
   ``inconclusive``). Eq. 1's emergence score is not used: on noise-free or short curves it cannot tell a shifted
   smooth curve from a jump (Chapters 1 and 3).

For a family trained with several seeds, :func:`replicate_curves` builds the curves with seeds as the unit (a
Student-t interval over the seeds of each size) and, for each seed alone, with a bootstrap over its test problems;
seeds are never pooled into one interval. :func:`replicated_verdicts` keeps a verdict only when every replicate
gives it, :func:`verdict_grid` re-runs the test over tolerances and onset definitions, and :func:`onset_decides`
asks whether the verdict hinges on the onset definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ._validation import as_float_array
from .resolution import binomial_ci
from .seeding import rng

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import pandas as pd

    # (mean, lo, hi) of one curve, as ``Curve.oriented`` returns them.
    _Band = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]

    class _Found(TypedDict):
        """The numbers :func:`diagnose` passes to every :class:`Diagnosis` once the onset is found."""

        onset: int
        precursor: float
        precursor_lo: float
        precursor_hi: float
        total: float
        fraction: float
        total_lo: float
        reversal: float


VERDICTS = (
    "metric-induced",
    "persists",
    "inconclusive",
    "discordant",
    "negligible gain",
    "no flat phase",
    "never rises",
)


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
    half = np.array(
        [stats.sem(a) * stats.t.ppf(0.5 + confidence / 2, a.size - 1) if np.ptp(a) > 0 else 0.0 for a in arrays]
    )
    return Curve(means, means - half, means + half, higher_is_better)


def bootstrap_curve(
    values: Sequence[ArrayLike],
    higher_is_better: bool = True,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    normal_above: int = 20_000,
) -> Curve:
    """Per-model samples of *one* replicate (one seed's per-problem scores) -> mean with a percentile bootstrap
    interval over the examples.

    The fallback when a family has a single training seed: it measures how the mean would move with another draw of
    test problems, not how it would move with another training run, so it is narrower than a seed interval. Never
    pass it several seeds' outputs concatenated (that would treat seeds as extra problems). Samples with few distinct
    values (0/1 outcomes, integer edit distances) are resampled as one multinomial draw over those values, which is
    the same distribution and much faster. A sample of many distinct values larger than ``normal_above`` examples
    gets the normal interval (mean +- z standard errors) that the percentile bootstrap converges to: at 20,000
    examples the two differ by less than the bootstrap's own Monte Carlo error, and resampling 10^5 examples 2,000
    times per model would take minutes (the check on 10^6 rows).
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    if n_boot < 100:
        raise ValueError("n_boot must be at least 100")
    arrays = [as_float_array(v, "values") for v in values]
    if any(a.ndim != 1 or a.size < 2 for a in arrays):
        raise ValueError("each model needs a 1-D array of at least 2 values for an interval")
    gen = rng(seed)
    means, lo, hi = (np.empty(len(arrays)) for _ in range(3))
    for i, a in enumerate(arrays):
        distinct, counts = np.unique(a, return_counts=True)
        if distinct.size <= 64:  # few distinct values: draw how often each is resampled
            draws = gen.multinomial(a.size, counts / a.size, size=n_boot) @ distinct / a.size
        elif a.size > normal_above:  # the bootstrap's limit, without 2,000 x 10^5 draws
            means[i] = a.mean()
            half = stats.norm.ppf((1 + confidence) / 2) * a.std(ddof=1) / np.sqrt(a.size)
            lo[i], hi[i] = means[i] - half, means[i] + half
            continue
        else:
            chunk = max(1, 2_000_000 // a.size)  # bounded memory: resample `chunk` replicates at a time
            draws = np.concatenate(
                [
                    a[gen.integers(0, a.size, (min(chunk, n_boot - i), a.size), dtype=np.int32)].mean(axis=1)
                    for i in range(0, n_boot, chunk)
                ]
            )
        means[i] = a.mean()
        q_lo, q_hi = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
        lo[i], hi[i] = min(q_lo, means[i]), max(q_hi, means[i])
    return Curve(means, lo, hi, higher_is_better)


@dataclass(frozen=True)
class Diagnosis:
    """Verdict and the numbers behind it (indices refer to models sorted by scale; ``total_lo`` is the total's
    conservative lower bound, ``reversal`` the largest move of the surrogate against the discrete metric, or 0)."""

    verdict: str
    onset: int | None
    precursor: float
    precursor_lo: float
    precursor_hi: float
    total: float
    fraction: float
    reason: str
    total_lo: float = float("nan")
    reversal: float = float("nan")


def _step_signs(
    mean: NDArray[np.float64], lo: NDArray[np.float64], hi: NDArray[np.float64], last: int
) -> NDArray[np.int64]:
    """Per step i -> i+1 up to model ``last``: +1 / -1 when the two CIs do not overlap (a resolved rise / fall)."""
    i = np.arange(last)
    return (lo[i + 1] > hi[i]).astype(np.int64) - (hi[i + 1] < lo[i]).astype(np.int64)


def _largest_discordant_move(discrete: _Band, continuous: _Band, last: int, threshold: float) -> float:
    """Largest |change| of the continuous metric at a step up to model ``last`` where it moves against the discrete
    one: it falls (resolved, by more than ``threshold``) while the discrete does not, or rises so while the discrete
    falls resolvably. 0 when there is no such step."""
    s_d = _step_signs(*discrete, last)
    c_mean = continuous[0]
    change = c_mean[1 : last + 1] - c_mean[:last]
    s_c = _step_signs(*continuous, last) * (np.abs(change) > threshold)
    against = ((s_c == -1) & (s_d >= 0)) | ((s_c == 1) & (s_d == -1))
    return float(np.abs(change[against]).max()) if against.any() else 0.0


def diagnose(
    discrete: Curve,
    continuous: Curve,
    tolerance: float = 0.1,
    min_rise: float = 0.05,
    onset_rise: float = 0.0,
    min_effect: float | None = 0.0,
    monotone: bool = True,
) -> Diagnosis:
    """Decide "metric-induced" vs "persists" for one family (see the module docstring for the rule).

    ``min_rise`` is in the discrete metric's units (0.05 = five points of accuracy for a rate in [0, 1]).
    ``onset_rise`` (same units) also asks the onset model to beat the floor's point estimate by at least that much:
    0 (the default) takes the first *resolved* rise, however small; 0.05 puts the onset where the discrete metric
    first gains five points. With thousands of test problems a rise of 0.1% is resolved, so this setting decides
    whether a family's first small gains count as "already emerged". ``min_effect`` (the continuous metric's units)
    is the smallest total improvement worth explaining; ``monotone`` sets aside a surrogate that moves against the
    discrete metric on the way to the onset. ``min_effect=None, monotone=False`` gives the rule without these checks.
    """
    if discrete.mean.shape != continuous.mean.shape:
        raise ValueError("discrete and continuous curves must cover the same models")
    if not 0 < tolerance < 1:
        raise ValueError("tolerance must be in (0, 1)")
    if min_rise < 0 or onset_rise < 0:
        raise ValueError("min_rise and onset_rise must be non-negative")
    if min_effect is not None and not (np.isfinite(min_effect) and min_effect >= 0):
        raise ValueError("min_effect must be a finite non-negative number, or None to skip the effect check")
    d_mean, d_lo, d_hi = discrete.oriented()
    c_mean, c_lo, c_hi = continuous.oriented()
    nan = float("nan")
    above = np.flatnonzero((d_lo[1:] > d_hi[0]) & (d_mean[1:] - d_mean[0] >= onset_rise)) + 1
    if above.size == 0 or d_mean.max() - d_mean[0] < min_rise:
        return Diagnosis(
            "never rises",
            None,
            nan,
            nan,
            nan,
            nan,
            nan,
            f"the discrete metric never rises resolvably, by at least {min_rise:g}, above its floor",
        )
    onset = int(above[0])
    if onset == 1:
        return Diagnosis(
            "no flat phase",
            1,
            nan,
            nan,
            nan,
            nan,
            nan,
            "the discrete metric already rises at the second model: nothing looks emergent",
        )
    b = onset - 1
    precursor, lo, hi = float(c_mean[b] - c_mean[0]), float(c_lo[b] - c_hi[0]), float(c_hi[b] - c_lo[0])
    total, total_lo = float(c_mean.max() - c_mean[0]), float(c_lo[1:].max() - c_hi[0])
    reversal = (
        _largest_discordant_move((d_mean, d_lo, d_hi), (c_mean, c_lo, c_hi), onset, tolerance * total)
        if total > 0
        else 0.0
    )
    fraction = precursor / total if total > 0 else nan
    found: _Found = dict(
        onset=onset,
        precursor=precursor,
        precursor_lo=lo,
        precursor_hi=hi,
        total=total,
        fraction=fraction,
        total_lo=total_lo,
        reversal=reversal,
    )
    early = float(d_mean[:onset].max() - d_mean[0])
    if monotone and early >= min_rise:
        return Diagnosis(
            "inconclusive",
            reason=(
                f"before its first resolved rise the discrete metric's estimates had already climbed by {early:.3g}: "
                "its flat phase is not resolved"
            ),
            **found,
        )
    if min_effect is not None and total < min_effect:
        return Diagnosis(
            "negligible gain",
            reason=(
                f"the continuous metric's total improvement ({total:.3g}) is below the minimum effect {min_effect:g}"
            ),
            **found,
        )
    if min_effect is not None and total_lo <= 0:
        return Diagnosis("inconclusive", reason="the continuous metric's total improvement is within its CIs", **found)
    if total <= 0:
        return Diagnosis("inconclusive", reason="the continuous metric does not improve with scale", **found)
    if monotone and reversal > 0:
        return Diagnosis(
            "discordant",
            reason=(
                f"on the way to the onset the continuous metric moves against the "
                f"discrete one, resolvably, by {reversal / total:.0%} of its total "
                "improvement"
            ),
            **found,
        )
    if lo > 0 and fraction >= tolerance:
        verdict, why = (
            "metric-induced",
            (
                f"the continuous metric had already made {fraction:.0%} of its total "
                "improvement, resolved by its CIs, while the discrete one sat at its floor"
            ),
        )
    elif hi < tolerance * total:
        verdict, why = (
            "persists",
            (
                f"the continuous metric was flat too before the onset (at most "
                f"{hi / total:.1%} of its total improvement)"
            ),
        )
    else:
        verdict, why = "inconclusive", "the intervals are too wide to tell a precursor from none"
    return Diagnosis(verdict, reason=why, **found)


def diagnose_table(
    cases: dict[str, tuple[Curve, Curve]], tolerance: float = 0.1, min_effect: float | None = 0.0, monotone: bool = True
) -> pd.DataFrame:
    """One row per named (discrete, continuous) pair: verdict, onset index, precursor share and the reason."""
    import pandas as pd

    rows = []
    for name, (disc, cont) in cases.items():
        d = diagnose(disc, cont, tolerance, min_effect=min_effect, monotone=monotone)
        rows.append(
            {
                "case": name,
                "verdict": d.verdict,
                "onset (model index)": d.onset,
                "precursor share": d.fraction,
                "reason": d.reason,
            }
        )
    return pd.DataFrame(rows)


def known_case_grid(
    cases: dict[str, tuple[Curve, Curve]],
    tolerances: Sequence[float],
    onset_rises: Sequence[float],
    min_rise: float = 0.05,
    min_effect: float | None = 0.0,
    monotone: bool = True,
) -> pd.DataFrame:
    """:func:`diagnose` on every case under every onset_rise x tolerance: rows are cases, columns the settings.

    Run on cases whose answer is known, it shows whether the rule's verdicts are a property of the cases or of one
    choice of settings (compare with :func:`recovers_known`).
    """
    import pandas as pd

    if not cases or not tolerances or not onset_rises:
        raise ValueError("need at least one case, one tolerance and one onset_rise")
    return _settings_frame(
        lambda rise, tol: pd.Series(
            {
                name: diagnose(disc, cont, tol, min_rise, rise, min_effect, monotone).verdict
                for name, (disc, cont) in cases.items()
            }
        ),
        tolerances,
        onset_rises,
    )


def _settings_frame(
    verdicts: Callable[[float, float], pd.Series], tolerances: Sequence[float], onset_rises: Sequence[float]
) -> pd.DataFrame:
    """One column of verdicts per onset_rise x tolerance, under a two-level column index."""
    import pandas as pd

    grid = pd.DataFrame({(rise, tol): verdicts(rise, tol) for rise in onset_rises for tol in tolerances})
    grid.columns = pd.MultiIndex.from_tuples(
        cast("Iterable[tuple[float, float]]", grid.columns), names=["onset rise", "tolerance"]
    )
    return grid


def recovers_known(grid: pd.DataFrame, expected: dict[str, str]) -> bool:
    """Claim check: every case in ``expected`` gets its expected verdict under every setting of ``grid``
    (from :func:`known_case_grid`)."""
    missing = set(expected) - set(grid.index)
    if missing:
        raise ValueError(f"cases not in the grid: {sorted(missing)}")
    return bool(all((grid.loc[name] == verdict).all() for name, verdict in expected.items()))


@dataclass(frozen=True)
class Replicate:
    """One way of putting intervals on a family's curves: ``unit`` is "seeds" (mean and Student-t interval over
    training seeds, the sizes with at least ``min_seeds`` of them) or "seed S" (that seed alone, bootstrap over its
    test problems). ``sizes`` are the model sizes the curves cover, ``seed_counts`` how many seeds each point rests
    on, ``n_seeds`` the fewest of them."""

    unit: str
    sizes: NDArray[np.float64]
    seed_counts: NDArray[np.int64]
    discrete: Curve
    continuous: Curve

    @property
    def n_seeds(self) -> int:
        return int(self.seed_counts.min())


def replicate_curves(
    per_seed: pd.DataFrame,
    per_example: pd.DataFrame,
    *,
    discrete: str,
    continuous: str,
    continuous_higher_is_better: bool = True,
    size: str = "n_params",
    seed: str = "seed",
    min_seeds: int = 2,
    confidence: float = 0.95,
    n_boot: int = 2000,
    boot_seed: int = 0,
) -> list[Replicate]:
    """The replicates of one case (one task and answer length) of a family trained with several seeds.

    ``per_seed`` has one row per size and seed (columns ``size``, ``seed``, ``discrete``, ``continuous``: each
    seed's mean over the test problems); ``per_example`` one row per size, seed and test problem (same columns).
    Returns the seeds-as-unit replicate first (``mean_curve`` over the per-seed values of each size that has at
    least ``min_seeds`` seeds), when at least two sizes qualify, then one bootstrap replicate per seed (over the
    sizes that seed has). Seeds are never pooled: a seed's problems are resampled only with that seed's.
    """
    if min_seeds < 2:
        raise ValueError("min_seeds must be at least 2: one seed has no spread")
    for name, table in (("per_seed", per_seed), ("per_example", per_example)):
        absent = {size, seed, discrete, continuous} - set(table.columns)
        if absent:
            raise ValueError(f"{name} lacks columns {sorted(absent)}")
    if per_seed.duplicated([size, seed]).any():
        raise ValueError("per_seed must have one row per size and seed")
    out = []
    counts = per_seed.groupby(size)[seed].nunique()
    kept = np.sort(counts.index[counts >= min_seeds].to_numpy(dtype=float))
    if kept.size >= 2:
        groups = [per_seed[per_seed[size] == s] for s in kept]
        out.append(
            Replicate(
                "seeds",
                kept,
                cast(NDArray[np.int64], counts.loc[kept].to_numpy(dtype=np.int64)),
                mean_curve([g[discrete].to_numpy() for g in groups], True, confidence),
                mean_curve([g[continuous].to_numpy() for g in groups], continuous_higher_is_better, confidence),
            )
        )
    for s, rows in per_example.groupby(seed, sort=True):
        sizes = np.sort(rows[size].unique().astype(float))
        if sizes.size < 2:
            continue
        groups = [rows[rows[size] == v] for v in sizes]
        out.append(
            Replicate(
                f"seed {s}",
                sizes,
                np.ones(sizes.size, dtype=np.int64),
                bootstrap_curve([g[discrete].to_numpy() for g in groups], True, confidence, n_boot, boot_seed),
                bootstrap_curve(
                    [g[continuous].to_numpy() for g in groups],
                    continuous_higher_is_better,
                    confidence,
                    n_boot,
                    boot_seed,
                ),
            )
        )
    return out


def replicate_table(
    cases: dict[str, list[Replicate]],
    tolerance: float = 0.1,
    min_rise: float = 0.05,
    onset_rise: float = 0.0,
    min_effect: float | None = 0.0,
    monotone: bool = True,
) -> pd.DataFrame:
    """One row per case and replicate: the verdict of :func:`diagnose`, the onset's size, and the precursor as a
    share of the total improvement with its conservative bounds."""
    import pandas as pd

    rows = []
    for name, replicates in cases.items():
        for r in replicates:
            d = diagnose(r.discrete, r.continuous, tolerance, min_rise, onset_rise, min_effect, monotone)
            scale = d.total if d.total > 0 else float("nan")
            rows.append(
                {
                    "case": name,
                    "replicate": r.unit,
                    "seeds": r.n_seeds,
                    "sizes": r.sizes.size,
                    "verdict": d.verdict,
                    "onset size": r.sizes[d.onset] if d.onset is not None else float("nan"),
                    "precursor share": d.fraction,
                    "share lo": d.precursor_lo / scale,
                    "share hi": d.precursor_hi / scale,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "case",
            "replicate",
            "seeds",
            "sizes",
            "verdict",
            "onset size",
            "precursor share",
            "share lo",
            "share hi",
        ],
    )


def replicated_verdicts(table: pd.DataFrame) -> pd.Series:
    """case -> the verdict all of its replicates agree on, or "mixed" when they differ.

    A verdict counts as a finding of the family only when every seed (and the seeds-as-unit test, when there is
    one) gives it; "mixed" says the seeds disagree, and the family's answer is not settled at this grid.
    """
    if table.empty:
        raise ValueError("no replicates to agree on")
    return table.groupby("case", sort=False)["verdict"].agg(lambda v: v.iloc[0] if v.nunique() == 1 else "mixed")


def verdict_grid(
    cases: dict[str, list[Replicate]],
    tolerances: Sequence[float],
    onset_rises: Sequence[float],
    min_rise: float = 0.05,
    min_effect: float | None = 0.0,
    monotone: bool = True,
) -> pd.DataFrame:
    """:func:`replicated_verdicts` under every tolerance x onset_rise: rows are cases, columns the settings."""

    return _settings_frame(
        lambda rise, tol: replicated_verdicts(replicate_table(cases, tol, min_rise, rise, min_effect, monotone)),
        tolerances,
        onset_rises,
    )


def onset_decides(
    cases: dict[str, list[Replicate]],
    fine: float = 0.0,
    coarse: float = 0.01,
    tolerance: float = 0.1,
    min_rise: float = 0.05,
    min_effect: float | None = 0.0,
    monotone: bool = True,
) -> pd.DataFrame:
    """Does the verdict hinge on where the discrete metric is said to have risen?

    For each case, the replicated verdict (:func:`replicated_verdicts`) with the onset at the first resolved rise of
    at least ``fine`` and of at least ``coarse`` (discrete units). ``hinges`` is True when every replicate says
    "persists" at the fine onset and "metric-induced" at the coarse one: the continuous metric gave no warning
    before the discrete metric's first resolved (small) gains, but did before its first large ones. A clean mirage
    (continuous metric improving while the discrete one is resolvably flat) is metric-induced at both; a jump in
    both metrics persists at both.
    """
    import pandas as pd

    if not 0 <= fine < coarse:
        raise ValueError("need 0 <= fine < coarse")
    at_fine = replicated_verdicts(replicate_table(cases, tolerance, min_rise, fine, min_effect, monotone))
    at_coarse = replicated_verdicts(replicate_table(cases, tolerance, min_rise, coarse, min_effect, monotone))
    out = pd.DataFrame(
        {
            "case": at_fine.index,
            f"verdict at onset rise {fine:g}": at_fine.to_numpy(),
            f"verdict at onset rise {coarse:g}": at_coarse.loc[at_fine.index].to_numpy(),
        }
    )
    out["hinges"] = (at_fine.to_numpy() == "persists") & (at_coarse.loc[at_fine.index].to_numpy() == "metric-induced")
    return out


def no_mirage_found(verdicts: Sequence[str]) -> bool:
    """Claim check: True when none of the verdicts (of :func:`diagnose`, or "mixed") is "metric-induced"."""
    v = list(verdicts)
    if not v:
        raise ValueError("no verdicts to check")
    unknown = set(v) - set(VERDICTS) - {"mixed"}
    if unknown:
        raise ValueError(f"unknown verdicts {sorted(unknown)}")
    return "metric-induced" not in v
