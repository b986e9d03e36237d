"""Regeneration check: retrain a few of the family's (size, seed) runs here and compare them with the committed ones.

Seeded training is bit-identical on the same hardware and software only. On another CPU (or BLAS, or torch build)
floating-point rounding differs, the run drifts after a few dozen steps and ends as another draw from the same
family. What matters for the book is whether such a draw is within the family's own seed-to-seed variation, and
whether the chapters' family-level verdicts survive when retrained runs replace committed ones. This module answers
both for a stated subset that a reader can retrain in under 30 CPU-minutes:

* :func:`compare_runs`: per retrained (size, seed) and held-out task, exact match, mean token edit distance, mean
  per-digit probability and the final training loss, against the committed run of the same seed; a difference is
  *within the family's variation* when it is no larger than the spread (max - min) between the committed seeds of
  that size (with a small floor for sizes whose seeds agree exactly);
* :func:`swap_in`: the family's tables with the retrained runs in place of the committed ones (``merge`` of a
  folder of runs), which ``MIRAGE_FAMILY_ARTIFACTS`` points the chapters at;
* :func:`family_verdicts`: the family-level claims the chapters rest on (competence, the metric swap per task and
  answer length with seeds as the unit), computed on any family's tables so the committed and swapped families can
  be set side by side.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from . import analysis
from .config import FamilyConfig
from .legs import metric_swap, seed_mean_swap
from .shards import merge, shard_name

# Every seed of the two smallest sizes and one seed of the third: ~25 CPU-minutes on the 2-core reference machine
# (committed train_seconds: 169, 272 and 304 s per run at one thread, plus scoring).
SUBSET: tuple[tuple[str, int], ...] = (
    ("gpt-3k", 0),
    ("gpt-3k", 1),
    ("gpt-3k", 2),
    ("gpt-7k", 0),
    ("gpt-7k", 1),
    ("gpt-7k", 2),
    ("gpt-13k", 0),
)
METRICS = ("exact_match", "ted", "token_prob")
# Smallest tolerance: sizes whose committed seeds agree exactly (e.g. exact match 0 at every seed) still allow this.
FLOOR = {"exact_match": 0.005, "ted": 0.02, "token_prob": 0.005, "final_loss": 0.01}


def _held_out(run_dir: Path) -> pd.DataFrame:
    """Per held-out task: exact match, mean token edit distance and mean per-digit probability of one run."""
    from .evaluate import summarise

    outputs = pd.read_parquet(run_dir / "outputs.parquet")
    outputs = outputs[outputs["split"] == "test"]
    return summarise(outputs, ["task"]).set_index("task")[list(METRICS)]


def _final_loss(run_dir: Path) -> float:
    return float(json.loads((run_dir / "summary.json").read_text())["final_loss"])


def compare_runs(
    cfg: FamilyConfig, committed: Path, retrained: Path, pairs: tuple[tuple[str, int], ...] = SUBSET
) -> pd.DataFrame:
    """One row per retrained (model, seed, task, metric): committed and retrained values, their difference, the
    committed seeds' spread for that size, and whether the difference is within it; ``identical`` says whether the
    run's held-out outputs are the committed ones, character for character."""
    if not pairs:
        raise ValueError("pairs is empty: name at least one (model, seed)")
    rows = []
    for model, seed in pairs:
        cfg.spec(model)  # raises for a size the config lacks
        if seed not in cfg.seeds:
            raise ValueError(f"seed {seed} is not among the config's seeds {list(cfg.seeds)}")
        new_dir, old_dir = Path(retrained) / shard_name(model, seed), Path(committed) / shard_name(model, seed)
        for d in (new_dir, old_dir):
            if not (d / "summary.json").is_file():
                raise FileNotFoundError(f"no finished run in {d}")
        seed_dirs = [Path(committed) / shard_name(model, s) for s in cfg.seeds]
        per_seed = {s: _held_out(d) for s, d in zip(cfg.seeds, seed_dirs, strict=True)}
        losses = {s: _final_loss(d) for s, d in zip(cfg.seeds, seed_dirs, strict=True)}
        new, old = _held_out(new_dir), per_seed[seed]
        same = pd.read_parquet(new_dir / "outputs.parquet")["output"].equals(
            pd.read_parquet(old_dir / "outputs.parquet")["output"]
        )
        for task in old.index:
            for metric in METRICS:
                values = [per_seed[s].loc[task, metric] for s in cfg.seeds]
                rows.append((model, seed, task, metric, old.loc[task, metric], new.loc[task, metric], values, same))
        rows.append(
            (model, seed, "training", "final_loss", losses[seed], _final_loss(new_dir), list(losses.values()), same)
        )
    out = pd.DataFrame(
        rows, columns=["model", "seed", "task", "metric", "committed", "retrained", "seeds", "identical"]
    )
    out["difference"] = out["retrained"] - out["committed"]
    out["seed_spread"] = out["seeds"].map(lambda v: float(np.max(v) - np.min(v)))
    out["tolerance"] = np.maximum(out["seed_spread"], out["metric"].map(FLOOR))
    out["within"] = out["difference"].abs() <= out["tolerance"]
    return out.drop(columns="seeds")


