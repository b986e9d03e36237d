"""The tables both pages of Chapter 2 start from, and its verdict rules.

Leg (a) re-scores fixed InstructGPT outputs; leg (b) reads our family's held-out metrics. Every family summary keeps
the seed as its unit (see :mod:`mirage_utils.arithmetic.analysis`). The verdict rules map claim-check booleans to
the book's three verdict words, so the chapter, its robustness page and the tests share one definition.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import data, resolution
from . import analysis, rescore
from .shards import load_artifacts

HOLDS, FAILS, CANNOT_TELL = "holds", "fails", "cannot tell from these data"
SWAP_MEASURES = ("emergence_score", "steepest_rise_ratio")
PAPER_TASKS = ("multiplication_2digit", "addition_4digit")


@dataclass(frozen=True)
class InstructLeg:
    """Leg (a): InstructGPT's outputs scored, with the problems whose answer the prompt prints left out."""

    scored_all: pd.DataFrame  # every output, scored; ``in_prompt`` marks answers printed in the prompt
    scored: pd.DataFrame  # the rest, with ``subset`` ("2-digit x 2-digit" or "other")
    copy_report: dict[str, int]  # what the exclusion removed
    curves: pd.DataFrame  # per model x answer length, every kept problem
    curves_2x2: pd.DataFrame  # the same for the paper's task (both operands 10-99)


def instructgpt_leg() -> InstructLeg:
    """Score the public InstructGPT multiplication outputs (operands 0-99) by exact match and token edit distance,
    drop prompt answers, and summarise per model and answer length for all products and the 2-digit subset."""
    gpt3 = data.gpt3_multiplication()
    instruct = gpt3[gpt3["family"] == "InstructGPT"].rename(columns={"completion": "output"})
    scored_all = rescore.score_outputs(instruct, prompt=data.gpt3_multiplication_prompt())
    kept, report = rescore.exclude_prompt_answers(scored_all)
    two_digit = (kept["a"] >= 10) & (kept["b"] >= 10)
    kept = kept.assign(subset=np.where(two_digit, "2-digit x 2-digit", "other"))
    return InstructLeg(
        scored_all=scored_all,
        scored=kept,
        copy_report=report,
        curves=rescore.summarise_outputs(kept),
        curves_2x2=rescore.summarise_outputs(kept[two_digit]),
    )


def as_one_seed(curves: pd.DataFrame, task: str) -> pd.DataFrame:
    """Leg (a)'s curves in the family's layout (one "seed", ``n_params`` = params, a task name), so the family's
    seed-level functions apply to a family with one curve per length."""
    return curves.assign(task=task, seed=0, n_params=curves["params"])


def load_family(config: str = "configs/arithmetic.json") -> dict[str, pd.DataFrame]:
    """Leg (b): the family's artifact tables for ``config`` (a path relative to the repository root)."""
    return load_artifacts(data.REPO_ROOT / config)


def committed_draw(config: str = "configs/arithmetic.json") -> bool:
    """Whether :func:`load_family` reads the committed draw of the family (checks about one draw's exact counts
    hold only there; a retrained or swapped-in family is another draw)."""
    from .config import FamilyConfig
    from .shards import committed_draw as is_committed

    return is_committed(FamilyConfig.load(data.REPO_ROOT / config))


