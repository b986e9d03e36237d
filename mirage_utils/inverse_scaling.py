"""Inverse scaling over training on a real family with checkpoints: declines from the running best and Michaelov &
Bergen's size x training regression with the model, not the checkpoint, as the unit (Chapter 6, Pythia).

Michaelov & Bergen fitted, per task, least squares of accuracy on log10 parameters, log10 training tokens and their
interaction over every model x checkpoint, and read a negative interaction as "larger models get worse as training
goes on". Checkpoints of one model are repeated measurements of one training run, so here the model is the unit:

* a *two-stage* fit: per model, the slope of the score on log10 tokens over the late checkpoints; then those slopes
  regressed on log10 parameters (the two Pythia training runs of a size, standard and deduplicated Pile, are two
  replicates at that size);
* a *mixed-effects* fit (statsmodels ``MixedLM``): ``score ~ c_log_tokens * c_log_params`` with a random intercept
  and a random slope on log tokens per model, so the interaction is tested against the spread of slopes between
  models, not against checkpoint noise.

Declines are read directly too: per model x task, the final score against the best earlier checkpoint (the running
maximum), and the largest drop from a running maximum anywhere, each with a z against the two readings' stated
standard errors. The best of many noisy checkpoints is biased upwards, so each decline also gets a selection-aware
p value from a parametric bootstrap under "the true curve never falls" (an isotonic fit plus the stated noise).
Chance levels travel with every score: a decline on a task at chance is noise.

The functions take a tidy table (``model, run, size, params, step, tokens, task, value, stderr, chance``);
:func:`pythia_scores` builds it from ``data.pythia_evals()``. Claim checks return booleans so that tests can feed
them a counterfactual family and see them fail.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .seeding import rng

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Pythia's zero-shot tasks used here, with the score a model reaches without the skill: 1 / options for multiple
#: choice (ARC, SciQ, LogiQA and MMLU have four options, PIQA and WinoGrande two), 0 for LAMBADA's final word, and
#: for WSC (n = 104, yes/no) the majority class, 66 of 104: a model that always answers one way scores 0.635 or 0.365.
PYTHIA_CHANCE: dict[str, float] = {
    "lambada_openai": 0.0,
    "arc_easy": 0.25,
    "arc_challenge": 0.25,
    "piqa": 0.5,
    "sciq": 0.25,
    "winogrande": 0.5,
    "wsc": 66 / 104,
    "logiqa": 0.25,
    "mmlu": 0.25,
}
#: names for readers
PYTHIA_TITLES: dict[str, str] = {
    "lambada_openai": "LAMBADA",
    "arc_easy": "ARC-Easy",
    "arc_challenge": "ARC-Challenge",
    "piqa": "PIQA",
    "sciq": "SciQ",
    "winogrande": "WinoGrande",
    "wsc": "WSC",
    "logiqa": "LogiQA",
    "mmlu": "MMLU",
}
#: the pooled MMLU task: accuracy over the 14,042 questions of its 57 subjects (``hendrycksTest-*``)
MMLU = "mmlu"
MMLU_PREFIX = "hendrycksTest-"
#: Michaelov & Bergen's first checkpoint: 4 billion tokens (Pythia step 2,000); the regression window starts here
MB_FIRST_TOKENS = 4e9
SCORE_COLUMNS = ("model", "run", "size", "params", "step", "tokens", "task", "value", "stderr", "chance")
_CURVE = ["model", "run", "size", "params", "task"]


def _require(table: pd.DataFrame, columns: Sequence[str], what: str = "table") -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")
    if table.empty:
        raise ValueError(f"{what} is empty")


def _mmlu(acc: pd.DataFrame) -> pd.DataFrame:
    """Micro-average of the MMLU subjects per model x step: correct answers over questions, standard error from the
    subjects' (independent) standard errors."""
    sub = acc[acc["task"].str.startswith(MMLU_PREFIX)]
    if sub.empty:
        raise ValueError(f"no MMLU subjects ({MMLU_PREFIX}*) in the table")
    if sub["n"].isna().any():
        raise ValueError("MMLU subjects need their test-set sizes n")
    subjects = sub.groupby(["model", "step"])["task"].nunique()
    if subjects.nunique() != 1:
        raise ValueError(f"MMLU subjects differ between checkpoints: {sorted(subjects.unique())}")
    sub = sub.assign(correct=sub["value"] * sub["n"], var_n=(sub["stderr"] * sub["n"]) ** 2)
    keys = ["model", "run", "size", "params", "step", "tokens"]
    out = sub.groupby(keys, observed=True, sort=False).agg(
        correct=("correct", "sum"), n=("n", "sum"), var_n=("var_n", "sum")
    )
    out = out.reset_index()
    out["value"] = out["correct"] / out["n"]
    out["stderr"] = np.sqrt(out["var_n"]) / out["n"]
    return out.assign(task=MMLU)


