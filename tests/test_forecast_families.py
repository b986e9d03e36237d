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


# --- verdict rules added for the reader path: every setting, every step, held-out sizes ----------------------------


def test_unanimous_verdict_words():
    assert ff.unanimous_verdict([HOLDS, HOLDS]) == HOLDS
    assert ff.unanimous_verdict([FAILS, FAILS]) == FAILS
    assert ff.unanimous_verdict([HOLDS, CANNOT_TELL]) == CANNOT_TELL
    assert ff.unanimous_verdict([HOLDS, FAILS]) == CANNOT_TELL
    with pytest.raises(ValueError):
        ff.unanimous_verdict([])
    with pytest.raises(ValueError):
        ff.unanimous_verdict(["maybe"])


def chain_table(errors: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"task": "t", "option_set": s, "metric": m, "median_scaled_error": e}
            for s, errs in errors.items()
            for m, e in zip(fc.CHAIN, errs)
        ]
    )


def test_chain_steps_verdict_on_known_tables():
    grows = [0.1, 0.2, 0.3, 0.4]
    peaks = [0.1, 0.3, 0.2, 0.25]
    assert ff.chain_steps_verdict(chain_table({"a": grows, "b": grows}), "t") == HOLDS
    assert ff.chain_steps_verdict(chain_table({"a": grows, "b": peaks}), "t") == CANNOT_TELL
    assert ff.chain_steps_verdict(chain_table({"a": peaks, "b": peaks}), "t") == FAILS
    steps = ff.chain_steps(chain_table({"b": peaks}), "t")
    assert steps.loc["b", ["grows: p_correct", "grows: p_choice", "grows: accuracy"]].tolist() == [True, False, True]
    with pytest.raises(ValueError, match="no chain rows"):
        ff.chain_steps(chain_table({"a": grows}), "other")
    with pytest.raises(ValueError, match="lacks chain links"):
        ff.chain_steps(chain_table({"a": grows}).iloc[:3], "t")


def test_heldout_verdict():
    one = pd.DataFrame({"x": [5.0, 5.0], "covered": [False, False]})
    assert ff.heldout_verdict(one) == CANNOT_TELL  # one held-out model is one test
    many = pd.DataFrame({"x": [5.0, 6.0, 7.0], "covered": [True, True, True]})
    assert ff.heldout_verdict(many) == HOLDS
    assert ff.heldout_verdict(many.assign(covered=False)) == FAILS
    assert ff.heldout_verdict(many.assign(covered=[True, False, True])) == CANNOT_TELL
    with pytest.raises(ValueError):
        ff.heldout_verdict(many, min_sizes=0)


def test_reader_names_and_size_labels():
    table = pd.DataFrame({"forecaster": [ff.ROUTE, ff.CE_ROUTE, ff.DIRECT_LINEAR, ff.LOSS_AXIS, "other"]})
    assert ff.named(table)["forecaster"].tolist() == [
        "per-digit route",
        "cross-entropy route",
        "direct line",
        "loss axis",
        "other",
    ]
    assert len(set(ff.NAMES.values())) == len(ff.NAMES)  # one name each
    assert [ff.size_label(x) for x in (25472.0, 1.2086e9, 3.023e8, 12.0, 1.1327e10)] == [
        "25K",
        "1.2B",
        "302M",
        "12",
        "11B",
    ]
    with pytest.raises(ValueError):
        ff.size_label(0.0)


# --- the reader-path claim checks on the real data, each with its counterfactual -----------------------------------


@pytest.fixture(scope="module")
def arith() -> pd.DataFrame:
    return data.pythia_arithmetic()


def test_pythia_addition_jump_is_not_forecast_from_below(arith):
    for level in (ff.JUMP_LEVEL, 0.5):
        bt = ff.pythia_arithmetic_backtest(arith, level=level, operations=("addition",))
        assert ff.jump_verdict(bt.crossings) == FAILS
        assert bt.crossings["status"].isin(["not predicted"]).any()
    fam = ff.pythia_arithmetic_family(arith, "addition", 2)
    assert fam["replicate"].nunique() == 1 and fam["x"].nunique() == 7
    # counterfactual: the same sizes on a smooth sigmoid (no jump): the direct sigmoid then places it
    u = np.log10(arith["params"].to_numpy(float))
    smooth = arith.assign(correct=np.round(arith["n"] * (1 / (1 + np.exp(-2.5 * (u - 9.3))))).astype(int))
    bt = ff.pythia_arithmetic_backtest(smooth, level=0.5, operations=("addition",))
    assert ff.jump_verdict(bt.crossings) != FAILS
    assert ff.crossing_verdict(bt.crossings, ff.DIRECT_SIGMOID, metric="acc") == HOLDS


