"""Tests for mirage_utils.forecast_families: the verdict rules on small known tables, and Chapter 9's claim checks
on the real backtests, each with a counterfactual that makes it fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mirage_utils import bigbench, data
from mirage_utils import forecast as fc
from mirage_utils import forecast_families as ff
from mirage_utils import observational as obs
from mirage_utils.arithmetic import legs

HOLDS, FAILS, CANNOT_TELL = legs.HOLDS, legs.FAILS, legs.CANNOT_TELL


def crossings(errors: list[float], observed: float = 1e5, cutoffs: list[float] | None = None) -> pd.DataFrame:
    cutoffs = cutoffs or [1e3 * (i + 1) for i in range(len(errors))]
    return pd.DataFrame(
        {
            "forecaster": ff.ROUTE,
            "metric": "exact_match",
            "cutoff": cutoffs,
            "observed_crossing": observed,
            "error_decades": errors,
            "observed_before_cutoff": [c >= observed for c in cutoffs],
        }
    )


# --- rules on known tables -----------------------------------------------------------------------------------------


def test_crossing_verdict_words():
    assert ff.crossing_verdict(crossings([0.1, -0.2]), ff.ROUTE) == HOLDS
    assert ff.crossing_verdict(crossings([0.1, np.inf]), ff.ROUTE) == FAILS  # half miss: a forecast never there
    assert ff.crossing_verdict(crossings([0.1, 0.1, 0.5]), ff.ROUTE) == CANNOT_TELL
    assert ff.crossing_verdict(crossings([0.1], observed=np.inf), ff.ROUTE) == CANNOT_TELL  # never crosses
    assert ff.crossing_verdict(crossings([0.1]), "another forecaster") == CANNOT_TELL
    with pytest.raises(ValueError, match="tolerance"):
        ff.crossing_verdict(crossings([0.1]), ff.ROUTE, tolerance=0)


def test_only_cutoffs_below_the_crossing_count():
    table = crossings([0.1, 5.0], observed=1.5e3, cutoffs=[1e3, 2e3])  # the miss comes after the crossing
    assert ff.crossing_verdict(table, ff.ROUTE) == HOLDS


def test_onset_restricts_to_cutoffs_before_the_jump():
    half = crossings([1.0, 0.1, 0.1], observed=1e5, cutoffs=[1e3, 2e3, 3e3])
    onset = crossings([0.0], observed=1.5e3, cutoffs=[1e3])
    assert ff.crossing_verdict(half, ff.ROUTE) == CANNOT_TELL  # 1 of 3 miss
    assert ff.crossing_verdict(half, ff.ROUTE, onset=onset) == FAILS  # before the onset: 1 of 1 miss
    assert len(ff.crossing_grid(half, [ff.ROUTE], onset=onset)) == 1


def test_closer_and_majority_and_chain():
    assert ff.closer_verdict(0.9) == HOLDS and ff.closer_verdict(0.1) == FAILS and ff.closer_verdict(0.5) == CANNOT_TELL
    with pytest.raises(ValueError):
        ff.closer_verdict(1.5)
    assert ff.majority_verdict([HOLDS, HOLDS, CANNOT_TELL]) == HOLDS
    assert ff.majority_verdict([HOLDS, HOLDS, FAILS]) == CANNOT_TELL
    assert ff.majority_verdict([FAILS, FAILS, CANNOT_TELL]) == FAILS
    with pytest.raises(ValueError):
        ff.majority_verdict(["maybe"])
    summary = pd.DataFrame(
        {
            "task": "t",
            "option_set": ["a", "a", "b", "b"],
            "metric": ["log_p_correct", "accuracy"] * 2,
            "median_scaled_error": [0.1, 0.3, 0.1, 0.05],
        }
    )
    assert ff.chain_verdict(summary, "t") == CANNOT_TELL
    assert ff.chain_verdict(summary[summary["option_set"] == "a"], "t") == HOLDS
    assert ff.chain_verdict(summary[summary["option_set"] == "b"], "t") == FAILS
    with pytest.raises(ValueError, match="no chain rows"):
        ff.chain_verdict(summary, "other")


def test_paired_closer_pairs_shared_predictions_only():
    rows = pd.DataFrame(
        {
            "forecaster": ["a", "a", "b", "b", "b"],
            "metric": "m",
            "cutoff": 1.0,
            "x": [2.0, 3.0, 2.0, 3.0, 4.0],
            "abs_error": [0.1, 0.5, 0.2, 0.4, 9.0],
        }
    )
    assert ff.paired_closer(rows, "a", "b", "m") == 0.5
    with pytest.raises(ValueError, match="no shared"):
        ff.paired_closer(rows, "a", "c", "m")


def test_jumps_past_trend_and_next_size():
    preds = pd.DataFrame(
        {
            "forecaster": "f",
            "metric": "m",
            "cutoff": 10.0,
            "x": [30.0, 20.0],
            "predicted": [0.5, 0.4],
            "lower": 0.0,
            "upper": 1.0,
            "observed": [0.6, 0.8],
            "scaled_error": [0.1, 0.4],
            "covered": True,
        }
    )
    miss = ff.next_size_miss(preds, "f", "m", 10.0)
    assert miss["x"].tolist() == [20.0] and ff.jumps_past_trend(miss)
    assert not ff.jumps_past_trend(miss.assign(scaled_error=0.05))
    with pytest.raises(ValueError, match="no predictions"):
        ff.next_size_miss(preds, "f", "m", 99.0)


def test_sizes_per_family():
    scores = pd.DataFrame({"family": ["a"] * 5 + ["b"] * 2, "params": [1, 2, 3, 4, 5, 1, 2]})
    table = ff.sizes_per_family(scores).set_index("family")
    assert table.loc["a", "cutoffs"] == 2 and table.loc["b", "cutoffs"] == 0


# --- Chapter 9's claim checks on the real data, each with its counterfactual ---------------------------------------


@pytest.fixture(scope="module")
def levels() -> dict[str, fc.Backtest]:
    return ff.arithmetic_levels()


def _task(bt: fc.Backtest, task: str) -> fc.Backtest:
    return fc.Backtest(bt.predictions[bt.predictions["task"] == task], bt.crossings[bt.crossings["task"] == task])


def test_addition_onset_through_per_digit_probability(levels):
    add = _task(levels["onset"], "addition_4digit").crossings
    assert ff.crossing_verdict(add, ff.ROUTE) == HOLDS
    moved = add.assign(error_decades=np.where(add["forecaster"] == ff.ROUTE, 1.0, add["error_decades"]))
    assert ff.crossing_verdict(moved, ff.ROUTE) == FAILS


def test_addition_half_way_from_before_the_jump(levels):
    half = _task(levels["half-way"], "addition_4digit").crossings
    onset = _task(levels["onset"], "addition_4digit").crossings
    assert ff.crossing_verdict(half, ff.ROUTE, onset=onset) == FAILS
    assert ff.crossing_verdict(half.assign(error_decades=0.0), ff.ROUTE, onset=onset) == HOLDS


def test_multiplication_onset_through_per_digit_probability(levels):
    mult = _task(levels["onset"], "multiplication_2digit").crossings
    assert ff.crossing_verdict(mult, ff.ROUTE) == FAILS
    assert ff.crossing_verdict(mult.assign(error_decades=0.0), ff.ROUTE) == HOLDS
    assert ff.crossing_verdict(_task(levels["half-way"], "multiplication_2digit").crossings, ff.ROUTE) == CANNOT_TELL


def test_per_digit_probability_itself_jumps_on_addition(levels):
    preds = _task(levels["onset"], "addition_4digit").predictions
    miss = ff.next_size_miss(preds, ff.DIRECT_LINEAR, "token_prob", 25472.0)
    assert ff.jumps_past_trend(miss)
    assert not ff.jumps_past_trend(miss.assign(scaled_error=0.0))


def test_pythia_lambada_through_log_perplexity():
    bt = ff.pythia_lambada_backtest(data.pythia_evals())
    share = ff.paired_closer(bt.predictions, ff.LOSS_AXIS, ff.DIRECT_SIGMOID, "acc")
    assert ff.closer_verdict(share) == HOLDS
    swapped = ff.paired_closer(bt.predictions, ff.DIRECT_SIGMOID, ff.LOSS_AXIS, "acc")
    assert ff.closer_verdict(swapped) == FAILS
    assert set(bt.predictions["interval"]) == {"seed t interval (2 seeds, 95%)"}  # the two runs are the replicates


def test_chain_grows_on_addition_not_on_multiplication():
    summary = fc.summarise(fc.arithmetic_chain(), by=("task", "option_set", "metric"))
    assert ff.chain_verdict(summary, "addition_4digit") == HOLDS
    assert ff.chain_verdict(summary, "multiplication_2digit") == FAILS
    flipped = summary.assign(
        metric=summary["metric"].replace({"accuracy": "log_p_correct", "log_p_correct": "accuracy"})
    )
    assert ff.chain_verdict(flipped, "addition_4digit") == FAILS


def test_ruan_pc_sigmoid_beats_compute():
    words = obs.verdicts(obs.compare(obs.backtest(obs.model_table())))["verdict"].tolist()
    assert ff.majority_verdict(words) == HOLDS
    assert ff.majority_verdict([FAILS if w == HOLDS else w for w in words]) == FAILS


def test_instructgpt_edit_distance_misses_davinci():
    bt = ff.instructgpt_backtest(legs.instructgpt_leg().curves_2x2)
    ted = bt.predictions[bt.predictions["metric"] == "ted"]
    assert (~ted["covered"]).all() and (ted["abs_error"] > 1).all()
    honest = ted.assign(observed=ted["predicted"], abs_error=0.0, covered=True)
    assert not ((~honest["covered"]).all() and (honest["abs_error"] > 1).all())
    assert set(bt.predictions["n_train_sizes"]) == {3}  # ada, babbage, curie only


def test_lu_families_allow_no_backtest():
    table = ff.sizes_per_family(bigbench.lu_scores())
    assert (table["cutoffs"] == 0).all()
    bigger = pd.DataFrame({"family": "five sizes", "params": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert not (ff.sizes_per_family(pd.concat([bigbench.lu_scores(), bigger]))["cutoffs"] == 0).all()


def test_fitted_curves_see_only_the_cutoff():
    family = ff.arithmetic_curve("addition_4digit", 4)
    cut = float(np.sort(family["x"].unique())[3])
    grid = np.geomspace(family["x"].min(), family["x"].max(), 5)
    curves = ff.fitted_curves(family, [fc.DirectLinear(target="token_prob")], cut, grid)
    assert (curves["x_max_train"] == cut).all() and len(curves) == 5
    garbled = family.assign(token_prob=np.where(family["x"] > cut, 0.0, family["token_prob"]))
    again = ff.fitted_curves(garbled, [fc.DirectLinear(target="token_prob")], cut, grid)
    assert np.allclose(again["predicted"], curves["predicted"])  # held-out values change nothing
    with pytest.raises(ValueError, match="no sizes"):
        ff.fitted_curves(family, [fc.DirectLinear(target="token_prob")], 1.0, grid)


def test_ruan_tasks_forecast_closely_at_the_paper_cutoff():
    summary = obs.summarise(obs.backtest(obs.model_table()))
    good = set(summary.query("forecaster == 'pc_sigmoid' and mae <= 0.06")["metric"])
    assert good == {"word_unscrambling", "arithmetic_2da", "arithmetic_3da", "arithmetic_3ds"}
    worse = summary.assign(mae=np.where(summary["metric"] == "word_unscrambling", 0.2, summary["mae"]))
    assert set(worse.query("forecaster == 'pc_sigmoid' and mae <= 0.06")["metric"]) != good
