"""BIG-bench and the published tables around it: task metadata, metric kinds, Wei's emergent list, and score tables
from Lu et al. (2024) and Ruan et al. (2024) reshaped into one long format for :func:`emergence.emergence_table`.

Also reads BIG-bench's official results files (``benchmark_tasks/<task>/results/scores_<model>.json``, schema of
``bigbench/api/results.py``) when a reader has a BIG-bench checkout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from . import data

# How each metric turns per-token (or per-option) probabilities into a score. Our classification, following the
# paper's Sec. 4: all-or-nothing sequence metrics are nonlinear, argmax decisions are discontinuous.
METRIC_KIND: dict[str, str] = {
    "exact_str_match": "nonlinear",
    "multiple_choice_grade": "discontinuous",
    "rougeLsum": "nonlinear",
    "rouge1": "nonlinear",
    "rouge2": "nonlinear",
    "bleu": "nonlinear",
    "macro_f1": "discontinuous",
    "numeric_match_with_0_1_relative_error": "discontinuous",
    "sequence_f1": "linear",
    "bleurt": "continuous",
    "log_likelihood": "continuous",
    "calibration_multiple_choice_brier_score": "continuous",
    "expected_calibration_error": "continuous",
}


# BIG-bench metrics for which a lower score is better (the rest are read as higher-is-better).
LOWER_IS_BETTER = frozenset({"calibration_multiple_choice_brier_score", "expected_calibration_error"})


def metric_kind(metric: str) -> str:
    """'nonlinear', 'discontinuous', 'linear', 'continuous', or 'unclassified' for metrics we have not read."""
    return METRIC_KIND.get(metric, "unclassified")


def task_metadata() -> pd.DataFrame:
    """BIG-bench task metadata (one row per task.json of the PyPI sdist; see its PROVENANCE.md)."""
    return data.read_csv("bigbench/task_metadata", keep_default_na=False)


def preferred_metric_per_task() -> pd.DataFrame:
    """One row per task: its preferred metric (the top-level file's, else the most common among its subtasks).

    Programmatic tasks (task.py) carry no metadata here and get an empty metric.
    """
    meta = task_metadata()
    rows = []
    for task, group in meta.groupby("task", sort=True):
        top = group[group["subtask"] == ""]["preferred_score"]
        chosen = next((m for m in top if m), "")
        if not chosen:
            sub = group[(group["subtask"] != "") & (group["preferred_score"] != "")]["preferred_score"]
            chosen = sub.mode().iloc[0] if len(sub) else ""
        rows.append({"task": task, "task_type": group["task_type"].iloc[0], "preferred_metric": chosen})
    out = pd.DataFrame(rows)
    out["kind"] = out["preferred_metric"].map(lambda m: metric_kind(m) if m else "unknown (programmatic)")
    return out


def wei_emergent_tasks() -> pd.DataFrame:
    """Wei (2022)'s hand-annotated emergent BIG-Bench entries (48 of 67 available), with preferred metrics joined."""
    wei = data.read_csv("wei/emergent_tasks").rename(columns={"task_folder_guess": "task"})
    return wei.merge(preferred_metric_per_task(), on="task", how="left")


def json_task_examples(key: str) -> pd.DataFrame:
    """The examples of a registered BIG-bench task.json: input, target, target_scores (dict option -> score)."""
    doc = json.loads(data.path(key).read_text(encoding="utf-8"))
    examples = pd.DataFrame(doc["examples"])
    missing = {"input", "target_scores"} - set(examples.columns)
    if missing:
        raise ValueError(f"{key}: examples lack {sorted(missing)} (not a multiple-choice JSON task)")
    return examples


# --- Lu et al. (ACL 2024) -------------------------------------------------------------------------------------

# Parameter counts of the models in Lu et al.'s table (public model cards), and the family each belongs to.
LU_MODELS: dict[str, tuple[str, float]] = {
    "gpt2": ("GPT-2", 124e6),
    "gpt2-xl": ("GPT-2", 1.5e9),
    "Rachneet/gpt2-alpaca": ("GPT-2 + Alpaca", 124e6),
    "Rachneet/gpt2-xl-alpaca": ("GPT-2 + Alpaca", 1.5e9),
    "t5-small": ("T5", 60e6),
    "t5-large": ("T5", 770e6),
    "google/flan-t5-small": ("Flan-T5", 77e6),
    "google/flan-t5-large": ("Flan-T5", 783e6),
    "tiiuae/falcon-7b": ("Falcon", 7e9),
    "tiiuae/falcon-40b": ("Falcon", 40e9),
    "tiiuae/falcon-7b-instruct": ("Falcon-instruct", 7e9),
    "tiiuae/falcon-40b-instruct": ("Falcon-instruct", 40e9),
    "models--llama/7B": ("LLaMA", 7e9),
    "models--llama/13B": ("LLaMA", 13e9),
    "models--llama/30B": ("LLaMA", 30e9),
    "chavinlo/alpaca-native": ("Alpaca", 7e9),
    "chavinlo/alpaca-13b": ("Alpaca", 13e9),
    "EleutherAI/gpt-j-6b": ("GPT-J", 6e9),
    "togethercomputer/GPT-JT-6B-v1": ("GPT-JT", 6e9),
}
LU_METRICS = {
    "exact_match_accuracy": "exact match",
    "edit_distance": "edit distance",
    "bert_score_accuracy": "BERTScore accuracy",
}


def lu_scores() -> pd.DataFrame:
    """Lu et al.'s runs in long format: task, family, model, params, prompt_type, shots, seed, n_examples, metric,
    value.

    -100 ("not computed") is dropped; runs of models without a known size (OpenAI API models) are dropped too.
    """
    raw = data.read_csv("ukplab/evaluation_scores")
    raw = raw[raw["model"].isin(LU_MODELS)].copy()
    raw["family"] = raw["model"].map(lambda m: LU_MODELS[m][0])
    raw["params"] = raw["model"].map(lambda m: LU_MODELS[m][1])
    raw["task"] = raw["filename"].str.replace("/task.json", "", regex=False)
    long = raw.melt(
        id_vars=["task", "family", "model", "params", "prompt_type", "number_of_shots", "seed", "number_of_data"],
        value_vars=list(LU_METRICS),
        var_name="metric",
        value_name="value",
    )
    long = long[long["value"] != -100].rename(columns={"number_of_shots": "shots", "number_of_data": "n_examples"})
    long["metric"] = long["metric"].map(LU_METRICS)
    long["higher_is_better"] = long["metric"] != "edit distance"
    return long.reset_index(drop=True)


# --- Ruan et al. (2024), Observational Scaling Laws -----------------------------------------------------------

RUAN_COLUMNS = {
    "parsinlu_qa_2_acc": ("parsinlu_qa", "accuracy"),
    "word_unscrambling_2_exact_match": ("word_unscrambling", "exact match"),
    "ipa_transliterate_2_exact_match": ("ipa_transliterate", "exact match"),
    "ipa_transliterate_2_bleu": ("ipa_transliterate", "BLEU"),
    "arithmetic_3ds_2_acc": ("arithmetic 3-digit subtraction", "accuracy"),
    "arithmetic_3da_2_acc": ("arithmetic 3-digit addition", "accuracy"),
    "arithmetic_2dm_2_acc": ("arithmetic 2-digit multiplication", "accuracy"),
    "arithmetic_2da_2_acc": ("arithmetic 2-digit addition", "accuracy"),
}


def ruan_scores() -> pd.DataFrame:
    """Ruan et al.'s emergent-task scores in long format with each model's family, parameters and training FLOPs."""
    scores = data.read_csv("obsscaling/emergent")
    meta = data.read_csv("obsscaling/benchmark")[["Model", "Model Family", "Model Size (B)", "FLOPs (1E21)"]]
    merged = scores.merge(meta, on="Model", how="left", validate="one_to_one")
    if merged["Model Family"].isna().any():
        raise data.DataFileError("Ruan et al. tables do not join on Model")
    long = merged.melt(
        id_vars=["Model", "Model Family", "Model Size (B)", "FLOPs (1E21)"],
        value_vars=list(RUAN_COLUMNS),
        var_name="column",
        value_name="value",
    ).dropna(subset=["value"])
    long["task"] = long["column"].map(lambda c: RUAN_COLUMNS[c][0])
    long["metric"] = long["column"].map(lambda c: RUAN_COLUMNS[c][1])
    long = long.rename(columns={"Model": "model", "Model Family": "family"})
    long["params"] = long["Model Size (B)"] * 1e9
    long["flops"] = long["FLOPs (1E21)"] * 1e21
    long["higher_is_better"] = True
    return long[["task", "family", "model", "params", "flops", "metric", "value", "higher_is_better"]]


# --- BIG-bench official results files ----------------------------------------------------------------------------

RESULTS_COLUMNS = [
    "task",
    "model_family",
    "model_name",
    "total_params",
    "non_embedding_params",
    "shots",
    "subtask",
    "metric",
    "value",
    "preferred_score",
]


def load_results_file(path: str | Path) -> pd.DataFrame:
    """One BIG-bench ``scores_<model>.json`` as a long table (one row per score-dict entry)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        model, scores = doc["model"], doc["scores"]
        task = doc.get("task", {}).get("task_name", path.parent.parent.name)
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a BIG-bench results file ({exc})") from exc
    rows = []
    for s in scores:
        for metric, value in s["score_dict"].items():
            rows.append(
                {
                    "task": task,
                    "model_family": model["model_family"],
                    "model_name": model["model_name"],
                    "total_params": model.get("total_params"),
                    "non_embedding_params": model.get("non_embedding_params"),
                    "shots": s.get("number_of_shots"),
                    "subtask": s.get("subtask_description", ""),
                    "metric": metric,
                    "value": value,
                    "preferred_score": s.get("preferred_score"),
                }
            )
    return pd.DataFrame(rows, columns=RESULTS_COLUMNS)


def load_results_dir(root: str | Path) -> pd.DataFrame:
    """Every results file under ``<root>/benchmark_tasks/*/results/`` (a BIG-bench checkout), concatenated."""
    files = sorted(Path(root).glob("benchmark_tasks/*/results/scores_*.json"))
    if not files:
        raise FileNotFoundError(f"no benchmark_tasks/*/results/scores_*.json under {root}")
    return pd.concat([load_results_file(f) for f in files], ignore_index=True)


# --- multiple comparisons ----------------------------------------------------------------------------------------


def grid_null(
    x: ArrayLike, n_series: int, noise_to_rise: float, rng: np.random.Generator, floor: bool = False
) -> pd.DataFrame:
    """Sharpness of curves with no jump on the scales ``x`` (a real series' own grid): a straight line in log N from
    0 to 1 plus Gaussian noise of sd ``noise_to_rise``; with ``floor`` the line starts at -0.5 and everything is
    clipped at 0 (a metric at its floor for the first third of the window before it rises smoothly). The null for
    "jump vs smooth growth" (pure noise is not). Columns: n_sizes, emergence_score (Eq. 1), steepest_rise_ratio."""
    from .emergence import emergence_scores, steepest_rise_ratios

    u = np.log10(np.asarray(x, dtype=float))
    if u.ndim != 1 or u.size < 3 or not np.all(np.isfinite(u)) or np.any(np.diff(u) <= 0):
        raise ValueError("x must hold at least 3 strictly increasing positive scales")
    if n_series < 1:
        raise ValueError(f"need n_series >= 1, got {n_series}")
    if not noise_to_rise >= 0:
        raise ValueError(f"noise_to_rise must be >= 0, got {noise_to_rise}")
    t = (u - u[0]) / (u[-1] - u[0])
    line = (-0.5 + 1.5 * t) if floor else t
    y = line + rng.normal(0.0, noise_to_rise, size=(n_series, u.size))
    if floor:
        y = np.maximum(y, 0.0)
    return pd.DataFrame(
        {
            "n_sizes": u.size,
            "emergence_score": emergence_scores(10.0**u, y),
            "steepest_rise_ratio": steepest_rise_ratios(10.0**u, y),
        }
    )


def trend_null(
    n_sizes: int, n_series: int, noise_to_rise: float, rng: np.random.Generator, floor: bool = False
) -> pd.DataFrame:
    """:func:`grid_null` on ``n_sizes`` evenly spaced sizes (the shape of the null's tail by curve length)."""
    if n_sizes < 3:
        raise ValueError(f"need n_sizes >= 3, got {n_sizes}")
    return grid_null(np.logspace(0, 1, n_sizes), n_series, noise_to_rise, rng, floor)


def null_quantile_error(n_series: int, quantile: float = 0.99) -> float:
    """Standard error, in probability, of the tail mass beyond an empirical ``quantile`` of ``n_series`` null draws
    (binomial): how far the estimated cut may sit from the true quantile. 20,000 draws: 0.0007 at the 99th."""
    if n_series < 1 or not 0 < quantile < 1:
        raise ValueError("need n_series >= 1 and 0 < quantile < 1")
    return float(np.sqrt(quantile * (1 - quantile) / n_series))


def beyond_grid_null(
    series: pd.DataFrame,
    scores: pd.DataFrame,
    by: list[str],
    measure: str,
    noise_to_rise: float,
    *,
    x: str = "params",
    y: str = "value",
    quantile: float = 0.99,
    n_series: int = 20_000,
    floor: bool = True,
    seed: int = 0,
) -> pd.Series:
    """Per row of ``scores`` (a :func:`emergence.sharpness_table` of ``series`` grouped by ``by``): is its
    ``measure`` above the ``quantile`` of :func:`grid_null` curves simulated on *that series' own sizes*? The null
    matches each real curve's number of sizes and their spacing; series sharing a grid (up to a shift and
    stretch in log N, which no measure sees) share one simulation. Eq. 1 (``emergence_score``) is never flagged on
    fewer than four sizes: on three it cannot exceed 2, the null's tail sits at that bound, and a flag would be a coin
    flip of the simulation's seed. Returns a boolean Series on ``scores``' index."""
    missing = [c for c in [*by, x, y] if c not in series.columns] + [
        c for c in [*by, measure] if c not in scores.columns
    ]
    if missing:
        raise ValueError(f"tables lack columns {missing}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
    min_sizes = 4 if measure == "emergence_score" else 3
    grids = {}
    for key, g in series.dropna(subset=[x, y]).groupby(by, sort=True):
        xs = np.unique(g[x].to_numpy(float))
        u = np.log10(xs)
        grids[key if isinstance(key, tuple) else (key,)] = (
            xs,
            tuple(np.round((u - u[0]) / (u[-1] - u[0]), 6)) if xs.size >= min_sizes else None,
        )
    shapes = sorted({shape for _, shape in grids.values() if shape is not None})
    cuts = {}
    shape: tuple[float, ...] | None
    for i, shape in enumerate(shapes):
        null = grid_null(10.0 ** np.asarray(shape), n_series, noise_to_rise, np.random.default_rng([seed, i]), floor)
        cuts[shape] = float(null[measure].quantile(quantile, interpolation="higher"))
    out = []
    for key, value in zip(scores[by].itertuples(index=False, name=None), scores[measure]):
        if key not in grids:
            raise ValueError(f"series {key} of the scores is not in the raw table")
        shape = grids[key][1]
        out.append(shape is not None and bool(value > cuts[shape]))
    return pd.Series(out, index=scores.index, name=f"beyond grid null ({measure})")


def paired_metric_contrast(
    flags: pd.DataFrame, pair_by: list[str], flag: str, a: str, b: str, metric: str = "metric"
) -> dict[str, float]:
    """Same generations scored by metrics ``a`` and ``b``: over the pairs of series (``pair_by`` keys) scored by
    both, how many are flagged (``flag``, e.g. sharper than a null) under ``a`` only and under ``b`` only, and an
    exact one-sided McNemar test (binomial on the discordant pairs) that ``a`` is flagged more often."""
    from scipy import stats

    missing = [c for c in [*pair_by, flag, metric] if c not in flags.columns]
    if missing:
        raise ValueError(f"flags lack columns {missing}")
    wide = (
        flags[flags[metric].isin([a, b])]
        .pivot_table(index=pair_by, columns=metric, values=flag, aggfunc="max")
        .dropna()
    )
    if a not in wide.columns or b not in wide.columns or wide.empty:
        raise ValueError(f"no series scored by both {a!r} and {b!r}")
    fa, fb = wide[a].astype(bool), wide[b].astype(bool)
    a_only, b_only = int((fa & ~fb).sum()), int((fb & ~fa).sum())
    p = stats.binomtest(a_only, a_only + b_only, 0.5, alternative="greater").pvalue if a_only + b_only else 1.0
    return {
        "pairs": len(wide),
        "a": int(fa.sum()),
        "b": int(fb.sum()),
        "a_only": a_only,
        "b_only": b_only,
        "p": float(p),
    }


def flagged_more_often(contrast: dict[str, float], alpha: float = 0.05) -> bool:
    """Claim check: the first metric of :func:`paired_metric_contrast` is flagged on more pairs than the second,
    significantly (McNemar exact p < ``alpha``); a lead of one or two series is not evidence."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    return contrast["a_only"] > contrast["b_only"] and contrast["p"] < alpha


def noise_to_rise(
    series: pd.DataFrame, by: list[str], x: str = "params", y: str = "value", min_sizes: int = 4
) -> pd.Series:
    """Per series with at least ``min_sizes`` sizes: the residual sd of a straight-line fit of ``y`` on log10 ``x``
    over the absolute net rise (last minus first point). An upper bound on measurement noise relative to the
    trend, since any curvature counts as noise; series with no net change are skipped."""
    missing = [c for c in [*by, x, y] if c not in series.columns]
    if missing:
        raise ValueError(f"series lacks columns {missing}")
    out = {}
    for key, g in series.dropna(subset=[x, y]).groupby(by, sort=True):
        g = cast(pd.DataFrame, g.groupby(x, as_index=False)[y].mean()).sort_values(x)  # as_index=False: a frame
        if len(g) < min_sizes or not (g[x] > 0).all():
            continue
        u, v = np.log10(g[x].to_numpy(float)), g[y].to_numpy(float)
        rise = abs(v[-1] - v[0])
        if rise == 0:
            continue
        resid = v - np.polyval(np.polyfit(u, v, 1), u)
        out[key] = float(np.sqrt((resid**2).sum() / (len(v) - 2)) / rise)
    return pd.Series(out, dtype=float, name="noise_to_rise")


def metric_enrichment(
    annotated: pd.Series, others: pd.Series, metrics: set[str], extra_hits: int = 0, extra_misses: int = 0
) -> dict[str, float]:
    """One-sided Fisher exact test: are ``metrics`` more common among annotated emergent entries than among tasks
    that are not annotated (disjoint groups)? ``extra_hits`` and ``extra_misses`` add entries with and without one
    of ``metrics`` to the annotated group (a sensitivity analysis for entries whose metric is unknown: split them
    into hits and misses, never add only the hits)."""
    from scipy import stats

    if annotated.empty or others.empty:
        raise ValueError("both groups need at least one entry")
    if extra_hits < 0 or extra_misses < 0:
        raise ValueError("extra_hits and extra_misses must be >= 0")
    k1 = int(annotated.isin(metrics).sum()) + extra_hits
    n1 = len(annotated) + extra_hits + extra_misses
    k2, n2 = int(others.isin(metrics).sum()), len(others)
    # fisher_exact takes any 2x2 array-like; scipy-stubs ask for an array
    odds, p = stats.fisher_exact(cast("NDArray[np.int64]", [[k1, n1 - k1], [k2, n2 - k2]]), alternative="greater")
    return {"annotated_share": k1 / n1, "other_share": k2 / n2, "odds_ratio": float(odds), "p": float(p)}


def significantly_enriched(enrichment: dict[str, float], alpha: float = 0.05) -> bool:
    """Claim check on :func:`metric_enrichment`: the metrics are more common among annotated entries, at level
    ``alpha``."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    return enrichment["annotated_share"] > enrichment["other_share"] and enrichment["p"] < alpha


LU_KEYS = ["task", "family", "prompt_type", "shots", "metric"]
RUAN_KEYS = ["task", "metric", "family"]


@dataclass(frozen=True)
class PublishedSeries:
    """The published tables scored for sharpness (Chapter 3 and its robustness page share them).

    ``lu`` and ``ruan``: the raw long tables; ``lu_es``: Lu et al.'s series with at least three sizes (LLaMA);
    ``ruan_es``: Ruan et al.'s series with at least three sizes, keyed by x axis ("params", "flops");
    ``noise_lu`` and ``noise_ruan``: the median noise-to-rise of each table (:func:`noise_to_rise`, rounded to
    0.01), the noise of its smooth-trend null."""

    lu: pd.DataFrame
    lu_es: pd.DataFrame
    ruan: pd.DataFrame
    ruan_es: dict[str, pd.DataFrame]
    noise_lu: float
    noise_ruan: float

    def flag(self, source: str, measure: str, noise_x: float = 1.0, quantile: float = 0.99) -> pd.Series:
        """:func:`beyond_grid_null` for ``source`` ("lu", "ruan" or "ruan_flops") at ``noise_x`` times its
        table's noise and the given ``quantile`` (seed 11); a boolean Series on that source's scores."""
        if source == "lu":
            raw, es, keys, noise, x = self.lu, self.lu_es, LU_KEYS, self.noise_lu, "params"
        elif source in ("ruan", "ruan_flops"):
            x = "flops" if source == "ruan_flops" else "params"
            raw, es, keys, noise = self.ruan, self.ruan_es[x], RUAN_KEYS, self.noise_ruan
        else:
            raise ValueError(f"source must be 'lu', 'ruan' or 'ruan_flops', got {source!r}")
        return beyond_grid_null(raw, es, keys, measure, noise * noise_x, x=x, quantile=quantile, seed=11)


def published_series() -> PublishedSeries:
    """Lu et al.'s and Ruan et al.'s tables with every series of at least three sizes scored by
    :func:`emergence.sharpness_table` (edit distance read as lower-is-better) and each table's null noise."""
    from .emergence import sharpness_table

    lu = lu_scores()
    lu_es = pd.concat(
        [
            sharpness_table(
                lu[lu["metric"] == m], LU_KEYS, x="params", y="value", higher_is_better=(m != "edit distance")
            )
            for m in lu["metric"].unique()
        ],
        ignore_index=True,
    )
    ruan = ruan_scores()
    ruan_es = {}
    for xcol in ("params", "flops"):
        es = sharpness_table(ruan.dropna(subset=[xcol]), RUAN_KEYS, x=xcol, y="value")
        ruan_es[xcol] = es[es["n_points"] >= 3].reset_index(drop=True)
    return PublishedSeries(
        lu=lu,
        lu_es=lu_es[lu_es["n_points"] >= 3].reset_index(drop=True),
        ruan=ruan,
        ruan_es=ruan_es,
        noise_lu=round(float(noise_to_rise(lu, LU_KEYS, min_sizes=3).median()), 2),
        noise_ruan=round(float(noise_to_rise(ruan, RUAN_KEYS).median()), 2),
    )


def one_bigg_family(results: pd.DataFrame, family: str = "BIG-G T=0") -> pd.DataFrame:
    """The rows of one BIG-G model family (the paper's LaMDA analysis used one); BIG-G T=0, T=1 and sparse models
    are different families and must not be mixed into one scaling curve."""
    if "model_family" not in results.columns:
        raise ValueError("results lack a model_family column")
    out = results[results["model_family"] == family]
    if out.empty:
        raise ValueError(f"no rows for family {family!r}; present: {sorted(results['model_family'].unique())}")
    return out


def bigg_sharpness(results: pd.DataFrame, family: str = "BIG-G T=0") -> pd.DataFrame:
    """The paper's LaMDA path on BIG-bench's results files: one BIG-G family (:func:`one_bigg_family`), one curve
    per task x subtask x shots x metric over non-embedding parameters, scored by every sharpness measure with its
    window (:func:`emergence.sharpness_table`), each metric oriented so that up is better."""
    from .emergence import sharpness_table

    one = one_bigg_family(results, family)
    keys = ["task", "subtask", "shots", "metric"]
    tables = [
        sharpness_table(g, keys, x="non_embedding_params", y="value", higher_is_better=metric not in LOWER_IS_BETTER)
        for metric, g in one.groupby("metric", sort=True)
    ]
    return pd.concat(tables, ignore_index=True)


def lu_mirage_tests(
    family: str = "LLaMA",
    continuous: str = "edit distance",
    *,
    scores: pd.DataFrame | None = None,
    tolerance: float = 0.1,
    onset_rise: float = 0.05,
    min_effect_share: float | None = 0.05,
    monotone: bool = True,
) -> pd.DataFrame:
    """The mirage test (:func:`mirage_utils.diagnosis.diagnose`) on every task x prompt x shots series of one of Lu et
    al.'s families (``scores``: :func:`lu_scores` or a table like it), exact match against a continuous metric.

    Per-example scores are not published, so both curves are the mean over seeds with a Student-t interval over the
    per-seed values (seeds are the unit; never n_examples x seeds pooled trials). That interval is the spread between
    evaluation seeds on one fixed set of examples: it leaves out the sampling of the examples themselves, so a rise
    it resolves can still be within test-set noise. ``onset_rise`` (exact-match units) therefore asks the onset for a
    real gain, and ``min_effect_share`` asks the continuous metric's total improvement to close at least that share
    of the smallest model's distance to a perfect score (0 edit distance, 1 for other metrics); None skips it.
    """
    from .diagnosis import diagnose, mean_curve

    lu = lu_scores() if scores is None else scores
    absent = {"family", "task", "prompt_type", "shots", "params", "seed", "metric", "value"} - set(lu.columns)
    if absent:
        raise ValueError(f"scores lack columns {sorted(absent)}")
    if min_effect_share is not None and not 0 <= min_effect_share < 1:
        raise ValueError("min_effect_share must be in [0, 1), or None")
    lu = lu[lu["family"] == family]
    if lu.empty:
        raise ValueError(f"no runs for family {family!r}")
    if continuous not in set(lu["metric"]) or continuous == "exact match":
        raise ValueError(f"unknown metric {continuous!r}")
    higher_is_better = continuous != "edit distance"
    rows = []
    for (task, prompt, shots), g in lu.groupby(["task", "prompt_type", "shots"]):
        em, cont = g[g["metric"] == "exact match"], g[g["metric"] == continuous]
        sizes = sorted(em["params"].unique())
        seeds = em.groupby("params")["seed"].nunique()
        if len(sizes) < 2 or sorted(cont["params"].unique()) != sizes or seeds.min() < 2:
            continue
        disc = mean_curve([em.loc[em["params"] == p, "value"].to_numpy() for p in sizes])
        cont_curve = mean_curve([cont.loc[cont["params"] == p, "value"].to_numpy() for p in sizes], higher_is_better)
        headroom = abs((1.0 if higher_is_better else 0.0) - cont_curve.mean[0])
        min_effect = None if min_effect_share is None else min_effect_share * headroom
        d = diagnose(disc, cont_curve, tolerance, onset_rise=onset_rise, min_effect=min_effect, monotone=monotone)
        total = d.total if d.total > 0 else float("nan")
        rows.append(
            {
                "task": task,
                "prompt": prompt,
                "shots": shots,
                "seeds": int(seeds.min()),
                "exact match": np.round(disc.mean, 3).tolist(),
                continuous: np.round(cont_curve.mean, 3).tolist(),
                "verdict": d.verdict,
                "onset (params)": sizes[d.onset] if d.onset is not None else np.nan,
                "gain share of headroom": d.total / headroom if headroom > 0 else np.nan,
                "precursor share": d.fraction,
                "against share": d.reversal / total,
                "reason": d.reason,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "task",
            "prompt",
            "shots",
            "seeds",
            "exact match",
            continuous,
            "verdict",
            "onset (params)",
            "gain share of headroom",
            "precursor share",
            "against share",
            "reason",
        ],
    )
