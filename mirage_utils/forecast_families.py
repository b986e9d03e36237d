"""Backtests of scaling forecasts on the book's families, and the rules that turn them into verdicts (Chapter 9).

Why: the paper calls an emergent ability sharp *and unpredictable*, and says continuous metrics give "smooth,
continuous, predictable" changes. :mod:`mirage_utils.forecast` backtests any family; this module applies it to the
families the book has (our arithmetic family, Pythia on LAMBADA and MMLU, InstructGPT's four models, Lu et al.'s
series) and states each verdict rule once, so the chapter, its robustness page and the tests share it.

Rules (each returns a verdict word: holds, fails, cannot tell from these data):

* :func:`crossing_verdict`: a forecaster predicts *when* a metric reaches a level, from every cutoff below the size
  where it does, within ``tolerance`` decades (default 0.3, a factor of 2 in size);
* :func:`closer_verdict`: one forecaster's held-out predictions are closer than another's on most pairs;
* :func:`chain_verdict`: along Schaeffer et al. 2024's chain, accuracy is forecast worse than log p(correct);
* :func:`majority_verdict`: one word from several (Ruan et al.'s per-task verdicts);
* :func:`unanimous_verdict`: one word from several settings (cutoffs, forecasters) that must all agree;
* :func:`chain_steps_verdict`: the error grows at *every* step of the chain, in every option set;
* :func:`heldout_verdict`: a backtest with too few held-out sizes cannot tell.

Reader names: :data:`NAMES` maps each forecaster's table name to the one name the chapter uses for it (:func:`named`).

Levels: the *onset* is exact match reaching 10% of the way from chance to 1 (:data:`ONSET_SHARE`), the *half-way
point* 50% (:data:`HALF_SHARE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from . import forecast as fc
from .arithmetic.legs import CANNOT_TELL, FAILS, HOLDS
from .real_families import FINAL_STEP, MMLU_CHANCE, first_size, lambada_table, mmlu_subjects, mmlu_summary

ONSET_SHARE = 0.1
HALF_SHARE = 0.5
TOLERANCE_DECADES = 0.3  # a factor of 2 in size
FloatArray = NDArray[np.float64]
ROUTE = "per-token route (token probability)"
CE_ROUTE = "per-token route (cross-entropy)"
LOSS_AXIS = "loss axis (sigmoid)"
DIRECT_SIGMOID = "direct sigmoid"
DIRECT_LINEAR = "direct linear"
POWER_LAW = "power law"
NAMES = {
    DIRECT_LINEAR: "direct line",
    DIRECT_SIGMOID: "direct sigmoid",
    ROUTE: "per-digit route",
    CE_ROUTE: "cross-entropy route",
    LOSS_AXIS: "loss axis",
    POWER_LAW: "power law",
}  # one reader name per forecaster, used in every figure and table of Chapter 9


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}")


# --- crossings: "when does it emerge" ----------------------------------------------------------------------------


def _curve_keys(frame: pd.DataFrame) -> list[str]:
    return [c for c in ("task", "target_length", "option_set", "operation", "shots") if c in frame.columns]


def ahead_of_crossing(
    crossings: pd.DataFrame, metric: str = "exact_match", onset: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The crossing rows of ``metric`` whose cutoff lies below the observed crossing (the jump still to come), for
    curves that do cross within the family's sizes. With ``onset`` (another backtest's crossings, at a lower level)
    only cutoffs below that table's observed crossing of the same curve are kept: forecasts made before the jump."""
    _require(crossings, ["forecaster", "metric", "cutoff", "observed_crossing", "observed_before_cutoff"], "crossings")
    keep = (
        (crossings["metric"] == metric)
        & ~crossings["observed_before_cutoff"].astype(bool)
        & np.isfinite(crossings["observed_crossing"].to_numpy(float))
    )
    rows = crossings.loc[keep]
    if onset is not None:
        _require(onset, ["metric", "observed_crossing", *_curve_keys(rows)], "onset")
        keys = _curve_keys(rows)
        first = onset[onset["metric"] == metric].drop_duplicates(keys or ["metric"])
        bound = first[[*keys, "observed_crossing"]].rename(columns={"observed_crossing": "_onset"})
        rows = rows.merge(bound, on=keys, how="inner") if keys else rows.assign(_onset=float(bound["_onset"].iloc[0]))
        rows = rows[rows["cutoff"] < rows["_onset"]].drop(columns="_onset")
    out: pd.DataFrame = rows.reset_index(drop=True)
    return out


