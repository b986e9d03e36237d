"""``python -m mirage_utils check FILE --forecast-to SIZE``: forecast every metric of a reader's family at ``SIZE``
(in the family's scale column, ``params`` or ``flops``) and say which forecasts its own backtest lets one trust.

Why: the paper calls an ability emergent when it is sharp *and unpredictable*, and says continuous metrics make the
change predictable. A forecast is only as good as its record, so every forecaster is first backtested on the reader's
own curve with :func:`mirage_utils.forecast.backtest` (from each cutoff, the 3rd smallest to the 2nd largest size,
fit only on the sizes at or below it and forecast every larger one), then fitted on every size and asked for
``SIZE``. Seeds (or lm-eval training runs) are replicates: each is fitted on its own and the interval is a t interval
over them; with one replicate a parametric bootstrap gives it (:mod:`mirage_utils.forecast`).

Forecasters by layout (each only where its columns exist):

* generations: exact match and token edit distance directly (a line in log size; exact match also a sigmoid from
  chance to 1) and through the per-token probability (the paper's route, :class:`~mirage_utils.forecast.
  PerTokenRoute`: the target tokens' mean probability, or their mean cross-entropy, as a power law in size, then
  ``p**L`` and ``L (1 - p)`` averaged over the targets' lengths ``L``: the number of ``token_logprobs`` when given,
  else the target's characters); the per-token probability itself directly and as a power law in cross-entropy;
* multiple choice: the grade directly (line; sigmoid from chance) and through the correct option's log-probability,
  raw (p(correct)) or renormalised over the options (the chain of Schaeffer et al. 2024), each as a loss axis
  (:class:`~mirage_utils.forecast.LossAxis`: the mean negative log-probability a power law in size, the grade a
  sigmoid of it); the Brier score directly;
* aggregates and lm-eval results, per task: each rate directly (line; sigmoid from the task's chance), each
  perplexity-like metric as a power law in size (lower is better), any other metric as a line; a rate also through
  the task's perplexity or loss when the task has one (a loss axis on log-perplexity).

**The trust rule** (constants below): a forecaster is *trusted* when its backtest ran (at least
:data:`MIN_BACKTEST_SIZES` sizes) and (1) the median error of its held-out forecasts, over every cutoff and larger
size, is at most :data:`MAX_MEDIAN_SCALED_ERROR` of the range the metric spans across the family (on a log scale for
perplexity-like metrics), (2) the median over cutoffs of the error of its farthest forecast (the largest size) is at
most :data:`MAX_FARTHEST_SCALED_ERROR` of that range, (3) its interval, widened by each held-out point's own
measurement error (the standard error over seeds or runs, else over examples, else the stated one), covers at least
:data:`MIN_COVERAGE` of the held-out points (nominal: the confidence level). A fit's interval alone cannot cover a
point measured on finitely many examples, so (3) asks only for the widened interval; the fit interval's own coverage
is reported beside it; (4) the metric moves across the family by more than :data:`MIN_MOVEMENT` times its 95%
measurement error (a flat curve is forecast flat without error, which says nothing about a jump still to come); and
(5) its forecast at the size lies within the metric's possible range. A forecaster that raises is marked failed
with its message, never a traceback. With fewer than four sizes there is no backtest: the forecasts are given, marked
untrusted. The headline forecast of a metric is its trusted forecaster with the smallest median error, or none.

Honest scope: a trusted forecaster has forecast *this family's* larger sizes from its smaller ones; a ``SIZE``
further beyond the largest size than any backtest reached (the notes say when) extrapolates that record too.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from .. import forecast as fc
from .._forecasters import _log_power_law, _noise, _power
from .errors import SchemaError
from .schema import LAYOUTS, Validated, base_name, validate

__all__ = [
    "MAX_FARTHEST_SCALED_ERROR",
    "MAX_MEDIAN_SCALED_ERROR",
    "MIN_BACKTEST_SIZES",
    "MIN_COVERAGE",
    "RULE",
    "Plan",
    "check_and_forecast",
    "forecast_html",
    "forecast_section",
    "parse_size",
    "plans_for",
]

FloatArray = NDArray[np.float64]
MAX_MEDIAN_SCALED_ERROR = 0.10  # of the range the metric spans across the family's sizes
MAX_FARTHEST_SCALED_ERROR = 0.20
MIN_COVERAGE = 0.5  # of held-out points inside the interval widened by their own measurement error
MIN_MOVEMENT = 2.0  # the metric's range across the family, in units of its 95% measurement error (median over sizes)
MIN_BACKTEST_SIZES = fc.MIN_SIZES + 1  # >= 3 sizes to fit and >= 1 to forecast
MAX_FIGURES = 48  # figures in report.html (every number is in report.json)
GRID_POINTS = 80
RULE = (
    f"trusted when backtested from every cutoff (3rd smallest to 2nd largest size, fit only on the sizes at or below "
    f"it): the median error of its forecasts of the larger sizes is at most {MAX_MEDIAN_SCALED_ERROR:.0%} of the "
    f"range the metric spans across the family (log scale for perplexity-like metrics), the median error of its "
    f"farthest forecasts (the largest size) at most {MAX_FARTHEST_SCALED_ERROR:.0%}, and its interval widened by "
    f"each held-out point's own measurement error covers at least {MIN_COVERAGE:.0%} of them; the metric moves "
    f"across the family by more than {MIN_MOVEMENT:g} times its 95% measurement error (else a backtest cannot tell a "
    f"flat forecast from a jump still to come); and its forecast at the size lies within the metric's possible "
    f"range (a rate in [0, 1], an edit distance >= 0); needs at least {MIN_BACKTEST_SIZES} sizes"
)
RULE_SHORT = (
    f"trusted = backtest median error <= {MAX_MEDIAN_SCALED_ERROR:.0%} of the metric's range across the family, "
    f"farthest forecasts' median error <= {MAX_FARTHEST_SCALED_ERROR:.0%}, interval with measurement error covering "
    f">= {MIN_COVERAGE:.0%} of held-out points, the metric moving beyond its measurement error, forecast within "
    f"the metric's possible range; "
    f">= {MIN_BACKTEST_SIZES} sizes"
)
_SIZE = re.compile(r"^([0-9][0-9_,]*(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?|\.[0-9]+(?:e[+-]?[0-9]+)?)([kmbt]?)$", re.IGNORECASE)
_MULTIPLIERS = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_LOG_NAMES = {"ppl", "perplexity", "word_perplexity", "byte_perplexity"}  # ln of these is a cross-entropy
_LOSS_NAMES = {"loss", "bits_per_byte"}  # already on a log scale


def parse_size(text: object) -> float:
    """The ``--forecast-to`` value: a positive number, optionally with a suffix k, m, b or t (thousand, million,
    billion, trillion): ``1e9``, ``1.4b``, ``70B``, ``2.5e3m``. Raises ValueError with a plain message."""
    raw = str(text).strip()
    found = _SIZE.match(raw.replace(" ", ""))
    value = float("nan")
    if found is not None:
        try:
            value = float(found.group(1).replace("_", "").replace(",", "")) * _MULTIPLIERS[found.group(2).lower()]
        except ValueError:
            value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"--forecast-to {raw!r} is not a size: give a positive number in the family's scale column, like 1e9, "
            "1.4b or 70b (k, m, b, t for thousand, million, billion, trillion)"
        )
    return value


# --- what to forecast -------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One metric (of one task) to forecast: its family frame (``x``, ``replicate``, the columns the forecasters
    read), the forecasters, each forecaster's route in words, and the measurement standard error of the metric at
    each size on the analysis scale (log for perplexity-like metrics)."""

    metric: str
    label: str
    family: pd.DataFrame
    forecasters: list[fc.Forecaster]
    routes: dict[str, str]
    se: pd.Series
    higher: bool = True
    log: bool = False
    chance: float | None = None
    task: str | None = None
    replicates: str = "one replicate"
    bounds: tuple[float, float] = (-math.inf, math.inf)
    unit: str = "seed"  # what a replicate is: "seed", or "run" (training runs of lm-eval results)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class _MixedRoute(fc.PerTokenRoute):
    """The paper's route for targets of several lengths: ``p**L`` (or ``L (1 - p)``) averaged over the share of
    targets of each length ``L`` (``mix``: (length, share) pairs); ``length`` is unused then."""

    mix: tuple[tuple[int, float], ...] = ()

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        if not self.mix or self.output not in ("exact_match", "ted"):
            return super()._predict(params, u)
        p = np.exp(-np.exp(np.minimum(params[:, :1] + params[:, 1:2] * u, 700.0)))
        if self.output == "exact_match":
            return np.asarray(sum(w * p**n for n, w in self.mix), dtype=np.float64)
        return np.asarray(sum(w * n * (1.0 - p) for n, w in self.mix), dtype=np.float64)