def pythia_scores(
    evals: pd.DataFrame,
    tasks: Sequence[str] = tuple(PYTHIA_CHANCE),
    shots: int = 0,
    metric: str = "acc",
    chance: Mapping[str, float] = PYTHIA_CHANCE,
) -> pd.DataFrame:
    """One row per model x checkpoint x task from ``data.pythia_evals()``: ``model, run, size, params, step, tokens,
    task, value, stderr, n, chance``.

    ``mmlu`` is the accuracy over all 57 subjects' questions pooled (one test of 14,042 questions, not 57 tests of
    100-1,500, most of them at chance, that would dominate a correction over tasks). Every task needs a chance level.
    """
    _require(evals, ["model", "run", "size", "params", "step", "tokens", "shots", "task", "metric", "value", "stderr"])
    if not tasks:
        raise ValueError("tasks must not be empty")
    unknown = sorted(set(tasks) - set(chance))
    if unknown:
        raise ValueError(f"no chance level for tasks {unknown}; known: {sorted(chance)}")
    acc = evals[(evals["shots"] == shots) & (evals["metric"] == metric)]
    if acc.empty:
        raise ValueError(f"no rows with shots={shots} and metric={metric!r}")
    plain = [t for t in tasks if t != MMLU]
    absent = sorted(set(plain) - set(acc["task"]))
    if absent:
        raise ValueError(f"tasks not in the table (shots={shots}, metric={metric!r}): {absent}")
    cols = ["model", "run", "size", "params", "step", "tokens", "task", "value", "stderr", "n"]
    parts = [acc.loc[acc["task"].isin(plain), cols]]
    if MMLU in tasks:
        parts.append(_mmlu(acc)[cols])
    out = pd.concat(parts, ignore_index=True)
    out["chance"] = out["task"].map(dict(chance)).astype(float)
    if not np.isfinite(out[["value", "stderr"]].to_numpy(dtype=float)).all():
        raise ValueError("value and stderr must be finite")
    return out.sort_values(["task", "run", "params", "step"], ignore_index=True)


