"""Apply the book's tests to a reader's model family: metrics per model, chance and resolution, both sharpness
measures with their window, and the mirage test (:func:`mirage_utils.diagnosis.diagnose`) with its intervals.

Everything is computed by the book's own modules (metrics, resolution, emergence, diagnosis); this module only
arranges them for one table and says in plain words what the numbers support.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .. import diagnosis, emergence, metrics, resolution
from ..arithmetic.task import chance_exact_match
from ..bigbench import LOWER_IS_BETTER as BIGBENCH_LOWER_IS_BETTER
from .schema import DISCRETE_NAMES, LAYOUTS, Validated, base_name, validate

# name -> (kind, higher is better, label). Discrete metrics are 0/1 per example; continuous ones give credit.
METRICS: dict[str, tuple[str, bool, str]] = {
    "exact_match": ("discrete", True, "exact match"),
    "token_edit_distance": ("continuous", False, "token edit distance (characters)"),
    "token_probability": ("continuous", True, "per-token probability of the target"),
    "multiple_choice_grade": ("discrete", True, "multiple choice grade"),
    "brier_score": ("continuous", False, "Brier score (BIG-bench convention)"),
}
LOWER_IS_BETTER_NAMES = {
    "token_edit_distance",
    "brier_score",
    "edit_distance",
    "perplexity",
    "ppl",
    "word_perplexity",
    "byte_perplexity",
    "bits_per_byte",
    "loss",
    "wer",
    "cer",
} | BIGBENCH_LOWER_IS_BETTER
# display ranges of per-model values: intervals are clipped to them in the table (a rate is never negative)
RANGES: dict[str, tuple[float, float]] = {
    "exact_match": (0.0, 1.0),
    "multiple_choice_grade": (0.0, 1.0),
    "token_probability": (0.0, 1.0),
    "brier_score": (0.0, 2.0),
    "token_edit_distance": (0.0, float("inf")),
}


def is_discrete(metric: object) -> bool:
    return base_name(metric) in DISCRETE_NAMES


def higher_is_better(metric: object) -> bool:
    return base_name(metric) not in LOWER_IS_BETTER_NAMES


def _chance(targets: pd.Series) -> float | None:
    """Exact match of a uniform guess with as many digits as each target, when every target is a number."""
    text = targets.astype(str).str.strip()
    if not text.str.fullmatch(r"\d+").all():
        return None
    return float(np.mean(chance_exact_match(np.asarray(text.str.len(), dtype=np.int64))))


def per_example(v: Validated) -> pd.DataFrame:
    """One row per model x (seed x) example with every applicable metric's per-example value."""
    df = v.frame
    keys = ["model", v.scale, *(["seed"] if "seed" in df.columns else []), "example_id"]
    out = df[keys].copy()
    if v.layout == "generations":
        target, output = df["target"], df["output"]  # stripped by validate() (normalise.canonical_text)
        out["exact_match"] = (target.to_numpy() == output.to_numpy()).astype(float)
        out["token_edit_distance"] = metrics.token_edit_distances(list(target), list(output)).astype(float)
        if "token_logprobs" in df.columns:
            out["token_probability"] = df["token_logprobs"].map(lambda lp: math.exp(float(np.mean(lp))))
        elif "token_probability" in df.columns:
            out["token_probability"] = df["token_probability"]
    else:
        mcg = np.empty(len(df))
        brier = np.empty(len(df))
        chance = np.empty(len(df))
        n_options = df["option_logprobs"].map(len).to_numpy()
        for k in np.unique(n_options):
            rows = np.flatnonzero(n_options == k)
            lp = np.array(df["option_logprobs"].iloc[rows].tolist(), dtype=float)
            probs = metrics.normalise_log_probs(lp)
            idx = df["correct_option"].iloc[rows].to_numpy()
            mcg[rows] = metrics.multiple_choice_grade(probs, idx, per_example=True)
            brier[rows] = metrics.brier_score(probs, idx, per_example=True)
            chance[rows] = 1.0 / k
        out["multiple_choice_grade"], out["brier_score"], out["chance"] = mcg, brier, chance
    return out


def _curve(
    values: list[NDArray[np.float64]], discrete: bool, higher: bool, seeds: bool, confidence: float
) -> diagnosis.Curve:
    """Seeds as the unit when every model has >= 2 seeds; else Wilson (0/1 metrics) or a bootstrap over examples."""
    if seeds:
        return diagnosis.mean_curve(values, higher, confidence)
    if discrete:
        return diagnosis.binary_curve(values, confidence)
    return diagnosis.bootstrap_curve(values, higher, confidence)