@dataclass(frozen=True, kw_only=True)
class _NamedLossAxis(fc.LossAxis):
    """A loss axis under its own name (several loss axes for one metric need distinct names)."""

    label: str = ""

    @property
    def name(self) -> str:
        return self.label or super().name


@dataclass(frozen=True, kw_only=True)
class _NamedRoute(_MixedRoute):
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or super().name


@dataclass(frozen=True, kw_only=True)
class _LogPowerLaw(fc.PowerLaw):
    """A perplexity through its logarithm (the cross-entropy): ``ln y`` a power law in size, then ``y = exp``; a
    perplexity is never below 1, which a power law in the perplexity itself ignores."""

    @property
    def name(self) -> str:
        return "power law in log-perplexity"

    def _fit(self, u: FloatArray, cols: Mapping[str, FloatArray]) -> FloatArray:
        y = cols[self.target]
        if np.any(y <= 1):
            raise ValueError(f"a perplexity ({self.target!r}) must be > 1")
        return _log_power_law(u, np.log(y))

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return np.asarray(np.exp(np.minimum(_power(params, u), 700.0)), dtype=np.float64)

    def _simulate(
        self, point: FloatArray, u: FloatArray, cols: Mapping[str, FloatArray], gen: np.random.Generator, n: int
    ) -> dict[str, FloatArray]:
        ce = _power(point[None, :], u) * np.exp(_noise(gen, point[2], n, u.size))
        return {self.target: np.exp(np.minimum(ce, 700.0))}


def _replicate_column(ex: pd.DataFrame, notes: list[str]) -> str | None:
    """``seed`` when every model has two or more (relabelled by rank within each model when the models' seed
    labels differ, so that each replicate has every size), else None."""
    if "seed" not in ex.columns or not bool((ex.groupby("model")["seed"].nunique() >= 2).all()):
        return None
    sets = {tuple(sorted(map(str, g.unique()))) for _, g in ex.groupby("model")["seed"]}
    if len(sets) > 1:
        rank = ex.groupby("model")["seed"].rank(method="dense").astype(int)
        ex["seed"] = rank.to_numpy()
        notes.append("models have different seed labels: replicates paired by the seeds' order within each model")
    return "seed"


def _se_by_size(table: pd.DataFrame, x: str, rep: str | None, column: str, log: bool = False) -> pd.Series:
    """Measurement standard error of ``column``'s mean at each size: over replicates (their means) when there are
    several, else over the rows (examples)."""
    values = table[column].to_numpy(dtype=float)
    if log:
        values = np.log(np.clip(values, 1e-300, None))
    frame = pd.DataFrame({"x": table[x].to_numpy(dtype=float), "v": values})
    if rep is not None:
        frame["r"] = table[rep].to_numpy()
        frame = frame.groupby(["x", "r"])["v"].mean().reset_index()
    g = frame.groupby("x")["v"]
    return (g.std(ddof=1) / np.sqrt(g.count())).fillna(0.0)


