"""Pythia as the book's worked real family: LAMBADA accuracy against log-perplexity, and MMLU near chance.

Chapter 7's mirage test (:func:`diagnosis.diagnose`) asks whether a continuous metric improves while a discrete one
sits at its floor. Pythia's public lm-eval results (:func:`mirage_utils.data.pythia_evals`) give one task with both
on the same examples: LAMBADA's final-word accuracy (a rate, n = 5,153) and its final-word perplexity (lower is
better; analysed as log-perplexity, the mean cross-entropy of the final word in nats). Each size was trained twice
(the Pile and the deduplicated Pile). The two runs are the replicates, and they are never pooled into one binomial:

* ``runs``: the mean of the two runs with a Student-t interval over them (1 degree of freedom, so wide);
* ``standard`` and ``deduped``: each run alone, a Wilson interval on its accuracy and a normal interval on its
  log-perplexity from lm-eval's standard error (delta method, ``se / ppl``).

A verdict counts for a size only when its replicates agree (:func:`diagnosis.replicated_verdicts`). Where the two
runs' results coincide (the 2.8B runs share most values up to step 43,000, and all of them up to step 1,000, in the
shipped files), the runs are not two replicates: :func:`coincident_sizes` finds them and the ``runs`` replicate is
dropped for them.

:func:`fit_probit_link` asks whether accuracy is a fixed function of log-perplexity: if the final word's
log-probability varies across examples around its mean (minus the log-perplexity) and an example is answered when
it passes a threshold, accuracy is ``Phi(a + b log ppl)``. Fitted on the final checkpoints it is tested on every
other checkpoint (:func:`link_errors`). MMLU's 57 subjects (four options, chance 0.25) are the resolution example:
:func:`mmlu_subjects` tests each subject against chance per run (exact binomial, Holm across subjects) and
:func:`mmlu_summary` sets the counts beside the 14,042-question average, with two intervals on that average: a Wilson
interval that treats the questions as independent draws (the 57 subjects as fixed strata of the benchmark), and a
percentile bootstrap over subjects (each drawn with all its questions, Chapter 2's cluster bootstrap), which also
counts how much the score depends on which subjects the benchmark happens to hold. :func:`pooling_verdict` uses the
bootstrap unless told otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from . import diagnosis
from .resolution import binomial_ci
from .seeding import DEFAULT_SEED
from .when_real import verdict_word

LAMBADA = "lambada_openai"
FINAL_STEP = 143_000
RUN_NAMES: tuple[str, str] = ("standard", "deduped")
MMLU_PREFIX = "hendrycksTest-"
MMLU_CHANCE = 0.25
MMLU_BOOT_DRAWS = 10_000  # resamples of the subject bootstrap (16 cells x 57 subjects: milliseconds)
MAIN_TASKS: tuple[str, ...] = (
    "arc_challenge",
    "arc_easy",
    "lambada_openai",
    "logiqa",
    "piqa",
    "sciq",
    "winogrande",
    "wsc",
)
_V1_FILE = re.compile(
    r"^evals/pythia-v1/(?P<model>pythia-[0-9.]+[mb](?:-deduped|-bf16)?)/(?P<folder>[a-z-]+)/(?P<name>[^/]+)$"
)
_FOLDERS = {0: "zero-shot", 5: "five-shot"}
_EVAL_COLUMNS = {"size", "run", "params", "step", "shots", "task", "metric", "value", "stderr", "n"}


def _require(frame: pd.DataFrame, columns: Collection[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    absent = set(columns) - set(frame.columns)
    if absent:
        raise ValueError(f"{name} lacks columns {sorted(absent)} (expected data.pythia_evals()'s layout)")


def _whole_counts(value: pd.Series, n: pd.Series, what: str) -> pd.Series:
    """Correct answers from an accuracy and its test-set size; they must be whole numbers."""
    correct = value.to_numpy(dtype=float) * n.to_numpy(dtype=float)
    if not np.all(np.isfinite(correct)) or np.abs(correct - np.round(correct)).max(initial=0.0) > 1e-6:
        raise ValueError(f"{what}: accuracy x n is not a whole number of examples")
    return pd.Series(np.round(correct).astype(np.int64), index=value.index)


def lambada_table(evals: pd.DataFrame, shots: int = 0) -> pd.DataFrame:
    """LAMBADA, one row per size, run and step: params, n, acc, correct, ppl, ppl_stderr, log_ppl, log_ppl_se.

    ``evals`` is :func:`mirage_utils.data.pythia_evals`'s table. ``log_ppl`` is the natural log of the final-word
    perplexity, ``log_ppl_se`` its standard error by the delta method (``stderr / ppl``).
    """
    _require(evals, _EVAL_COLUMNS, "evals")
    rows = evals[(evals["task"] == LAMBADA) & (evals["shots"] == shots)]
    if rows.empty:
        raise ValueError(f"no {LAMBADA} rows at {shots} shots")
    keys = ["size", "run", "step"]
    acc = rows[rows["metric"] == "acc"].set_index(keys)
    ppl = rows[rows["metric"] == "ppl"].set_index(keys)
    if acc.index.duplicated().any() or ppl.index.duplicated().any():
        raise ValueError("evals has more than one LAMBADA value per size, run, step and metric")
    if len(acc) == 0 or not acc.index.sort_values().equals(ppl.index.sort_values()):
        raise ValueError("LAMBADA needs both acc and ppl for every size, run and step")
    ppl = ppl.loc[acc.index]
    if (ppl["value"] <= 0).any() or (ppl["stderr"] < 0).any() or ppl[["value", "stderr"]].isna().any(axis=None):
        raise ValueError("perplexities must be positive with non-negative standard errors")
    out = pd.DataFrame(
        {
            "params": acc["params"].astype(float),
            "n": acc["n"].astype(int),
            "acc": acc["value"].astype(float),
            "correct": _whole_counts(acc["value"], acc["n"], LAMBADA),
            "ppl": ppl["value"].astype(float),
            "ppl_stderr": ppl["stderr"].astype(float),
        }
    )
    out["log_ppl"] = np.log(out["ppl"])
    out["log_ppl_se"] = out["ppl_stderr"] / out["ppl"]
    out = out.reset_index()
    out["size"] = out["size"].astype(str)
    return out.sort_values(["params", "run", "step"], ignore_index=True)


def coincidence(evals: pd.DataFrame, shots: int = 0) -> pd.DataFrame:
    """Share of (task, metric) values that are identical in the two runs, per step (rows) and size (columns)."""
    _require(evals, _EVAL_COLUMNS, "evals")
    rows = evals[evals["shots"] == shots]
    if set(rows["run"].unique()) != set(RUN_NAMES):
        raise ValueError(f"need both runs {RUN_NAMES} at {shots} shots")
    wide = rows.pivot_table(index=["size", "step", "task", "metric"], columns="run", values="value", observed=True)
    same = (wide[RUN_NAMES[0]] == wide[RUN_NAMES[1]]).groupby(["step", "size"], observed=True).mean()
    return same.unstack("size")


def coincident_sizes(evals: pd.DataFrame, from_step: int = 256, max_share: float = 0.5) -> list[str]:
    """Sizes whose two runs give identical values on more than ``max_share`` of (task, metric) pairs at some step
    from ``from_step`` on: their runs are not two replicates there. (Both runs start from one initialisation, so the
    first steps coincide at every size; from step 256 on the other sizes share at most a quarter.)"""
    if not 0 < max_share < 1:
        raise ValueError("max_share must be in (0, 1)")
    table = coincidence(evals)
    late = table[table.index >= from_step]
    if late.empty:
        raise ValueError(f"no steps at or after {from_step}")
    return [str(size) for size in late.columns if (late[size] > max_share).any()]


def _run_replicate(rows: pd.DataFrame, x: NDArray[np.float64], unit: str, confidence: float) -> diagnosis.Replicate:
    lo, hi = binomial_ci(rows["correct"].to_numpy(), rows["n"].to_numpy(), confidence)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    log_ppl, se = rows["log_ppl"].to_numpy(), rows["log_ppl_se"].to_numpy()
    return diagnosis.Replicate(
        unit,
        x,
        np.ones(x.size, dtype=np.int64),
        diagnosis.Curve(rows["acc"].to_numpy(), lo, hi, True),
        diagnosis.Curve(log_ppl, log_ppl - z * se, log_ppl + z * se, False),
    )


def lambada_replicates(
    table: pd.DataFrame, x: str, confidence: float = 0.95, runs_unit: bool = True
) -> list[diagnosis.Replicate]:
    """The replicates of one LAMBADA curve (rows of :func:`lambada_table` for one size over steps, or one step over
    sizes; ``x`` names the column that orders them): ``runs`` (t over the two runs, when ``runs_unit``), then each
    run alone."""
    _require(table, {"run", x, "acc", "correct", "n", "log_ppl", "log_ppl_se"}, "table")
    by_run = {str(run): rows.sort_values(x) for run, rows in table.groupby("run")}
    if set(by_run) != set(RUN_NAMES):
        raise ValueError(f"need both runs {RUN_NAMES}, got {sorted(by_run)}")
    xs = [rows[x].to_numpy(dtype=float) for rows in by_run.values()]
    if not np.array_equal(xs[0], xs[1]) or np.unique(xs[0]).size != xs[0].size or xs[0].size < 2:
        raise ValueError(f"both runs need the same {x} values, each once, at least two")
    grid = xs[0]
    out = []
    if runs_unit:
        a = np.column_stack([by_run[r]["acc"].to_numpy() for r in RUN_NAMES])
        p = np.column_stack([by_run[r]["log_ppl"].to_numpy() for r in RUN_NAMES])
        out.append(
            diagnosis.Replicate(
                "runs",
                grid,
                np.full(grid.size, 2, dtype=np.int64),
                diagnosis.mean_curve(list(a), True, confidence),
                diagnosis.mean_curve(list(p), False, confidence),
            )
        )
    out.extend(_run_replicate(by_run[r], grid, r, confidence) for r in RUN_NAMES)
    return out


def lambada_cases(
    table: pd.DataFrame,
    over: Literal["steps", "sizes"],
    step: int = FINAL_STEP,
    not_replicates: Collection[str] = (),
) -> dict[str, list[diagnosis.Replicate]]:
    """The mirage test's cases on LAMBADA: accuracy against log-perplexity.

    ``over="steps"``: one case per size over its checkpoints (the ``runs`` replicate is left out for the sizes in
    ``not_replicates``, e.g. :func:`coincident_sizes`); ``over="sizes"``: one case, the sizes at ``step``.
    """
    if over == "steps":
        sizes = table.drop_duplicates("size").sort_values("params")["size"]
        return {
            f"pythia-{size}": lambada_replicates(
                table[table["size"] == size], "step", runs_unit=size not in set(not_replicates)
            )
            for size in sizes
        }
    if over == "sizes":
        at = table[table["step"] == step]
        if at.empty:
            raise ValueError(f"no LAMBADA rows at step {step}")
        return {f"sizes at step {step:,}": lambada_replicates(at, "params")}
    raise ValueError(f"over must be 'steps' or 'sizes', got {over!r}")


def book_verdict(replicate_table: pd.DataFrame) -> str:
    """The chapter's word for "LAMBADA accuracy's jump is metric-induced" from :func:`diagnosis.replicate_table`:
    "holds" when every replicate of every case reads metric-induced, "fails" when every one reads persists, and
    "cannot tell from these data" otherwise."""
    if replicate_table.empty or "verdict" not in replicate_table:
        raise ValueError("need a non-empty replicate table with a 'verdict' column")
    verdicts = replicate_table["verdict"]
    return verdict_word(bool((verdicts == "metric-induced").all()), bool((verdicts == "persists").all()))


def single_runs_agree(replicate_table: pd.DataFrame, verdict: str) -> pd.Series:
    """case -> True when each run alone (not the ``runs`` replicate) reads ``verdict``."""
    if verdict not in diagnosis.VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    single = replicate_table[replicate_table["replicate"].isin(RUN_NAMES)]
    if single.empty:
        raise ValueError("no single-run replicates in the table")
    return single.groupby("case", sort=False)["verdict"].agg(lambda v: bool((v == verdict).all()))


@dataclass(frozen=True)
class ProbitLink:
    """Accuracy as a function of log-perplexity: ``acc = Phi(intercept + slope * log_ppl)``."""

    intercept: float
    slope: float
    n_points: int

    def predict(self, log_ppl: ArrayLike) -> NDArray[np.float64]:
        """Predicted accuracy at these log-perplexities."""
        return np.asarray(stats.norm.cdf(self.intercept + self.slope * np.asarray(log_ppl, dtype=float)))

    @property
    def half_ppl(self) -> float:
        """The perplexity at which the link predicts an accuracy of one half."""
        return float(np.exp(-self.intercept / self.slope))


def fit_probit_link(rows: pd.DataFrame) -> ProbitLink:
    """Binomial GLM with a probit link of correct answers on log-perplexity (statsmodels), one point per row of
    :func:`lambada_table`. Needs at least three rows with accuracies strictly between 0 and 1."""
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    _require(rows, {"correct", "n", "log_ppl"}, "rows")
    inside = rows[(rows["correct"] > 0) & (rows["correct"] < rows["n"])]
    if len(inside) < 3:
        raise ValueError("need at least three rows with accuracy strictly between 0 and 1 to fit a link")
    counts = np.column_stack([inside["correct"], inside["n"] - inside["correct"]]).astype(float)
    design = np.column_stack([np.ones(len(inside)), inside["log_ppl"].to_numpy(dtype=float)])
    fit = GLM(counts, design, family=families.Binomial(link=families.links.Probit())).fit()
    intercept, slope = (float(v) for v in fit.params)
    return ProbitLink(intercept, slope, len(inside))


def link_errors(link: ProbitLink, rows: pd.DataFrame) -> pd.Series:
    """Observed minus predicted accuracy for each row (same index)."""
    _require(rows, {"acc", "log_ppl"}, "rows")
    return rows["acc"] - link.predict(rows["log_ppl"].to_numpy())


def link_predicts(errors: pd.Series, max_median_error: float = 0.02, max_error: float = 0.1) -> bool:
    """Claim check: the link's held-out errors have median absolute value at most ``max_median_error`` and none
    beyond ``max_error`` (accuracy units)."""
    if errors.empty or errors.isna().any():
        raise ValueError("need a non-empty series of errors without NaN")
    if not 0 < max_median_error <= max_error:
        raise ValueError("need 0 < max_median_error <= max_error")
    absolute = errors.abs()
    return bool(absolute.median() <= max_median_error and absolute.max() <= max_error)


def holm(p_values: ArrayLike) -> NDArray[np.float64]:
    """Holm's step-down adjusted p-values, in the input's order (equal to statsmodels' ``multipletests(p,
    method="holm")[1]``, which runs a full garbage collection on every call: seconds on a book page)."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or p.size == 0 or np.any((p < 0) | (p > 1)) or np.isnan(p).any():
        raise ValueError("p_values must be a non-empty 1-D array of probabilities")
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return out


