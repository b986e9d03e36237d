"""Backtests of scaling forecasts: fit on the models at or below a size, predict every larger one, score the forecast.

Why: the paper defines an emergent ability by two properties, sharpness *and unpredictability*, and says continuous
metrics give "smooth, continuous, predictable" changes. Predictability is a claim about forecasts, so it is tested
the way a forecast is: from each cutoff, on the larger models held out, with an interval and its coverage, and by the
error in the size at which the metric crosses a level ("when does it emerge"), in decades.

Data: a *family frame* (:func:`family_frame`), one row per model size ``x`` (parameters or compute) and replicate
(seed), one column per measured quantity. Forecasters, each a frozen dataclass with ``fit(train) -> Fitted`` and
``predict(fitted, x) -> (mean, lower, upper)``:

- :class:`DirectLinear`: the metric as a line in log10 size;
- :class:`DirectSigmoid`: the metric as a sigmoid in log10 size between a floor (chance) and a ceiling (1);
- :class:`PowerLaw`: a positive quantity (cross-entropy, loss) as a power law in size;
- :class:`PerTokenRoute`: the paper's route (Sec. 2): per-token cross-entropy as a power law in size, ``p = exp(-CE)``,
  then exact match ``p**L`` or token edit distance ``L (1 - p)``; it reads only the per-token column, never the target;
- :class:`LossAxis`: the metric as a function of the family's own loss, and the loss as a power law in size (after Du
  et al. 2024), composed.

:func:`chain_family` builds the multiple-choice renormalisation chain of Schaeffer et al. 2024 (log p(correct),
p(correct), p(correct) among the options, accuracy) so each link can be forecast directly from size.

No peeking: :func:`backtest` takes forecasters (never fitted results), copies the rows at or below each cutoff, passes
only that copy to ``fit``, and rejects a :class:`Fitted` that saw a size above the cutoff.

Intervals: with two or more replicates each is fitted on its own and the interval is a Student-t interval over the
replicates' forecasts (for the replicate-mean curve; seeds are the unit). With one replicate, a parametric bootstrap
(refits on the fit plus Gaussian noise of its residual spread) gives percentile intervals. ``Fitted.interval`` and the
``interval`` column say which. The seed interval is for the replicate-mean curve, not for one new seed, so on a family
whose seeds disagree more than their fits do, coverage of the observed mean falls below the nominal level: the
``coverage`` column of :func:`summarise` reports it.

Typical use: ``result = backtest(family_frame(table, "params", ["exact_match", "token_prob"], "seed"), [DirectLinear(
target="exact_match"), PerTokenRoute(output="exact_match", length=4, via="token_prob")], levels={"exact_match":
0.5})``, then ``summarise(result)``; :func:`forecast` fits on every size for a forecast beyond the family.
:func:`arithmetic_backtest` and :func:`arithmetic_chain` run the standard backtests on the book's arithmetic family.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from . import scaling
from ._forecasters import (
    MIN_SIZES,
    REPLICATE,
    DirectLinear,
    DirectSigmoid,
    Fitted,
    Forecaster,
    LossAxis,
    PerTokenRoute,
    PowerLaw,
    X,
    check_frame,
)
from ._validation import as_float_array, positive

__all__ = [
    "MIN_SIZES", "REPLICATE", "X", "CHAIN", "CHAIN_BOUNDED", "ARITHMETIC_TASKS", "Backtest", "DirectLinear",
    "DirectSigmoid", "Fitted", "Forecaster", "LossAxis", "PerTokenRoute", "PowerLaw", "arithmetic_backtest",
    "arithmetic_chain", "arithmetic_family", "arithmetic_plan", "arithmetic_tables", "backtest", "chain_family",
    "chain_forecasters", "chain_summary", "combine", "crossing_size", "default_cutoffs", "family_frame", "forecast",
    "summarise",
]  # fmt: skip

FloatArray = NDArray[np.float64]
CHAIN = ("log_p_correct", "p_correct", "p_choice", "accuracy")  # Schaeffer et al. 2024's chain, in order


# --- family frames -----------------------------------------------------------------------------------------------


def family_frame(
    table: pd.DataFrame,
    x: str,
    values: Sequence[str] | None = None,
    replicate: str | None = None,
    *,
    metric: str | None = None,
    value: str | None = None,
    per_example: bool = False,
) -> pd.DataFrame:
    """A family frame (columns ``x``, ``replicate`` and one per quantity; one row per size and replicate, sorted).

    Wide input names its quantity columns in ``values``; long input names the column holding the quantity's name
    (``metric``) and its value (``value``). Without ``replicate`` every row is replicate 0. Several rows per size and
    replicate (per-example scores) are averaged only when ``per_example`` is true, else they raise: averaging silently
    would hide a wrong key. Raises ValueError for missing columns, non-positive or non-finite sizes, non-finite values.
    """
    if (values is None) == (metric is None or value is None):
        raise ValueError("give either `values` (wide input) or both `metric` and `value` (long input)")
    keys = [x] + ([replicate] if replicate else [])
    need = [*keys, *(values if values is not None else [str(metric), str(value)])]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
    if table.empty:
        raise ValueError("table is empty")
    frame = pd.DataFrame({X: table[x].to_numpy(), REPLICATE: table[replicate].to_numpy() if replicate else 0})
    if values is None:
        frame["_metric"], frame["_value"] = table[metric].to_numpy(), table[value].to_numpy()
        index = [X, REPLICATE, "_metric"]
    else:
        for col in values:
            frame[col] = table[col].to_numpy()
        index = [X, REPLICATE]
    positive(frame[X], "sizes (x)")
    for col in ["_value"] if values is None else values:
        as_float_array(frame[col], f"column {value if values is None else col!r}")  # before averaging skips NaN
    counts = frame.groupby(index, sort=False).size()
    if not per_example and bool((counts > 1).any()):
        raise ValueError("several rows per size and replicate: pass per_example=True to average them")
    if values is None:
        wide = frame.pivot_table(index=[X, REPLICATE], columns="_metric", values="_value", aggfunc="mean")
        out = wide.reset_index().rename_axis(columns=None)
        values = [str(c) for c in wide.columns]
    else:
        out = frame.groupby([X, REPLICATE], as_index=False, sort=False)[list(values)].mean()
    if out[list(values)].isna().any().any():
        raise ValueError("long input lacks some quantity for some size and replicate")
    out[X] = out[X].astype(float)
    return out.sort_values([X, REPLICATE]).reset_index(drop=True)


# --- crossings ---------------------------------------------------------------------------------------------------


def crossing_size(x: ArrayLike, y: ArrayLike, level: float, higher_is_better: bool = True) -> float:
    """First size at which a curve reaches ``level`` (>= it, or <= it when lower is better), interpolated linearly
    in log10 size between the two sizes around it; ``inf`` when it never does. Sizes must be positive, increasing."""
    xs = positive(x, "x")
    ys = as_float_array(y, "y")
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size == 0:
        raise ValueError("x and y must be non-empty 1-D arrays of the same length")
    if np.any(np.diff(xs) <= 0):
        raise ValueError("x must be strictly increasing")
    if not np.isfinite(level):
        raise ValueError(f"level must be finite, got {level}")
    sign = 1.0 if higher_is_better else -1.0
    u = scaling.crossing(np.log10(xs), sign * ys, sign * level)
    return float("inf") if np.isnan(u) else float(10.0**u)


def _crossing_row(observed: float, predicted: float, x_max: float) -> tuple[float, str]:
    """Error in decades and status for one (observed, predicted) pair of crossing sizes (``inf`` = not crossed)."""
    if np.isfinite(observed) and np.isfinite(predicted):
        return float(np.log10(predicted) - np.log10(observed)), "both crossed"
    if np.isfinite(observed):
        return float("inf"), "not predicted"  # happened in range; the forecast never gets there
    if predicted <= x_max:
        return float("-inf"), "not observed"  # forecast says it happens in range; it does not
    return float("nan"), "neither in range"  # not by the largest size, and the forecast agrees


# --- backtests ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backtest:
    """A backtest's tables. ``predictions``: one row per forecaster x metric x cutoff x held-out size
    (forecaster, metric, cutoff, x, predicted, lower, upper, observed, abs_error, scaled_error, covered, interval,
    n_train_sizes); ``observed`` is the replicate mean, ``scaled_error`` the abs error over the range of the
    replicate-mean curve across the whole family (comparable across metrics). ``crossings``: one row per
    forecaster x metric (with a level) x cutoff (level, observed_crossing, predicted_crossing, error_decades, status,
    observed_before_cutoff); ``inf`` means not crossed (see :func:`crossing_size`)."""

    predictions: pd.DataFrame
    crossings: pd.DataFrame = field(default_factory=pd.DataFrame)


def default_cutoffs(sizes: ArrayLike) -> FloatArray:
    """Every size from the 3rd smallest to the 2nd largest (each leaves >= 3 sizes to fit and >= 1 to predict)."""
    s = np.unique(positive(sizes, "sizes"))
    if s.size < MIN_SIZES + 1:
        raise ValueError(f"need >= {MIN_SIZES + 1} distinct sizes for a backtest, got {s.size}")
    return s[MIN_SIZES - 1 : -1]


def backtest(
    family: pd.DataFrame,
    forecasters: Sequence[Forecaster],
    cutoffs: ArrayLike | None = None,
    levels: Mapping[str, float] | None = None,
    lower_is_better: Collection[str] = (),
    extend_decades: float = 1.0,
) -> Backtest:
    """Backtest each forecaster from each cutoff (default :func:`default_cutoffs`) on a family frame.

    For every cutoff only the rows with ``x <= cutoff`` are copied and passed to ``fit``; every larger size is
    predicted and compared with its replicate mean. For metrics in ``levels`` the size at which the forecast
    (searched from the smallest size to ``extend_decades`` beyond the largest) and the observed replicate-mean curve
    first reach the level is compared, in decades; metrics in ``lower_is_better`` cross downwards.
    """
    if not forecasters:
        raise ValueError("no forecasters given")
    for f in forecasters:
        if not isinstance(f, Forecaster):
            raise ValueError(f"backtest takes forecasters to fit from each cutoff, not {type(f).__name__}")
    levels = dict(levels or {})
    if not extend_decades >= 0:
        raise ValueError(f"extend_decades must be >= 0, got {extend_decades}")
    columns = {c for f in forecasters for c in (*f.inputs(), f.target)}
    check_frame(family, columns)
    sizes = np.unique(family[X].to_numpy(float))
    cuts = default_cutoffs(sizes) if cutoffs is None else np.atleast_1d(as_float_array(cutoffs, "cutoffs"))
    for c in cuts:
        if np.count_nonzero(sizes <= c) < MIN_SIZES:
            raise ValueError(f"cutoff {c:g} leaves fewer than {MIN_SIZES} sizes at or below it")
        if not np.any(sizes > c):
            raise ValueError(f"cutoff {c:g} leaves no larger size to predict")
    targets = sorted({f.target for f in forecasters})
    observed = family.groupby(X, sort=True)[targets].mean()
    grid = np.logspace(np.log10(sizes[0]), np.log10(sizes[-1]) + extend_decades, 600)
    obs_cross = {
        m: crossing_size(observed.index.to_numpy(float), observed[m].to_numpy(float), lvl, m not in lower_is_better)
        for m, lvl in levels.items()
        if m in observed.columns
    }
    blocks: list[dict[str, object]] = []
    cross_rows = []
    for cut in cuts:
        train = family.loc[family[X] <= cut].copy()
        held = sizes[sizes > cut]
        for f in forecasters:
            fitted = f.fit(train)
            if fitted.x_max > cut:
                raise ValueError(f"{f.name!r} was fitted on sizes up to {fitted.x_max:g}, above the cutoff {cut:g}")
            mean, lower, upper = f.predict(fitted, held)
            blocks.append(
                {
                    "forecaster": fitted.forecaster,
                    "metric": f.target,
                    "cutoff": float(cut),
                    "x": held,
                    "predicted": mean,
                    "lower": lower,
                    "upper": upper,
                    "interval": fitted.interval,
                    "n_train_sizes": fitted.n_sizes,
                }
            )
            if f.target in obs_cross:
                level, higher = levels[f.target], f.target not in lower_is_better
                pred = crossing_size(grid, f.predict(fitted, grid)[0], level, higher)
                obs_c = obs_cross[f.target]
                error, status = _crossing_row(obs_c, pred, float(sizes[-1]))
                cross_rows.append(
                    {
                        "forecaster": fitted.forecaster,
                        "metric": f.target,
                        "cutoff": float(cut),
                        "level": float(level),
                        "observed_crossing": obs_c,
                        "predicted_crossing": pred,
                        "error_decades": error,
                        "status": status,
                        "observed_before_cutoff": bool(obs_c <= cut),
                    }
                )
    return Backtest(predictions=_prediction_table(blocks, observed), crossings=pd.DataFrame(cross_rows))


def _prediction_table(blocks: list[dict[str, object]], observed: pd.DataFrame) -> pd.DataFrame:
    """One table from the per-fit blocks (built column-wise: a DataFrame per fit is slow), with the observed
    replicate means, absolute and scaled errors and coverage."""
    lengths = [len(np.asarray(b["x"])) for b in blocks]
    out = pd.DataFrame(
        {
            col: np.concatenate([np.asarray(b[col], dtype=float) for b in blocks])
            if col in ("x", "predicted", "lower", "upper")
            else np.repeat(np.array([b[col] for b in blocks], dtype=object), lengths)
            for col in (
                "forecaster",
                "metric",
                "cutoff",
                "x",
                "predicted",
                "lower",
                "upper",
                "interval",
                "n_train_sizes",
            )
        }
    )
    out = out.astype({"forecaster": str, "metric": str, "interval": str, "cutoff": float, "n_train_sizes": int})
    span = observed.max() - observed.min()
    rows = np.searchsorted(observed.index.to_numpy(float), out["x"].to_numpy(float))
    obs: FloatArray = observed.to_numpy(float)[rows, observed.columns.get_indexer(pd.Index(out["metric"]))]
    err = np.abs(out["predicted"].to_numpy() - obs)
    scale = span.reindex(out["metric"]).to_numpy(float)
    out.insert(7, "observed", obs)
    out.insert(8, "abs_error", err)
    scaled: FloatArray = np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), np.nan).ravel()
    out.insert(9, "scaled_error", scaled)
    out.insert(10, "covered", (out["lower"] <= obs) & (obs <= out["upper"]))
    return out


def forecast(family: pd.DataFrame, forecasters: Sequence[Forecaster], at: ArrayLike) -> pd.DataFrame:
    """Fit every forecaster on the whole family and forecast at sizes ``at`` (one row per forecaster x size:
    forecaster, metric, x, predicted, lower, upper, interval, x_max_train). Use it after :func:`backtest` has shown
    how far each forecaster can be trusted from below."""
    xs = np.atleast_1d(positive(at, "at"))
    parts = []
    for f in forecasters:
        fitted = f.fit(family)
        mean, lower, upper = f.predict(fitted, xs)
        parts.append(
            pd.DataFrame(
                {
                    "forecaster": fitted.forecaster,
                    "metric": f.target,
                    "x": xs,
                    "predicted": mean,
                    "lower": lower,
                    "upper": upper,
                    "interval": fitted.interval,
                    "x_max_train": fitted.x_max,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def combine(parts: Mapping[tuple[object, ...], Backtest], names: Sequence[str]) -> Backtest:
    """Several backtests in one, each tagged with its key (e.g. ``(task, target_length)``) in columns ``names``."""
    if not parts:
        raise ValueError("no backtests to combine")

    def tagged(frames: list[tuple[tuple[object, ...], pd.DataFrame]]) -> pd.DataFrame:
        out = []
        for key, frame in frames:
            if len(key) != len(names):
                raise ValueError(f"key {key} does not match names {list(names)}")
            tagged_frame = frame.copy()
            for n, k in zip(names, key):
                tagged_frame[n] = pd.Series([k] * len(frame), index=frame.index, dtype=object)
            out.append(tagged_frame.infer_objects())
        kept = [f for f in out if not f.empty]
        if not kept:
            return pd.DataFrame()
        cols = [*names, *(c for c in kept[0].columns if c not in names)]
        return pd.concat(kept, ignore_index=True)[cols]

    return Backtest(
        predictions=tagged([(k, b.predictions) for k, b in parts.items()]),
        crossings=tagged([(k, b.crossings) for k, b in parts.items()]),
    )


def summarise(result: Backtest, by: Sequence[str] = ("forecaster", "metric")) -> pd.DataFrame:
    """Per group of ``by``: held-out predictions, their median and largest abs error, median scaled error, interval
    coverage, the interval method; and over cutoffs below the observed crossing (where the crossing was still to
    come) their number, how many crossing errors are defined, the median |error| in decades (``inf`` when most are
    missed) and the statuses seen."""
    by = list(by)
    p = result.predictions
    missing = [c for c in by if c not in p.columns]
    if missing:
        raise ValueError(f"predictions lack columns {missing}")
    out = (
        p.groupby(by, sort=False)
        .agg(
            predictions=("abs_error", "size"),
            median_abs_error=("abs_error", "median"),
            max_abs_error=("abs_error", "max"),
            median_scaled_error=("scaled_error", "median"),
            coverage=("covered", "mean"),
            interval=("interval", "first"),
        )
        .reset_index()
    )
    c = result.crossings
    if c.empty:
        return out
    ahead = c[~c["observed_before_cutoff"]].assign(abs_err=lambda d: d["error_decades"].abs())
    cross = (
        ahead.groupby(by, sort=False)
        .agg(
            crossing_cutoffs=("cutoff", "size"),
            crossing_defined=("abs_err", "count"),
            median_abs_crossing_error=("abs_err", "median"),
            crossing_status=("status", lambda s: ", ".join(sorted(set(s)))),
        )
        .reset_index()
    )
    return out.merge(cross, on=by, how="left")


# --- the multiple-choice renormalisation chain ---------------------------------------------------------------------


def chain_family(
    options: pd.DataFrame,
    x: str,
    replicate: str | None = None,
    question: str = "question",
    correct: str = "correct",
    log_prob: str = "log_prob",
) -> pd.DataFrame:
    """The links of Schaeffer et al. 2024's chain per size and replicate, from one row per option (its log
    probability and whether it is the correct one): ``log_p_correct`` (mean over questions of the correct option's
    log probability), ``p_correct`` (mean of its probability), ``p_choice`` (mean of its probability renormalised
    over the question's options) and ``accuracy`` (share of questions where it has the highest probability; a tie
    earns the share 1/ties). Each question needs exactly one correct option, with a finite log probability; a
    distractor may have -inf (an option the model cannot produce)."""
    keys = [x] + ([replicate] if replicate else [])
    need = [*keys, question, correct, log_prob]
    missing = [c for c in need if c not in options.columns]
    if missing:
        raise ValueError(f"options lack columns {missing}")
    try:
        lp = options[log_prob].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{log_prob} must be numeric") from exc
    if np.isnan(lp).any() or (lp == np.inf).any():
        raise ValueError(f"{log_prob} must not be NaN or +inf (-inf, an impossible option, is allowed)")
    qkeys = [*keys, question]
    d = options[qkeys].copy()
    d["lp"], d["ok"] = lp, options[correct].to_numpy(bool)
    g = d.groupby(qkeys, sort=False)
    if not bool((g["ok"].transform("sum") == 1).all()):
        raise ValueError("every question needs exactly one correct option")
    if not np.isfinite(lp[d["ok"].to_numpy()]).all():
        raise ValueError(f"the correct option's {log_prob} must be finite")
    top = g["lp"].transform("max")
    d["w"] = np.exp(d["lp"] - top)
    d["z"] = d.groupby(qkeys, sort=False)["w"].transform("sum")
    d["ties"] = (d["lp"] == top).groupby([d[k] for k in qkeys], sort=False).transform("sum")
    right = d[d["ok"]]
    per_q = pd.DataFrame(
        {
            **{k: right[k].to_numpy() for k in keys},
            "log_p_correct": right["lp"].to_numpy(),
            "p_correct": np.exp(right["lp"].to_numpy()),
            "p_choice": (right["w"] / right["z"]).to_numpy(),
            "accuracy": np.where(right["lp"] == top[right.index], 1.0 / right["ties"], 0.0),
        }
    )
    return family_frame(per_q, x, list(CHAIN), replicate, per_example=True)


CHAIN_BOUNDED = ("p_correct", "p_choice", "accuracy")  # the links that live in [0, 1]


def chain_forecasters(bounded: Literal["line", "sigmoid"] = "line", **kwargs: object) -> list[Forecaster]:
    """One forecaster per link of the chain, each forecast directly from size, as Schaeffer et al. do. ``bounded=
    "line"``: a :class:`DirectLinear` for every link. ``bounded="sigmoid"``: the links in [0, 1]
    (:data:`CHAIN_BOUNDED`) get a :class:`DirectSigmoid` between 0 and 1, because a line runs past 1 on a link
    that is already near 1; log p(correct), unbounded below, keeps the line."""
    if bounded not in ("line", "sigmoid"):
        raise ValueError(f"bounded must be 'line' or 'sigmoid', got {bounded!r}")
    out: list[Forecaster] = []
    for link in CHAIN:
        if bounded == "sigmoid" and link in CHAIN_BOUNDED:
            out.append(DirectSigmoid(target=link, floor=0.0, ceiling=1.0, **kwargs))  # type: ignore[arg-type]
        else:
            out.append(DirectLinear(target=link, **kwargs))  # type: ignore[arg-type]
    return out


def chain_summary(result: Backtest) -> pd.DataFrame:
    """:func:`summarise` per link of the chain, in chain order, so the growth of the (scaled) error along
    log p(correct) -> p(correct) -> p among options -> accuracy can be read down the table."""
    s = summarise(result, by=("metric",))
    s = s[s["metric"].isin(CHAIN)]
    return s.set_index("metric").loc[[m for m in CHAIN if m in set(s["metric"])]].reset_index()


# --- the book's arithmetic family ----------------------------------------------------------------------------------

ARITHMETIC_TASKS = ("addition_4digit", "multiplication_2digit")
DIGIT_CHANCE = 0.1  # a uniform guess of one digit


def arithmetic_tables(
    config: str = "configs/arithmetic.json", names: Sequence[str] = ("metrics", "models")
) -> dict[str, pd.DataFrame]:
    """Some of the family's artifact tables (``metrics``, ``models``, ``multiple_choice``, ...), read directly from
    ``config``'s artifact folder: much faster than ``legs.load_family``, which also reads the large outputs table."""
    from . import data
    from .arithmetic.config import FamilyConfig
    from .arithmetic.shards import artifact_dir

    out = Path(artifact_dir(FamilyConfig.load(data.REPO_ROOT / config)))
    return {
        name: pd.read_parquet(out / f"{name}.parquet")
        if name == "multiple_choice"
        else pd.read_csv(out / f"{name}.csv")
        for name in names
    }


