"""The book's worked inputs for ``python -m mirage_utils check`` (Chapter 8), the verdicts read from its reports,
and one figure of a report.

Each ``*_frame`` function returns a table in one of the check's layouts (see :mod:`mirage_utils.checking.schema`):
our family's held-out 4-digit sums (generations, with seeds), InstructGPT's 2-digit products (generations, with
the few-shot prompt) and one of Lu et al.'s series (aggregates, with seeds). The check itself is not changed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import data
from .arithmetic.legs import CANNOT_TELL, FAILS, HOLDS
from .arithmetic.legs import load_family as load_family  # Chapter 8's loader is Chapter 2's (one for both)
from .checking import check


def family_sums_frame(fam: Mapping[str, pd.DataFrame], task: str = "addition_4digit") -> pd.DataFrame:
    """Our family's held-out problems of ``task`` in the generations layout: one row per run (model x seed) x problem
    with the target, the greedy answer and the geometric mean of the probabilities of the target's tokens.

    ``fam`` is :func:`mirage_utils.arithmetic.shards.load_artifacts`'s result (its ``models`` and ``outputs``).
    """
    sizes = fam["models"].groupby("model")["n_params"].first()
    rows = fam["outputs"].query("task == @task and split == 'test'")
    if rows.empty:
        raise ValueError(f"no held-out outputs for task {task!r}")
    return pd.DataFrame(
        {
            "model": rows["model"],
            "params": rows["model"].map(sizes),
            "seed": rows["seed"],
            "example_id": rows["a"].astype(str) + "+" + rows["b"].astype(str),
            "target": (rows["a"] + rows["b"]).astype(str),
            "output": rows["output"].astype(str),
            "token_probability": np.exp(rows["log_prob"] / rows["target_length"]),
        }
    ).reset_index(drop=True)


def instructgpt_products_frame() -> pd.DataFrame:
    """Mukobi's greedy completions of every product of two 2-digit numbers by the four InstructGPT models, in the
    generations layout; every row carries the few-shot prompt, so answers printed in it are excluded by ``check``."""
    products = data.gpt3_multiplication().query("family == 'InstructGPT' and a >= 10 and b >= 10")
    return pd.DataFrame(
        {
            "model": products["model"],
            "params": products["params"],
            "example_id": products["a"].astype(str) + "*" + products["b"].astype(str),
            "target": products["target"],
            "output": products["completion"],
            "prompt": data.gpt3_multiplication_prompt(),
        }
    ).reset_index(drop=True)


def lu_frame(lu: pd.DataFrame, task: str, prompt: str, shots: int, family: str = "LLaMA") -> pd.DataFrame:
    """One of Lu et al.'s series (task x prompt type x shots x family; ``lu`` is
    :func:`mirage_utils.bigbench.lu_scores`) in the aggregates layout, with their evaluation seeds."""
    s = lu[(lu["task"] == task) & (lu["prompt_type"] == prompt) & (lu["shots"] == shots) & (lu["family"] == family)]
    if s.empty:
        raise ValueError(f"no Lu et al. scores for {family}, {task}, {prompt}, {shots} shots")
    return pd.DataFrame(
        {
            "model": s["model"],
            "params": s["params"],
            "seed": s["seed"],
            "metric": s["metric"].str.replace(" ", "_"),
            "value": s["value"],
            "n": s["n_examples"],
        }
    ).reset_index(drop=True)


def verdict_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """One row per continuous metric of a check's report: the mirage test's verdict, the model at the discrete
    metric's onset (None where the table does not say), the precursor's share of the total gain and the reason."""
    rows = {
        metric.replace("_", " "): {
            "verdict": d["verdict"],
            "onset model": d.get("onset model"),
            "precursor share": d.get("fraction"),
            "reason": d["reason"],
        }
        for metric, d in report["diagnosis"]["by continuous metric"].items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("continuous metric")


def verdicts_by_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """The mirage test's verdicts for each seed alone (a bootstrap over its examples) and with seeds as the unit:
    rows "seed <s>" and "seeds as the unit", one column per continuous metric ("exact match vs <metric>")."""
    if "seed" not in frame.columns:
        raise ValueError("the frame has no seed column")
    reports = {
        f"seed {s}": check(frame[frame["seed"] == s].drop(columns="seed")) for s in sorted(frame["seed"].unique())
    }
    reports["seeds as the unit"] = check(frame)
    table = pd.DataFrame({unit: verdict_table(r)["verdict"] for unit, r in reports.items()}).T
    table.columns = [f"exact match vs {c}" for c in table.columns]
    return table


def lu_verdicts(lu: pd.DataFrame, family: str = "LLaMA") -> pd.DataFrame:
    """The mirage test's verdict for every series of ``family`` in Lu et al.'s table: rows (task, prompt, shots),
    one column per continuous metric."""
    keys: list[tuple[str, str, int]] = [
        (str(t), str(p), int(k))
        for t, p, k in lu.loc[lu["family"] == family, ["task", "prompt_type", "shots"]].drop_duplicates().to_numpy()
    ]
    verdicts = {key: verdict_table(check(lu_frame(lu, *key, family=family)))["verdict"] for key in sorted(keys)}
    table = pd.DataFrame(verdicts).T
    return table.rename_axis(["task", "prompt", "shots"])


def book_verdict(verdicts: Iterable[str]) -> str:
    """The book's verdict word on the paper's prediction ("the discrete metric's jump is the metric's doing") from
    the check's verdicts of the replicates: "holds" when every one is metric-induced, "fails" when every one
    persists, "cannot tell from these data" otherwise (mixed, inconclusive, no flat phase, discordant, ...)."""
    found = set(verdicts)
    if not found:
        raise ValueError("no verdicts")
    if found == {"metric-induced"}:
        return HOLDS
    if found == {"persists"}:
        return FAILS
    return CANNOT_TELL


def above_chance_verdict(lo: float, hi: float, chance: float) -> str:
    """The book's verdict word on "this model scores above chance", from its interval [lo, hi] and the chance level:
    "holds" when the interval lies above chance, "fails" when it lies at or below it, "cannot tell" when it spans it."""
    if lo > chance:
        return HOLDS
    if hi <= chance:
        return FAILS
    return CANNOT_TELL


def plot_report(
    report: Mapping[str, Any], metrics: Sequence[str] | None = None, *, onset: bool = True, ncols: int = 2
) -> Figure:
    """The per-model metrics of a check's report (generations or multiple-choice layout) against scale on a log
    axis, at most ``ncols`` panels per row, 7 inches wide, the legend in the first panel: the seed mean (or the
    per-example rate) with its interval band, the chance level of a discrete metric as a dotted line and, with
    ``onset``, the discrete metric's onset (the mirage test's first resolved rise) as a dashed vertical line."""

    import matplotlib.pyplot as plt

    if report["layout"] == "aggregates":
        raise ValueError("an aggregates report has no intervals per model; plot its table instead")
    names = list(metrics) if metrics is not None else list(report["metrics"])
    unknown = set(names) - set(report["metrics"])
    if unknown or not names:
        raise ValueError(f"unknown or no metrics {sorted(unknown)}; the report has {list(report['metrics'])}")
    table = pd.DataFrame(report["table"])
    x = table[report["scale"]].to_numpy(dtype=float)
    ncols = max(1, min(ncols, len(names)))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.0, 2.9 * nrows + 0.3), squeeze=False)
    onsets = [d.get("onset") for d in report["diagnosis"]["by continuous metric"].values()]
    onset_at = next((int(i) for i in onsets if i is not None), None)
    for i, (ax, name) in enumerate(zip(axes.ravel(), names)):
        info = report["metrics"][name]
        ax.plot(x, table[name], "o-", ms=4, label="mean" if report["uncertainty"].startswith("seeds") else "rate")
        ax.fill_between(x, table[f"{name} lo"], table[f"{name} hi"], alpha=0.25, lw=0, label="95% interval")
        chance = table.get("chance (uniform guess)")
        if info["kind"] == "discrete" and chance is not None and chance.notna().all():
            ax.plot(x, chance, ":", color="grey", lw=1.5, label="chance")
        if onset and onset_at is not None and onset_at < len(x):
            ax.axvline(x[onset_at], color="black", ls="--", lw=1, label="onset")
        ax.set_xscale("log")
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel(f"{report['scale']} (log scale)")
        if i == 0:
            ax.legend(loc="best")
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    return fig
