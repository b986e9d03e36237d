"""Tests for mirage_utils.forecast: honest backtests (no peeking), the math model's known answers, a genuine step,
intervals, crossings, the renormalisation chain and input validation."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mirage_utils import forecast as fc

SIZES = np.logspace(3, 7, 13)


def _replicate(ce: np.ndarray, replicate: int, length: int) -> pd.DataFrame:
    """One replicate's rows from its per-token cross-entropy: p = exp(-CE), exact match p**L, edit distance L(1-p)."""
    p = np.exp(-ce)
    return pd.DataFrame(
        {
            "x": SIZES,
            "replicate": replicate,
            "cross_entropy": ce,
            "token_prob": p,
            "exact_match": p**length,
            "ted": length * (1 - p),
            "loss": ce,
        }
    )


def math_family(
    alpha: float, log10_half: float, length: int, noise: float = 0.03, replicates: int = 3, seed: int = 0
) -> pd.DataFrame:
    """The paper's math model: per-token CE = (N/c)**alpha with c set so exact match p**L is 1/2 at 10**log10_half;
    each replicate's CE carries lognormal noise; exact match and edit distance are the replicate's expected values."""
    c = 10**log10_half / (np.log(2) / length) ** (1 / alpha)
    gen = np.random.default_rng(seed)
    parts = []
    for r in range(replicates):
        ce = (SIZES / c) ** alpha * np.exp(gen.normal(0.0, noise, SIZES.size))
        parts.append(_replicate(ce, r, length))
    return pd.concat(parts, ignore_index=True)


def step_family(step_at: float, length: int, replicates: int = 3, seed: int = 0) -> pd.DataFrame:
    """Per-token probability follows a gentle power law (p < 0.45) below ``step_at`` and jumps to 0.995 at and
    above it: a genuine step in the per-token quantity, not a metric artefact."""
    gen = np.random.default_rng(seed)
    parts = []
    for r in range(replicates):
        ce = 2.0 * (SIZES / 1e3) ** -0.05 * np.exp(gen.normal(0.0, 0.02, SIZES.size))
        ce = np.where(SIZES >= step_at, 0.005, ce)
        parts.append(_replicate(ce, r, length))
    return pd.concat(parts, ignore_index=True)


def route_and_direct(length: int) -> list[fc.Forecaster]:
    return [
        fc.DirectLinear(target="exact_match"),
        fc.DirectSigmoid(target="exact_match"),
        fc.PerTokenRoute(output="exact_match", length=length),
        fc.PerTokenRoute(output="exact_match", length=length, via="token_prob"),
        fc.LossAxis(target="exact_match"),
        fc.DirectLinear(target="ted"),
        fc.PerTokenRoute(output="ted", length=length),
        fc.DirectLinear(target="token_prob"),
    ]


# --- the math model: the per-token route recovers the truth, the direct line does not ------------------------------


@settings(max_examples=25, deadline=None)
@given(st.floats(-1.5, -0.6), st.floats(5.3, 6.3), st.integers(3, 8))
def test_route_recovers_math_model_where_direct_line_fails(alpha: float, log10_half: float, length: int) -> None:
    fam = math_family(alpha, log10_half, length)
    truth = fam.groupby("x")["exact_match"].mean()
    cut = float(truth.index[truth < 0.01].max())  # below the jump: exact match still under 1%
    assert (truth.index <= cut).sum() >= 3 and truth.iloc[-1] > 0.5
    forecasters = [fc.DirectLinear(target="exact_match"), fc.PerTokenRoute(output="exact_match", length=length)]
    result = fc.backtest(fam, forecasters, [cut], levels={"exact_match": 0.5})
    err = result.predictions.groupby("forecaster")["abs_error"].max()
    assert err["per-token route (cross-entropy)"] < 0.1
    assert err["direct linear"] > 0.4
    cross = result.crossings.set_index("forecaster")["error_decades"]
    assert abs(cross["per-token route (cross-entropy)"]) < 0.1
    assert not abs(cross["direct linear"]) < 0.5  # inf (never crosses) or far off


def test_route_to_edit_distance_matches_paper_form() -> None:
    fam = math_family(-0.8, 5.8, 5, noise=0.0, replicates=2)
    route = fc.PerTokenRoute(output="ted", length=5)
    fitted = route.fit(fam[fam["x"] <= 1e4])
    mean, _, _ = route.predict(fitted, SIZES)
    c = 10**5.8 / (np.log(2) / 5) ** (1 / -0.8)
    assert np.allclose(mean, 5 * (1 - np.exp(-((SIZES / c) ** -0.8))), rtol=1e-8)