def _lengths(v: Validated, raw: pd.DataFrame | None) -> NDArray[np.int64]:
    """Each scored target's length in tokens: the number of ``token_logprobs`` when the file gives them, else its
    characters."""
    from .normalise import number_lists

    if raw is not None and "token_logprobs" in raw.columns and v.frame.index.isin(raw.index).all():
        lists = number_lists(raw.loc[v.frame.index, "token_logprobs"])
        if lists is not None:
            return np.maximum(lists.lengths, 1)
    return np.maximum(v.frame["target"].astype(str).str.strip().str.len().to_numpy(dtype=np.int64), 1)


def _generation_plans(v: Validated, raw: pd.DataFrame | None) -> list[Plan]:
    from .analyse import METRICS, RANGES, _chance, per_example

    notes: list[str] = []
    ex = per_example(v)
    rep = _replicate_column(ex, notes)
    has_p = "token_probability" in ex.columns
    cols = ["exact_match", "token_edit_distance"]
    if has_p:
        ex["_cross_entropy"] = -np.log(ex["token_probability"].astype(float).clip(lower=1e-12))
        cols += ["token_probability", "_cross_entropy"]
    family = fc.family_frame(ex, v.scale, cols, rep, per_example=True)
    family = family.rename(columns={"token_probability": "token_prob", "_cross_entropy": "cross_entropy"})
    lengths = _lengths(v, raw)
    values, counts = np.unique(lengths, return_counts=True)
    mix = tuple((int(n), float(c / counts.sum())) for n, c in zip(values, counts))
    mean_length = max(int(round(float(np.mean(lengths)))), 1)
    chance = _chance(v.frame["target"]) or 0.0
    where = "token_logprobs" if raw is not None and "token_logprobs" in raw.columns else "characters"
    length_words = (
        f"L = {values[0]} ({where})" if values.size == 1 else f"L from {values.min()} to {values.max()} ({where})"
    )
    reps = _replicate_words(family)
    plans = []
    for metric in cols[:3] if has_p else cols:
        kind, higher, label = METRICS[metric]
        target = "token_prob" if metric == "token_probability" else metric
        fs: list[fc.Forecaster] = [fc.DirectLinear(target=target)]
        routes = {"direct linear": f"{label} as a line in log10 size"}
        if metric == "exact_match":
            fs.append(fc.DirectSigmoid(target=target, floor=chance, ceiling=1.0))
            routes["direct sigmoid"] = f"a sigmoid in log10 size from chance ({chance:.3g}) to 1"
        if has_p and metric in ("exact_match", "token_edit_distance"):
            output: Literal["exact_match", "ted"] = "exact_match" if metric == "exact_match" else "ted"
            form = "p**L" if output == "exact_match" else "L (1 - p)"
            for via in ("token_prob", "cross_entropy"):
                route = _NamedRoute(target=target, output=output, length=mean_length, via=via, mix=mix)
                fs.append(route)
                what = "mean per-token probability" if via == "token_prob" else "mean per-token cross-entropy"
                routes[route.name] = f"{what} as a power law in size, then {form}, {length_words}"
        if metric == "token_probability":
            power = fc.PerTokenRoute(target=target, output="token_prob", via="cross_entropy")
            fs.append(power)
            routes[power.name] = "mean per-token cross-entropy as a power law in size, p = exp(-CE)"
        se = _se_by_size(ex, v.scale, rep, metric)
        plans.append(
            Plan(
                metric,
                label,
                family,
                fs,
                routes,
                se,
                higher,
                False,
                chance if kind == "discrete" else None,
                replicates=reps,
                notes=list(notes),
                bounds=RANGES.get(metric, (-math.inf, math.inf)),
            )
        )
    return plans


def _choice_columns(v: Validated) -> tuple[FloatArray, FloatArray]:
    """Per example: -log p(correct option) (raw) and -log of its probability renormalised over the options."""
    df = v.frame
    raw_nll = np.empty(len(df))
    choice_nll = np.empty(len(df))
    n_options = df["option_logprobs"].map(len).to_numpy()
    for k in np.unique(n_options):
        rows = np.flatnonzero(n_options == k)
        lp = np.array(df["option_logprobs"].iloc[rows].tolist(), dtype=float)
        idx = df["correct_option"].iloc[rows].to_numpy(dtype=int)
        right = lp[np.arange(rows.size), idx]
        top = lp.max(axis=1)
        log_z = top + np.log(np.exp(lp - top[:, None]).sum(axis=1))
        raw_nll[rows], choice_nll[rows] = -right, log_z - right
    cap = 1e3  # an impossible correct option (-inf) would make every mean infinite
    return np.clip(raw_nll, 1e-9, cap), np.clip(choice_nll, 1e-9, cap)