def _finite(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _diagnosis_dict(d: diagnosis.Diagnosis) -> dict[str, Any]:
    """A :class:`diagnosis.Diagnosis` as JSON-ready fields (NaN and infinities as None)."""
    return {k: (_finite(val) if isinstance(val, float) else val) for k, val in d.__dict__.items()}


def _sharpness(x: NDArray[np.float64], y: NDArray[np.float64], higher: bool) -> dict[str, Any]:
    window = {
        "smallest": float(x.min()),
        "largest": float(x.max()),
        "sizes": int(x.size),
        "decades": float(np.log10(x.max() / x.min())),
    }
    if x.size < emergence.MIN_POINTS:
        return {"window": window, "note": f"fewer than {emergence.MIN_POINTS} sizes: sharpness is undefined"}
    # what steady growth scores on these sizes: Eq. 1 of a line depends on the spacing (k - 1 only when even)
    window["straight line, emergence_score"] = float(emergence.sharpness(x, np.log10(x), "emergence_score"))
    out: dict[str, Any] = {"window": window}
    for measure in ("emergence_score", "steepest_rise_ratio"):
        out[measure] = _finite(emergence.sharpness(x, y, measure, higher))
    return out


def analyse(v: Validated, confidence: float = 0.95) -> dict[str, Any]:
    """Every number of the report for a validated table (see :func:`check`)."""
    if v.layout == "aggregates":
        from .aggregates import section

        return section(v, confidence)
    ex = per_example(v)
    has_seeds = "seed" in ex.columns and bool((ex.groupby("model")["seed"].nunique() >= 2).all())
    scale_of = ex.groupby("model")[v.scale].first().sort_values()
    models = list(scale_of.index)
    x = scale_of.to_numpy(dtype=float)
    names = [m for m in METRICS if m in ex.columns]
    by_model = dict(tuple(ex.groupby("model")))
    rows = []
    curves: dict[str, diagnosis.Curve] = {}
    for name in names:
        kind, higher, _ = METRICS[name]
        if has_seeds:
            values = [by_model[m].groupby("seed")[name].mean().to_numpy(dtype=float) for m in models]
        else:
            values = [by_model[m][name].to_numpy(dtype=float) for m in models]
        curves[name] = _curve(values, kind == "discrete", higher, has_seeds, confidence)
    for i, m in enumerate(models):
        sub = by_model[m]
        n = int(sub["example_id"].nunique())
        row: dict[str, Any] = {
            "model": m,
            v.scale: float(x[i]),
            "examples": n,
            "seeds": int(sub["seed"].nunique()) if "seed" in sub.columns else 1,
            "resolvable accuracy (median reading > 0 above)": resolution.median_zero_threshold(n),
        }
        if v.layout == "generations":
            row["chance (uniform guess)"] = _chance(v.frame.loc[v.frame["model"] == m, "target"])
        else:
            row["chance (uniform guess)"] = float(sub["chance"].mean())
        for name in names:
            c = curves[name]
            row[name] = float(c.mean[i])
            low, high = RANGES.get(name, (-np.inf, np.inf))
            row[f"{name} lo"], row[f"{name} hi"] = (
                float(np.clip(c.lo[i], low, high)),
                float(np.clip(c.hi[i], low, high)),
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    sharp = {name: _sharpness(x, curves[name].mean, METRICS[name][1]) for name in names}
    discrete = "exact_match" if "exact_match" in names else "multiple_choice_grade"
    continuous = [n for n in names if METRICS[n][0] == "continuous"]
    diag: dict[str, Any] = {}
    for cont in continuous:
        d = diagnosis.diagnose(curves[discrete], curves[cont])
        diag[cont] = _diagnosis_dict(d)
        diag[cont]["onset model"] = models[d.onset] if d.onset is not None else None
    result = {
        "layout": v.layout,
        "scale": v.scale,
        "excluded": v.excluded,
        "rows scored": int(len(ex)),
        "models": models,
        "uncertainty": (
            "seeds as the unit (t interval over seeds)"
            if has_seeds
            else "Wilson interval (0/1 metrics) or bootstrap over examples"
        ),
        "confidence": confidence,
        "table": table.to_dict(orient="records"),
        "metrics": {
            n: {"kind": METRICS[n][0], "higher is better": METRICS[n][1], "label": METRICS[n][2]} for n in names
        },
        "sharpness": sharp,
        "diagnosis": {"discrete": discrete, "by continuous metric": diag},
    }
    result["summary"] = summarise(result)
    return result


def _size_of(result: dict[str, Any], model: str) -> float:
    scale = result["scale"]
    return float(next(r[scale] for r in result["table"] if r["model"] == model))


def summarise(result: dict[str, Any]) -> list[str]:
    """Plain-language sentences: what the numbers support and what they cannot."""
    out = []
    models = result["models"]
    out.append(
        f"{len(models)} models, from {models[0]} to {models[-1]} ({result['scale']} "
        f"{_size_of(result, models[0]):,.3g} to {_size_of(result, models[-1]):,.3g}); uncertainty: "
        f"{result['uncertainty']}, {result.get('confidence', 0.95):.0%} intervals."
    )
    if result["excluded"]:
        out.append(
            "Excluded or changed before scoring: " + "; ".join(f"{k}: {v}" for k, v in result["excluded"].items()) + "."
        )
    if len(models) < emergence.MIN_POINTS:
        out.append(
            "With fewer than three models no sharpness can be measured: nothing here can show or refute an "
            "emergent ability."
        )
    elif len(models) < 5:
        out.append(
            f"With {len(models)} sizes at most {len(models) - 2} can sit before an onset, so a flat phase followed by "
            "a jump cannot be told from a steady rise; both sharpness measures rest on "
            f"{len(models) - 1} steps."
        )
    for name, s in result["sharpness"].items():
        label = result.get("metrics", {}).get(name, {}).get("label", name)
        if "steepest_rise_ratio" in s:
            es = (
                "infinite (over half the steps flat)" if s["emergence_score"] is None else f"{s['emergence_score']:.2f}"
            )
            ratio = "undefined (no net rise)" if s["steepest_rise_ratio"] is None else f"{s['steepest_rise_ratio']:.2f}"
            out.append(
                f"{label}: Eq. 1 {es}, steepest-rise ratio {ratio}, over {s['window']['decades']:.2f} decades "
                f"({s['window']['sizes']} sizes); a straight line in log scale scores "
                f"{s['window']['straight line, emergence_score']:.2f} by Eq. 1 on these sizes and 1 by the ratio."
            )
    for cont, d in result["diagnosis"]["by continuous metric"].items():
        out.append(f"Mirage test, {result['diagnosis']['discrete']} against {cont}: {d['verdict']} ({d['reason']}).")
    if result["diagnosis"].get("note"):
        out.append(f"Mirage test not run: {result['diagnosis']['note']}.")
    table = result["table"]
    discrete = result["diagnosis"]["discrete"]
    if table and discrete and f"{discrete} lo" in table[0]:
        unresolved = [
            r["model"]
            for r in table
            if r.get("chance (uniform guess)") is not None and r[f"{discrete} lo"] <= r["chance (uniform guess)"]
        ]
        if unresolved:
            out.append(
                f"Not resolved above a uniform guess on {discrete} (interval reaches chance): "
                f"{', '.join(unresolved)}. "
                + (
                    "The intervals are over seeds: more seeds, or a continuous metric, can tell them apart."
                    if result["uncertainty"].startswith("seeds")
                    else "More examples, or a continuous metric, can tell them apart."
                )
            )
    return out


def check(
    frame: pd.DataFrame,
    confidence: float = 0.95,
    *,
    chance: float | None = None,
    step: float | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    """Validate ``frame`` (see :mod:`mirage_utils.checking.schema`) and return every number of the report as a
    JSON-ready dict: per-model metrics with intervals and chance, sharpness by both measures with the window, the
    mirage-test verdict for each continuous metric, and a plain-language summary. An aggregate table may carry
    ``task``, ``run``, ``step``, ``shots`` and ``stderr`` columns (:mod:`mirage_utils.checking.aggregates`:
    ``chance`` sets the chance level of every rate, ``step`` the checkpoint, ``notes`` are reported as given)."""
    layouts = [name for name, cols in LAYOUTS.items() if set(cols) <= set(map(str, frame.columns))]
    if layouts == ["aggregates"]:
        from .aggregates import check_aggregates

        return check_aggregates(frame, confidence, chance=chance, step=step, notes=notes)
    return analyse(validate(frame), confidence)
