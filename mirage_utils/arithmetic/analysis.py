"""What the chapters compute from the family's tables, with seeds as the unit of uncertainty.

Every summary here first computes a number per (size, seed) and only then summarises across seeds (median, range,
mean with a t interval), never pooling the problems of several seeds into one binomial interval. Claim checks
return booleans from these summaries, so a test can feed them a counterfactual family and see them fail.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from ..seeding import rng
from . import task as ar

KEYS = ("model", "n_params")


def _require(table: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")


def over_seeds(table: pd.DataFrame, by: list[str], value: str, confidence: float = 0.95) -> pd.DataFrame:
    """Per group of ``by`` (which must not contain 'seed'): the per-seed values of ``value`` summarised as median,
    min, max, mean and a Student-t interval over seeds (NaN with a single seed)."""
    _require(table, [*by, "seed", value], "table")
    if "seed" in by:
        raise ValueError("'seed' is the unit being summarised; leave it out of `by`")
    per_seed = table.groupby([*by, "seed"], sort=True)[value].mean().reset_index()
    g = per_seed.groupby(by, sort=True)[value]
    out = g.agg(median="median", low="min", high="max", mean="mean", sd="std", n_seeds="count").reset_index()
    half = stats.t.ppf(0.5 + confidence / 2, np.maximum(out["n_seeds"] - 1, 1)) * out["sd"] / np.sqrt(out["n_seeds"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out


def competence_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per size: exact match on each evaluation task, held-out and on training problems (median over seeds, with
    the seed range), and the chance level of a uniform guess of the same length."""
    _require(metrics, [*KEYS, "seed", "task", "split", "n", "n_correct", "chance"], "metrics")
    per_seed = (
        metrics.assign(chance_hits=metrics["chance"] * metrics["n"])
        .groupby([*KEYS, "seed", "task", "split"], sort=True)[["n_correct", "n", "chance_hits"]]
        .sum()
    )
    per_seed["exact_match"] = per_seed["n_correct"] / per_seed["n"]
    per_seed["chance"] = per_seed["chance_hits"] / per_seed["n"]
    per_seed = per_seed.reset_index()
    out = (
        per_seed.groupby([*KEYS, "task", "split"], sort=True)
        .agg(
            median=("exact_match", "median"),
            low=("exact_match", "min"),
            high=("exact_match", "max"),
            chance=("chance", "mean"),
            n_seeds=("seed", "nunique"),
        )
        .reset_index()
    )
    return out.sort_values(["task", "split", "n_params"]).reset_index(drop=True)


def is_competent(
    competence: pd.DataFrame, task: str = "addition_4digit", top: float = 0.99, floor: float = 0.01
) -> dict[str, bool]:
    """Claim check: the largest size's median held-out exact match reaches ``top`` and the smallest's stays at or
    below ``floor`` (the family spans failing to solving on ``task``)."""
    held = competence[(competence["task"] == task) & (competence["split"] == "test")].sort_values("n_params")
    if held.empty:
        raise ValueError(f"no held-out rows for task {task!r}")
    return {
        "largest solves": bool(held["median"].iloc[-1] >= top),
        "smallest fails": bool(held["median"].iloc[0] <= floor),
    }


def falls_with_size(curve: pd.DataFrame, x: str, y: str, threshold: float = -0.8) -> bool:
    """Claim check: ``y`` falls with ``x`` overall, a Spearman rank correlation at or below ``threshold`` (a trend
    that tolerates one run out of order, unlike "falls at every step"); needs at least 3 points."""
    _require(curve, [x, y], "curve")
    if len(curve) < 3:
        raise ValueError(f"need at least 3 points, got {len(curve)}")
    if not -1 <= threshold < 0:
        raise ValueError(f"threshold must lie in [-1, 0), got {threshold}")
    return bool(stats.spearmanr(curve[x], curve[y]).statistic <= threshold)