def held_out(artifacts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Leg (b): the family's held-out metrics (one row per size x seed x task x answer length), with ``params``."""
    metrics = artifacts["metrics"]
    out = metrics[metrics["split"] == "test"].copy()
    out["params"] = out["n_params"]
    return out


def cross_entropy_per_seed(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per task x size x seed: the per-digit cross-entropy over all answer lengths, weighted by answer tokens."""
    analysis._require(metrics, ["task", "model", "params", "seed", "cross_entropy", "n_tokens"], "metrics")
    ce = (
        metrics.assign(w=metrics["cross_entropy"] * metrics["n_tokens"])
        .groupby(["task", "model", "params", "seed"], as_index=False)[["w", "n_tokens"]]
        .sum()
    )
    ce["cross_entropy"] = ce["w"] / ce["n_tokens"]
    return ce.drop(columns="w")


@dataclass(frozen=True)
class MetricSwap:
    """Prediction 1 per task x answer length: sharpness of exact match and of edit distance on each seed's curve
    (medians over seeds) and, per measure, whether exact match is sharper by more than ``factor``."""

    exact_match: pd.DataFrame
    ted: pd.DataFrame
    sharper: dict[str, dict[str | tuple[Hashable, ...], bool]]


def metric_swap(scores: pd.DataFrame, factor: float = 2.0) -> MetricSwap:
    """Prediction 1 on a table with task, target_length, seed, n_params, exact_match and ted."""
    by = ("task", "target_length")
    em = analysis.sharpness_by_seed(scores, "exact_match", by=by)
    ted = analysis.sharpness_by_seed(scores, "ted", higher_is_better=False, by=by)
    sharper = {m: analysis.sharper_than(em, ted, m, factor=factor) for m in SWAP_MEASURES}
    return MetricSwap(exact_match=em, ted=ted, sharper=sharper)


def resolution_cells(metrics: pd.DataFrame, pass_until: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prediction 2 per size x seed x task x length: greedy exact match on every held-out problem resolved above
    chance (95% Wilson lower bound > a uniform guess), and PassUntil's pass rate likewise (its 95% lower bound)."""
    analysis._require(metrics, ["n_correct", "n", "chance"], "metrics")
    analysis._require(pass_until, ["pass_low", "chance", "n_params"], "pass_until")
    low, _ = resolution.binomial_ci(metrics["n_correct"].to_numpy(), metrics["n"].to_numpy())
    cells = metrics.assign(em_low=low)
    cells["resolved"] = rescore.resolved_above_chance(cells)
    pu = pass_until.assign(params=pass_until["n_params"], resolved=pass_until["pass_low"] > pass_until["chance"])
    return cells, pu


def resolved_by_either(cells: pd.DataFrame, pu: pd.DataFrame) -> pd.Series:
    """Per row of ``cells`` (from :func:`resolution_cells`): resolved above chance by greedy decoding or by
    PassUntil (a cell PassUntil did not sample counts as greedy alone)."""
    keys = ["model", "seed", "task", "target_length"]
    pu_ok = pu.set_index(keys)["resolved"]
    looked_up = pu_ok.reindex(pd.MultiIndex.from_frame(cells[keys])).fillna(False).astype(bool).to_numpy()
    return pd.Series(cells["resolved"].to_numpy(bool) | looked_up, index=cells.index, name="resolved_by_either")


def unresolved_by_both(cells: pd.DataFrame, pu: pd.DataFrame) -> pd.DataFrame:
    """The cells that neither greedy decoding nor PassUntil resolves above chance."""
    return cells[~resolved_by_either(cells, pu)]


def length_law_tables(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Prediction 3 on one task of the family: the per size x seed fit, its R^2 per seed, and the median R^2 over
    seeds per size (one row per model, as :func:`analysis.length_laws_hold` expects)."""
    group = ["model", "params", "seed"]
    fit = analysis.length_law_fit(metrics, group)
    r2_seed = analysis.length_law_r2(fit, group)
    r2 = (
        r2_seed.groupby(["params", "model"], as_index=False)[["R2 log accuracy", "R2 TED"]]
        .median()
        .assign(seeds=r2_seed.groupby(["params", "model"])["seed"].nunique().to_numpy())
    )
    return fit, r2_seed, r2


def agreement_verdict(checks: Sequence[bool]) -> str:
    """Verdict from several measures of one prediction: all say yes, holds; all say no, fails; they disagree,
    cannot tell from these data."""
    if not checks:
        raise ValueError("no checks given")
    if all(checks):
        return HOLDS
    return FAILS if not any(checks) else CANNOT_TELL


def share_verdict(passed: int, total: int) -> str:
    """Verdict from a count of models: more than half pass, holds; fewer than half, fails; exactly half, cannot
    tell from these data."""
    if total < 1 or not 0 <= passed <= total:
        raise ValueError(f"need 0 <= passed <= total and total >= 1, got {passed} of {total}")
    if 2 * passed == total:
        return CANNOT_TELL
    return HOLDS if 2 * passed > total else FAILS


def all_verdict(ok: pd.Series) -> str:
    """Verdict for a prediction about every cell (every model above chance): holds only if no cell fails."""
    if ok.empty:
        raise ValueError("no cells given")
    return HOLDS if bool(ok.all()) else FAILS


def seed_mean_swap(scores: pd.DataFrame, factor: float = 2.0) -> MetricSwap:
    """:func:`metric_swap` on the seed-mean curve (the mean over seeds at each size). Unlike per-seed curves it does
    not depend on which run of one size is paired with which run of the next."""
    keys = ["task", "target_length", "n_params"]
    analysis._require(scores, [*keys, "exact_match", "ted"], "scores")
    mean = scores.groupby(keys, as_index=False)[["exact_match", "ted"]].mean().assign(seed=0)
    return metric_swap(mean, factor)


def pairing_sensitivity(
    scores: pd.DataFrame, key: tuple[str, int], draws: int = 200, seed: int = 0, factor: float = 2.0
) -> pd.DataFrame:
    """How much prediction 1's per-seed summary depends on the pairing of seeds across sizes.

    A "per-seed curve" joins the run with seed *i* at every size, but runs of different sizes share only their data
    order, so the pairing is a convention. Each draw shuffles the seed labels within every size and recomputes the
    medians over seeds of Eq. 1 and the steepest-rise ratio for exact match and edit distance on the curve ``key``
    (task, answer length), and whether exact match is more than ``factor`` times as sharp by each measure.
    """
    from ..seeding import rng

    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    task, length = key
    sub = scores[(scores["task"] == task) & (scores["target_length"] == length)]
    if sub.empty:
        raise ValueError(f"no rows for task {task!r} with answer length {length}")
    gen = rng(seed)
    rows = []
    for _ in range(draws):
        shuffled = sub.assign(seed=sub.groupby("n_params")["seed"].transform(lambda s: gen.permutation(s.to_numpy())))
        swap = metric_swap(shuffled, factor)
        em, ted = swap.exact_match.iloc[0], swap.ted.iloc[0]
        rows.append(
            {
                **{f"{m}_em": em[f"{m}_median"] for m in SWAP_MEASURES},
                **{f"{m}_ted": ted[f"{m}_median"] for m in SWAP_MEASURES},
                **{f"sharper_{m}": swap.sharper[m][(task, length)] for m in SWAP_MEASURES},
            }
        )
    return pd.DataFrame(rows)