def mmlu_subjects(
    evals: pd.DataFrame, step: int = FINAL_STEP, shots: int = 0, chance: float = MMLU_CHANCE, alpha: float = 0.05
) -> pd.DataFrame:
    """MMLU per size, run and subject: n, correct, acc, a Wilson interval (lo, hi), the one-sided exact binomial
    p-value against ``chance`` and its Holm adjustment across the subjects of that size and run; ``above`` is
    True where the Holm-adjusted p-value is below ``alpha``."""
    _require(evals, _EVAL_COLUMNS, "evals")
    if not 0 < chance < 1 or not 0 < alpha < 1:
        raise ValueError("chance and alpha must be in (0, 1)")
    rows = evals[
        evals["task"].str.startswith(MMLU_PREFIX)
        & (evals["metric"] == "acc")
        & (evals["step"] == step)
        & (evals["shots"] == shots)
    ]
    if rows.empty:
        raise ValueError(f"no MMLU accuracies at step {step}, {shots} shots")
    out = pd.DataFrame(
        {
            "size": rows["size"].astype(str),
            "run": rows["run"],
            "params": rows["params"].astype(float),
            "subject": rows["task"].str.removeprefix(MMLU_PREFIX),
            "n": rows["n"].astype(int),
            "acc": rows["value"].astype(float),
            "correct": _whole_counts(rows["value"], rows["n"], "MMLU"),
        }
    ).reset_index(drop=True)
    out["lo"], out["hi"] = binomial_ci(out["correct"].to_numpy(), out["n"].to_numpy())
    # one-sided exact binomial test, P(X >= k) under chance (scipy.stats.binomtest's "greater", vectorised)
    out["p"] = stats.binom.sf(out["correct"].to_numpy() - 1, out["n"].to_numpy(), chance)
    out["p_holm"] = out.groupby(["size", "run"])["p"].transform(holm)
    out["above"] = out["p_holm"] < alpha
    return out.sort_values(["params", "run", "subject"], ignore_index=True)