# --- a genuine step in per-token probability cannot be forecast from below it --------------------------------------


@settings(max_examples=15, deadline=None)
@given(st.integers(8, 10), st.integers(3, 6))
def test_step_in_per_token_probability_is_unpredictable_from_below(step_index: int, length: int) -> None:
    step_at = float(SIZES[step_index])
    fam = step_family(step_at, length)
    cut = float(SIZES[step_index - 2])  # the step is two sizes above the cutoff
    levels = {"exact_match": 0.5, "ted": length / 2, "token_prob": 0.55}
    result = fc.backtest(fam, route_and_direct(length), [cut], levels=levels, lower_is_better={"ted"})
    beyond = result.predictions[result.predictions["x"] >= step_at]
    worst = beyond.groupby(["forecaster", "metric"])["scaled_error"].max()
    cross = result.crossings.set_index(["forecaster", "metric"])["error_decades"].abs()
    for key in worst.index:
        # unpredictable: the forecast misses the level after the step by a large share of the curve's range, or
        # puts the crossing half a decade or more away from the step
        assert worst[key] > 0.3 or not cross[key] < 0.5, key


# --- no peeking --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Spy(fc.DirectLinear):
    seen: list[float] = dataclasses.field(default_factory=list)

    def fit(self, train: pd.DataFrame) -> fc.Fitted:
        self.seen.append(float(train["x"].max()))
        return super().fit(train)


def test_fit_receives_only_rows_at_or_below_cutoff() -> None:
    fam = math_family(-0.8, 5.8, 4)
    spy = Spy(target="exact_match")
    cuts = fc.default_cutoffs(SIZES)
    fc.backtest(fam, [spy], cuts)
    assert spy.seen == pytest.approx(list(cuts))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cheat(fc.DirectLinear):
    """Ignores its training slice and fits on the whole family it was built with."""

    everything: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    def fit(self, train: pd.DataFrame) -> fc.Fitted:
        return super().fit(self.everything)


def test_forecaster_fitted_on_all_sizes_cannot_enter_a_backtest() -> None:
    fam = math_family(-0.8, 5.8, 4)
    with pytest.raises(ValueError, match="above the cutoff"):
        fc.backtest(fam, [Cheat(target="exact_match", everything=fam)], [SIZES[5]])
    fitted = fc.DirectLinear(target="exact_match").fit(fam)  # a fit on every size is not a forecaster
    with pytest.raises(ValueError, match="not Fitted"):
        fc.backtest(fam, [fitted], [SIZES[5]])  # type: ignore[list-item]


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 11), st.floats(-1e6, 1e6), st.integers(0, 2**16))
def test_predictions_unchanged_when_held_out_values_are_garbage(cut_index: int, scale: float, seed: int) -> None:
    fam = math_family(-0.8, 5.8, 4)
    cut = float(SIZES[cut_index])
    garbage = fam.copy()
    held = garbage["x"] > cut
    gen = np.random.default_rng(seed)
    for col in ("cross_entropy", "token_prob", "exact_match", "ted", "loss"):
        garbage.loc[held, col] = scale * gen.random(int(held.sum())) + 1e-3
    forecasters = route_and_direct(4)
    a = fc.backtest(fam, forecasters, [cut]).predictions
    b = fc.backtest(garbage, forecasters, [cut]).predictions
    cols = ["forecaster", "metric", "x", "predicted", "lower", "upper"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


# --- intervals ----------------------------------------------------------------------------------------------------


def test_seed_interval_is_t_interval_over_replicate_fits() -> None:
    fam = math_family(-0.8, 5.8, 4, noise=0.1)
    train = fam[fam["x"] <= SIZES[6]]
    f = fc.DirectLinear(target="token_prob")
    fitted = f.fit(train)
    mean, lower, upper = f.predict(fitted, [1e7])
    per_seed = [
        np.polyval(np.polyfit(np.log10(g["x"]), g["token_prob"], 1), 7.0) for _, g in train.groupby("replicate")
    ]
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(per_seed), scale=stats.sem(per_seed))
    assert mean[0] == pytest.approx(np.mean(per_seed))
    assert (lower[0], upper[0]) == pytest.approx((lo, hi))
    assert fitted.interval == "seed t interval (3 seeds, 95%)"