def loss_is_flat(training_log: pd.DataFrame, tail: float = 0.2, tolerance: float = 0.05) -> pd.DataFrame:
    """Per size x seed: relative change of the training loss over the last ``tail`` share of steps; ``flat`` when
    it fell by less than ``tolerance`` (5%: the schedule has run down and the model is not still learning fast)."""
    _require(training_log, ["model", "seed", "step", "loss"], "training_log")
    rows = []
    for (model, seed), g in training_log.sort_values("step").groupby(["model", "seed"], sort=True):
        last = g["step"].max()
        start = g[g["step"] <= (1 - tail) * last].tail(1)
        if start.empty:
            raise ValueError(f"{model} seed {seed}: no logged step before the last {tail:.0%} of training")
        before, after = float(start["loss"].iloc[0]), float(g["loss"].iloc[-1])
        rows.append(
            {
                "model": model,
                "seed": seed,
                "loss_before": before,
                "loss_final": after,
                "relative_drop": (before - after) / before,
                "flat": (before - after) / before < tolerance,
            }
        )
    return pd.DataFrame(rows)


def zero_reading_rate(
    outputs: pd.DataFrame,
    n_small: int,
    repeats: int,
    seed: int,
    by: tuple[str, ...] = ("model", "params", "target_length"),
) -> pd.DataFrame:
    """Share of random size-``n_small`` test sets (drawn without replacement) on which each group reads exactly 0
    exact match: how often a paper-sized test set would report "cannot do the task"."""
    _require(outputs, [*by, "exact_match"], "outputs")
    if n_small < 1 or repeats < 1:
        raise ValueError("n_small and repeats must be >= 1")
    gen = rng(seed)
    rows = []
    for key, group in outputs.groupby(list(by), sort=True):
        hits = group["exact_match"].to_numpy()
        if len(hits) < n_small:
            continue
        draws = np.array([hits[gen.choice(len(hits), n_small, replace=False)].mean() for _ in range(repeats)])
        rows.append(
            {**dict(zip(by, key)), "P(reads 0)": float((draws == 0).mean()), "full-size accuracy": float(hits.mean())}
        )
    return pd.DataFrame(rows)


def length_law_fit(curves: pd.DataFrame, group: list[str]) -> pd.DataFrame:
    """Per group (e.g. model x seed): p_hat from TED(L) = L (1 - p) (least squares through the origin), then for each
    answer length the predicted accuracy p_hat^L and TED L (1 - p_hat) next to the measured ones."""
    _require(curves, [*group, "target_length", "exact_match", "ted"], "curves")
    rows = []
    for key, g in curves.groupby(group, sort=True):
        L = g["target_length"].to_numpy(float)
        p_hat = 1 - float((L * g["ted"]).sum() / (L * L).sum())
        for length, acc, ted in zip(L, g["exact_match"], g["ted"]):
            rows.append(
                {
                    **dict(zip(group, key if isinstance(key, tuple) else (key,))),
                    "target_length": int(length),
                    "p_hat": p_hat,
                    "accuracy": acc,
                    "predicted accuracy": max(p_hat, 0.0) ** length,
                    "ted": ted,
                    "predicted ted": length * (1 - p_hat),
                }
            )
    return pd.DataFrame(rows)


def r_squared(y: ArrayLike, y_hat: ArrayLike) -> float:
    """1 - SSE/SST (NaN when y is constant)."""
    y, y_hat = np.asarray(y, float), np.asarray(y_hat, float)
    sst = ((y - y.mean()) ** 2).sum()
    return float("nan") if sst == 0 else float(1 - ((y - y_hat) ** 2).sum() / sst)


def length_law_r2(fit: pd.DataFrame, group: list[str], floor: float = 1e-4) -> pd.DataFrame:
    """Per group: R^2 of log accuracy against log p_hat^L (lengths where both exceed ``floor``, so a floor of zeros
    does not decide it) and of TED against L (1 - p_hat); NaN where fewer than 3 lengths qualify."""
    rows = []
    for key, g in fit.groupby(group, sort=True):
        ok = (g["accuracy"] > floor) & (g["predicted accuracy"] > floor)
        r2_acc = (
            r_squared(np.log(g.loc[ok, "accuracy"]), np.log(g.loc[ok, "predicted accuracy"]))
            if ok.sum() >= 3
            else float("nan")
        )
        rows.append(
            {
                **dict(zip(group, key if isinstance(key, tuple) else (key,))),
                "lengths used": int(ok.sum()),
                "R2 log accuracy": r2_acc,
                "R2 TED": r_squared(g["ted"], g["predicted ted"]),
            }
        )
    return pd.DataFrame(rows)