def _choice_plans(v: Validated) -> list[Plan]:
    from .analyse import METRICS, RANGES, per_example

    notes: list[str] = []
    ex = per_example(v)
    ex["nll_correct"], ex["nll_choice"] = _choice_columns(v)
    rep = _replicate_column(ex, notes)
    cols = ["multiple_choice_grade", "brier_score", "nll_correct", "nll_choice"]
    family = fc.family_frame(ex, v.scale, cols, rep, per_example=True)
    chance = float(ex["chance"].mean())
    reps = _replicate_words(family)
    grade = "multiple_choice_grade"
    fs: list[fc.Forecaster] = [
        fc.DirectLinear(target=grade),
        fc.DirectSigmoid(target=grade, floor=chance, ceiling=1.0),
        _NamedLossAxis(target=grade, loss="nll_correct", floor=chance, label="log p(correct) as the loss axis"),
        _NamedLossAxis(
            target=grade, loss="nll_choice", floor=chance, label="renormalised log p(correct) as the loss axis"
        ),
    ]
    routes = {
        "direct linear": "the grade as a line in log10 size",
        "direct sigmoid": f"a sigmoid in log10 size from chance ({chance:.3g}) to 1",
        fs[2].name: "mean -log p(correct option) as a power law in size, the grade a sigmoid of it",
        fs[
            3
        ].name: "mean -log p(correct) renormalised over the options as a power law in size, the grade a sigmoid of it",
    }
    _, _, label = METRICS[grade]
    plans = [
        Plan(
            grade,
            label,
            family,
            fs,
            routes,
            _se_by_size(ex, v.scale, rep, grade),
            True,
            False,
            chance,
            replicates=reps,
            notes=list(notes),
            bounds=RANGES[grade],
        ),
        Plan(
            "brier_score",
            METRICS["brier_score"][2],
            family,
            [fc.DirectLinear(target="brier_score")],
            {"direct linear": "the Brier score as a line in log10 size"},
            _se_by_size(ex, v.scale, rep, "brier_score"),
            False,
            False,
            None,
            replicates=reps,
            notes=list(notes),
            bounds=RANGES["brier_score"],
        ),
    ]
    return plans


def _replicate_words(family: pd.DataFrame, unit: str = "seed") -> str:
    k = int(family[fc.REPLICATE].nunique())
    return "one replicate" if k == 1 else f"{k} replicates ({unit}s)"


def _aggregate_plans(
    v: Validated, task: str | None, chance: float | None, notes: list[str] | None = None
) -> list[Plan]:
    """Plans for one task of an aggregate table (or the whole table without a task column); a metric that cannot
    be made into a family is left out with a note in ``notes``."""
    from .aggregates import CHANCE_METRICS, _higher, _is_discrete, chance_for, is_log_scale

    df = v.frame
    rep = "seed" if "seed" in df.columns else None
    if rep is not None and not bool((df.groupby(["model", "metric"])[rep].nunique() >= 2).all()):
        rep = None
    if rep is None and "seed" in df.columns and df.duplicated(["model", "metric"]).any():
        raise SchemaError("some sizes have several runs and others one: give every size the same runs")
    keys = [v.scale, *([rep] if rep else [])]
    wide = df.pivot_table(index=keys, columns="metric", values="value", aggfunc="mean").reset_index()
    wide.columns = [str(c) for c in wide.columns]
    metrics = sorted(str(m) for m in df["metric"].unique())
    given = df.groupby("metric")["higher_is_better"].first() if "higher_is_better" in df.columns else None
    loss_metric = next((m for m in metrics if base_name(m) in _LOG_NAMES | _LOSS_NAMES), None)
    plans = []
    for metric in metrics:
        vals = wide[metric]
        higher = _higher(metric)
        if given is not None and metric in given.index and pd.notna(given[metric]):
            higher = bool(given[metric])
        log = is_log_scale(metric) and bool((vals > 0).all())
        rate = _is_discrete(metric) and not log and bool(((vals >= 0) & (vals <= 1)).all())
        level = chance if chance is not None and base_name(metric) in CHANCE_METRICS else None
        if level is None and task is not None:
            level = chance_for(task, metric)[0]
        cols = [metric]
        fs: list[fc.Forecaster]
        if log:
            fs = [fc.PowerLaw(target=metric)]
            routes = {"power law": f"{metric} as a power law in size"}
            if base_name(metric) in _LOG_NAMES and bool((vals > 1).all()):
                fs.append(_LogPowerLaw(target=metric))
                routes["power law in log-perplexity"] = f"log {metric} (a cross-entropy) as a power law in size"
        else:
            fs = [fc.DirectLinear(target=metric)]
            routes = {"direct linear": f"{metric} as a line in log10 size"}
        if rate:
            floor = level if level is not None else 0.0
            fs.append(fc.DirectSigmoid(target=metric, floor=floor, ceiling=1.0))
            routes["direct sigmoid"] = f"a sigmoid in log10 size from {'chance' if level else '0'} ({floor:.3g}) to 1"
            if loss_metric is not None and loss_metric != metric:
                lv = wide[loss_metric]
                if bool((lv > 0).all()) and bool(np.isfinite(lv).all()):
                    lossy = base_name(loss_metric) in _LOG_NAMES
                    wide["_loss"] = np.log(lv.clip(lower=1.0 + 1e-9)) if lossy else lv.clip(lower=1e-9)
                    cols.append("_loss")
                    axis = _NamedLossAxis(
                        target=metric,
                        loss="_loss",
                        floor=floor,
                        label=f"{'log ' if lossy else ''}{loss_metric} as the loss axis",
                    )
                    fs.append(axis)
                    what = f"log {loss_metric}" if lossy else loss_metric
                    routes[axis.name] = f"{what} as a power law in size, {metric} a sigmoid of it"
        try:
            family = fc.family_frame(wide[[*keys, *cols]].dropna(), v.scale, cols, rep)
        except ValueError as exc:
            if notes is not None:
                notes.append(f"{task + ': ' if task else ''}{metric} not forecast: {' '.join(str(exc).split())}")
            continue
        se = _aggregate_se(df, v.scale, rep, metric, log, rate)
        label = f"{metric} (lower is better)" if not higher else metric
        plans.append(
            Plan(
                metric,
                label,
                family,
                fs,
                routes,
                se,
                higher,
                log,
                level if rate else None,
                task,
                _replicate_words(family),
                bounds=_bounds(metric, rate, log),
            )
        )
    return plans


def _bounds(metric: str, rate: bool, log: bool) -> tuple[float, float]:
    """The values a metric can take: a rate [0, 1], a perplexity [1, inf), another log-scale metric [0, inf)."""
    if rate:
        return 0.0, 1.0
    if base_name(metric) in _LOG_NAMES:
        return 1.0, math.inf
    return (0.0, math.inf) if log else (-math.inf, math.inf)