def crossing_verdict(
    crossings: pd.DataFrame,
    forecaster: str,
    metric: str = "exact_match",
    tolerance: float = TOLERANCE_DECADES,
    onset: pd.DataFrame | None = None,
) -> str:
    """Does ``forecaster`` predict the size where ``metric`` crosses its level, from below it?

    Over every cutoff below the observed crossing (:func:`ahead_of_crossing`): holds when every forecast crossing lies
    within ``tolerance`` decades of the observed one; fails when at least half miss by more (a forecast that never
    gets there misses); cannot tell when fewer than half miss, or when no curve crosses in range or no cutoff lies
    below the crossing. ``onset`` restricts the cutoffs to those before the jump (see :func:`ahead_of_crossing`)."""
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    rows = ahead_of_crossing(crossings, metric, onset)
    rows = rows[rows["forecaster"] == forecaster]
    if rows.empty:
        return CANNOT_TELL
    miss = ~(rows["error_decades"].abs().to_numpy(float) <= tolerance)  # inf and NaN miss
    if not miss.any():
        return HOLDS
    return FAILS if miss.mean() >= 0.5 else CANNOT_TELL


def crossing_grid(
    crossings: pd.DataFrame,
    forecasters: Sequence[str],
    metric: str = "exact_match",
    onset: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Crossing errors (decades) of ``forecasters`` from every cutoff below the observed crossing (and below
    ``onset``'s, if given): one row per curve (``task``, ``target_length`` where present) and cutoff, one column per
    forecaster."""
    rows = ahead_of_crossing(crossings, metric, onset)
    keys = [*_curve_keys(rows), "cutoff"]
    rows = rows[rows["forecaster"].isin(forecasters)]
    if rows.empty:
        raise ValueError(f"no crossings of {metric!r} ahead of any cutoff for {list(forecasters)}")
    grid = rows.pivot_table(index=keys, columns="forecaster", values="error_decades", aggfunc="first")
    return grid[[f for f in forecasters if f in grid.columns]].rename_axis(columns=None)


def next_size_miss(predictions: pd.DataFrame, forecaster: str, metric: str, cutoff: float) -> pd.DataFrame:
    """Per curve, the forecast from ``cutoff`` at the first size above it: x, predicted, lower, upper, observed and
    the scaled error (absolute error over the curve's range): how far the very next model lands from the trend."""
    _require(
        predictions, ["forecaster", "metric", "cutoff", "x", "predicted", "observed", "scaled_error"], "predictions"
    )
    rows = predictions[
        (predictions["forecaster"] == forecaster)
        & (predictions["metric"] == metric)
        & np.isclose(predictions["cutoff"].to_numpy(float), cutoff)
    ]
    if rows.empty:
        raise ValueError(f"no predictions of {metric!r} by {forecaster!r} from cutoff {cutoff:g}")
    keys = [c for c in ("task", "target_length") if c in rows.columns]
    first = rows.sort_values("x").groupby(keys, sort=True).head(1) if keys else rows.sort_values("x").head(1)
    cols = [*keys, "x", "predicted", "lower", "upper", "observed", "scaled_error", "covered"]
    out: pd.DataFrame = first[cols].reset_index(drop=True)
    return out


def jumps_past_trend(miss: pd.DataFrame, min_scaled_error: float = 0.2) -> bool:
    """True when every curve's next model lands at least ``min_scaled_error`` of its range above or below the trend
    fitted below it (:func:`next_size_miss`): the quantity itself jumps."""
    _require(miss, ["scaled_error"], "miss")
    if miss.empty:
        raise ValueError("miss is empty")
    return bool((miss["scaled_error"] >= min_scaled_error).all())


# --- paired comparisons --------------------------------------------------------------------------------------------


def paired_closer(predictions: pd.DataFrame, forecaster: str, baseline: str, metric: str) -> float:
    """Share of held-out predictions (cutoff x size, and curve where tagged) of ``metric`` on which ``forecaster``
    is strictly closer to the observed value than ``baseline``."""
    _require(predictions, ["forecaster", "metric", "cutoff", "x", "abs_error"], "predictions")
    keys = [*_curve_keys(predictions), "cutoff", "x"]
    rows = predictions[predictions["metric"] == metric]
    a = rows[rows["forecaster"] == forecaster].set_index(keys)["abs_error"]
    b = rows[rows["forecaster"] == baseline].set_index(keys)["abs_error"]
    a, b = a.align(b, join="inner")
    if a.empty:
        raise ValueError(f"no shared predictions of {metric!r} by {forecaster!r} and {baseline!r}")
    return float((a < b).mean())


def closer_verdict(share: float, high: float = 0.8, low: float = 0.2) -> str:
    """Holds when a forecaster is closer on at least ``high`` of the pairs, fails at most ``low``, else cannot tell."""
    if not 0 <= low < high <= 1:
        raise ValueError(f"need 0 <= low < high <= 1, got {low}, {high}")
    if not 0 <= share <= 1:
        raise ValueError(f"share must lie in [0, 1], got {share}")
    return HOLDS if share >= high else FAILS if share <= low else CANNOT_TELL


def chain_verdict(summary: pd.DataFrame, task: str) -> str:
    """Schaeffer et al. 2024: the forecast error grows along the chain. From ``summarise(chain, by=("task",
    "option_set", "metric"))``: holds when accuracy's median scaled error exceeds log p(correct)'s in every option
    set of ``task``, fails when it is lower in every one, cannot tell otherwise."""
    _require(summary, ["task", "option_set", "metric", "median_scaled_error"], "summary")
    rows = summary[summary["task"] == task]
    if rows.empty:
        raise ValueError(f"no chain rows for task {task!r}")
    wide = rows.pivot_table(index="option_set", columns="metric", values="median_scaled_error")
    if not {"log_p_correct", "accuracy"} <= set(wide.columns):
        raise ValueError("summary needs log_p_correct and accuracy")
    grows = wide["accuracy"] > wide["log_p_correct"]
    return HOLDS if bool(grows.all()) else FAILS if not bool(grows.any()) else CANNOT_TELL


def majority_verdict(words: Sequence[str]) -> str:
    """One word from several: holds when more than half hold and none fails, fails when more than half fail and none
    holds, cannot tell otherwise."""
    bad = sorted(set(words) - {HOLDS, FAILS, CANNOT_TELL})
    if bad or not words:
        raise ValueError(f"need a non-empty list of verdict words, got unknown {bad}" if bad else "no verdicts given")
    n, holds, fails = len(words), sum(w == HOLDS for w in words), sum(w == FAILS for w in words)
    if holds > n / 2 and fails == 0:
        return HOLDS
    if fails > n / 2 and holds == 0:
        return FAILS
    return CANNOT_TELL


def unanimous_verdict(words: Sequence[str]) -> str:
    """One word from several settings of one test (cutoffs, forecasters): holds when every one holds, fails when
    every one fails, cannot tell otherwise (the result depends on the setting)."""
    bad = sorted(set(words) - {HOLDS, FAILS, CANNOT_TELL})
    if bad or not words:
        raise ValueError(f"need a non-empty list of verdict words, got unknown {bad}" if bad else "no verdicts given")
    if all(w == HOLDS for w in words):
        return HOLDS
    return FAILS if all(w == FAILS for w in words) else CANNOT_TELL


def chain_steps(summary: pd.DataFrame, task: str) -> pd.DataFrame:
    """Per option set of ``task`` (from ``summarise(chain, by=("task", "option_set", "metric"))``): the median
    scaled error of each link in chain order, and for each of the three steps whether the error grows
    (``grows: <link>``, True when the later link's error is larger)."""
    _require(summary, ["task", "option_set", "metric", "median_scaled_error"], "summary")
    rows = summary[summary["task"] == task]
    if rows.empty:
        raise ValueError(f"no chain rows for task {task!r}")
    wide = rows.pivot_table(index="option_set", columns="metric", values="median_scaled_error")
    missing = [m for m in fc.CHAIN if m not in wide.columns]
    if missing:
        raise ValueError(f"summary lacks chain links {missing}")
    out = wide[list(fc.CHAIN)].rename_axis(columns=None)
    for before, after in zip(fc.CHAIN, fc.CHAIN[1:]):
        out[f"grows: {after}"] = out[after] > out[before]
    return out


def chain_steps_verdict(summary: pd.DataFrame, task: str) -> str:
    """Schaeffer et al. 2024 read step by step: the forecast error grows at every step of the chain (log p(correct)
    -> p(correct) -> p among options -> accuracy). Holds when it grows at every step in every option set of
    ``task``; fails when every option set has a step where it falls; cannot tell when option sets disagree."""
    steps = chain_steps(summary, task)
    monotone = steps[[c for c in steps.columns if str(c).startswith("grows: ")]].all(axis=1)
    return HOLDS if bool(monotone.all()) else FAILS if not bool(monotone.any()) else CANNOT_TELL


def heldout_verdict(predictions: pd.DataFrame, min_sizes: int = 2) -> str:
    """Do the forecasts cover what they predict? Cannot tell when fewer than ``min_sizes`` distinct sizes are held
    out (one held-out model is one test, whatever its error); else holds when every interval covers the observed
    value, fails when none does, cannot tell otherwise."""
    _require(predictions, ["x", "covered"], "predictions")
    if min_sizes < 1:
        raise ValueError(f"min_sizes must be >= 1, got {min_sizes}")
    if predictions.empty:
        raise ValueError("predictions is empty")
    if predictions["x"].nunique() < min_sizes:
        return CANNOT_TELL
    covered = predictions["covered"].astype(bool)
    return HOLDS if bool(covered.all()) else FAILS if not bool(covered.any()) else CANNOT_TELL


def named(frame: pd.DataFrame, column: str = "forecaster") -> pd.DataFrame:
    """A copy of ``frame`` with each forecaster's table name in ``column`` replaced by its reader name
    (:data:`NAMES`); names it does not know stay as they are."""
    _require(frame, [column], "frame")
    out = frame.copy()
    out[column] = out[column].map(lambda n: NAMES.get(str(n), n))
    return out


def size_label(x: float) -> str:
    """A parameter count as a short label: 25472 -> "25K", 1.2086e9 -> "1.2B", 3.0e8 -> "302M"."""
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"size must be a positive finite number, got {x}")
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= scale:
            v = x / scale
            text = f"{v:.1f}".removesuffix(".0") if v < 9.95 else f"{v:.0f}"
            return f"{text}{unit}"
    return f"{x:.0f}"


def decades_text(value: float) -> str:
    """A crossing error for a reader: signed, two decimals; ``never`` for a forecast that never reaches the level
    (``inf``), ``–`` where none is defined."""
    if np.isnan(value):
        return "–"
    if np.isinf(value):
        return "never" if value > 0 else "too early"
    return f"{value:+.2f}"


def display_grid(grid: pd.DataFrame, cutoff_names: Mapping[float, str] | None = None) -> pd.DataFrame:
    """:func:`crossing_grid`'s table made short for a page: index levels become columns (``task`` shortened to its
    operation, ``target_length`` to ``digits``, ``cutoff`` as a size label or, where ``cutoff_names`` has it, by
    that name, e.g. a model's nominal size), forecasters by reader name (:data:`NAMES`), errors as text
    (:func:`decades_text`)."""
    if not isinstance(grid, pd.DataFrame) or grid.empty:
        raise ValueError("grid must be a non-empty DataFrame (from crossing_grid)")
    names = dict(cutoff_names or {})
    out = grid.reset_index()
    if "task" in out.columns:
        out["task"] = out["task"].astype(str).str.split("_").str[0]
    if "cutoff" in out.columns:
        out["cutoff"] = [names.get(float(c), size_label(float(c))) for c in out["cutoff"]]
    values = [c for c in grid.columns]
    for c in values:
        out[c] = [decades_text(float(v)) for v in out[c]]
    renamed: pd.DataFrame = out.rename(columns={**NAMES, "target_length": "digits"})
    return renamed


# --- families --------------------------------------------------------------------------------------------------------


def arithmetic_levels(cutoffs: ArrayLike | None = None) -> dict[str, fc.Backtest]:
    """The arithmetic family's standard backtest (:func:`mirage_utils.forecast.arithmetic_backtest`) with its
    crossing levels at the onset and at the half-way point: ``{"onset": ..., "half-way": ...}``."""
    return {
        "onset": fc.arithmetic_backtest(cutoffs=cutoffs, share=ONSET_SHARE),
        "half-way": fc.arithmetic_backtest(cutoffs=cutoffs, share=HALF_SHARE),
    }


def pythia_lambada_family(evals: pd.DataFrame, step: int = FINAL_STEP) -> pd.DataFrame:
    """Family frame of Pythia on LAMBADA at one checkpoint: x = non-embedding parameters, replicate = training run
    (standard, deduped), acc and log_ppl (the final word's mean cross-entropy, nats)."""
    table = lambada_table(evals)
    rows = table[table["step"] == step]
    if rows.empty:
        raise ValueError(f"no LAMBADA rows at step {step}")
    return fc.family_frame(rows, "params", ["acc", "log_ppl"], "run")


def pythia_plan() -> tuple[list[fc.Forecaster], dict[str, float], set[str]]:
    """Forecasters for LAMBADA across sizes (accuracy directly; through log-perplexity, the family's own loss; the
    log-perplexity itself), the crossing levels (accuracy 0.5, log-perplexity 2 nats) and the lower-is-better set."""
    plan: list[fc.Forecaster] = [
        fc.DirectLinear(target="acc"),
        fc.DirectSigmoid(target="acc", floor=0.0),
        fc.LossAxis(target="acc", loss="log_ppl", floor=0.0),
        fc.PowerLaw(target="log_ppl"),
    ]
    return plan, {"acc": 0.5, "log_ppl": 2.0}, {"log_ppl"}


def pythia_lambada_backtest(
    evals: pd.DataFrame, step: int = FINAL_STEP, cutoffs: ArrayLike | None = None
) -> fc.Backtest:
    """:func:`pythia_plan`'s forecasters backtested across Pythia's sizes at ``step``, the two runs as replicates."""
    plan, levels, down = pythia_plan()
    return fc.backtest(pythia_lambada_family(evals, step), plan, cutoffs, levels, down)


def pythia_mmlu_family(evals: pd.DataFrame, step: int = FINAL_STEP) -> pd.DataFrame:
    """Family frame of Pythia's MMLU average (all questions of the 57 subjects pooled per run; chance 0.25): x =
    non-embedding parameters, replicate = run, acc."""
    subjects = mmlu_subjects(evals, step=step)
    runs = subjects.groupby(["params", "run"], as_index=False)[["correct", "n"]].sum()
    runs["acc"] = runs["correct"] / runs["n"]
    return fc.family_frame(runs, "params", ["acc"], "run")


def pythia_mmlu_backtest(evals: pd.DataFrame, cutoffs: ArrayLike | None = None) -> fc.Backtest:
    """MMLU's average forecast from smaller sizes: a line, and a sigmoid from chance (0.25) to 1; crossing level
    0.3 (five points above chance)."""
    plan: list[fc.Forecaster] = [fc.DirectLinear(target="acc"), fc.DirectSigmoid(target="acc", floor=MMLU_CHANCE)]
    return fc.backtest(pythia_mmlu_family(evals), plan, cutoffs, {"acc": MMLU_CHANCE + 0.05})


def instructgpt_backtest(curves: pd.DataFrame) -> fc.Backtest:
    """InstructGPT's four models (``legs.instructgpt_leg().curves_2x2``): fit on ada, babbage and curie, predict
    davinci, per answer length. One replicate, so intervals are parametric bootstraps. Forecasters: edit distance
    and exact match as lines, exact match as a sigmoid from chance, and the paper's route through per-digit
    accuracy ``1 - TED / L`` (the outputs carry no probabilities)."""
    _require(curves, ["params", "target_length", "exact_match", "ted", "chance"], "curves")
    parts: dict[tuple[object, ...], fc.Backtest] = {}
    for key, rows in curves.groupby("target_length", sort=True):
        length = int(str(key))
        sizes = np.sort(rows["params"].unique())
        if sizes.size < fc.MIN_SIZES + 1:
            raise ValueError(f"answer length {length}: need {fc.MIN_SIZES + 1} models, got {sizes.size}")
        frame = fc.family_frame(
            rows.assign(digit_acc=1 - rows["ted"] / length), "params", ["exact_match", "ted", "digit_acc"]
        )
        plan: list[fc.Forecaster] = [
            fc.DirectLinear(target="ted"),
            fc.DirectLinear(target="exact_match"),
            fc.DirectSigmoid(target="exact_match", floor=float(rows["chance"].iloc[0])),
            fc.PerTokenRoute(output="exact_match", length=length, via="token_prob", via_column="digit_acc"),
        ]
        parts[(length,)] = fc.backtest(frame, plan, cutoffs=[sizes[-2]])
    return fc.combine(parts, ["target_length"])


def sizes_per_family(scores: pd.DataFrame) -> pd.DataFrame:
    """Per family of a long score table (``family``, ``params``): its distinct sizes and how many backtest cutoffs
    they allow (at least :data:`~mirage_utils.forecast.MIN_SIZES` sizes to fit and one to predict)."""
    _require(scores, ["family", "params"], "scores")
    sizes = scores.groupby("family")["params"].nunique().rename("sizes")
    out = sizes.to_frame()
    out["cutoffs"] = np.maximum(out["sizes"] - fc.MIN_SIZES, 0)
    return out.sort_values(["sizes", "family"], ascending=[False, True]).reset_index()


# --- curves for figures ----------------------------------------------------------------------------------------------


def arithmetic_curve(task: str, length: int, config: str = "configs/arithmetic.json") -> pd.DataFrame:
    """One held-out curve of the arithmetic family as a family frame (:func:`mirage_utils.forecast.arithmetic_family`:
    x = parameters, replicate = seed; exact_match, ted, token_prob, cross_entropy, chance, loss)."""
    tables = fc._arithmetic_tables(config)
    return fc.arithmetic_family(tables["metrics"], tables["models"], task, length)


def fitted_curves(
    family: pd.DataFrame, forecasters: Sequence[fc.Forecaster], cutoff: float, at: ArrayLike
) -> pd.DataFrame:
    """Each forecaster fitted on the rows of ``family`` at or below ``cutoff`` only, evaluated at sizes ``at`` (for
    drawing a backtest's curves between the held-out points): :func:`mirage_utils.forecast.forecast`'s table."""
    _require(family, [fc.X], "family")
    train = family.loc[family[fc.X] <= cutoff].copy()
    if train.empty:
        raise ValueError(f"no sizes at or below the cutoff {cutoff:g}")
    return fc.forecast(train, forecasters, at)


# --- Pythia: the MMLU facts, the loss-axis link, and real arithmetic -------------------------------------------------


def pythia_mmlu_facts(evals: pd.DataFrame, step: int = FINAL_STEP) -> dict[str, float | str]:
    """The facts the book states about Pythia's MMLU (:func:`mirage_utils.real_families.mmlu_summary`): the first
    size whose 14,042-question average is above chance in both runs with the questions as independent draws (a
    Wilson interval, ``first_above``, nominal name) and with whole subjects resampled (a cluster bootstrap,
    ``first_above_boot``), the most subjects above chance in both runs at any size after Holm's correction
    (``most_subjects``), the highest average of any run (``best``) and its distance from chance in points
    (``points_above``). An empty name: no size is."""
    summary = mmlu_summary(mmlu_subjects(evals, step=step))
    first = first_size(summary["average above chance, both runs"])
    first_boot = first_size(summary["boot above chance, both runs"])
    best = float(summary[["average, standard", "average, deduped"]].to_numpy(float).max())
    return {
        "first_above": "" if first is None else str(first).upper(),
        "first_above_boot": "" if first_boot is None else str(first_boot).upper(),
        "most_subjects": int(summary["Holm, both runs"].max()),
        "best": best,
        "points_above": 100 * (best - MMLU_CHANCE),
    }


def loss_axis_link(family: pd.DataFrame, cutoff: float, loss: ArrayLike, target: str = "acc") -> FloatArray:
    """The second piece of the loss axis (:class:`~mirage_utils.forecast.LossAxis`, ``loss="log_ppl"``, floor 0):
    the metric as a sigmoid in log-perplexity, fitted on the sizes at or below ``cutoff`` only and read at ``loss``
    (mean over the replicates' fits). It shows how the two fitted pieces of a loss-axis forecast err separately."""
    _require(family, [fc.X, target, "log_ppl"], "family")
    values = np.atleast_1d(np.asarray(loss, dtype=float))
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("loss values must be positive and finite")
    train = family.loc[family[fc.X] <= cutoff].copy()
    if train.empty:
        raise ValueError(f"no sizes at or below the cutoff {cutoff:g}")
    axis = fc.LossAxis(target=target, loss="log_ppl", floor=0.0)
    fitted = axis.fit(train)
    params = fitted.params if fitted.point is None else fitted.point[None, :]
    link: FloatArray = axis._stage2(params, values[None, :]).mean(axis=0)
    return link


PYTHIA_ARITH_SHOTS = (2, 4, 8, 16)  # 0-shot leaves the answer format unknown: near 0 at every size
JUMP_LEVEL = 0.25


def pythia_arithmetic_family(
    arith: pd.DataFrame, operation: str, shots: int, checkpoint: int | None = None
) -> pd.DataFrame:
    """Family frame of Pythia's real arithmetic (:func:`mirage_utils.data.pythia_arithmetic`) for one operation
    and number of shots at one checkpoint (default: the last): x = non-embedding parameters, one replicate (the
    files hold one training run per size), acc = exact match pooled over the 100 first operands (5,000 problems).
    The files hold exact match only: no continuous metric exists for this family."""
    _require(arith, ["operation", "shots", "checkpoint", "params", "correct", "n"], "arith")
    step = int(arith["checkpoint"].max()) if checkpoint is None else int(checkpoint)
    rows = arith[(arith["operation"] == operation) & (arith["shots"] == shots) & (arith["checkpoint"] == step)]
    if rows.empty:
        raise ValueError(f"no rows for {operation!r} with {shots} shots at checkpoint {step}")
    pooled = rows.groupby("params", as_index=False)[["correct", "n"]].sum()
    pooled["acc"] = pooled["correct"] / pooled["n"]
    return fc.family_frame(pooled, "params", ["acc"])


def pythia_arithmetic_backtest(
    arith: pd.DataFrame,
    level: float = JUMP_LEVEL,
    operations: Sequence[str] = ("addition", "multiplication"),
    shots: Sequence[int] = PYTHIA_ARITH_SHOTS,
    checkpoint: int | None = None,
) -> fc.Backtest:
    """Pythia's real arithmetic forecast from smaller sizes, per operation and shots (tagged ``operation``,
    ``shots``): exact match as a direct sigmoid from 0 (chance for a free-text answer) to 1 and as a direct line in
    log size, from every cutoff; the crossing of ``level`` is scored in decades. One replicate per size, so the
    intervals are parametric bootstraps. The paper's route cannot be applied: the files hold no continuous metric."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    plan: list[fc.Forecaster] = [fc.DirectSigmoid(target="acc", floor=0.0), fc.DirectLinear(target="acc")]
    parts: dict[tuple[object, ...], fc.Backtest] = {
        (op, int(k)): fc.backtest(pythia_arithmetic_family(arith, op, int(k), checkpoint), plan, levels={"acc": level})
        for op in operations
        for k in shots
    }
    return fc.combine(parts, ["operation", "shots"])


def jump_verdict(crossings: pd.DataFrame, tolerance: float = TOLERANCE_DECADES) -> str:
    """Is a jump forecast from the sizes below it? :func:`crossing_verdict` of exact match (``acc``) for each
    forecaster in ``crossings``, combined by :func:`unanimous_verdict`: holds when every forecaster places the
    crossing from every cutoff below it, fails when every forecaster misses it from at least half of them."""
    _require(crossings, ["forecaster"], "crossings")
    names = sorted(crossings["forecaster"].unique())
    if not names:
        raise ValueError("crossings is empty")
    return unanimous_verdict([crossing_verdict(crossings, f, metric="acc", tolerance=tolerance) for f in names])


LOSS_FORMS = {"power law": fc.PowerLaw, "line": fc.DirectLinear}  # log-perplexity's trend in log size


def pythia_lambada_loss_forms(
    evals: pd.DataFrame, step: int = FINAL_STEP, cutoffs: ArrayLike | None = None
) -> pd.DataFrame:
    """The loss axis on LAMBADA with log-perplexity's trend in size as a power law or as a line in log10 size,
    and the direct sigmoid beside them, from every cutoff (sizes at or below it only). Each route reads its
    log-perplexity forecast through :func:`loss_axis_link`. One row per form, cutoff and held-out size:
    ``form``, ``cutoff``, ``x``, ``predicted``, ``observed``, ``abs_error`` (accuracy) and ``sigmoid_error``
    (the direct sigmoid's). It shows how much the loss axis's advantage rests on the power-law form."""
    family = pythia_lambada_family(evals, step)
    plan: list[fc.Forecaster] = [form(target="log_ppl") for form in LOSS_FORMS.values()]
    plan.append(fc.DirectSigmoid(target="acc", floor=0.0))
    preds = fc.backtest(family, plan, cutoffs).predictions
    sig = preds[preds["forecaster"] == DIRECT_SIGMOID].set_index(["cutoff", "x"])["abs_error"]
    rows = []
    for form, forecaster in zip(LOSS_FORMS, plan):
        ppl = preds[(preds["forecaster"] == forecaster.name) & (preds["metric"] == "log_ppl")]
        for cut in np.unique(ppl["cutoff"].to_numpy(float)):
            part = ppl[ppl["cutoff"] == cut]
            acc = loss_axis_link(family, float(cut), np.maximum(part["predicted"].to_numpy(float), 1e-6))
            observed = family.groupby(fc.X)["acc"].mean().reindex(part["x"]).to_numpy(float)
            for x, p, o in zip(part["x"].to_numpy(float), acc, observed):
                rows.append((form, float(cut), float(x), float(p), float(o), abs(p - o), float(sig[(cut, x)])))
    cols = ["form", "cutoff", "x", "predicted", "observed", "abs_error", "sigmoid_error"]
    return pd.DataFrame(rows, columns=cols)