def length_laws_hold(r2: pd.DataFrame, bound: float = 0.8) -> dict[str, tuple[bool, bool]]:
    """Claim check per model (rows of :func:`length_law_r2`, one per model): (geometric accuracy law, linear TED law)
    each reaching R^2 >= ``bound``; a NaN R^2 (too few non-zero lengths to fit) does not reach it."""
    _require(r2, ["model", "R2 log accuracy", "R2 TED"], "r2")
    if r2["model"].duplicated().any():
        raise ValueError("one row per model expected (summarise seeds first)")
    return {
        str(m): (bool(ra >= bound), bool(rt >= bound))
        for m, ra, rt in r2[["model", "R2 log accuracy", "R2 TED"]].itertuples(index=False)
    }


def law_majorities(outcome: dict[str, tuple[bool, bool]]) -> dict[str, bool]:
    """Claim check on :func:`length_laws_hold`: does each law (geometric accuracy, linear TED) hold for a strict
    majority of the models?"""
    if not outcome:
        raise ValueError("no models to count")
    n = len(outcome)
    return {
        "geometric": sum(g for g, _ in outcome.values()) > n / 2,
        "linear TED": sum(t for _, t in outcome.values()) > n / 2,
    }


def resolved_from(greedy: pd.DataFrame, passuntil: pd.DataFrame) -> float:
    """Claim check: the smallest size from which every size x seed x task x length cell is resolved above chance by
    greedy decoding or by PassUntil (``resolved`` columns; keys model, n_params, seed, task, target_length); NaN
    when even the largest size has an unresolved cell."""
    keys = ["model", "n_params", "seed", "task", "target_length"]
    _require(greedy, [*keys, "resolved"], "greedy")
    _require(passuntil, [*keys, "resolved"], "passuntil")
    both = greedy[[*keys, "resolved"]].merge(passuntil[[*keys, "resolved"]], on=keys, how="left", suffixes=("", "_pu"))
    ok = both["resolved"] | both["resolved_pu"].fillna(False).astype(bool)
    sizes = np.sort(both["n_params"].unique())
    bad = both.loc[~ok, "n_params"]
    if bad.empty:
        return float(sizes[0])
    above = sizes[sizes > bad.max()]
    return float(above[0]) if above.size else float("nan")


MC_OPTION_SETS = ("all", "same_length", "same_lead", "near_miss", "units_digit")
OWN_OPTION_SETS = ("near_miss", "units_digit")  # our own distractors, stored under their own option_set