def _aggregate_se(df: pd.DataFrame, x: str, rep: str | None, metric: str, log: bool, rate: bool) -> pd.Series:
    """Measurement standard error of one metric at each size: over runs when there are several, else the stated
    standard error, else binomial from n for a rate, else 0 (unknown)."""
    rows = df[df["metric"] == metric]
    if rep is not None:
        return _se_by_size(rows, x, rep, "value", log)
    value = rows["value"].astype(float).to_numpy()
    se = np.full(len(rows), np.nan)
    if "stderr" in rows.columns:
        se = pd.to_numeric(rows["stderr"], errors="coerce").to_numpy(dtype=float)
        if log:
            se = se / np.where(value > 0, value, np.nan)
    if rate:
        n = pd.to_numeric(rows["n"], errors="coerce").to_numpy(dtype=float)
        binomial = np.sqrt(np.clip(value * (1 - value), 0, None) / np.where(n >= 1, n, np.nan))
        se = np.where(np.isfinite(se), se, binomial)
    out = pd.Series(np.nan_to_num(se, nan=0.0), index=rows[x].astype(float).to_numpy())
    return out.groupby(level=0).mean()


# --- running a plan ---------------------------------------------------------------------------------------------


def _transform(values: FloatArray, log: bool) -> FloatArray:
    if not log:
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), -np.inf)


