"""The aggregate layout of ``python -m mirage_utils check``: per-model scores (``metric``, ``value``, ``n``), optionally
with ``stderr``, a ``task`` column (one report section per task, and per shot count when there are several), a
``run`` or ``seed`` column (replicates of each size), and a ``step`` column (checkpoints: the last one every model has
is analysed unless another is chosen).

What each section reports, and why:

* **direction and scale**: perplexity-like metrics (:data:`LOG_SCALE_NAMES`) are lower-is-better and analysed on a
  log scale (Eq. 1 of a raw perplexity is dominated by the smallest model's huge value); a results file's own
  ``higher_is_better`` wins over the name;
* **intervals**: with two or more runs (or seeds) per size, runs are the unit (Student-t interval over the runs;
  never pooled into one binomial); each run alone, and a table without runs, gets a Wilson interval from ``n`` for
  a rate and a normal interval from the stated standard error for other metrics (on the log scale for perplexity);
* **chance**: the level a uniform guess scores on known multiple-choice tasks (:data:`CHANCE`, or ``chance=`` for
  every rate); a curve at or below it, or never resolved above it, gets a warning: its shape is noise around a
  guess, whatever its sharpness;
* **line null**: for every curve (each run alone, or the one curve), the book's smooth-trend null test
  (:func:`mirage_utils.emergence.line_null_test`): is the steepest-rise ratio larger than a straight line in
  log N, measured with the same noise, gives? A small p says sharper than steady growth;
* **mirage test** (:func:`mirage_utils.diagnosis.diagnose`) of the first discrete metric against each continuous
  one, with runs as replicates as :func:`mirage_utils.diagnosis.replicated_verdicts` reads them: the runs-as-unit
  test and each run alone; a verdict stands only when all agree ("mixed" otherwise).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from .. import diagnosis, emergence, resolution
from .schema import SchemaError, Validated, base_name, validate

LOG_SCALE_NAMES = {"ppl", "perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte", "loss"}
# rates a uniform guess over the options scores at chance (multiple-choice accuracies)
CHANCE_METRICS = {"acc", "acc_norm", "accuracy", "multiple_choice_grade", "mc1"}
# task pattern -> (chance level of a uniform guess, or None; why). First match wins. lm-eval task names.
CHANCE: tuple[tuple[str, float | None, str], ...] = (
    ("lambada*", None, "open-vocabulary next word: no guessing baseline"),
    ("arc_easy", 0.25, "4 options for most questions (a few have 3 or 5)"),
    ("arc_challenge", 0.25, "4 options for most questions (a few have 3 or 5)"),
    ("piqa", 0.5, "2 solutions"),
    ("winogrande", 0.5, "2 options"),
    (
        "wsc",
        0.5,
        "yes/no (SuperGLUE); 66 of the 104 validation examples are one class, so always answering one way "
        "scores 0.63 or 0.37",
    ),
    ("wsc273", 0.5, "2 candidates"),
    ("sciq", 0.25, "4 options"),
    ("logiqa*", 0.25, "4 options"),
    ("hendrycksTest-*", 0.25, "MMLU: 4 options"),
    ("mmlu*", 0.25, "MMLU: 4 options"),
    ("hellaswag", 0.25, "4 endings"),
    ("openbookqa", 0.25, "4 options"),
    ("race", 0.25, "4 options"),
    ("swag", 0.25, "4 endings"),
    ("mathqa", 0.2, "5 options"),
    ("boolq", 0.5, "yes/no"),
    ("copa", 0.5, "2 alternatives"),
    ("rte", 0.5, "2 labels"),
    ("wic", 0.5, "2 labels"),
    ("cb", 1 / 3, "3 labels"),
    ("anli_r*", 1 / 3, "3 labels"),
    ("blimp_*", 0.5, "a minimal pair: 2 sentences"),
    ("storycloze*", 0.5, "2 endings"),
    ("xstorycloze*", 0.5, "2 endings"),
)
# bias measures: neither direction is better, so no emergence analysis
DIRECTIONLESS = {"likelihood_difference", "pct_stereotype"}
SECTION_KEYS = ("task", "shots")
LINE_NULL_DRAWS = 2000  # the book default (emergence.line_null_test)
UNIT_COLUMNS = ("run", "seed")


def chance_for(task: object, metric: object) -> tuple[float | None, str]:
    """Chance level of ``metric`` on ``task`` from :data:`CHANCE` (None when unknown or not a multiple-choice rate)."""
    if base_name(metric) not in CHANCE_METRICS:
        return None, "not a multiple-choice rate"
    for pattern, level, why in CHANCE:
        if fnmatch.fnmatchcase(str(task), pattern):
            return level, why
    return None, "task not in the chance table (pass --chance)"


def is_log_scale(metric: object) -> bool:
    return base_name(metric) in LOG_SCALE_NAMES


@dataclass
class _Series:
    """One metric's values for the models (sorted by scale): per replicate (or the one series), with n and se."""

    values: NDArray[np.float64]  # models x replicates, on the analysis scale (log for perplexity)
    raw: NDArray[np.float64]
    n: NDArray[np.float64]  # models x replicates; NaN when unknown
    se: NDArray[np.float64]  # on the analysis scale; NaN when unknown
    labels: list[str]


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _stated_curve(
    y: NDArray[np.float64],
    raw: NDArray[np.float64],
    n: NDArray[np.float64],
    se: NDArray[np.float64],
    discrete: bool,
    higher: bool,
    confidence: float,
) -> tuple[diagnosis.Curve | None, str]:
    """One replicate's curve with the interval its numbers allow: Wilson from n for a rate, normal from se."""
    if discrete and np.all(np.isfinite(n)) and np.all((raw >= 0) & (raw <= 1)):
        k = np.round(raw * n)
        lo, hi = resolution.binomial_ci(k, n, confidence)
        return diagnosis.Curve(k / n, lo, hi, higher), "Wilson interval from n"
    if np.all(np.isfinite(se)) and np.all(se >= 0):
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        return diagnosis.Curve(y, y - z * se, y + z * se, higher), "normal interval from the stated standard error"
    return None, "no n (rates) or standard error"