def _null_draws(values: np.ndarray, se: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """``draws`` curves from the null "the true curve never falls": the weighted isotonic (non-decreasing) fit of
    the observed curve plus normal noise with the stated standard errors, clipped to [0, 1]."""
    from scipy.optimize import isotonic_regression

    weights = 1.0 / se**2
    fitted = isotonic_regression(values, weights=weights, increasing=True).x
    noise = rng(seed).standard_normal((draws, values.size)) * se
    return np.asarray(np.clip(fitted + noise, 0.0, 1.0), dtype=np.float64)


def _final_decline(v: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``v`` (curves x checkpoints): best earlier reading minus the final one, and its z."""
    best = np.argmax(v[:, :-1], axis=1)
    rows = np.arange(v.shape[0])
    decline = v[rows, best] - v[:, -1]
    return decline, decline / np.hypot(se[best], se[-1])


def _largest_drop(v: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the largest drop from a running maximum, its z, and the indices of that maximum and of the drop."""
    running = np.maximum.accumulate(v, axis=1)
    drops = running - v
    at = np.argmax(drops, axis=1)
    rows = np.arange(v.shape[0])
    # index of the running maximum in force at ``at``: the last position <= at holding that value
    is_max = (v == running) & (np.arange(v.shape[1])[None, :] <= at[:, None])
    peak = v.shape[1] - 1 - np.argmax(is_max[:, ::-1], axis=1)
    drop = drops[rows, at]
    z = np.where(drop > 0, drop / np.hypot(se[peak], se[at]), 0.0)
    return drop, z, peak, at


def declines(
    scores: pd.DataFrame,
    min_step: int = 1,
    z_chance: float = 2.0,
    draws: int = 2000,
    max_draws: int = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per model x task, over the checkpoints with ``step >= min_step`` (1: every trained checkpoint):

    * ``peak``/``peak_step``: the best reading before the last; ``final``; ``decline`` = peak - final (> 0: the
      model ended below its best earlier checkpoint) and ``z`` = decline / sqrt(se_peak^2 + se_final^2);
    * ``max_drop``, ``max_drop_z``, ``drop_from_step``, ``drop_at_step``: the largest drop from a running maximum;
    * ``above_chance``: the peak is more than ``z_chance`` standard errors above the task's chance level (a decline
      from a peak at chance is noise);
    * ``p_null``: share of ``draws`` simulated curves, under a never-falling true curve with the stated noise, whose
      final-decline z is at least the observed one (the running maximum of many noisy readings is biased upwards,
      so z alone overstates a decline); ``p_null_drop`` the same for the largest drop. Sequential Monte Carlo:
      ``draws`` curves first, more (up to ``max_draws``) while fewer than 10 simulated curves reach the observed z;
    * ``p_null (Holm)``: ``p_null`` adjusted over the curves whose peak is above chance (NaN for the others).
    """
    _require(scores, [*SCORE_COLUMNS], "scores")
    if draws < 100 or max_draws < draws:
        raise ValueError(f"need 100 <= draws <= max_draws, got {draws}, {max_draws}")
    if z_chance < 0:
        raise ValueError(f"z_chance must be >= 0, got {z_chance}")
    sub = scores[scores["step"] >= min_step]
    rows = []
    for k, (key, g) in enumerate(sub.sort_values("step").groupby(_CURVE, observed=True, sort=True)):
        if len(g) < 3:
            raise ValueError(f"{key}: need at least 3 checkpoints with step >= {min_step}, got {len(g)}")
        v = g["value"].to_numpy(dtype=float)
        n = g["n"].to_numpy(dtype=float) if "n" in g else np.full(v.size, np.nan)
        floor = np.where(np.isfinite(n), 0.5 / np.where(np.isfinite(n), n, 1.0), 1e-4)  # se 0 at p = 0 or 1
        se = np.maximum(g["stderr"].to_numpy(dtype=float), floor)
        steps = g["step"].to_numpy()
        decline, z = _final_decline(v[None, :], se)
        drop, drop_z, peak_i, at_i = _largest_drop(v[None, :], se)
        hits, hits_drop, done = 0, 0, 0
        while done < max_draws and (done == 0 or min(hits, hits_drop) < 10):
            batch = min(max(draws, done), max_draws - done)  # doubling batches
            sims = _null_draws(v, se, batch, seed + 7919 * k + done)
            hits += int(np.sum(_final_decline(sims, se)[1] >= z[0]))
            hits_drop += int(np.sum(_largest_drop(sims, se)[1] >= drop_z[0]))
            done += batch
        best = int(np.argmax(v[:-1]))
        chance = float(g["chance"].iloc[0])
        rows.append(
            {
                **dict(zip(_CURVE, key, strict=True)),
                "chance": chance,
                "peak": v[best],
                "peak_step": int(steps[best]),
                "final": v[-1],
                "decline": float(decline[0]),
                "z": float(z[0]),
                "max_drop": float(drop[0]),
                "max_drop_z": float(drop_z[0]),
                "drop_from_step": int(steps[peak_i[0]]),
                "drop_at_step": int(steps[at_i[0]]),
                "above_chance": bool(v[best] - chance > z_chance * se[best]),
                "p_null": (1 + hits) / (1 + done),
                "p_null_drop": (1 + hits_drop) / (1 + done),
                "draws": done,
            }
        )
    if not rows:
        raise ValueError(f"no checkpoints with step >= {min_step}")
    out = _size_ordered(pd.DataFrame(rows))
    out["p_null (Holm)"] = _holm(out["p_null"].where(out["above_chance"]).to_numpy())
    return out


def _size_ordered(table: pd.DataFrame) -> pd.DataFrame:
    """``size`` as a categorical ordered by parameter count, so tables and group-bys list sizes small to large."""
    order = table.drop_duplicates("size").sort_values("params")["size"].astype(str)
    return table.assign(size=pd.Categorical(table["size"].astype(str), categories=list(order), ordered=True))


def _holm(p: np.ndarray) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests

    finite = np.isfinite(p)
    out = np.full(p.shape, np.nan)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


def declines_by_size(dec: pd.DataFrame, z: float = 2.0, alpha: float = 0.05) -> pd.DataFrame:
    """Per size (small to large): curves (model x task), final declines with z > ``z``, those whose peak is above
    chance, and those that also survive the selection-aware null after Holm over the curves above chance
    (``p_null (Holm)`` < ``alpha``)."""
    _require(dec, ["size", "z", "above_chance", "p_null (Holm)"], "declines table")
    big = dec["z"] > z
    real = big & dec["above_chance"]
    out = pd.DataFrame(
        {
            "model x task curves": dec.groupby("size", observed=True).size(),
            f"z > {z:g}": big.groupby(dec["size"], observed=True).sum(),
            "above chance": real.groupby(dec["size"], observed=True).sum(),
            "beyond noise (Holm)": (real & (dec["p_null (Holm)"] < alpha)).groupby(dec["size"], observed=True).sum(),
        }
    )
    return out.astype(int)


def late_slopes(scores: pd.DataFrame, min_tokens: float = MB_FIRST_TOKENS) -> pd.DataFrame:
    """Per model x task: least-squares slope of the score on log10 training tokens over the checkpoints with at
    least ``min_tokens`` tokens (score change per tenfold more training), with its standard error."""
    from scipy import stats

    _require(scores, [*SCORE_COLUMNS], "scores")
    late = scores[scores["tokens"] >= max(min_tokens, 1.0)]
    rows = []
    for key, g in late.groupby(_CURVE, observed=True, sort=True):
        if g["tokens"].nunique() < 3:
            raise ValueError(f"{key}: need at least 3 checkpoints with >= {min_tokens:g} tokens")
        fit = stats.linregress(np.log10(g["tokens"].to_numpy(dtype=float)), g["value"].to_numpy(dtype=float))
        rows.append({**dict(zip(_CURVE, key, strict=True)), "slope": fit.slope, "slope_se": fit.stderr, "k": len(g)})
    if not rows:
        raise ValueError(f"no checkpoints with >= {min_tokens:g} tokens")
    return _size_ordered(pd.DataFrame(rows))


def two_stage(slopes: pd.DataFrame) -> pd.DataFrame:
    """Per task: the per-model late slopes regressed on log10 parameters (OLS, models as the unit, the runs of a
    size as replicates). ``coef`` > 0: larger models gain more per decade of training (standard); < 0: they gain
    less or lose (inverse over training). Columns: task, coef, se, t, p, df, n_models."""
    import statsmodels.api as sm

    _require(slopes, ["task", "params", "slope"], "slopes")
    rows = []
    for task, g in slopes.groupby("task", sort=True):
        x = np.log10(g["params"].to_numpy(dtype=float))
        if len(g) < 3 or np.unique(x).size < 2:
            raise ValueError(f"{task}: need at least 3 models and 2 sizes, got {len(g)} and {np.unique(x).size}")
        fit = sm.OLS(g["slope"].to_numpy(dtype=float), sm.add_constant(x - x.mean())).fit()
        rows.append(
            {
                "task": task,
                "coef": float(fit.params[1]),
                "se": float(fit.bse[1]),
                "t": float(fit.tvalues[1]),
                "p": float(fit.pvalues[1]),
                "df": int(fit.df_resid),
                "n_models": len(g),
            }
        )
    return pd.DataFrame(rows)


def _centred(g: pd.DataFrame) -> pd.DataFrame:
    lt, lp = np.log10(g["tokens"].to_numpy(dtype=float)), np.log10(g["params"].to_numpy(dtype=float))
    return pd.DataFrame(
        {
            "y": g["value"].to_numpy(dtype=float),
            "model": g["model"].to_numpy(),
            "c_log_tokens": lt - lt.mean(),
            "c_log_params": lp - lp.mean(),
        }
    )


def mixed_effects(scores: pd.DataFrame, min_tokens: float = MB_FIRST_TOKENS) -> pd.DataFrame:
    """Per task: ``MixedLM`` of the score on c_log_tokens * c_log_params (log10, centred) over the checkpoints with
    at least ``min_tokens`` tokens, random intercept and slope on log tokens per model (REML). Columns: task, coef
    (the interaction), se, z, p, converged, singular (a random-effect SD below 1e-3 of the residual SD), n_models.

    The score is standardised for the optimiser (statsmodels' tolerances are absolute) and mapped back."""
    import statsmodels.formula.api as smf

    _require(scores, [*SCORE_COLUMNS], "scores")
    late = scores[scores["tokens"] >= max(min_tokens, 1.0)]
    if late.empty:
        raise ValueError(f"no checkpoints with >= {min_tokens:g} tokens")
    term = "c_log_tokens:c_log_params"
    rows = []
    for task, g in late.groupby("task", sort=True):
        d = _centred(g)
        if d["model"].nunique() < 3:
            raise ValueError(f"{task}: need at least 3 models, got {d['model'].nunique()}")
        mean, sd = float(d["y"].mean()), float(d["y"].std(ddof=0))
        if sd == 0:
            raise ValueError(f"{task}: the score is constant; nothing to fit")
        ds = d.assign(y=(d["y"] - mean) / sd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # boundary/convergence chatter; judged below
            fit = smf.mixedlm("y ~ c_log_tokens * c_log_params", ds, groups=ds["model"], re_formula="~c_log_tokens")
            res = fit.fit(reml=True)
        re_sd = np.sqrt(np.clip(np.diag(np.asarray(res.cov_re, dtype=float)), 0.0, None))
        z = float(res.tvalues[term])
        rows.append(
            {
                "task": task,
                "coef": float(res.fe_params[term]) * sd,
                "se": float(res.bse_fe[term]) * sd,
                "z": z,
                "p": float(res.pvalues[term]),
                "converged": bool(res.converged),
                "singular": bool(np.any(re_sd < 1e-3 * np.sqrt(float(res.scale)))),
                "n_models": int(d["model"].nunique()),
            }
        )
    return pd.DataFrame(rows)


def pooled_ols(scores: pd.DataFrame, min_tokens: float = MB_FIRST_TOKENS) -> pd.DataFrame:
    """Per task: Michaelov & Bergen's own test, least squares over every model x checkpoint (each checkpoint counted
    as independent evidence). Columns: task, coef (interaction), t, p, df."""
    import statsmodels.formula.api as smf

    _require(scores, [*SCORE_COLUMNS], "scores")
    late = scores[scores["tokens"] >= max(min_tokens, 1.0)]
    term = "c_log_tokens:c_log_params"
    rows = []
    for task, g in late.groupby("task", sort=True):
        fit = smf.ols("y ~ c_log_tokens * c_log_params", _centred(g)).fit()
        rows.append(
            {
                "task": task,
                "coef": float(fit.params[term]),
                "t": float(fit.tvalues[term]),
                "p": float(fit.pvalues[term]),
                "df": int(fit.df_resid),
            }
        )
    return pd.DataFrame(rows)


def direction(coef: float, p_adjusted: float, alpha: float = 0.05) -> str:
    """ "standard" (larger models gain more from training), "inverse" (they gain less or lose) or "none"."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not np.isfinite(p_adjusted) or p_adjusted >= alpha:
        return "none"
    return "standard" if coef > 0 else "inverse"


def regression_table(scores: pd.DataFrame, min_tokens: float = MB_FIRST_TOKENS, alpha: float = 0.05) -> pd.DataFrame:
    """Per task: the two-stage and mixed-effects interaction with Holm over tasks (each method separately), the
    direction each gives, and Michaelov & Bergen's pooled least squares beside them."""
    ts = two_stage(late_slopes(scores, min_tokens))
    mx = mixed_effects(scores, min_tokens)
    ols = pooled_ols(scores, min_tokens)
    out = ts.rename(columns={c: f"two-stage {c}" for c in ("coef", "se", "t", "p", "df")})
    out["two-stage p (Holm)"] = _holm(ts["p"].to_numpy())
    mx = mx.rename(columns={c: f"mixed {c}" for c in ("coef", "se", "z", "p", "converged", "singular")})
    mx["mixed p (Holm)"] = _holm(mx["mixed p"].to_numpy())
    out = out.merge(mx.drop(columns="n_models"), on="task").merge(
        ols.rename(columns={c: f"OLS {c}" for c in ("coef", "t", "p", "df")}), on="task"
    )
    out["direction (two-stage)"] = [
        direction(c, q, alpha) for c, q in zip(out["two-stage coef"], out["two-stage p (Holm)"], strict=True)
    ]
    out["direction (mixed)"] = [
        direction(c, q, alpha) for c, q in zip(out["mixed coef"], out["mixed p (Holm)"], strict=True)
    ]
    chance = scores.groupby("task")["chance"].first()
    out.insert(1, "chance", out["task"].map(chance))
    return out


def finds_inverse(reg: pd.DataFrame) -> bool:
    """Claim check: some task's interaction is inverse after Holm in the two-stage or the mixed-effects fit."""
    _require(reg, ["direction (two-stage)", "direction (mixed)"], "regression table")
    return bool((reg[["direction (two-stage)", "direction (mixed)"]] == "inverse").any().any())


def standard_tasks(reg: pd.DataFrame) -> set[str]:
    """Tasks whose interaction is standard after Holm in both fits."""
    _require(reg, ["task", "direction (two-stage)", "direction (mixed)"], "regression table")
    both = (reg["direction (two-stage)"] == "standard") & (reg["direction (mixed)"] == "standard")
    return set(reg.loc[both, "task"])


def declining_sizes(dec: pd.DataFrame, alpha: float = 0.05) -> set[str]:
    """Sizes with at least one final decline beyond noise: peak above chance and the selection-aware null rejected
    after Holm over all curves."""
    _require(dec, ["size", "above_chance", "p_null (Holm)"], "declines table")
    real = dec["above_chance"] & (dec["p_null (Holm)"] < alpha)
    return {str(s) for s in dec.loc[real, "size"]}


def stays_near_chance(scores: pd.DataFrame, task: str, margin: float = 0.05) -> bool:
    """Claim check: every reading of ``task`` (every model, run and checkpoint) lies within ``margin`` of the task's
    chance level. Chapter 6 says MMLU stays within a few points of chance over all of Pythia's training; a family in
    which one model leaves chance by more than ``margin`` fails it."""
    _require(scores, ["task", "value", "chance"], "scores")
    if not 0 < margin < 1:
        raise ValueError(f"margin must be in (0, 1), got {margin}")
    sub = scores[scores["task"] == task]
    if sub.empty:
        raise ValueError(f"task {task!r} not in the table; have {sorted(scores['task'].unique())}")
    gap = (sub["value"] - sub["chance"]).abs().to_numpy(dtype=float)
    return bool(np.all(gap <= margin))


def plot_over_training(scores: pd.DataFrame, tasks: Sequence[str], titles: Mapping[str, str] | None = None) -> Figure:
    """Score against training tokens (log axis), one panel per task stacked in one column (legible at a phone's
    column width: 4.2 in wide, no font below 10 pt), one colour per size (dark: small), the standard run solid and
    the deduplicated run dashed; dotted: chance; the vertical line marks Michaelov & Bergen's first checkpoint (4B
    tokens). The legend sits inside the first panel, whose y axis runs to 1 to leave it room."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    _require(scores, [*SCORE_COLUMNS], "scores")
    missing = sorted(set(tasks) - set(scores["task"]))
    if not tasks or missing:
        raise ValueError(f"tasks must be a non-empty subset of the table's tasks; missing: {missing}")
    titles = dict(titles or {})
    fig, axes = plt.subplots(len(tasks), 1, figsize=(4.2, 2.5 * len(tasks) + 0.4), sharex=True, squeeze=False)
    flat = axes.ravel()
    params = sorted(scores["params"].unique())
    cmap = plt.get_cmap("viridis")
    colour = {p: cmap(0.9 * k / max(len(params) - 1, 1)) for k, p in enumerate(params)}
    names = scores.drop_duplicates("params").set_index("params")["size"].astype(str)
    shown = scores[scores["step"] >= 512]
    for ax, task in zip(flat, tasks, strict=True):
        sub = shown[shown["task"] == task]
        for (p, run), g in sub.groupby(["params", "run"], sort=True):
            g = g.sort_values("tokens")
            ax.plot(g["tokens"], g["value"], color=colour[p], ls="-" if run == "standard" else "--", lw=1.2)
        ax.axhline(float(sub["chance"].iloc[0]), color="grey", ls=":", lw=1.2)
        ax.axvline(MB_FIRST_TOKENS, color="black", lw=0.8, alpha=0.5)
        ax.set_xscale("log")
        ax.set_title(titles.get(task, PYTHIA_TITLES.get(task, task)), fontsize=11)
        ax.set_ylabel("Accuracy", fontsize=10)
        ax.tick_params(labelsize=10)
    flat[-1].set_xlabel("Training tokens (log scale)", fontsize=10)
    handles = [Line2D([], [], color=colour[p], lw=2, label=names[p].upper()) for p in params]
    handles += [
        Line2D([], [], color="black", ls="-", label="Pile"),
        Line2D([], [], color="black", ls="--", label="dedup. Pile"),
        Line2D([], [], color="grey", ls=":", label="chance"),
    ]
    first = flat[0]
    first.set_ylim(-0.02, 1.0)
    first.legend(
        handles=handles,
        loc="upper left",
        ncol=3,
        fontsize=10,
        handlelength=1.4,
        columnspacing=0.8,
        labelspacing=0.25,
        frameon=True,
        framealpha=0.9,
    )
    return fig


def perplexity_rebound(evals: pd.DataFrame, task: str = "lambada_openai", metric: str = "ppl") -> pd.DataFrame:
    """Per model, zero-shot: the lowest perplexity over the trained checkpoints before the last, its step, the final
    perplexity and their ratio (> 1: the continuous metric got worse late in training as well). Lower is better."""
    _require(evals, ["model", "run", "size", "params", "step", "shots", "task", "metric", "value"])
    sub = evals[(evals["shots"] == 0) & (evals["task"] == task) & (evals["metric"] == metric) & (evals["step"] > 0)]
    if sub.empty:
        raise ValueError(f"no zero-shot {task} {metric} rows")
    if (sub["value"] <= 0).any() or not np.isfinite(sub["value"].to_numpy(dtype=float)).all():
        raise ValueError(f"{metric} must be positive and finite")
    rows = []
    for (model, run, size, params), g in sub.sort_values("step").groupby(
        ["model", "run", "size", "params"], observed=True, sort=True
    ):
        v = g["value"].to_numpy(dtype=float)
        if v.size < 2:
            raise ValueError(f"{model}: need at least 2 trained checkpoints")
        best = int(np.argmin(v[:-1]))
        rows.append(
            {
                "model": model,
                "run": run,
                "size": size,
                "params": params,
                "best": v[best],
                "best_step": int(g["step"].iloc[best]),
                "final": v[-1],
                "ratio": v[-1] / v[best],
            }
        )
    return pd.DataFrame(rows)


def perplexity_confirms(rebound: pd.DataFrame, sizes: set[str], factor: float = 1.2) -> bool:
    """Claim check: every model of ``sizes`` ends with a perplexity at least ``factor`` times its best earlier one
    (the continuous metric sees the same late loss as accuracy). False when ``sizes`` is empty or absent."""
    _require(rebound, ["size", "ratio"], "perplexity table")
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    sub = rebound[rebound["size"].astype(str).isin(sizes)]
    return bool(len(sub) > 0 and (sub["ratio"] >= factor).all())