_arithmetic_tables = arithmetic_tables  # the name a first caller used


def arithmetic_family(metrics: pd.DataFrame, models: pd.DataFrame, task: str, target_length: int) -> pd.DataFrame:
    """Family frame of one held-out curve (task x answer length) of the arithmetic family: x = non-embedding
    parameters, replicate = seed, exact_match, ted, token_prob, cross_entropy, chance and loss (the run's final
    training loss on the whole mixture)."""
    need = {"task", "split", "target_length", "n_params", "seed", "exact_match", "ted", "token_prob", "cross_entropy"}
    missing = sorted(need - set(metrics.columns)) + sorted({"model", "seed", "final_loss"} - set(models.columns))
    if missing:
        raise ValueError(f"tables lack columns {missing}")
    rows = metrics[
        (metrics["task"] == task) & (metrics["split"] == "test") & (metrics["target_length"] == target_length)
    ]
    if rows.empty:
        raise ValueError(f"no held-out rows for {task!r} with answer length {target_length}")
    rows = rows.merge(models[["model", "seed", "final_loss"]], on=["model", "seed"], how="left", validate="1:1")
    if rows["final_loss"].isna().any():
        raise ValueError("models table lacks a final_loss for some run")
    cols = ["exact_match", "ted", "token_prob", "cross_entropy", "chance", "final_loss"]
    frame = family_frame(rows, "n_params", cols, "seed")
    return frame.rename(columns={"final_loss": "loss"})


