"""Pythia's real arithmetic read at two resolutions: one first operand's 50 problems, and all 100 operands pooled.

Why: the paper's second prediction (its Sec. 3) is that small models read exactly 0 partly because test sets are
small: with more test data their small, non-zero accuracy becomes visible and the curve rises smoothly. Pythia's
arithmetic files (:func:`mirage_utils.data.pythia_arithmetic`: the v0 deduplicated runs, 7 sizes, 6 checkpoints,
0-16 shots) give exact match per first operand x = 0..99, on 50 problems each. One operand is a test set of 50; the
100 operands pooled are a test set of 5,000. The files hold exact match only (no answers, no token probabilities),
so no continuous metric can be computed from them.

Unit: the operand. An operand's 50 problems share their first number, and a model's habits with it (``0 x y`` is
always 0; a model that copies the first number gets ``x x 1`` right), so they are not independent draws; a binomial
interval over 5,000 problems would treat them as if they were. Every pooled interval here is a percentile bootstrap
over operands (whole blocks of 50 resampled), with one set of resampling weights shared by all cells. Wilson
intervals over problems are computed beside it only to show what ignoring the blocks does.

Chance: 0 (:data:`CHANCE`). The answer is free text with no options to pick from; a model must write the exact
number. For scale, :data:`GUESS_TWO_DIGITS` (1/90) is what a uniform guess among 2-digit numbers scores on a
2-digit answer; the files do not list the problems, so a length-aware guess rate cannot be computed exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .. import emergence, resolution
from ..seeding import DEFAULT_SEED, rng
from .legs import CANNOT_TELL, share_verdict

CELL = ("operation", "size", "checkpoint", "shots")
CURVE = ("operation", "checkpoint", "shots")
CHANCE = 0.0
GUESS_TWO_DIGITS = 1.0 / 90.0
SMOOTHING_MEASURES = ("emergence_score", "steepest_rise_ratio")
_REQUIRED = (*CELL, "operand", "params", "correct", "n")


def _check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return float(level)


def _check_n_boot(n_boot: int) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer of at least 100, got {n_boot!r}")
    return int(n_boot)


def _validate(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` needed here, checked: whole counts, complete and unique operand blocks per cell."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected a DataFrame like data.pythia_arithmetic(), got {type(frame).__name__}")
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"columns missing: {missing} (expected those of data.pythia_arithmetic())")
    if frame.empty:
        raise ValueError("the table has no rows")
    table = frame[list(_REQUIRED)].copy()
    table["size"] = table["size"].astype(str)
    counts = table[["correct", "n", "params"]].to_numpy(float)
    if not np.isfinite(counts).all():
        raise ValueError("correct, n and params must be finite numbers")
    correct, n = table["correct"].to_numpy(float), table["n"].to_numpy(float)
    if np.any(correct != np.round(correct)) or np.any(n != np.round(n)) or np.any(n < 1):
        raise ValueError("correct and n must be whole numbers with n >= 1")
    if np.any((correct < 0) | (correct > n)):
        raise ValueError("correct must lie between 0 and n on every row")
    if np.any(table["params"].to_numpy(float) <= 0):
        raise ValueError("params must be positive")
    if table.duplicated([*CELL, "operand"]).any():
        raise ValueError("an operand appears twice in one operation x size x checkpoint x shots cell")
    if (table.groupby("size")["params"].nunique() > 1).any():
        raise ValueError("one size has several parameter counts")
    operands = table.groupby(list(CELL))["operand"].apply(frozenset)
    if operands.nunique() != 1:
        raise ValueError("cells have different sets of operands; every cell needs the same complete blocks")
    return table


def _wide(table: pd.DataFrame) -> tuple[pd.DataFrame, NDArray[np.float64], NDArray[np.float64]]:
    """Cells (one row per operation x size x checkpoint x shots, with params) and their operand x count matrices."""
    correct = table.pivot_table(index=[*CELL, "params"], columns="operand", values="correct", aggfunc="sum")
    n = table.pivot_table(index=[*CELL, "params"], columns="operand", values="n", aggfunc="sum")
    keys = correct.index.to_frame(index=False)
    return keys, correct.to_numpy(float), n.loc[correct.index, correct.columns].to_numpy(float)


def bootstrap_weights(n_operands: int, n_boot: int = 2000, seed: int = DEFAULT_SEED) -> NDArray[np.float64]:
    """Cluster-bootstrap weights: row b counts how often each of ``n_operands`` operands is drawn (with
    replacement, ``n_operands`` draws) in resample b. Shape ``(n_boot, n_operands)``."""
    if isinstance(n_operands, bool) or not isinstance(n_operands, (int, np.integer)) or n_operands < 2:
        raise ValueError(f"need at least 2 operands to resample, got {n_operands!r}")
    draws = rng(seed).multinomial(n_operands, np.full(n_operands, 1.0 / n_operands), size=_check_n_boot(n_boot))
    return draws.astype(np.float64)


def pooled_cells(
    frame: pd.DataFrame, n_boot: int = 2000, level: float = 0.95, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Exact match per operation x size x checkpoint x shots, pooled over operands, with its uncertainty.

    Columns: the cell keys, params, correct, n, acc (pooled), operands, zero_operands (operands reading exactly 0),
    boot_low/boot_high (percentile bootstrap over operands), wilson_low/wilson_high (every problem treated as
    independent, for comparison), resolved (bootstrap lower bound above :data:`CHANCE`) and resolved_wilson.
    """
    keys, correct, n = _wide(_validate(frame))
    level = _check_level(level)
    weights = bootstrap_weights(correct.shape[1], n_boot, seed)
    boot = (correct @ weights.T) / (n @ weights.T)  # cells x resamples
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=1)
    k, trials = correct.sum(axis=1), n.sum(axis=1)
    w_low, w_high = resolution.binomial_ci(k, trials, level, "wilson")
    out = keys.assign(
        correct=k.astype(int),
        n=trials.astype(int),
        acc=k / trials,
        operands=correct.shape[1],
        zero_operands=(correct == 0).sum(axis=1),
        boot_low=low,
        boot_high=high,
        wilson_low=w_low,
        wilson_high=w_high,
    )
    out["resolved"] = out["boot_low"] > CHANCE
    out["resolved_wilson"] = out["wilson_low"] > CHANCE
    return out.sort_values(["operation", "shots", "checkpoint", "params"], ignore_index=True)