def multiple_choice_scores(mc: pd.DataFrame, options: str = "same_length") -> pd.DataFrame:
    """Multiple Choice Grade and Brier score per model x seed x task from option log-probabilities.

    ``options``: "all" (BIG-bench's seven: the answer, four wrong numbers, 'banana', 'house'); "same_length" (the
    answer and the wrong numbers with as many digits, so knowing an answer's length is not enough); "same_lead"
    (also the same leading digit, so knowing the rough size of the answer is not enough either; questions left
    with the answer alone are dropped); "near_miss" (our own distractors, sharing the answer's length, first and
    last digit: ``task.near_miss_options``); "units_digit" (ours too: only the units digit differs,
    ``task.units_digit_options``). ``chance`` is the MCG of a uniform guess among the options kept.
    """
    _require(mc, ["model", "seed", "task", "question", "option", "correct", "log_prob"], "multiple-choice table")
    if options not in MC_OPTION_SETS:
        raise ValueError(f"options must be one of {MC_OPTION_SETS}, got {options!r}")
    df = mc.assign(option_set=mc["option_set"]) if "option_set" in mc else mc.assign(option_set="bigbench")
    df = df[df["option_set"] == (options if options in OWN_OPTION_SETS else "bigbench")]
    if df.empty:
        raise ValueError(
            f"the multiple-choice table has no {options!r} options (shards scored before that option "
            "set existed: `python -m mirage_utils arithmetic rescore-mc`)"
        )
    if options in ("same_length", "same_lead"):
        qkey = ["model", "seed", "task", "question"]
        answer = df[df["correct"]].set_index(qkey)["option"]
        ans = answer.reindex(pd.MultiIndex.from_frame(df[qkey])).to_numpy().astype(str)
        opt = df["option"].to_numpy().astype(str)
        keep = np.char.str_len(opt) == np.char.str_len(ans)
        if options == "same_lead":
            keep &= np.array([o[:1] == a[:1] for o, a in zip(opt, ans)])
        df = df[keep]
        df = df[df.groupby(qkey)["option"].transform("size") > 1]
    # Vectorised over questions (one softmax per question, options in table order): the same numbers as
    # metrics.normalise_log_probs, multiple_choice_grade (ties to the first option) and brier_score per question.
    qkey = ["model", "seed", "task", "question"]
    lp = df["log_prob"].to_numpy(float)
    if np.any(np.isnan(lp)) or np.any(lp == np.inf):
        raise ValueError("log_probs must not contain NaN or +inf")
    q_id = df.groupby(qkey, sort=True).ngroup().to_numpy()
    q_max = pd.Series(lp).groupby(q_id).transform("max").to_numpy()
    if np.any(q_max == -np.inf):
        raise ValueError("every example needs at least one option with finite log-probability")
    e = np.exp(lp - q_max)
    probs = e / pd.Series(e).groupby(q_id).transform("sum").to_numpy()
    correct = df["correct"].to_numpy(bool)
    pos = np.arange(len(df))
    first_best = pd.Series(probs).groupby(q_id).transform("max").to_numpy() == probs
    argmax = pd.Series(np.where(first_best, pos, len(df))).groupby(q_id).min()
    answer = pd.Series(np.where(correct, pos, len(df))).groupby(q_id).min()
    per_q = (
        df[qkey]
        .assign(_q=q_id, n_options=1, sq=(probs - correct) ** 2)
        .groupby("_q", sort=True)
        .agg(
            model=("model", "first"),
            seed=("seed", "first"),
            task=("task", "first"),
            question=("question", "first"),
            n_options=("n_options", "size"),
            brier=("sq", "mean"),
        )
    )
    per_q["mcg"] = (argmax.to_numpy() == answer.to_numpy()).astype(float)
    out = (
        per_q.groupby(["model", "seed", "task"], sort=True)
        .agg(
            questions=("question", "size"),
            mcg=("mcg", "mean"),
            brier=("brier", "mean"),
            chance=("n_options", lambda n: float(np.mean(1.0 / n))),
        )
        .reset_index()
    )
    return out


def multiple_choice_by_set(
    family: dict[str, pd.DataFrame], option_sets: Sequence[str] = MC_OPTION_SETS
) -> dict[str, pd.DataFrame]:
    """:func:`multiple_choice_scores` of a family (``shards.load_artifacts`` tables) for each option set, with
    each model's ``n_params`` added: the input of :func:`floor_nearest_chance` and :func:`chosen_option_curves`."""
    _require(family["models"], ["model", "n_params"], "models")
    params_of = family["models"].drop_duplicates("model").set_index("model")["n_params"]
    out = {}
    for key in option_sets:
        s = multiple_choice_scores(family["multiple_choice"], key)
        out[key] = s.assign(n_params=s["model"].map(params_of))
    return out


def chosen_option_curves(scores_by_set: dict[str, pd.DataFrame], chosen: dict[str, str]) -> pd.DataFrame:
    """One table of per-seed curves: for each task, the rows of the option set ``chosen`` for it (task -> set,
    e.g. from :func:`floor_nearest_chance`)."""
    unknown = [o for o in chosen.values() if o not in scores_by_set]
    if unknown:
        raise ValueError(f"option sets {unknown} are not in scores_by_set")
    parts = [scores_by_set[opts][scores_by_set[opts]["task"] == t] for t, opts in chosen.items()]
    return pd.concat(parts, ignore_index=True)


def chance_line(target_length: int) -> float:
    """Exact match of a uniform guess with ``target_length`` digits (for figure reference lines)."""
    return float(ar.chance_exact_match(target_length))


def smallest_at_chance(scores: pd.DataFrame, tolerance: float = 0.05) -> dict[str, bool]:
    """Claim check per task: the smallest size's Multiple Choice Grade (mean over seeds) is within ``tolerance``
    of the chance level of its option set; without that, an MCG curve cannot look emergent for any reason."""
    _require(scores, ["model", "seed", "task", "mcg", "chance", "n_params"], "scores")
    out: dict[str, bool] = {}
    for task_name, g in scores.groupby("task", sort=True):
        smallest = g[g["n_params"] == g["n_params"].min()]
        out[cast(str, task_name)] = bool(smallest["mcg"].mean() <= smallest["chance"].mean() + tolerance)
    return out