def arithmetic_plan(
    chance: float, length: int, share: float = 0.5
) -> tuple[list[Forecaster], dict[str, float], set[str]]:
    """The standard forecasters for one arithmetic curve, the crossing levels and the metrics that cross downwards.

    Each level sits ``share`` of the way from a metric's worst to its best value: exact match from chance to 1, edit
    distance from the answer length to 0, per-digit probability from a digit guess (0.1) to 1."""
    if not 0 < share < 1:
        raise ValueError(f"share must lie in (0, 1), got {share}")
    routes: list[Forecaster] = [
        PerTokenRoute(output=out, length=length, via=via)
        for out in ("exact_match", "ted")
        for via in ("cross_entropy", "token_prob")
    ]
    routes.append(PerTokenRoute(output="token_prob", length=length, via="token_prob"))
    plan: list[Forecaster] = [
        DirectLinear(target="exact_match"),
        DirectSigmoid(target="exact_match", floor=chance),
        LossAxis(target="exact_match", floor=chance),
        DirectLinear(target="ted"),
        DirectLinear(target="token_prob"),
        PowerLaw(target="cross_entropy"),
        *routes,
    ]
    levels = {
        "exact_match": chance + share * (1 - chance),
        "ted": length * (1 - share),
        "token_prob": DIGIT_CHANCE + share * (1 - DIGIT_CHANCE),
    }
    return plan, levels, {"ted"}