def test_single_replicate_gets_parametric_bootstrap_that_covers_a_line() -> None:
    gen = np.random.default_rng(1)
    covered = 0
    for _ in range(40):
        y = 0.1 + 0.05 * np.log10(SIZES) + gen.normal(0, 0.01, SIZES.size)
        fam = fc.family_frame(pd.DataFrame({"n": SIZES, "acc": y}), "n", ["acc"])
        f = fc.DirectLinear(target="acc", n_boot=100)
        fitted = f.fit(fam[fam["x"] <= SIZES[8]])
        _, lower, upper = f.predict(fitted, [1e7])
        covered += int(lower[0] <= 0.1 + 0.05 * 7 <= upper[0])
        assert fitted.method == "bootstrap" and fitted.interval.startswith("parametric bootstrap (100 draws")
    assert covered >= 30  # a 95% interval for the line itself


def test_bootstrap_is_reproducible_and_labelled_in_tables() -> None:
    fam = math_family(-0.8, 5.8, 4, replicates=1)
    a = fc.backtest(fam, [fc.DirectSigmoid(target="exact_match", n_boot=30)], [SIZES[8]]).predictions
    b = fc.backtest(fam, [fc.DirectSigmoid(target="exact_match", n_boot=30)], [SIZES[8]]).predictions
    pd.testing.assert_frame_equal(a, b)
    assert set(a["interval"]) == {"parametric bootstrap (30 draws, 95%)"}


# --- crossings and summaries ----------------------------------------------------------------------------------------


def test_crossing_size_interpolates_in_log_size() -> None:
    assert fc.crossing_size([1, 10, 100], [0.0, 0.4, 0.8], 0.6) == pytest.approx(10**1.5)
    assert fc.crossing_size([1, 10, 100], [0.0, 0.4, 0.8], 0.9) == float("inf")
    assert fc.crossing_size([1, 10, 100], [5.0, 3.0, 1.0], 2.0, higher_is_better=False) == pytest.approx(10**1.5)
    assert fc.crossing_size([1, 10], [0.7, 0.9], 0.5) == 1.0


def test_crossing_statuses_are_explicit() -> None:
    flat = math_family(-0.8, 9.0, 4)  # never reaches 1/2 within the family
    result = fc.backtest(flat, [fc.DirectLinear(target="exact_match")], [SIZES[4]], levels={"exact_match": 0.5})
    row = result.crossings.iloc[0]
    assert row["observed_crossing"] == float("inf") and row["status"] == "neither in range"
    assert np.isnan(row["error_decades"])
    # a forecaster that says the level is reached in range when it is not
    rising = flat.assign(exact_match=np.where(flat["x"] <= SIZES[4], 0.3 * (np.log10(flat["x"]) - 3), 0.0))
    wrong = fc.backtest(rising, [fc.DirectLinear(target="exact_match")], [SIZES[4]], levels={"exact_match": 0.5})
    row = wrong.crossings.iloc[0]
    assert row["status"] == "not observed" and row["error_decades"] == float("-inf")


def test_summary_columns_and_observed_before_cutoff() -> None:
    fam = math_family(-0.8, 4.2, 4)  # crosses 1/2 early, before most cutoffs
    result = fc.backtest(fam, route_and_direct(4), levels={"exact_match": 0.5})
    s = fc.summarise(result)
    for col in ("median_abs_error", "coverage", "interval", "median_abs_crossing_error", "crossing_cutoffs"):
        assert col in s.columns
    assert result.crossings["observed_before_cutoff"].any()
    expected = {"forecaster", "metric", "cutoff", "x", "predicted", "lower", "upper", "observed", "abs_error"}
    assert expected | {"covered", "scaled_error", "interval"} <= set(result.predictions.columns)


def test_forecast_fits_everything_and_predicts_beyond() -> None:
    fam = math_family(-0.8, 5.8, 4, noise=0.0)
    out = fc.forecast(fam, [fc.PerTokenRoute(output="exact_match", length=4)], [1e8])
    assert out["x_max_train"].iloc[0] == pytest.approx(1e7)
    c = 10**5.8 / (np.log(2) / 4) ** (1 / -0.8)
    assert out["predicted"].iloc[0] == pytest.approx(np.exp(-4 * (1e8 / c) ** -0.8), rel=1e-6)