def _line_null(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    raw: NDArray[np.float64],
    n: NDArray[np.float64],
    se: NDArray[np.float64],
    discrete: bool,
    higher: bool,
) -> dict[str, Any]:
    """The line-null test of one curve: binomial noise on n for a rate with one n, else Gaussian with se."""
    try:
        if discrete and np.all(np.isfinite(n)) and np.unique(n).size == 1 and np.all((raw >= 0) & (raw <= 1)):
            test = emergence.line_null_test(x, raw, n_items=float(n[0]), n_draws=LINE_NULL_DRAWS)
            noise = f"binomial on n = {int(n[0])}"
        elif discrete and np.all(np.isfinite(n)):
            sd = np.sqrt(np.clip(raw * (1 - raw), 1e-12, None) / n)
            test = emergence.line_null_test(x, raw, se=sd, n_draws=LINE_NULL_DRAWS)
            noise = "normal with the binomial standard error of each n"
        elif np.all(np.isfinite(se)):
            test = emergence.line_null_test(x, y, se=se, higher_is_better=higher, n_draws=LINE_NULL_DRAWS)
            noise = "normal with the stated standard errors"
        else:
            return {"p": None, "note": "no n or standard error: no noise to draw"}
    except ValueError as exc:
        return {"p": None, "note": str(exc)}
    return {
        "p": float(test.p_value),
        "steepest_rise_ratio": _finite(test.observed),
        "null median": _finite(test.null_median),
        "null 99th percentile": _finite(test.null_extreme),
        "draws": test.n_draws,
        "noise": noise,
    }


def _sharpness(x: NDArray[np.float64], y: NDArray[np.float64], higher: bool) -> dict[str, Any]:
    from .analyse import _sharpness as sharp

    return sharp(x, y, higher)