def mmlu_summary(
    subjects: pd.DataFrame,
    chance: float = MMLU_CHANCE,
    n_boot: int = MMLU_BOOT_DRAWS,
    level: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Per size (rows, by parameters): per run the subjects whose Wilson lower bound is above ``chance`` and those
    resolved above it after Holm; the subjects resolved after Holm in both runs; each run's accuracy over all its
    questions with two intervals, and whether that average is above chance in both runs under each.

    * ``average lo/hi, <run>``: a Wilson interval over the pooled questions (independent draws; subjects as fixed
      strata of the benchmark). ``average above chance, both runs`` uses it.
    * ``boot lo/hi, <run>``: a percentile bootstrap over subjects: the subjects are drawn with replacement, each with
      all its questions, and the average is recomputed as total correct over total questions (so weighted by each
      subject's n). One set of resampling weights (:func:`arithmetic.pythia_arith.bootstrap_weights`, Chapter 2's
      cluster bootstrap, ``n_boot`` draws from ``seed``) serves every size and run. ``boot above chance, both runs``
      uses it. Every size and run must hold the same subjects.
    """
    from .arithmetic.pythia_arith import bootstrap_weights

    _require(subjects, {"size", "run", "params", "subject", "n", "correct", "lo", "above"}, "subjects")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    counts = subjects.pivot_table(index=["size", "run"], columns="subject", values=["correct", "n"], observed=True)
    if counts.isna().any(axis=None):
        raise ValueError("every size and run must hold the same subjects for the subject bootstrap")
    weights = bootstrap_weights(counts["n"].shape[1], n_boot, seed)  # resamples x subjects
    boot = (counts["correct"].to_numpy(float) @ weights.T) / (counts["n"].to_numpy(float) @ weights.T)
    boot_lo, boot_hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=1)
    boot_bounds = {key: (float(a), float(b)) for key, a, b in zip(counts.index, boot_lo, boot_hi)}
    rows = []
    for (params, size), g in subjects.groupby(["params", "size"], sort=True):
        row: dict[str, object] = {"size": size, "params": params}
        average_lo, bootstrap_lo = [], []
        both = g.groupby("subject")["above"].agg(lambda v: bool(v.all() and len(v) == len(RUN_NAMES)))
        for run in RUN_NAMES:
            r = g[g["run"] == run]
            k, n = int(r["correct"].sum()), int(r["n"].sum())
            lo, hi = binomial_ci(np.array([k]), np.array([n]), level)
            row[f"Wilson lo > chance, {run}"] = int((r["lo"] > chance).sum())
            row[f"Holm, {run}"] = int(r["above"].sum())
            row[f"average, {run}"] = k / n
            row[f"average lo, {run}"] = float(lo[0])
            row[f"average hi, {run}"] = float(hi[0])
            row[f"boot lo, {run}"], row[f"boot hi, {run}"] = boot_bounds[(size, run)]
            average_lo.append(float(lo[0]))
            bootstrap_lo.append(boot_bounds[(size, run)][0])
        row["Holm, both runs"] = int(both.sum())
        row["average above chance, both runs"] = all(v > chance for v in average_lo)
        row["boot above chance, both runs"] = all(v > chance for v in bootstrap_lo)
        row["questions"] = int(g[g["run"] == RUN_NAMES[0]]["n"].sum())
        rows.append(row)
    out = pd.DataFrame(rows).set_index("size")
    out.attrs["subjects"] = int(subjects["subject"].nunique())
    return out


ABOVE_COLUMNS = {"bootstrap": "boot above chance, both runs", "wilson": "average above chance, both runs"}


def pooling_verdict(
    summary: pd.DataFrame, max_share: float = 0.1, interval: Literal["bootstrap", "wilson"] = "bootstrap"
) -> str:
    """The book's word for "more test data resolves a rise that small test sets cannot" on MMLU (the paper's second
    prediction), from :func:`mmlu_summary`: "holds" when the pooled average is above chance in both runs from some
    size on and, at each of those sizes, at most ``max_share`` of the subjects are resolved above chance in both runs;
    "fails" when the pooled average is never resolved above chance; "cannot tell from these data" otherwise (the
    subjects resolve the rise about as well as the average). ``interval`` picks the average's interval: the
    bootstrap over subjects (default) or the Wilson interval over questions."""
    if not 0 < max_share < 1:
        raise ValueError("max_share must be in (0, 1)")
    if interval not in ABOVE_COLUMNS:
        raise ValueError(f"interval must be one of {sorted(ABOVE_COLUMNS)}, got {interval!r}")
    above = ABOVE_COLUMNS[interval]
    _require(summary, {above, "Holm, both runs"}, "summary")
    first = first_size(summary[above])
    if first is None:
        return verdict_word(False, True)
    subjects = int(summary.attrs.get("subjects", 0))
    if subjects < 1:
        raise ValueError("summary.attrs['subjects'] must give the number of subjects (mmlu_summary sets it)")
    resolved = summary.loc[first:, "Holm, both runs"]
    return verdict_word(bool((resolved <= max_share * subjects).all()), False)


def first_size(flags: pd.Series) -> str | None:
    """The first size (in the series' order) from which ``flags`` is True at every larger size too, or None."""
    values = flags.to_numpy(dtype=bool)
    for i in range(values.size):
        if values[i:].all():
            return str(flags.index[i])
    return None


def write_results_files(
    dest: str | Path, step: int = FINAL_STEP, shots: int = 0, tasks: Collection[str] | None = MAIN_TASKS
) -> list[Path]:
    """Write Pythia v1's lm-eval results files of one checkpoint (both runs, every size) under ``dest``, one folder
    per model as in the repository, for ``python -m mirage_utils check``.

    The files come from the vendored archive, each checked against its manifest (:mod:`mirage_utils.pythia`).
    With ``tasks=None`` they are copied byte for byte; otherwise only those tasks are kept in ``results`` and
    ``versions`` (the rest of the file unchanged), so that a check of the main tasks does not analyse 57 MMLU
    subjects and 22 bias subsets too. Returns the paths written (16 for the main suite).
    """
    from . import pythia

    if shots not in _FOLDERS:
        raise ValueError(f"shots must be 0 or 5, got {shots}")
    root = Path(dest)
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root} exists and is not a folder")
    written = []
    for name, content in sorted(pythia._members().items()):  # the manifest-checked archive
        found = _V1_FILE.match(name)
        if found is None or found.group("folder") != _FOLDERS[shots] or not name.endswith(f"_step{step}.json"):
            continue
        if tasks is not None:
            doc = json.loads(content)
            absent = set(tasks) - set(doc["results"])
            if absent:
                raise ValueError(f"{name} has no results for {sorted(absent)}")
            for key in ("results", "versions"):
                doc[key] = {t: v for t, v in doc.get(key, {}).items() if t in tasks}
            content = (json.dumps(doc, indent=2) + "\n").encode()
        path = root / found.group("model") / found.group("name")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    if not written:
        raise ValueError(f"no Pythia v1 results at step {step}, {shots} shots")
    return written


def sizes_table() -> pd.DataFrame:
    """``model,params`` for the check's ``--sizes``: each size's non-embedding parameters from the training configs,
    under the name the results files give (``pythia-v1.1-<size>``)."""
    from . import pythia

    sizes = pythia.model_sizes()
    return pd.DataFrame({"model": "pythia-v1.1-" + sizes["size"], "params": sizes["params"]})
