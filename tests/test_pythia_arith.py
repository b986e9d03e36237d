"""Pythia's arithmetic at two resolutions (``arithmetic.pythia_arith``): counts, operand-block intervals, sharpness
per operand vs pooled, and the chapter's two claim checks, each fed a counterfactual that must flip it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils import data
from mirage_utils.arithmetic import pythia_arith as pa

PARAMS = {f"s{i + 1}": 10 ** (8 + 0.5 * i) for i in range(5)}  # evenly spaced in log N


def _frame(
    correct: Callable[[int, int], int], operands: int = 100, checkpoints: tuple[int, ...] = (1, 2)
) -> pd.DataFrame:
    """A table shaped like data.pythia_arithmetic(): ``correct(size_index, operand)`` of 50 right per block."""
    rows = [
        {
            "operation": "addition",
            "size": size,
            "params": params,
            "checkpoint": ck,
            "shots": 2,
            "operand": x,
            "n": 50,
            "correct": correct(i, x),
        }
        for i, (size, params) in enumerate(PARAMS.items())
        for ck in checkpoints
        for x in range(operands)
    ]
    return pd.DataFrame(rows)


def test_pooled_cells_counts() -> None:
    frame = _frame(lambda i, x: i * (x % 2))  # odd operands score i of 50, even ones 0
    cells = pa.pooled_cells(frame, n_boot=200).set_index(["size", "checkpoint"])
    assert len(cells) == 10
    row = cells.xs(("s3", 1))
    assert isinstance(row, pd.Series)
    assert (row["correct"], row["n"], row["operands"], row["zero_operands"]) == (100, 5000, 100, 50)
    assert row["acc"] == pytest.approx(0.02)
    assert row["boot_low"] < row["acc"] < row["boot_high"]
    assert cells.loc[("s1", 1), "correct"] == 0 and not cells.loc[("s1", 1), "resolved"]
    s = pa.summarise(cells.reset_index())
    assert (s.pooled_readings, s.pooled_zeros, s.operand_readings, s.operand_zeros) == (10, 2, 1000, 600)
    assert s.smallest_nonzero == pytest.approx(0.01) and s.smallest_size == "s1" and s.smallest_size_resolved == 0


def test_operand_blocks_widen_the_interval_and_the_counterfactual() -> None:
    # 15 right answers all in one operand (as Pythia-1b's zero-shot sums: all on x = 0): Wilson over 5,000 problems
    # calls it non-zero, the bootstrap over operands does not (a resample misses that operand 37% of the time).
    lumped = pa.pooled_cells(_frame(lambda i, x: 15 if x == 0 else 0), n_boot=2000).iloc[0]
    assert lumped["resolved_wilson"] and not lumped["resolved"]
    # counterfactual: the same 15 right answers spread over 15 operands are resolved by both
    spread = pa.pooled_cells(_frame(lambda i, x: 1 if x < 15 else 0), n_boot=2000).iloc[0]
    assert spread["resolved_wilson"] and spread["resolved"]
    assert spread["acc"] == lumped["acc"]


def test_bootstrap_weights_resample_whole_operands() -> None:
    w = pa.bootstrap_weights(100, 500, seed=3)
    assert w.shape == (500, 100) and np.all(w.sum(axis=1) == 100)
    assert np.array_equal(w, pa.bootstrap_weights(100, 500, seed=3))
    with pytest.raises(ValueError, match="at least 2 operands"):
        pa.bootstrap_weights(1, 500)
    with pytest.raises(ValueError, match="n_boot"):
        pa.bootstrap_weights(100, 10)


def test_above_zero_check_and_its_counterfactual() -> None:
    # every size gets a little right on many operands: every cell resolved -> holds
    spread = pa.pooled_cells(_frame(lambda i, x: 1 + i if x % 3 == 0 else 0), n_boot=500)
    assert pa.above_zero_verdict(spread) == "holds"
    # counterfactual: the smallest size reads 0 on every operand at the last checkpoint -> fails
    zero = pa.pooled_cells(_frame(lambda i, x: 0 if i == 0 else 1 + i), n_boot=500)
    assert pa.above_zero_verdict(zero) == "fails"
    assert pa.above_zero_verdict(spread, checkpoint=1) == "holds"
    with pytest.raises(ValueError, match="no cells at checkpoint"):
        pa.above_zero_verdict(spread, checkpoint=99)


def _steps(staggered: bool) -> pd.DataFrame:
    """Each operand jumps from 0 to 50 right between two sizes: at a size set by the operand (staggered) or all
    between sizes 3 and 4 (a common jump)."""
    return _frame(lambda i, x: 50 if i >= (1 + x % 4 if staggered else 3) else 0)


def test_smooth_check_and_its_counterfactual() -> None:
    # staggered steps: every operand jumps (ratio 4, Eq. 1 infinite) but the pooled curve climbs steadily
    staggered = pa.sharpness_by_resolution(_steps(True), n_boot=200)
    row = staggered.iloc[0]
    assert row["operand_steepest_rise_ratio"] == pytest.approx(4.0)
    assert row["pooled_steepest_rise_ratio"] == pytest.approx(1.0)
    assert row["operands_on_floor"] == 100
    assert pa.smooth_verdict(staggered) == "holds"
    # counterfactual: all operands jump together, so pooling leaves the jump as sharp -> fails
    common = pa.sharpness_by_resolution(_steps(False), n_boot=200)
    assert common.iloc[0]["pooled_steepest_rise_ratio"] == pytest.approx(4.0)
    assert pa.smooth_verdict(common) == "fails"


def test_smooth_check_cannot_tell_when_the_measures_disagree() -> None:
    sharp = pd.DataFrame(
        {"checkpoint": [1, 1], "smoother_emergence_score": [True, True], "smoother_steepest_rise_ratio": [False] * 2}
    )
    assert pa.smooth_verdict(sharp) == "cannot tell from these data"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="correct"), "columns missing"),
        (lambda f: f.iloc[0:0], "no rows"),
        (lambda f: f.assign(correct=f["correct"] + 51), "between 0 and n"),
        (lambda f: f.assign(correct=0.5), "whole numbers"),
        (lambda f: f.assign(params=-1.0), "positive"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "appears twice"),
        (lambda f: f.iloc[1:], "different sets of operands"),
        (lambda f: f.assign(params=np.where(f.index == 0, 5e7, f["params"])), "several parameter counts"),
    ],
)
def test_invalid_tables_are_rejected(edit: Callable[[pd.DataFrame], pd.DataFrame], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pa.pooled_cells(edit(_frame(lambda i, x: 1)), n_boot=100)


def test_invalid_arguments() -> None:
    frame = _frame(lambda i, x: 1)
    with pytest.raises(ValueError, match="DataFrame"):
        pa.pooled_cells([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level"):
        pa.pooled_cells(frame, level=1.5)
    with pytest.raises(ValueError, match="factor"):
        pa.sharpness_by_resolution(frame, factor=0.5)


@settings(deadline=None, max_examples=40)
@given(st.lists(st.integers(0, 50), min_size=20, max_size=20))
def test_bootstrap_interval_brackets_the_pooled_accuracy(counts: list[int]) -> None:
    frame = _frame(lambda i, x: counts[x], operands=20, checkpoints=(1,))
    cells = pa.pooled_cells(frame, n_boot=200)
    assert np.all(cells["boot_low"] <= cells["acc"] + 1e-12) and np.all(cells["acc"] <= cells["boot_high"] + 1e-12)
    assert np.all(cells["resolved"] == (cells["boot_low"] > 0))


def test_the_chapter_numbers_on_pythia() -> None:
    frame = data.pythia_arithmetic()
    cells = pa.pooled_cells(frame)
    s = pa.summarise(cells)
    assert (s.operand_readings, s.operand_zeros, s.pooled_readings, s.pooled_zeros) == (42_000, 17_944, 420, 15)
    assert s.smallest_nonzero == pytest.approx(1 / 5000)
    assert pa.above_zero_verdict(cells) == "fails"  # zero-shot sums at 160m, 410m, 1b, 1.4b
    last = cells[cells["checkpoint"] == 143_000]
    assert pa.above_zero_verdict(last[last["shots"] > 0]) == "holds"
    assert pa.smooth_verdict(pa.sharpness_by_resolution(frame, n_boot=200)) == "fails"


def test_scores_below_and_its_counterfactual() -> None:
    """The chapter's dip: a larger size below a smaller one in every cell with shots; one cell where it catches up
    fails the check."""
    dip = pa.pooled_cells(_frame(lambda i, x: {3: 30, 4: 20}.get(i, 5 * i)), n_boot=200)
    assert pa.scores_below(dip, "s5", "s4", "addition")
    assert pa.scores_below(dip, "s5", "s4", "addition", from_checkpoint=1)
    assert not pa.scores_below(dip, "s4", "s3", "addition")  # s4 rises above s3: no dip there
    caught_up = _frame(lambda i, x: {3: 30, 4: 20}.get(i, 5 * i))
    late = (caught_up["size"] == "s5") & (caught_up["checkpoint"] == 2)
    caught_up.loc[late, "correct"] = 40  # the larger size overtakes at the last checkpoint
    cells = pa.pooled_cells(caught_up, n_boot=200)
    assert not pa.scores_below(cells, "s5", "s4", "addition")
    assert pa.scores_below(cells[cells["checkpoint"] == 1], "s5", "s4", "addition")
    with pytest.raises(ValueError, match="larger size"):
        pa.scores_below(dip, "s4", "s5", "addition")
    with pytest.raises(ValueError, match="not in the cells"):
        pa.scores_below(dip, "s9", "s4", "addition")
    with pytest.raises(ValueError, match="no 'multiplication' cells"):
        pa.scores_below(dip, "s5", "s4", "multiplication")
    with pytest.raises(ValueError, match="lack columns"):
        pa.scores_below(dip.drop(columns="acc"), "s5", "s4", "addition")


def test_pythia_69b_scores_below_28b_on_sums() -> None:
    """Chapter 2's statement on Pythia: 6.9B below 2.8B on sums with every shots count from checkpoint 39,000 on;
    not so on products at 8 and 16 shots."""
    cells = pa.pooled_cells(data.pythia_arithmetic(), n_boot=200)
    assert pa.scores_below(cells, "6.9b", "2.8b", "addition", from_checkpoint=39_000)
    # at step 13,000 both sit near the floor (53 and 54 of 5,000 with 2 shots); the chapter starts at 39,000
    assert not pa.scores_below(cells, "6.9b", "2.8b", "multiplication")