def arithmetic_backtest(
    artifacts: Mapping[str, pd.DataFrame] | None = None,
    tasks: Sequence[str] = ARITHMETIC_TASKS,
    cutoffs: ArrayLike | None = None,
    share: float = 0.5,
    config: str = "configs/arithmetic.json",
) -> Backtest:
    """The standard backtest on the book's arithmetic family: for each task and answer length, every forecaster of
    :func:`arithmetic_plan` from every cutoff (default: 3rd smallest to 2nd largest size), seeds as replicates.
    ``artifacts`` is :func:`mirage_utils.arithmetic.legs.load_family`'s dict (only ``metrics`` and ``models`` are
    read); without it those two tables are read from ``config``'s artifact folder. ``share`` places the crossing
    levels (see :func:`arithmetic_plan`). Tables carry ``task`` and ``target_length`` columns."""
    tables = dict(artifacts) if artifacts is not None else arithmetic_tables(config)
    metrics, models = tables["metrics"], tables["models"]
    parts: dict[tuple[object, ...], Backtest] = {}
    for task in tasks:
        for length in sorted(metrics.loc[metrics["task"] == task, "target_length"].unique()):
            fam = arithmetic_family(metrics, models, task, int(length))
            plan, levels, down = arithmetic_plan(float(fam["chance"].mean()), int(length), share)
            parts[(task, int(length))] = backtest(fam, plan, cutoffs, levels, down)
    if not parts:
        raise ValueError(f"no curves for tasks {list(tasks)}")
    return combine(parts, ["task", "target_length"])