def divergence(committed: Path, retrained: Path, tolerance: float = 1e-6) -> pd.DataFrame:
    """Per retrained run: the first logged training step whose loss differs from the committed run's by more than
    ``tolerance`` (NaN when the logs agree throughout), the last step that agreed, and both final losses."""
    rows = []
    for run in sorted(d for d in Path(retrained).iterdir() if (d / "training_log.csv").is_file()):
        new = pd.read_csv(run / "training_log.csv").set_index("step")["loss"]
        old = pd.read_csv(Path(committed) / run.name / "training_log.csv").set_index("step")["loss"]
        both = pd.concat([old, new], axis=1, keys=["committed", "retrained"], join="inner")
        apart = both.index[(both["committed"] - both["retrained"]).abs() > tolerance]
        first = int(apart[0]) if len(apart) else np.nan
        agreed = both.index[both.index < first] if len(apart) else both.index
        rows.append(
            (run.name, int(agreed.max()) if len(agreed) else 0, first, both["committed"].iloc[-1],
             both["retrained"].iloc[-1])
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["run", "last_step_agreeing", "first_step_apart", "final_committed",
                                       "final_retrained"])  # fmt: skip


def swap_in(cfg: FamilyConfig, committed: Path, retrained: Path, out_dir: Path) -> dict[str, Path]:
    """The family's tables in ``out_dir`` with every retrained run in place of the committed run of that seed."""
    runs = Path(out_dir) / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    shutil.copytree(committed, runs)
    swapped = sorted(d for d in Path(retrained).iterdir() if (d / "summary.json").is_file())
    if not swapped:
        raise FileNotFoundError(f"no finished retrained run in {retrained}")
    for d in swapped:
        shutil.rmtree(runs / d.name)
        shutil.copytree(d, runs / d.name)
    return merge(cfg, runs, Path(out_dir))


def family_verdicts(tables: dict[str, pd.DataFrame], factor: float = 2.0) -> pd.DataFrame:
    """Family-level claims, seeds as the unit: competence (largest size solves 4-digit sums, smallest fails) and, per
    held-out task and answer length, whether exact match is sharper than token edit distance by ``factor`` under
    Eq. 1 and under the steepest-rise ratio, on the medians of per-seed measures and on the seed-mean curve
    (Chapter 2's metric swap)."""
    metrics = tables["metrics"]
    held = metrics[metrics["split"] == "test"]
    rows = [
        ("competence", name, "", bool(v))
        for name, v in analysis.is_competent(analysis.competence_table(metrics)).items()
    ]
    for summary, swap in (
        ("seed medians", metric_swap(held, factor)),
        ("seed-mean curve", seed_mean_swap(held, factor)),
    ):
        for measure, sharper_by_curve in swap.sharper.items():
            for key, sharper in sharper_by_curve.items():
                task, length = key if isinstance(key, tuple) else (key, "")
                claim = f"exact match {factor:g}x sharper than edit distance ({measure}, {summary})"
                rows.append((claim, str(task), str(length), sharper))
    return pd.DataFrame(rows, columns=["claim", "case", "target_length", "holds"])