def _series(g: pd.DataFrame, models: list[str], unit: str | None, log: bool) -> _Series | None:
    """The metric's table as models x replicates (replicates every model has; None when none is shared)."""
    g = g.assign(_rep=g[unit].astype(str) if unit is not None else "all", stderr=g.get("stderr", np.nan))
    wide = g.set_index(["model", "_rep"])[["value", "_n", "stderr"]].astype(float).unstack("_rep")
    wide = wide.reindex(models)
    present = np.asarray(wide["value"].notna().all(axis=0), dtype=bool)
    labels = [str(c) for c in wide["value"].columns[present]]
    if not labels:
        return None
    raw, n, se = (wide[c][labels].to_numpy(dtype=float) for c in ("value", "_n", "stderr"))
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _Series(np.log(raw), raw, n, se / raw, labels)
    return _Series(raw.copy(), raw, n, se, labels)


def section(
    v: Validated,
    confidence: float = 0.95,
    chance: float | None = None,
    task: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """Every number of one section (one task) of a validated aggregate table; ``unit`` names the replicate column
    ("run" or "seed", renamed to "seed" by validation) when the table has one."""
    from .analyse import summarise

    df = v.frame
    if "_n" not in df.columns:
        df = df.assign(_n=df["n"].astype(float))
    rep = "seed" if "seed" in df.columns else None
    unit_name = unit or "seed"
    has_reps = rep is not None and bool((df.groupby(["model", "metric"])[rep].nunique() >= 2).all())
    scale_of = df.groupby("model")[v.scale].first().sort_values()
    models, x = list(scale_of.index), scale_of.to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []
    run_rows: list[dict[str, Any]] = []
    sharp: dict[str, Any] = {}
    line_null: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    warnings: list[str] = []
    unit_curves: dict[str, diagnosis.Curve] = {}
    rep_curves: dict[str, dict[str, diagnosis.Curve]] = {}
    for metric, g in df.groupby("metric", sort=True):
        metric = str(metric)
        given = list(g["higher_is_better"].dropna().unique()) if "higher_is_better" in g.columns else []
        higher = bool(given[0]) if len(given) == 1 else _higher(metric)
        log = is_log_scale(metric) and bool((g["value"] > 0).all())
        discrete = _is_discrete(metric) and not log
        level, why = (chance, "given") if chance is not None and base_name(metric) in CHANCE_METRICS else (None, "")
        if level is None and task is not None:
            level, why = chance_for(task, metric)
        s = _series(g, models, rep, log)
        if s is None:
            continue
        y_mean = s.values.mean(axis=1)
        metrics[metric] = {
            "higher is better": higher,
            "scale": "log" if log else "linear",
            "kind": "discrete" if discrete else "continuous",
            "chance": level,
            "chance basis": why or None,
            "label": f"{metric} (log scale, lower is better)" if log else metric,
        }
        curves: dict[str, diagnosis.Curve] = {}
        kinds: dict[str, str] = {}
        for j, label in enumerate(s.labels):
            c, kind = _stated_curve(s.values[:, j], s.raw[:, j], s.n[:, j], s.se[:, j], discrete, higher, confidence)
            kinds[label] = kind
            if c is not None:
                curves[label] = c
            line_null.setdefault(metric, {})[label] = _line_null(
                x, s.values[:, j], s.raw[:, j], s.n[:, j], s.se[:, j], discrete, higher
            )
        if has_reps:
            primary: diagnosis.Curve | None = diagnosis.mean_curve(list(s.values), higher, confidence)
        else:
            primary = curves.get("all")
        if primary is not None:
            unit_curves[metric] = primary
        rep_curves[metric] = curves if has_reps else {}
        sharp[metric] = _sharpness(x, y_mean, higher)
        back = np.exp if log else (lambda a: a)
        for i, m in enumerate(models):
            n_known = s.n[i][np.isfinite(s.n[i])]
            rows.append(
                {
                    "model": m,
                    v.scale: float(x[i]),
                    "metric": metric,
                    "value": float(back(y_mean[i])),
                    "lo": _finite(float(back(primary.lo[i]))) if primary is not None else None,
                    "hi": _finite(float(back(primary.hi[i]))) if primary is not None else None,
                    "examples": int(n_known[0]) if n_known.size else None,
                    f"{unit_name}s": len(s.labels) if rep is not None else 1,
                    "chance": level,
                }
            )
            if rep is not None:
                for j, label in enumerate(s.labels):
                    c = curves.get(label)
                    run_rows.append(
                        {
                            "model": m,
                            v.scale: float(x[i]),
                            "metric": metric,
                            unit_name: label,
                            "value": float(s.raw[i, j]),
                            "lo": _finite(float(back(c.lo[i]))) if c is not None else None,
                            "hi": _finite(float(back(c.hi[i]))) if c is not None else None,
                        }
                    )
        if level is not None and discrete:
            warnings += _chance_warnings(metric, level, s, primary, models, unit_name if rep else None)
    discrete_name = next((m for m in unit_curves if metrics[m]["kind"] == "discrete"), None)
    diag: dict[str, Any] = {}
    note = None
    if discrete_name is None:
        note = "no discrete metric (exact match, accuracy, multiple choice grade) with intervals"
    elif not any(m["kind"] == "continuous" for m in metrics.values()):
        note = (
            "no continuous metric here (only rates): the mirage test needs one beside the rate (a perplexity, a "
            "log-likelihood, or per-example outputs)"
        )
    else:
        for cont in (m for m in unit_curves if metrics[m]["kind"] == "continuous"):
            diag[cont] = _mirage(unit_curves, rep_curves, discrete_name, cont, x, models, has_reps, unit_name)
        if not diag:
            note = (
                "the mirage test needs an interval on the continuous metric: give seeds or runs (>= 2 per model), a "
                "stderr column, or per-example outputs"
            )
    if has_reps:
        n_reps = int(df.groupby("model")[rep].nunique().min())  # type: ignore[index]
        uncertainty = (
            f"{unit_name}s as the unit (t interval over {n_reps} {unit_name}s per size); each {unit_name} alone: "
            "Wilson interval from n (rates) or the stated standard error"
        )
    else:
        uncertainty = "Wilson interval from n (rates) or the stated standard error (other metrics)"
    result: dict[str, Any] = {
        "layout": "aggregates",
        "task": task,
        "scale": v.scale,
        "excluded": v.excluded,
        "rows scored": int(len(df)),
        "models": models,
        "uncertainty": uncertainty,
        "confidence": confidence,
        "table": rows,
        f"{unit_name} table": run_rows,
        "metrics": metrics,
        "sharpness": sharp,
        "line null": line_null,
        "warnings": warnings,
        "diagnosis": {"discrete": discrete_name, "by continuous metric": diag, "note": note},
    }
    warned = {w.split(":")[0] for w in warnings}
    result["summary"] = [_flag(line, metrics, warned) for line in summarise(result)] + _extra_summary(result)
    return result


def _flag(line: str, metrics: dict[str, Any], warned: set[str]) -> str:
    """A sharpness sentence of a curve at or below chance says so where the number is."""
    for metric in warned:
        if line.startswith(f"{metrics[metric]['label']}: Eq. 1"):
            return line + " This curve is at or below chance: its sharpness measures noise (see the warning)."
    return line


def _higher(metric: str) -> bool:
    from .analyse import higher_is_better

    return higher_is_better(metric) and base_name(metric) not in LOG_SCALE_NAMES


def _is_discrete(metric: str) -> bool:
    from .analyse import is_discrete

    return is_discrete(metric)


def _chance_warnings(
    metric: str, level: float, s: _Series, primary: diagnosis.Curve | None, models: list[str], unit: str | None
) -> list[str]:
    """A curve at or below chance, or never resolved above it: its shape is noise around a guess."""
    out = []
    best = float(s.raw.max())
    if best <= level:
        out.append(
            f"{metric}: every model{' and ' + unit if unit else ''} scores at or below chance ({level:.3g}; best "
            f"{best:.3g}): the curve is noise around a guess, and its sharpness says nothing about an ability"
        )
    elif primary is not None and not bool(np.any(primary.lo > level)):
        out.append(
            f"{metric}: no model is resolved above chance ({level:.3g}; best {best:.3g}, every interval reaches "
            "chance): read its sharpness as noise"
        )
    return out


def _mirage(
    unit_curves: dict[str, diagnosis.Curve],
    rep_curves: dict[str, dict[str, diagnosis.Curve]],
    discrete: str,
    cont: str,
    x: NDArray[np.float64],
    models: list[str],
    has_reps: bool,
    unit: str,
) -> dict[str, Any]:
    """The mirage test of ``discrete`` against ``cont``; with replicates, the runs-as-unit test and each run alone,
    and the verdict they agree on ("mixed" when they do not)."""
    d = diagnosis.diagnose(unit_curves[discrete], unit_curves[cont])
    out = diagnosis_fields(d)
    out["onset model"] = models[d.onset] if d.onset is not None else None
    if not has_reps:
        return out
    ones = np.ones(len(models), dtype=np.int64)
    reps = [diagnosis.Replicate(f"{unit}s", x, ones, unit_curves[discrete], unit_curves[cont])]
    for label in sorted(set(rep_curves[discrete]) & set(rep_curves[cont])):
        reps.append(
            diagnosis.Replicate(f"{unit} {label}", x, ones, rep_curves[discrete][label], rep_curves[cont][label])
        )
    table = diagnosis.replicate_table({cont: reps})
    agreed = str(diagnosis.replicated_verdicts(table).iloc[0])
    out[f"{unit}s-as-unit verdict"] = d.verdict
    out["replicates"] = [
        {
            "replicate": str(r["replicate"]),
            "verdict": str(r["verdict"]),
            "precursor share": _finite(r["precursor share"]),
        }
        for r in table.to_dict(orient="records")
    ]
    if agreed == "mixed":
        out["verdict"] = agreed
        out["reason"] = "the replicates disagree: " + ", ".join(
            f"{r['replicate']}: {r['verdict']}" for r in out["replicates"]
        )
    return out


def diagnosis_fields(d: diagnosis.Diagnosis) -> dict[str, Any]:
    return {k: (_finite(val) if isinstance(val, float) else val) for k, val in d.__dict__.items()}


def _extra_summary(result: dict[str, Any]) -> list[str]:
    out = []
    for metric, by in result["line null"].items():
        parts = [
            (f"{label} p = {t['p']:.3g}" if t.get("p") is not None else f"{label}: {t.get('note')}")
            for label, t in by.items()
        ]
        out.append(
            f"{metric}: line-null test (is the steepest-rise ratio larger than a straight line in log scale, "
            f"measured with the same noise, gives?): {'; '.join(parts)}."
        )
    out += [f"Warning: {w}." for w in result["warnings"]]
    return out


def _select_step(df: pd.DataFrame, step: float | None) -> tuple[pd.DataFrame, str | None]:
    """Rows of one checkpoint: ``step``, or the last one every model (and run) has."""
    if "step" not in df.columns:
        return df, None
    steps = pd.to_numeric(df["step"], errors="coerce")
    if steps.isna().all():
        if step is not None:
            raise SchemaError("--step given but the table names no checkpoints")
        return df.drop(columns="step"), None
    if steps.isna().any() and step is None:
        raise SchemaError(
            f"column 'step', row {df.index[steps.isna()][0]}: no step where other rows have one (a results file "
            "without revision=stepN beside checkpoints); choose a checkpoint with --step, or give one per model"
        )
    keys = [k for k in ("model", "seed") if k in df.columns]
    have = [set(g) for _, g in steps.groupby([df[k] for k in keys])]
    if step is None:
        common = set.intersection(*have)
        if not common:
            raise SchemaError("no checkpoint (step) is shared by every model: choose one with --step")
        chosen, why = max(common), "the last one every model has"
    else:
        chosen, why = float(step), "chosen"
        if chosen not in set(steps):
            raise SchemaError(f"no scores at step {step:g}; steps present: {sorted(set(steps))[:8]} ...")
    others = len(set(steps)) - 1
    kept = df[steps == chosen].drop(columns="step")
    left = f" ({others} other checkpoints left out; choose one with --step)" if others else ""
    return kept, f"checkpoint: step {chosen:g}, {why}{left}"


def _prepare(frame: pd.DataFrame, step: float | None) -> tuple[pd.DataFrame, str | None, list[str]]:
    """Replicate column renamed to ``seed`` for validation, one checkpoint, directionless metrics dropped, unknown
    n kept as NaN in ``_n`` (allowed only where a ``stderr`` column can carry the uncertainty)."""
    units = [c for c in UNIT_COLUMNS if c in frame.columns]
    if len(units) == 2:
        raise SchemaError("give replicates in a 'run' column or a 'seed' column, not both")
    unit = units[0] if units else None
    df = frame.rename(columns={"run": "seed"}) if unit == "run" else frame.copy()
    df, step_note = _select_step(df, step)
    notes = [step_note] if step_note else []
    if "metric" in df.columns:
        bias = df["metric"].map(lambda m: base_name(m) in DIRECTIONLESS)
        if bias.any():
            tasks = sorted(set(df.loc[bias, "task"])) if "task" in df.columns else []
            notes.append(
                f"{int(bias.sum())} scores of bias measures ({', '.join(sorted(set(df.loc[bias, 'metric'])))}"
                + (f"; {len(tasks)} tasks, e.g. {tasks[0]}" if tasks else "")
                + ") left out: neither direction is better, so nothing can emerge"
            )
            df = df[~bias]
    if "stderr" in df.columns:
        df["stderr"] = pd.to_numeric(df["stderr"], errors="coerce")
    if "n" in df.columns:
        df["_n"] = pd.to_numeric(df["n"], errors="coerce")
        if "stderr" in df.columns:
            df["n"] = df["_n"].fillna(1.0)
    return df, unit, notes


def _section_name(key: tuple[Any, ...], keys: list[str]) -> str:
    parts = dict(zip(keys, key))
    name = str(parts.get("task", "all"))
    if "shots" in parts:
        shots = parts["shots"]
        name += f" ({int(shots)}-shot)" if pd.notna(shots) and float(shots) >= 0 else " (shots unknown)"
    return name


def task_groups(df: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """One table per task (and per shot count when there are several): the task, the section's name and its rows
    without the grouping columns. The report and the forecast both go through it, so their sections match."""
    keys = ["task"] + (["shots"] if "shots" in df.columns and df["shots"].nunique(dropna=False) > 1 else [])
    df = df.assign(shots=df["shots"].fillna(-1)) if "shots" in keys else df
    for key, sub in df.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows = sub.drop(columns=[c for c in ("task", "shots", "file") if c in sub.columns]).reset_index(drop=True)
        yield str(key[0]), _section_name(key, keys), rows


def check_aggregates(
    frame: pd.DataFrame,
    confidence: float = 0.95,
    *,
    chance: float | None = None,
    step: float | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    """The report for an aggregate table: one section without a ``task`` column (the keys of :func:`section`), or
    ``tasks`` (one section per task, and per shot count when there are several), an ``overview`` row per task and
    metric, and a summary. A section that fails validation is left out with its reason (a table of one task
    raises). ``notes`` (from reading the files) are reported as given."""
    if chance is not None and not 0 <= chance <= 1:
        raise ValueError(f"chance must be a rate in [0, 1], got {chance}")
    df, unit, prep_notes = _prepare(frame, step)
    all_notes = [*notes, *prep_notes]
    if "task" not in df.columns:
        result = section(validate(df), confidence, chance, None, unit)
        result["notes"] = all_notes
        result["summary"] = result["summary"][:1] + [f"Note: {n}." for n in all_notes] + result["summary"][1:]
        return result
    sections: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for task, name, sub in task_groups(df):
        try:
            v = validate(sub)
            sections[name] = section(v, confidence, chance, task, unit)
        except SchemaError as exc:
            skipped[name] = str(exc).replace("'seed'", "'run'") if unit == "run" else str(exc)
    if not sections:
        first = next(iter(skipped.items()))
        raise SchemaError(f"no task could be analysed; e.g. {first[0]}: {first[1]}")
    return _combine(sections, skipped, all_notes, confidence)


def _combine(
    sections: dict[str, dict[str, Any]], skipped: dict[str, str], notes: list[str], confidence: float
) -> dict[str, Any]:
    overview = []
    for name, sec in sections.items():
        for metric, info in sec["metrics"].items():
            s = sec["sharpness"][metric]
            values = [r["value"] for r in sec["table"] if r["metric"] == metric]
            d = sec["diagnosis"]["by continuous metric"].get(metric)
            overview.append(
                {
                    "task": name,
                    "metric": info["label"],
                    "examples": next((r["examples"] for r in sec["table"] if r["metric"] == metric), None),
                    "chance": info["chance"],
                    "smallest model": values[0],
                    "largest model": values[-1],
                    "emergence_score": s.get("emergence_score"),
                    "steepest_rise_ratio": s.get("steepest_rise_ratio"),
                    "line-null p": ", ".join(
                        f"{label} {t['p']:.3g}" if t.get("p") is not None else f"{label} -"
                        for label, t in sec["line null"][metric].items()
                    ),
                    "mirage test": None if d is None else f"{sec['diagnosis']['discrete']} vs {metric}: {d['verdict']}",
                    "at or below chance": any(w.startswith(f"{metric}:") for w in sec["warnings"]),
                }
            )
    first = next(iter(sections.values()))
    result: dict[str, Any] = {
        "layout": "aggregates",
        "scale": first["scale"],
        "models": sorted({m for sec in sections.values() for m in sec["models"]}, key=lambda m: _size(sections, m)),
        "uncertainty": first["uncertainty"],
        "confidence": confidence,
        "notes": notes,
        "excluded": {f"task {k}": v for k, v in skipped.items()},
        "overview": overview,
        "tasks": sections,
    }
    result["summary"] = _task_summary(result)
    return result


def _size(sections: dict[str, dict[str, Any]], model: str) -> float:
    for sec in sections.values():
        for r in sec["table"]:
            if r["model"] == model:
                return float(r[sec["scale"]])
    return float("nan")


def _task_summary(result: dict[str, Any]) -> list[str]:
    sections = result["tasks"]
    models = result["models"]
    out = [
        f"{len(sections)} tasks analysed, {len(models)} models from {models[0]} to {models[-1]}; uncertainty: "
        f"{result['uncertainty']}, {result['confidence']:.0%} intervals."
    ]
    out += [f"Note: {n}." for n in result["notes"]]
    if result["excluded"]:
        reasons: dict[str, list[str]] = {}
        for k, why in result["excluded"].items():
            reasons.setdefault(why, []).append(k.removeprefix("task "))
        for why, tasks in reasons.items():
            out.append(f"Not analysed ({len(tasks)}: {', '.join(tasks[:4])}{', ...' if len(tasks) > 4 else ''}): {why}")
    sharp, flat = [], []
    for name, sec in sections.items():
        for metric, by in sec["line null"].items():
            ps = [t.get("p") for t in by.values()]
            if ps and all(p is not None and p < 0.01 for p in ps):
                ratio = sec["sharpness"][metric].get("steepest_rise_ratio")
                sharp.append(f"{name} {metric}" + (f" (ratio {ratio:.2f})" if ratio is not None else ""))
    out.append(
        "Sharper than a straight line in log scale measured with the same noise (line-null p < 0.01 in every "
        + ("run" if any("run table" in s for s in sections.values()) else "curve")
        + f"): {', '.join(sharp) if sharp else 'none'}. A small p says the curve is not a straight line in log N; "
        "with thousands of examples a bend (fast early gains, then a plateau) is enough, so read it with the ratio "
        "(1 for a line; a jump inside one step of a wide window scores several times more)."
    )
    for name, sec in sections.items():
        flat += [f"{name} {w.split(':')[0]}" for w in sec["warnings"]]
    if flat:
        out.append(
            f"At or below chance, or never resolved above it ({len(flat)} curves; their sharpness is noise): "
            f"{', '.join(flat[:12])}{', ...' if len(flat) > 12 else ''}."
        )
    for name, sec in sections.items():
        for cont, d in sec["diagnosis"]["by continuous metric"].items():
            out.append(
                f"Mirage test, {name}: {sec['diagnosis']['discrete']} against {cont}: {d['verdict']} ({d['reason']})."
            )
    return out