def sharpness_by_resolution(
    frame: pd.DataFrame, n_boot: int = 1000, level: float = 0.95, seed: int = DEFAULT_SEED, factor: float = 2.0
) -> pd.DataFrame:
    """Sharpness of the exact-match curve across sizes, read per operand (n = 50) and pooled (n = 5,000).

    One row per operation x checkpoint x shots: the pooled curve's Eq. 1 emergence score and steepest-rise ratio
    (with a percentile bootstrap interval over operands for the ratio); over the 100 per-operand curves the median
    of each measure, how many sit on a floor (Eq. 1 infinite: most steps flat) and how many never rise (ratio
    undefined; the median leaves them out). ``smoother_<measure>`` is True when the per-operand median is more than
    ``factor`` times sharper than the pooled curve: pooling, i.e. resolution, made the curve smoother.
    """
    level = _check_level(level)
    if not factor >= 1:
        raise ValueError(f"factor must be >= 1, got {factor!r}")
    keys, correct, n = _wide(_validate(frame))
    weights = bootstrap_weights(correct.shape[1], n_boot, seed)
    rows = []
    for curve, idx in keys.groupby(list(CURVE)).indices.items():
        order = idx[np.argsort(keys["params"].to_numpy(float)[idx])]
        x = keys["params"].to_numpy(float)[order]
        if x.size < emergence.MIN_POINTS or np.unique(x).size != x.size:
            raise ValueError(f"curve {curve} needs at least {emergence.MIN_POINTS} distinct sizes")
        c, m = correct[order], n[order]  # sizes x operands
        pooled = c.sum(axis=1) / m.sum(axis=1)
        per_operand = (c / m).T  # operands x sizes
        es = emergence.emergence_scores(x, per_operand)
        ratios = emergence.steepest_rise_ratios(x, per_operand)
        boot = emergence.steepest_rise_ratios(x, (weights @ c.T) / (weights @ m.T))
        scores = {
            "pooled_emergence_score": emergence.emergence_score(x, pooled),
            "pooled_steepest_rise_ratio": emergence.steepest_rise_ratio(x, pooled),
            "pooled_ratio_low": float(np.nanquantile(boot, (1 - level) / 2)) if np.isfinite(boot).any() else np.nan,
            "pooled_ratio_high": float(np.nanquantile(boot, (1 + level) / 2)) if np.isfinite(boot).any() else np.nan,
            "operand_emergence_score": float(np.median(es)),
            "operand_steepest_rise_ratio": float(np.nanmedian(ratios)) if np.isfinite(ratios).any() else np.nan,
        }
        row: dict[str, object] = dict(zip(CURVE, curve if isinstance(curve, tuple) else (curve,)))
        row.update(scores, operands_on_floor=int(np.isinf(es).sum()), operands_not_rising=int(np.isnan(ratios).sum()))
        for measure in SMOOTHING_MEASURES:
            row[f"smoother_{measure}"] = emergence.is_sharper(
                scores[f"operand_{measure}"], scores[f"pooled_{measure}"], measure, factor
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _last(table: pd.DataFrame, checkpoint: int | None) -> pd.DataFrame:
    if table.empty:
        raise ValueError("no cells given")
    step = int(table["checkpoint"].max()) if checkpoint is None else int(checkpoint)
    chosen = table[table["checkpoint"] == step]
    if chosen.empty:
        raise ValueError(f"no cells at checkpoint {step}; have {sorted(table['checkpoint'].unique())}")
    return chosen


def above_zero_verdict(cells: pd.DataFrame, checkpoint: int | None = None) -> str:
    """Prediction 2 as "every model above chance once pooled" (the chapter's rule for the other legs): holds only if
    every operation x size x shots cell at ``checkpoint`` (default: the last) has its bootstrap lower bound above
    chance, else fails."""
    chosen = _last(cells, checkpoint)
    return "holds" if bool(chosen["resolved"].all()) else "fails"


def smooth_verdict(sharp: pd.DataFrame, checkpoint: int | None = None) -> str:
    """Prediction 2 as "with more data the rise turns smooth": for each measure, pooling makes the curve more than
    ``factor`` smoother in more than half of the operation x shots curves at ``checkpoint`` (holds), in fewer than
    half (fails); when the two measures disagree, or a count is exactly half, cannot tell from these data."""
    chosen = _last(sharp, checkpoint)
    words = {share_verdict(int(chosen[f"smoother_{m}"].sum()), len(chosen)) for m in SMOOTHING_MEASURES}
    return words.pop() if len(words) == 1 else CANNOT_TELL


def scores_below(
    cells: pd.DataFrame, size: str, smaller: str, operation: str, from_checkpoint: int | None = None
) -> bool:
    """Claim check: a larger ``size`` scores below the ``smaller`` one on ``operation`` (pooled exact match) in every
    cell with solved examples (shots > 0) at every checkpoint from ``from_checkpoint`` on (default: the last only).

    Why: Chapter 2 reports that Pythia-6.9B scores below Pythia-2.8B on sums, a dip in the size curve that any
    reading of "the jump" must carry; a family in which the larger size catches up in one such cell fails the check.
    """
    needed = [*CELL, "acc", "params"]
    missing = [c for c in needed if c not in cells.columns]
    if missing:
        raise ValueError(f"cells lack columns {missing} (expected those of pooled_cells())")
    sizes = set(cells["size"].astype(str))
    for name in (size, smaller):
        if name not in sizes:
            raise ValueError(f"size {name!r} not in the cells; have {sorted(sizes)}")
    params = cells.drop_duplicates("size").set_index(cells.drop_duplicates("size")["size"].astype(str))["params"]
    if not params[size] > params[smaller]:
        raise ValueError(f"{size!r} must be the larger size, but it has {params[size]:g} <= {params[smaller]:g}")
    first = int(cells["checkpoint"].max()) if from_checkpoint is None else int(from_checkpoint)
    sub = cells[(cells["operation"] == operation) & (cells["shots"] > 0) & (cells["checkpoint"] >= first)]
    sub = sub[sub["size"].astype(str).isin([size, smaller])]
    if sub.empty:
        raise ValueError(f"no {operation!r} cells with shots > 0 from checkpoint {first}")
    wide = sub.assign(size=sub["size"].astype(str)).pivot_table(
        index=["checkpoint", "shots"], columns="size", values="acc", aggfunc="first"
    )
    if wide[[size, smaller]].isna().any().any():
        raise ValueError(f"{size!r} and {smaller!r} need the same checkpoints and shots")
    return bool((wide[size] < wide[smaller]).all())


@dataclass(frozen=True)
class ResolutionSummary:
    """The chapter's resolution numbers: readings of one operand (n = 50) against readings pooled over operands."""

    operand_readings: int  # operation x size x checkpoint x shots x operand
    operand_zeros: int  # ... that read exactly 0 of 50
    pooled_readings: int  # operation x size x checkpoint x shots
    pooled_zeros: int  # ... that read exactly 0 of all problems
    smallest_nonzero: float  # the smallest pooled accuracy above 0
    resolved: int  # pooled cells whose bootstrap lower bound is above chance
    resolved_wilson: int  # ... whose Wilson lower bound is (blocks ignored)
    smallest_size: str
    smallest_size_cells: int
    smallest_size_resolved: int


def summarise(cells: pd.DataFrame) -> ResolutionSummary:
    """Counts over every cell of :func:`pooled_cells` (all checkpoints and shots)."""
    if cells.empty:
        raise ValueError("no cells given")
    smallest = cells.sort_values("params")["size"].iloc[0]
    small = cells[cells["size"] == smallest]
    nonzero = cells.loc[cells["correct"] > 0, "acc"]
    return ResolutionSummary(
        operand_readings=int(cells["operands"].sum()),
        operand_zeros=int(cells["zero_operands"].sum()),
        pooled_readings=len(cells),
        pooled_zeros=int((cells["correct"] == 0).sum()),
        smallest_nonzero=float(nonzero.min()) if len(nonzero) else float("nan"),
        resolved=int(cells["resolved"].sum()),
        resolved_wilson=int(cells["resolved_wilson"].sum()),
        smallest_size=str(smallest),
        smallest_size_cells=len(small),
        smallest_size_resolved=int(small["resolved"].sum()),
    )