def floor_nearest_chance(scores_by_set: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Per task, the option set whose smallest size sits nearest chance, as a share of the room above it:
    (MCG - chance) / (1 - chance) at the smallest size, mean over seeds. ``scores_by_set``: option set ->
    :func:`multiple_choice_scores` table. The choice uses only the smallest size, never the curve's shape."""
    if not scores_by_set:
        raise ValueError("no option sets given")
    best: dict[str, tuple[float, str]] = {}
    for name, scores in scores_by_set.items():
        _require(scores, ["task", "mcg", "chance", "n_params"], f"scores of {name!r}")
        for task_name, g in scores.groupby("task", sort=True):
            smallest = g[g["n_params"] == g["n_params"].min()]
            chance = float(smallest["chance"].mean())
            excess = (float(smallest["mcg"].mean()) - chance) / (1.0 - chance)
            if cast(str, task_name) not in best or excess < best[cast(str, task_name)][0]:
                best[cast(str, task_name)] = (excess, name)
    return {t: name for t, (_, name) in best.items()}


def seeds_phrase(models: pd.DataFrame) -> str:
    """How many seeds each size rests on, for titles and text: "3 seeds per size" or "1 to 3 seeds per size"."""
    _require(models, ["model", "seed"], "models")
    n = models.groupby("model")["seed"].nunique()
    if n.empty:
        raise ValueError("models is empty")
    count = f"{n.min()}" if n.min() == n.max() else f"{n.min()} to {n.max()}"
    return f"{count} seed{'' if n.max() == 1 else 's'} per size"


SHARPNESS_MEASURES = ("emergence_score", "steepest_rise_ratio", "rise_width_decades")


def sharpness_by_seed(
    scores: pd.DataFrame, value: str, higher_is_better: bool = True, by: Sequence[str] = ("task",)
) -> pd.DataFrame:
    """Sharpness of ``value`` against n_params on each seed's own curve (Eq. 1, steepest-rise ratio, rise width;
    ``emergence.sharpness_table``), then median and range over seeds per group of ``by``, with the window and seed
    count: never measured on a curve averaged over seeds."""
    from ..emergence import sharpness_table

    by = list(by)
    if "seed" in by:
        raise ValueError("'seed' is the unit being summarised; leave it out of `by`")
    _require(scores, [*by, "seed", "n_params", value], "scores")
    per = sharpness_table(scores, [*by, "seed"], x="n_params", y=value, higher_is_better=higher_is_better)
    agg = {
        f"{m}_{stat}": (m, fn)
        for m in SHARPNESS_MEASURES
        for stat, fn in (("median", "median"), ("low", "min"), ("high", "max"))
    }
    return (
        per.groupby(by, sort=True)
        .agg(seeds=("seed", "nunique"), sizes=("n_points", "max"), window_decades=("window_decades", "max"), **agg)
        .reset_index()
    )


def sharper_than(
    a: pd.DataFrame, b: pd.DataFrame, measure: str = "steepest_rise_ratio", factor: float = 1.25
) -> dict[str | tuple[Hashable, ...], bool]:
    """Claim check per task (or task x answer length, where both tables have that column): metric ``a``'s curves
    are sharper than metric ``b``'s by more than ``factor`` (both from :func:`sharpness_by_seed`, medians over
    seeds); for rise width, narrower by that factor is sharper. The
    margin keeps two equally sharp curves (say two straight lines, ratio 1 each) from counting."""
    if measure not in SHARPNESS_MEASURES:
        raise ValueError(f"measure must be one of {SHARPNESS_MEASURES}, got {measure!r}")
    if not factor >= 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    col = f"{measure}_median"
    keys = [c for c in a.columns if c in ("task", "target_length")]
    _require(a, [*keys, col], "a")
    _require(b, [*keys, col], "b")
    both = a.set_index(keys)[col].to_frame("a").join(b.set_index(keys)[col].to_frame("b"), how="inner")
    if both.empty:
        raise ValueError("a and b share no task")
    if measure == "rise_width_decades":
        sharper = both["a"] * factor < both["b"]
    else:
        sharper = both["a"] > both["b"] * factor
    return {t if isinstance(t, tuple) else str(t): bool(v) for t, v in sharper.items()}