def test_pythia_arithmetic_backtest_sees_only_the_cutoff(arith):
    bt = ff.pythia_arithmetic_backtest(arith, operations=("addition",), shots=(2,))
    assert (bt.predictions["x"] > bt.predictions["cutoff"]).all()
    big = arith["params"] > 2e9
    garbled = arith.assign(correct=np.where(big, 0, arith["correct"]))
    again = ff.pythia_arithmetic_backtest(garbled, operations=("addition",), shots=(2,))
    low = bt.predictions["cutoff"] < 2e9
    assert np.allclose(again.predictions.loc[low, "predicted"], bt.predictions.loc[low, "predicted"])
    with pytest.raises(ValueError, match="no rows"):
        ff.pythia_arithmetic_family(arith, "division", 2)
    with pytest.raises(ValueError, match="level"):
        ff.pythia_arithmetic_backtest(arith, level=1.5)


def test_pythia_mmlu_facts():
    evals = data.pythia_evals()
    facts = ff.pythia_mmlu_facts(evals)
    assert facts["first_above"] == "1.4B" and int(facts["most_subjects"]) <= 3 and float(facts["points_above"]) < 5
    assert facts["first_above_boot"] == "6.9B"  # resampling whole subjects: later
    # counterfactual: every MMLU subject answered far better (0.6 of its questions): many subjects, many points
    mmlu = evals["task"].str.startswith("hendrycksTest-") & (evals["metric"] == "acc")
    better = evals.assign(value=np.where(mmlu, np.round(0.6 * evals["n"]) / evals["n"], evals["value"]))
    moved = ff.pythia_mmlu_facts(better)
    assert int(moved["most_subjects"]) > 3 and float(moved["points_above"]) > 5
    assert moved["first_above"] == moved["first_above_boot"] == "70M"


def test_loss_axis_errors_cancel_on_lambada():
    evals = data.pythia_evals()
    lam = ff.pythia_lambada_family(evals)
    cut = float(np.unique(lam["x"])[2])
    top = lam[lam["x"] == lam["x"].max()]
    bt = ff.pythia_lambada_backtest(evals)
    ppl = bt.predictions.query("forecaster == @ff.POWER_LAW and cutoff == @cut and x == x.max()").iloc[0]
    link_at_observed = float(ff.loss_axis_link(lam, cut, top["log_ppl"].mean())[0])
    link_at_forecast = float(ff.loss_axis_link(lam, cut, ppl["predicted"])[0])
    assert ppl["predicted"] < ppl["observed"]  # the power law is too optimistic
    assert link_at_observed < top["acc"].mean() < link_at_forecast + 0.02  # the link is too low; they cancel
    # counterfactual: a 12B that scores lower than the link says at its log-perplexity: no cancellation to state
    lower = lam.assign(acc=np.where(lam["x"] == lam["x"].max(), 0.6, lam["acc"]))
    assert not float(ff.loss_axis_link(lower, cut, top["log_ppl"].mean())[0]) < 0.6
    with pytest.raises(ValueError, match="no sizes"):
        ff.loss_axis_link(lam, 1.0, [1.0])


def test_ruan_depends_on_the_cutoff():
    paired = obs.verdicts(obs.compare(obs.sweep(obs.model_table())))
    per_cut = [ff.majority_verdict(g["verdict"].tolist()) for _, g in paired.groupby("cutoff")]
    assert per_cut.count(HOLDS) == 1 and ff.unanimous_verdict(per_cut) == CANNOT_TELL
    assert ff.unanimous_verdict([HOLDS] * len(per_cut)) == HOLDS  # every cutoff holding would read holds


def test_chain_steps_on_the_family():
    summary = fc.summarise(fc.arithmetic_chain(), by=("task", "option_set", "metric"))
    assert ff.chain_steps_verdict(summary, "addition_4digit") == CANNOT_TELL
    assert ff.chain_steps_verdict(summary, "multiplication_2digit") == FAILS
    steps = ff.chain_steps(summary, "addition_4digit")
    assert steps["grows: p_correct"].all() and (~steps["grows: p_choice"]).sum() == 2
    # counterfactual: errors that grow at every step in every option set
    ranked = summary.assign(median_scaled_error=summary["metric"].map({m: i for i, m in enumerate(fc.CHAIN)}))
    assert ff.chain_steps_verdict(ranked, "addition_4digit") == HOLDS


def test_instructgpt_one_heldout_model_cannot_tell():
    bt = ff.instructgpt_backtest(legs.instructgpt_leg().curves_2x2)
    assert ff.heldout_verdict(bt.predictions) == CANNOT_TELL
    extra = bt.predictions.assign(x=bt.predictions["x"] * 2, covered=False)
    assert ff.heldout_verdict(pd.concat([bt.predictions, extra])) == FAILS  # two held-out sizes, none covered