def test_loss_axis_composes_loss_and_metric() -> None:
    gen = np.random.default_rng(0)
    loss = 3.0 * (SIZES / 1e3) ** -0.2
    parts = [
        pd.DataFrame({"x": SIZES, "replicate": r, "loss": loss * np.exp(gen.normal(0, 0.01, SIZES.size))})
        for r in range(3)
    ]
    fam = pd.concat(parts, ignore_index=True)
    fam["acc"] = 1.2 - 0.4 * fam["loss"]
    f = fc.LossAxis(target="acc", shape="linear")
    mean, lower, upper = f.predict(f.fit(fam[fam["x"] <= SIZES[6]]), [1e7])
    assert mean[0] == pytest.approx(1.2 - 0.4 * 3.0 * 1e4**-0.2, abs=0.01)
    assert lower[0] < mean[0] < upper[0]


# --- the renormalisation chain ----------------------------------------------------------------------------------------


def test_chain_family_links() -> None:
    lp = np.log([0.2, 0.3, 0.1, 0.6, 0.05, 0.05])
    options = pd.DataFrame(
        {"n": 10.0, "question": [0, 0, 0, 1, 1, 1], "correct": [True, False, False, True, False, False], "lp": lp}
    )
    out = fc.chain_family(options, "n", log_prob="lp")
    row = out.iloc[0]
    assert row["log_p_correct"] == pytest.approx(np.mean(np.log([0.2, 0.6])))
    assert row["p_correct"] == pytest.approx(0.4)
    assert row["p_choice"] == pytest.approx(np.mean([0.2 / 0.6, 0.6 / 0.7]))
    assert row["accuracy"] == pytest.approx(0.5)
    tie = options.assign(lp=np.log([0.3, 0.3, 0.1, 0.6, 0.05, 0.05]))
    assert fc.chain_family(tie, "n", log_prob="lp")["accuracy"].iloc[0] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="exactly one correct"):
        fc.chain_family(options.assign(correct=True), "n", log_prob="lp")


def test_chain_backtest_in_chain_order() -> None:
    gen = np.random.default_rng(0)
    rows = []
    for x in SIZES[::2]:
        for r in range(2):
            for q in range(30):
                logits = gen.normal(0, 1, 4) + np.array([np.log10(x) - 4, 0, 0, 0])
                for k in range(4):
                    rows.append({"n": x, "seed": r, "question": q, "correct": k == 0, "log_prob": logits[k] - 3})
    fam = fc.chain_family(pd.DataFrame(rows), "n", "seed")
    s = fc.chain_summary(fc.backtest(fam, fc.chain_forecasters()))
    assert list(s["metric"]) == list(fc.CHAIN)


# --- input validation ----------------------------------------------------------------------------------------------


def test_validation_errors() -> None:
    fam = math_family(-0.8, 5.8, 4)
    lin = [fc.DirectLinear(target="exact_match")]
    with pytest.raises(ValueError, match="fewer than 3 sizes"):
        fc.backtest(fam, lin, [SIZES[1]])
    with pytest.raises(ValueError, match="no larger size"):
        fc.backtest(fam, lin, [SIZES[-1]])
    with pytest.raises(ValueError, match="finite"):
        fc.backtest(fam.assign(exact_match=np.where(fam["x"] > 1e6, np.nan, fam["exact_match"])), lin)
    with pytest.raises(ValueError, match="> 0"):
        fc.backtest(fam.assign(x=fam["x"] - 1e3), lin)
    with pytest.raises(ValueError, match="lacks columns"):
        fc.backtest(fam.drop(columns="exact_match"), lin)
    with pytest.raises(ValueError, match="several rows"):
        fc.backtest(pd.concat([fam, fam]), lin)
    with pytest.raises(ValueError, match="no forecasters"):
        fc.backtest(fam, [])
    with pytest.raises(ValueError, match="distinct sizes"):
        fc.DirectLinear(target="exact_match").fit(fam[fam["x"] <= SIZES[1]])
    with pytest.raises(ValueError, match="floor < ceiling"):
        fc.DirectSigmoid(target="exact_match", floor=1.0)
    with pytest.raises(ValueError, match="via"):
        fc.PerTokenRoute(output="exact_match", length=3, via="loss")
    with pytest.raises(ValueError, match="length"):
        fc.PerTokenRoute(output="exact_match", length=0)
    with pytest.raises(ValueError, match="> 0"):
        fc.PowerLaw(target="ted").fit(fam.assign(ted=0.0))
    with pytest.raises(ValueError, match="not fitted by"):
        fc.DirectLinear(target="ted").predict(fc.DirectLinear(target="exact_match").fit(fam), [1e8])
    with pytest.raises(ValueError, match="share"):
        fc.arithmetic_plan(0.01, 4, share=1.0)