def verdict_changes(committed: pd.DataFrame, swapped: pd.DataFrame) -> pd.DataFrame:
    """The rows of two :func:`family_verdicts` tables side by side, with ``changed`` where they disagree."""
    keys = ["claim", "case", "target_length"]
    both = committed.merge(swapped, on=keys, how="outer", suffixes=("_committed", "_swapped"), indicator=True)
    both["changed"] = (both["_merge"] != "both") | (both["holds_committed"] != both["holds_swapped"])
    return both.drop(columns="_merge")


def report(comparison: pd.DataFrame, changes: pd.DataFrame, retrained: Path, drift: pd.DataFrame | None = None) -> str:
    """A short markdown report: where the runs were retrained, how far they moved, and which verdicts changed."""
    summaries = [json.loads(p.read_text()) for p in sorted(Path(retrained).glob("*/summary.json"))]
    cpus = sorted({str(s.get("platform_cpu", "unknown")) for s in summaries})
    seconds = sum(float(s.get("train_seconds", 0)) + float(s.get("eval_seconds", 0)) for s in summaries)
    runs = comparison.drop_duplicates(["model", "seed"])
    lines = [
        "# Regeneration check",
        "",
        f"{len(runs)} runs retrained on {', '.join(cpus)}, {seconds / 60:.1f} minutes of training and scoring as the "
        "runs recorded them (wall clock, one thread each); "
        f"{int(runs['identical'].sum())} of {len(runs)} reproduce the committed held-out outputs exactly.",
        "",
        "A difference is *within the family's variation* when it is no larger than the spread between the committed "
        "seeds of that size (floors: " + ", ".join(f"{k} {v:g}" for k, v in FLOOR.items()) + ").",
        "",
        "| metric | comparisons | within the seed spread | largest difference | where |",
        "|---|---|---|---|---|",
    ]
    for metric, g in comparison.groupby("metric", sort=False):
        worst = g.iloc[int(np.argmax(g["difference"].abs().to_numpy()))]
        lines.append(
            f"| {metric} | {len(g)} | {int(g['within'].sum())} | {worst['difference']:+.4f} "
            f"(spread {worst['seed_spread']:.4f}) | {worst['model']} seed {worst['seed']}, {worst['task']} |"
        )
    if drift is not None and len(drift):
        lines += ["", "| run | training loss agrees up to step | first step apart | final loss committed | retrained |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for _, d in drift.iterrows():
            apart = "never" if pd.isna(d["first_step_apart"]) else f"{int(d['first_step_apart'])}"
            lines.append(
                f"| {d['run']} | {d['last_step_agreeing']} | {apart} | {d['final_committed']:.4f} | "
                f"{d['final_retrained']:.4f} |"
            )
    outside = comparison[~comparison["within"]]
    lines += ["", f"Outside the seed spread: {len(outside)} of {len(comparison)}."]
    for _, r in outside.iterrows():
        lines.append(
            f"- {r['model']} seed {r['seed']}, {r['task']}, {r['metric']}: {r['committed']:.4f} -> "
            f"{r['retrained']:.4f} (spread {r['seed_spread']:.4f})"
        )
    changed = changes[changes["changed"]]
    lines += ["", f"Family-level verdicts with the retrained runs swapped in: {len(changed)} of {len(changes)} change."]
    for _, r in changed.iterrows():
        lines.append(
            f"- {r['claim']}, {r['case']} {r['target_length']}: {r['holds_committed']} -> {r['holds_swapped']}"
        )
    return "\n".join(lines) + "\n"