def test_per_digit_miss_is_inside_the_seed_interval(levels):
    preds = _task(levels["onset"], "addition_4digit").predictions
    miss = ff.next_size_miss(preds, ff.DIRECT_LINEAR, "token_prob", 25472.0)
    assert ff.jumps_past_trend(miss) and miss["covered"].all()  # far from the point, inside the interval
    assert (miss["upper"] - miss["lower"] > 0.8).all()
    narrow = miss.assign(lower=miss["predicted"] - 0.05, upper=miss["predicted"] + 0.05)
    assert not ((narrow["lower"] <= narrow["observed"]) & (narrow["observed"] <= narrow["upper"])).all()


def test_display_grid_is_short_text():
    grid = ff.crossing_grid(crossings([0.1, np.inf]), [ff.ROUTE])
    shown = ff.display_grid(grid)
    assert shown.columns.tolist() == ["cutoff", "per-digit route"]
    assert shown["per-digit route"].tolist() == ["+0.10", "never"] and shown["cutoff"].tolist() == ["1K", "2K"]
    assert ff.decades_text(np.nan) == "–" and ff.decades_text(-np.inf) == "too early"
    assert ff.display_grid(grid, {1e3: "first"})["cutoff"].tolist() == ["first", "2K"]
    with pytest.raises(ValueError):
        ff.display_grid(pd.DataFrame())


def test_chain_with_bounded_links_as_sigmoids():
    """Chapter 9's chain rows: with the links in [0, 1] forecast by a sigmoid, addition's error falls after
    p(correct) in every option set (fails), accuracy ends easier than log p(correct) in 2 of 3, and
    multiplication's log p(correct) is the hardest link everywhere."""
    kinds = [type(f).__name__ for f in fc.chain_forecasters("sigmoid")]
    assert kinds == ["DirectLinear", "DirectSigmoid", "DirectSigmoid", "DirectSigmoid"]
    with pytest.raises(ValueError, match="bounded"):
        fc.chain_forecasters("clip")  # type: ignore[arg-type]
    links = fc.summarise(fc.arithmetic_chain(bounded="sigmoid"), by=("task", "option_set", "metric"))
    assert ff.chain_steps_verdict(links, "addition_4digit") == FAILS
    assert ff.chain_steps_verdict(links, "multiplication_2digit") == FAILS
    add = ff.chain_steps(links, "addition_4digit")
    assert add["grows: p_correct"].all() and not add["grows: p_choice"].any()
    assert (add["accuracy"] < add["log_p_correct"]).sum() == 2
    mult = ff.chain_steps(links, "multiplication_2digit")[list(fc.CHAIN)]
    assert (mult.idxmax(axis=1) == "log_p_correct").all()
    # counterfactual: errors that rise at every step in every option set make the addition row hold
    ranked = links.copy()
    order = {m: i for i, m in enumerate(fc.CHAIN)}
    ranked["median_scaled_error"] = ranked["metric"].map(order).astype(float)
    assert ff.chain_steps_verdict(ranked, "addition_4digit") == HOLDS
    # the unbounded line is the sensitivity: there the BIG-bench option set rises at every step
    line = fc.summarise(fc.arithmetic_chain(), by=("task", "option_set", "metric"))
    assert ff.chain_steps_verdict(line, "addition_4digit") == CANNOT_TELL


def test_pythia_lambada_loss_forms():
    """Chapter 9's LAMBADA row: the loss axis wins only with log-perplexity as a power law; as a line in log size
    it is no better than the direct sigmoid, so the row is cannot tell."""
    evals = data.pythia_evals()
    forms = ff.pythia_lambada_loss_forms(evals)
    assert set(forms["form"]) == {"power law", "line"}
    err = forms.groupby("form")["abs_error"].median()
    share = (forms["abs_error"] < forms["sigmoid_error"]).groupby(forms["form"]).mean()
    # the power-law route reproduces the loss axis's own backtest
    bt = fc.summarise(ff.pythia_lambada_backtest(evals)).set_index("forecaster")
    assert err["power law"] == pytest.approx(bt.loc[ff.LOSS_AXIS, "median_abs_error"], abs=1e-3)
    assert err["line"] >= forms["sigmoid_error"].median()
    words = [ff.closer_verdict(float(share["power law"])), ff.closer_verdict(float(share["line"]))]
    assert words[0] == HOLDS and ff.unanimous_verdict(words) == CANNOT_TELL
    # counterfactual: had the line route been as close as the power law, the row would hold
    assert ff.unanimous_verdict([words[0], ff.closer_verdict(float(share["power law"]))]) == HOLDS