def test_family_frame_layouts() -> None:
    wide = pd.DataFrame({"N": [1, 1, 10, 10, 100, 100], "seed": [0, 1] * 3, "acc": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    out = fc.family_frame(wide, "N", ["acc"], "seed")
    assert list(out.columns) == ["x", "replicate", "acc"] and len(out) == 6
    long = wide.assign(metric="acc").rename(columns={"acc": "value"})
    pd.testing.assert_frame_equal(fc.family_frame(long, "N", replicate="seed", metric="metric", value="value"), out)
    per_example = pd.DataFrame({"N": [1, 1, 10, 10, 100, 100], "correct": [0, 1, 1, 1, 0, 0]})
    with pytest.raises(ValueError, match="per_example"):
        fc.family_frame(per_example, "N", ["correct"])
    agg = fc.family_frame(per_example, "N", ["correct"], per_example=True)
    assert list(agg["correct"]) == [0.5, 1.0, 0.0] and set(agg["replicate"]) == {0}
    with pytest.raises(ValueError, match="either"):
        fc.family_frame(wide, "N")
    with pytest.raises(ValueError, match="lacks some quantity"):
        extra = pd.concat([long, long.iloc[:1].assign(metric="other")])
        fc.family_frame(extra, "N", replicate="seed", metric="metric", value="value")
    with pytest.raises(ValueError, match="> 0"):
        fc.family_frame(wide.assign(N=0), "N", ["acc"])
    with pytest.raises(ValueError, match="finite"):
        fc.family_frame(wide.assign(acc=np.inf), "N", ["acc"], "seed")


# --- the book's arithmetic family ------------------------------------------------------------------------------------


def test_arithmetic_backtest_on_committed_family() -> None:
    start = time.perf_counter()
    result = fc.arithmetic_backtest()
    assert time.perf_counter() - start < 30  # the chapter has 60 s for everything
    p = result.predictions
    assert set(p["task"]) == set(fc.ARITHMETIC_TASKS)
    assert np.isfinite(p[["predicted", "lower", "upper", "observed"]].to_numpy()).all()
    assert set(p["cutoff"].round()) == {12768, 25472, 39520, 56640, 76832, 100096, 150080, 233680}
    assert set(p["interval"]) == {"seed t interval (3 seeds, 95%)"}
    s = fc.summarise(result, by=("task", "target_length", "metric", "forecaster"))
    assert len(s) == 4 * 11


def test_batched_sigmoid_fit_matches_scipy_least_squares() -> None:
    from scipy.optimize import least_squares
    from scipy.special import expit

    from mirage_utils._forecasters import MIDPOINT_PAD, fit_sigmoid

    gen = np.random.default_rng(0)
    ratios = []
    for _ in range(120):
        u = np.sort(gen.uniform(3, 7, gen.integers(3, 12)))
        floor = gen.uniform(0, 0.3)
        y = floor + (1 - floor) * expit(gen.uniform(0.2, 10) * (u - gen.uniform(2, 8)))
        y = y + gen.normal(0, gen.uniform(0, 0.1), u.size)
        mid, slope, _ = fit_sigmoid(u, y, floor, 1.0)[0]
        lo, hi = u.min() - MIDPOINT_PAD, u.max() + MIDPOINT_PAD
        resid = lambda t: floor + (1 - floor) * expit(t[1] * (u - t[0])) - y  # noqa: B023
        best = min(
            (least_squares(resid, [m0, s0], bounds=([lo, 0], [hi, 20])) for m0 in np.linspace(lo, hi, 9)[1:-1]
             for s0 in (0.5, 3, 15)),
            key=lambda f: f.cost,
        )  # fmt: skip
        ratios.append((0.5 * np.sum(resid([mid, slope]) ** 2), best.cost))
    mine, scipy_best = np.array(ratios).T
    assert np.mean(mine <= 1.01 * scipy_best + 1e-9) >= 0.95  # a local optimum now and then, as any start may
    assert np.all(mine - scipy_best <= np.maximum(0.5 * scipy_best, 1e-3))
    batch = fit_sigmoid(u, np.vstack([y, y]), floor, 1.0)
    assert np.allclose(batch[0], batch[1])


def test_arithmetic_chain_on_committed_family() -> None:
    result = fc.arithmetic_chain(tasks=("addition_4digit",), option_sets=("bigbench",))
    s = fc.chain_summary(result)
    assert list(s["metric"]) == list(fc.CHAIN)
    assert set(result.predictions["option_set"]) == {"bigbench"}