def _num(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _backtest_stats(plan: Plan, f: fc.Forecaster, confidence: float) -> dict[str, Any]:
    """Backtest one forecaster on the plan's family and score it by the trust rule."""
    result = fc.backtest(plan.family, [f])
    p = result.predictions
    observed = plan.family.groupby(fc.X)[f.target].mean()
    t_obs_curve = _transform(observed.to_numpy(float), plan.log)
    span = float(np.ptp(t_obs_curve)) if np.isfinite(t_obs_curve).all() else float("nan")
    pred, obs = p["predicted"].to_numpy(float), p["observed"].to_numpy(float)
    tp, to = _transform(pred, plan.log), _transform(obs, plan.log)
    err = np.abs(tp - to)
    err = np.where(np.isfinite(err), err, np.inf)
    if span > 0:
        scaled = err / span
    else:
        scaled = np.where(err == 0, 0.0, np.inf)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    se = plan.se.reindex(p["x"].to_numpy(float)).fillna(0.0).to_numpy(float)
    low = np.clip(tp - _transform(p["lower"].to_numpy(float), plan.log), 0, None)
    high = np.clip(_transform(p["upper"].to_numpy(float), plan.log) - tp, 0, None)
    low, high = np.nan_to_num(low, nan=np.inf), np.nan_to_num(high, nan=np.inf)
    widened = (to >= tp - np.sqrt(low**2 + (z * se) ** 2)) & (to <= tp + np.sqrt(high**2 + (z * se) ** 2))
    largest = p["x"].to_numpy(float) == float(observed.index.max())
    farthest = pd.Series(scaled[largest]).groupby(p.loc[largest, "cutoff"].to_numpy(float)).median()
    stats_: dict[str, Any] = {
        "cutoffs": sorted(float(c) for c in p["cutoff"].unique()),
        "held-out forecasts": int(len(p)),
        "median abs error": _num(np.median(np.abs(pred - obs))),
        "median scaled error": _num(np.median(scaled)),
        "farthest scaled error": _num(np.median(farthest.to_numpy())),
        "coverage": _num(p["covered"].mean()),
        "coverage with measurement error": _num(np.mean(widened)),
    }
    reasons = []
    med, far, cov = (
        stats_["median scaled error"],
        stats_["farthest scaled error"],
        stats_["coverage with measurement error"],
    )
    if med is None or med > MAX_MEDIAN_SCALED_ERROR:
        reasons.append(
            "median error "
            + ("not finite" if med is None else f"{med:.0%} of the range")
            + f" (> {MAX_MEDIAN_SCALED_ERROR:.0%})"
        )
    if far is None or far > MAX_FARTHEST_SCALED_ERROR:
        reasons.append(
            "farthest forecasts off by "
            + ("an infinite amount" if far is None else f"{far:.0%} of the range")
            + f" (> {MAX_FARTHEST_SCALED_ERROR:.0%})"
        )
    if cov is None or cov < MIN_COVERAGE:
        reasons.append(
            f"interval with measurement error covers {0 if cov is None else cov:.0%} of held-out points "
            f"(< {MIN_COVERAGE:.0%})"
        )
    noise = MIN_MOVEMENT * z * float(np.median(plan.se.to_numpy(float))) if len(plan.se) else 0.0
    stats_["range"] = _num(span)
    if not span > noise:
        reasons.append(
            f"the metric moves by {span:.3g} across the family, not more than {MIN_MOVEMENT:g} times its 95% "
            f"measurement error ({noise:.3g}): a flat forecast cannot be told from a missed jump"
        )
    stats_["trusted"] = not reasons
    stats_["why not trusted"] = "; ".join(reasons) or None
    return stats_


def _grid(sizes: FloatArray, size: float) -> FloatArray:
    lo = min(float(sizes.min()), size)
    hi = max(float(sizes.max()), size)
    return np.logspace(np.log10(lo) - 0.05, np.log10(hi) + 0.1, GRID_POINTS)


def run_plan(plan: Plan, size: float, confidence: float = 0.95) -> dict[str, Any]:
    """Backtest and forecast one metric at ``size``: a JSON-ready entry (see :func:`forecast_section`)."""
    fam = plan.family
    sizes = np.unique(fam[fc.X].to_numpy(float))
    grid = _grid(sizes, size)
    observed = fam.groupby(fc.X)[plan.forecasters[0].target].mean()
    entry: dict[str, Any] = {
        "task": plan.task,
        "metric": plan.metric,
        "label": plan.label,
        "higher is better": plan.higher,
        "scale": "log" if plan.log else "linear",
        "chance": plan.chance,
        "sizes": int(sizes.size),
        "replicates": plan.replicates,
        "notes": list(plan.notes),
        "backtest": "ran",
        "observed": {
            "x": [float(x) for x in observed.index],
            "mean": [float(y) for y in observed.to_numpy(float)],
            "replicates": {
                str(r): [float(y) for y in g.sort_values(fc.X)[plan.forecasters[0].target].to_numpy(float)]
                for r, g in fam.groupby(fc.REPLICATE)
            }
            if fam[fc.REPLICATE].nunique() > 1
            else {},
        },
        "curves": {"x": [float(x) for x in grid]},
        "forecasters": [],
    }
    can_backtest = sizes.size >= MIN_BACKTEST_SIZES
    if not can_backtest:
        entry["backtest"] = f"cannot backtest: need at least {MIN_BACKTEST_SIZES} sizes (got {sizes.size})"
    for f in plan.forecasters:
        row: dict[str, Any] = {"forecaster": f.name, "route": plan.routes.get(f.name, f.name), "status": "failed"}
        try:
            fitted = f.fit(fam)
            mean, lower, upper = f.predict(fitted, np.array([size]))
            interval = fitted.interval
            if plan.unit != "seed":
                interval = interval.replace("seed t interval", f"{plan.unit} t interval").replace(
                    " seeds,", f" {plan.unit}s,"
                )
            row.update(forecast=_num(mean[0]), lower=_num(lower[0]), upper=_num(upper[0]), interval=interval)
            entry["curves"][f.name] = [_num(y) for y in f.predict(fitted, grid)[0]]
        except Exception as exc:  # a forecaster's failure is reported, never raised
            row["error"] = _one_line(exc)
            row["trusted"] = False
            entry["forecasters"].append(row)
            continue
        if row["forecast"] is None:
            row.update(error="the forecast is not a finite number", trusted=False)
            entry["forecasters"].append(row)
            continue
        if can_backtest:
            try:
                row.update(_backtest_stats(plan, f, confidence))
            except Exception as exc:
                row.update(error=f"backtest failed: {_one_line(exc)}", trusted=False)
                entry["forecasters"].append(row)
                continue
        else:
            row.update(trusted=False, **{"why not trusted": entry["backtest"]})
        low, high = plan.bounds
        if not low - 1e-9 <= row["forecast"] <= high + 1e-9:
            outside = f"its forecast {row['forecast']:.3g} lies outside the metric's possible range [{low:g}, {high:g}]"
            row["why not trusted"] = "; ".join(x for x in (row.get("why not trusted"), outside) if x)
            row["trusted"] = False
        if low - 1e-9 <= row["forecast"] <= high + 1e-9:  # an in-range forecast's interval stops at the range
            for end in ("lower", "upper"):
                if row.get(end) is not None:
                    row[end] = float(min(max(row[end], low), high))
        row["status"] = "trusted" if row["trusted"] else "not trusted"
        entry["forecasters"].append(row)
    trusted = [r for r in entry["forecasters"] if r["status"] == "trusted"]
    best = min(trusted, key=lambda r: r["median scaled error"]) if trusted else None
    entry["forecaster"] = best["forecaster"] if best else None
    entry["trusted"] = best is not None
    for key in ("forecast", "lower", "upper", "interval"):
        entry[key] = best[key] if best else None
    entry["summary"] = _entry_line(entry, size)
    return entry


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _entry_line(entry: dict[str, Any], size: float) -> str:
    head = f"{entry['task']}: " if entry["task"] else ""
    head += f"{entry['label']} at {size:.3g}: "
    rows = entry["forecasters"]
    ok = [r for r in rows if r["status"] != "failed"]
    failed = [r for r in rows if r["status"] == "failed"]
    tail = f" Failed: {', '.join(r['forecaster'] for r in failed)}." if failed else ""
    if not ok:
        return head + "no forecaster could be fitted (" + "; ".join(r.get("error", "") for r in failed)[:200] + ")."
    if entry["backtest"] != "ran":
        forecasts = ", ".join(f"{r['forecaster']} {_fmt(r['forecast'])}" for r in ok)
        return head + f"{entry['backtest']}; untrusted forecasts: {forecasts}.{tail}"
    if entry["trusted"]:
        best = next(r for r in ok if r["forecaster"] == entry["forecaster"])
        others = [r for r in ok if r["status"] == "not trusted"]
        also = [r for r in ok if r["status"] == "trusted" and r is not best]
        line = (
            f"{_fmt(entry['forecast'])} [{_fmt(entry['lower'])}, {_fmt(entry['upper'])}] by {best['forecaster']}, "
            f"trusted by its backtest (median error {_fmt(best['median abs error'])}, "
            f"{best['median scaled error']:.0%} of the range; coverage with measurement error "
            f"{best['coverage with measurement error']:.0%})."
        )
        if also:
            line += " Also trusted: " + ", ".join(f"{r['forecaster']} ({_fmt(r['forecast'])})" for r in also) + "."
        if others:
            line += (
                " Not trusted: "
                + ", ".join(
                    f"{r['forecaster']} ({_fmt(r['forecast'])}; median error {_fmt(r['median abs error'])})"
                    for r in others
                )
                + "."
            )
        return head + line + tail
    scored = [r for r in ok if r.get("median scaled error") is not None]
    best_tried = min(scored, key=lambda r: r["median scaled error"]) if scored else ok[0]
    values = [r["forecast"] for r in ok]
    closest = (
        f"closest: {best_tried['forecaster']}, median error {_fmt(best_tried.get('median abs error'))} = "
        f"{best_tried['median scaled error']:.0%} of the range, not trusted: {best_tried.get('why not trusted')}"
        if best_tried.get("median scaled error") is not None
        else f"e.g. {best_tried['forecaster']}: {best_tried.get('why not trusted')}"
    )
    return head + (
        f"no forecaster passes its backtest ({closest}); their forecasts run from {_fmt(min(values))} to "
        f"{_fmt(max(values))}: none can be relied on.{tail}"
    )


def forecast_section(
    plans: Sequence[Plan], size: float, scale: str, confidence: float = 0.95, notes: Sequence[str] = ()
) -> dict[str, Any]:
    """The report's ``forecast`` section: the size, where it lies against the family's sizes, the trust rule, one
    entry per metric (and task) with the headline forecast (``forecast``, ``lower``, ``upper``, ``interval``,
    ``forecaster``, ``trusted``), every forecaster's forecast, interval and backtest scores, the observed points and
    the fitted curves for the figure, and a one-line summary per metric."""
    if not (math.isfinite(size) and size > 0):
        raise ValueError(f"size must be a positive number, got {size}")
    if not plans:
        raise ValueError("nothing to forecast")
    entries = [run_plan(p, size, confidence) for p in plans]
    all_sizes = np.unique(np.concatenate([p.family[fc.X].to_numpy(float) for p in plans]))
    smallest, largest = float(all_sizes.min()), float(all_sizes.max())
    decades = math.log10(size / largest)
    where_notes = list(notes)
    if size < smallest:
        where = f"below the smallest observed size ({smallest:.3g}): a forecast backwards, outside the family"
    elif size <= largest:
        where = f"within the observed sizes (largest {largest:.3g}): an interpolation, not a forecast beyond them"
    else:
        where = f"{size / largest:.3g}x the largest observed size ({largest:.3g}), {decades:.2f} decades beyond it"
        third = float(all_sizes[min(2, all_sizes.size - 1)])
        reach = math.log10(largest / third)
        if all_sizes.size >= MIN_BACKTEST_SIZES and decades > reach:
            where_notes.append(
                f"the farthest backtested forecast reached {reach:.2f} decades (from the 3rd smallest size to the "
                f"largest); {size:.3g} is {decades:.2f} decades beyond the largest size, further than any backtest "
                "reached, so even a trusted forecaster is extrapolated beyond its record"
            )
    section: dict[str, Any] = {
        "size": size,
        "scale": scale,
        "smallest observed": smallest,
        "largest observed": largest,
        "decades beyond the largest": decades,
        "where": where,
        "interpolation": smallest <= size <= largest,
        "rule": RULE,
        "confidence": confidence,
        "notes": where_notes,
        "metrics": entries,
    }
    trusted = sum(e["trusted"] for e in entries)
    section["summary"] = [
        f"Forecast at {scale} = {size:.3g} ({where}); {trusted} of {len(entries)} metrics have a forecaster their "
        f"backtest lets one trust ({RULE_SHORT}; the rule in full is in the report)."
    ]
    section["summary"] += [f"Forecast note: {n}." for n in where_notes]
    section["summary"] += [f"Forecast, {e['summary']}" for e in entries]
    return section


# --- from a table -----------------------------------------------------------------------------------------------


def plans_for(
    frame: pd.DataFrame, *, chance: float | None = None, step: float | None = None, validated: Validated | None = None
) -> tuple[list[Plan], str, list[str]]:
    """The plans for a reader's table (any layout; ``validated`` reuses a validation of ``frame``), its scale column
    and notes (tasks that could not be planned)."""
    layouts = [name for name, cols in LAYOUTS.items() if set(cols) <= set(map(str, frame.columns))]
    if layouts == ["aggregates"]:
        return _aggregate_table_plans(frame, chance, step)
    v = validated if validated is not None else validate(frame)
    if v.layout == "generations":
        return _generation_plans(v, frame), v.scale, []
    return _choice_plans(v), v.scale, []


def _aggregate_table_plans(
    frame: pd.DataFrame, chance: float | None, step: float | None
) -> tuple[list[Plan], str, list[str]]:
    from .aggregates import _prepare, task_groups

    df, unit, _ = _prepare(frame, step)
    plans: list[Plan] = []
    notes: list[str] = []
    if "task" not in df.columns:
        v = validate(df)
        plans = _as_unit(_aggregate_plans(v, None, chance, notes), unit)
        if not plans:
            raise SchemaError(f"no metric could be forecast: {'; '.join(notes)}")
        return plans, v.scale, notes
    scale = "params"
    for _task, name, sub in task_groups(df):
        try:
            v = validate(sub)
            plans += _aggregate_plans(v, name, chance, notes)
            scale = v.scale
        except (ValueError, SchemaError) as exc:
            notes.append(f"task {name} not forecast: {' '.join(str(exc).split())}")
    if not plans:
        raise SchemaError(f"no task could be forecast; e.g. {notes[0] if notes else 'no tasks'}")
    return _as_unit(plans, unit), scale, notes


def _as_unit(plans: list[Plan], unit: str | None) -> list[Plan]:
    """Name the replicates as the table does (an aggregate table's ``run`` column is validated as ``seed``)."""
    for plan in plans:
        plan.unit = unit or "seed"
        plan.replicates = _replicate_words(plan.family, plan.unit)
    return plans


def check_and_forecast(
    frame: pd.DataFrame,
    size: float,
    confidence: float = 0.95,
    *,
    chance: float | None = None,
    step: float | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """:func:`mirage_utils.checking.check` plus a ``forecast`` section (:func:`forecast_section`) at ``size``, its
    lines added to the summary. A per-example table is validated once for both."""
    from .aggregates import check_aggregates
    from .analyse import analyse

    if not (isinstance(size, (int, float)) and math.isfinite(size) and size > 0):
        raise ValueError(f"size must be a positive number, got {size!r}")
    layouts = [name for name, cols in LAYOUTS.items() if set(cols) <= set(map(str, frame.columns))]
    validated = None
    if layouts == ["aggregates"]:
        result = check_aggregates(frame, confidence, chance=chance, step=step, notes=list(notes))
    else:
        validated = validate(frame)
        result = analyse(validated, confidence)
    plans, scale, plan_notes = plans_for(frame, chance=chance, step=step, validated=validated)
    result["forecast"] = forecast_section(plans, float(size), scale, confidence, plan_notes)
    result["summary"] = [*result["summary"], *result["forecast"]["summary"]]
    return result


# --- the report -------------------------------------------------------------------------------------------------


def figure_png(entry: dict[str, Any], section: dict[str, Any], dpi: int = 90) -> bytes:
    """One metric: the observed points (replicate means, and each replicate faintly), each forecaster's curve
    fitted on every size (solid when trusted, dashed when not), and its forecast at the size with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report import _no_math

    size = float(section["size"])
    rc: Any = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9}
    with plt.rc_context(rc):
        entries = len(entry["forecasters"]) + 2 + (entry.get("chance") is not None)
        height = 3.6 + 0.19 * entries  # the legend below, one entry a line (labels are long)
        fig, ax = plt.subplots(figsize=(7.2, height))
        # a fixed layout: constrained layout costs most of a figure's time
        fig.subplots_adjust(left=0.11, right=0.97, top=1 - 0.3 / height, bottom=(0.19 * entries + 0.75) / height)
        obs = entry["observed"]
        for ys in obs["replicates"].values():
            ax.plot(obs["x"], ys, "o", ms=3, color="0.6", alpha=0.6)
        ax.plot(obs["x"], obs["mean"], "ko", ms=5, label="observed (mean over replicates)")
        grid = entry["curves"]["x"]
        rows = [r for r in entry["forecasters"] if r["status"] != "failed"]
        spread = np.linspace(-0.04, 0.04, max(len(rows), 1))
        for i, r in enumerate(rows):
            ys = [np.nan if y is None else y for y in entry["curves"].get(r["forecaster"], [])]
            if not ys:
                continue
            trusted = r["status"] == "trusted"
            tag = "trusted" if trusted else "not trusted"
            (line,) = ax.plot(
                grid, ys, "-" if trusted else "--", lw=1.8 if trusted else 1.1, label=f"{r['forecaster']} ({tag})"
            )
            if r["forecast"] is not None:
                lo = r["lower"] if r["lower"] is not None else r["forecast"]
                hi = r["upper"] if r["upper"] is not None else r["forecast"]
                err = [[max(r["forecast"] - lo, 0.0)], [max(hi - r["forecast"], 0.0)]]
                ax.errorbar(
                    [size * 10 ** spread[i]],
                    [r["forecast"]],
                    yerr=err,
                    fmt="s" if trusted else "x",
                    color=line.get_color(),
                    capsize=3,
                    ms=5,
                )
        ax.axvline(size, color="0.4", ls=":", lw=1, label=f"forecast size {size:.3g}")
        if entry.get("chance") is not None:
            ax.axhline(entry["chance"], color="grey", ls="-.", lw=0.8, label=f"chance ({entry['chance']:.3g})")
        ax.set_xscale("log")
        if entry["scale"] == "log":
            ax.set_yscale("log")
        title = (f"{entry['task']}: " if entry["task"] else "") + entry["label"]
        ax.set(xlabel=f"{section['scale']} (log scale)", ylabel=entry["metric"].replace("_", " "))
        ax.set_title(title if len(title) < 90 else title[:87] + "...")
        ax.legend(
            fontsize=9,
            loc="upper left",
            bbox_to_anchor=(0.0, -0.55 / (height * (1 - 0.19 * entries / height))),
            ncol=1,
            frameon=False,
        )
        _no_math(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        plt.close(fig)
    return buffer.getvalue()


def forecast_html(section: dict[str, Any]) -> str:
    """The report page's forecast section: the rule, the summary lines, a table of every forecaster and a figure per
    metric (the first :data:`MAX_FIGURES`)."""
    from .report import _table_html

    rows = []
    for e in section["metrics"]:
        for r in e["forecasters"]:
            rows.append(
                {
                    "task": e["task"] or "",
                    "metric": e["metric"],
                    "forecaster": r["forecaster"],
                    "forecast": r.get("forecast"),
                    "lower": r.get("lower"),
                    "upper": r.get("upper"),
                    "median abs error": r.get("median abs error"),
                    "median error / range": r.get("median scaled error"),
                    "farthest error / range": r.get("farthest scaled error"),
                    "coverage": r.get("coverage"),
                    "coverage with measurement error": r.get("coverage with measurement error"),
                    "status": r["status"],
                    "why": r.get("why not trusted") or r.get("error") or "",
                }
            )
    if not any(e["task"] for e in section["metrics"]):
        rows = [{k: v for k, v in r.items() if k != "task"} for r in rows]
    figures = []
    for e in section["metrics"][:MAX_FIGURES]:
        png = base64.b64encode(figure_png(e, section)).decode("ascii")
        name = html.escape((f"{e['task']}: " if e["task"] else "") + e["metric"])
        figures.append(
            f'<figure><img alt="{name}: observed points, fitted forecasters and the forecast at '
            f'{section["size"]:.3g} with its interval" src="data:image/png;base64,{png}">'
            f"<figcaption>{html.escape(e['summary'])}</figcaption></figure>"
        )
    more = len(section["metrics"]) - MAX_FIGURES
    if more > 0:
        figures.append(f"<p>{more} more metrics without a figure: every number is in report.json.</p>")
    items = "".join(f"<li>{html.escape(s)}</li>" for s in section["summary"])
    return (
        f"<h2>Forecast at {html.escape(section['scale'])} = {section['size']:.3g}</h2>"
        f"<p>Rule: each forecaster is {html.escape(section['rule'])}.</p><ul>{items}</ul>"
        f"{_table_html(rows)}{''.join(figures)}"
    )