def arithmetic_chain(
    artifacts: Mapping[str, pd.DataFrame] | None = None,
    tasks: Sequence[str] = ARITHMETIC_TASKS,
    option_sets: Sequence[str] | None = None,
    cutoffs: ArrayLike | None = None,
    config: str = "configs/arithmetic.json",
    bounded: Literal["line", "sigmoid"] = "line",
) -> Backtest:
    """Schaeffer et al. 2024's chain on the family's multiple-choice scores: per task and option set, each link
    (:data:`CHAIN`) forecast directly from size by :func:`chain_forecasters` (``bounded`` picks the line or the
    sigmoid for the links in [0, 1]), seeds as replicates. Read the growth
    of the error along the chain with ``summarise(result, by=("task", "option_set", "metric"))``. Reads
    ``multiple_choice`` and ``models`` from ``artifacts`` or from ``config``'s artifact folder."""
    tables = dict(artifacts) if artifacts is not None else arithmetic_tables(config, ("multiple_choice", "models"))
    mc, models = tables["multiple_choice"], tables["models"]
    sizes = models.drop_duplicates("model").set_index("model")["n_params"]
    parts: dict[tuple[object, ...], Backtest] = {}
    for (task, option_set), options in mc.groupby(["task", "option_set"], sort=True):
        if task not in tasks or (option_sets is not None and option_set not in option_sets):
            continue
        opts = options.assign(n_params=options["model"].map(sizes))
        if opts["n_params"].isna().any():
            raise ValueError("multiple_choice names a model the models table lacks")
        fam = chain_family(opts, "n_params", "seed")
        parts[(task, option_set)] = backtest(fam, chain_forecasters(bounded), cutoffs)
    if not parts:
        raise ValueError(f"no multiple-choice scores for tasks {list(tasks)} and option sets {option_sets}")
    return combine(parts, ["task", "option_set"])
