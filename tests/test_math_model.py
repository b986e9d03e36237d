"""Chapter 1: the math model's identities as unit tests, and its claim checks (``math_model``, ``emergence.sharper``),
each fed a counterfactual that must make it return False."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils import bigbench, emergence, math_model, plotting, scaling

C, ALPHA, L = 1e10, -0.3, 5
FAMILY = math_model.family(7, 13, 13)


# --- identities (they cannot fail, so they are tests, not claim checks) -------------------------------------------


@given(st.floats(-1.0, -0.1), st.floats(6, 12), st.integers(1, 8))
@settings(max_examples=50, deadline=None)
def test_accuracy_at_length_L_is_the_one_token_curve_shifted(alpha, log10_c, length):
    n = np.logspace(5, 15, 41)
    shifted = n / 10 ** math_model.shift_decades(length, alpha)
    assert np.allclose(
        scaling.expected_accuracy(n, 10**log10_c, alpha, length),
        scaling.expected_accuracy(shifted, 10**log10_c, alpha, 1),
        rtol=1e-9,
        atol=1e-300,
    )


@given(st.floats(-1.0, -0.1), st.floats(6, 12), st.integers(1, 8), st.floats(5, 12))
@settings(max_examples=50, deadline=None)
def test_ted_is_an_affine_copy_of_p_so_every_measure_agrees(alpha, log10_c, length, start):
    """-TED_L = L p - L: any affine-invariant sharpness measure gives TED_L the one-token accuracy's score on the
    same window, and accuracy at L the same score on the window shifted right by log10(L)/|alpha| decades."""
    sizes = math_model.family(start, start + 4, 9)
    c = 10**log10_c
    ted = scaling.expected_token_edit_distance(sizes, c, alpha, length)
    acc1 = scaling.expected_accuracy(sizes, c, alpha, 1)
    later = sizes * 10 ** math_model.shift_decades(length, alpha)
    accL = scaling.expected_accuracy(later, c, alpha, length)
    assert np.allclose(-ted, length * acc1 - length, atol=1e-12)
    if np.ptp(acc1) < 1e-6:  # a window deep in the floor or the ceiling: nothing to compare at float precision
        return
    for m in ("steepest_rise_ratio", "rise_width"):
        assert emergence.sharpness(sizes, ted, m, higher_is_better=False) == pytest.approx(
            emergence.sharpness(sizes, acc1, m), rel=1e-6
        )
        assert emergence.sharpness(later, accL, m) == pytest.approx(emergence.sharpness(sizes, acc1, m), rel=1e-6)


def test_ted_falls_strictly_and_mcg_is_a_step_by_construction():
    for length in range(1, 6):
        assert np.all(np.diff(scaling.expected_token_edit_distance(FAMILY, C, ALPHA, length)) < 0)
        mcg = scaling.expected_multiple_choice_grade(FAMILY, C, ALPHA, length, 4)
        assert set(np.unique(mcg)) <= {0.0, 1.0} and np.count_nonzero(np.diff(mcg)) <= 1
        assert np.all(np.diff(scaling.expected_brier_score(FAMILY, C, ALPHA, length, 4)) <= 0)


@given(st.floats(-1.5, -0.1), st.integers(1, 8))
@settings(max_examples=30, deadline=None)
def test_exact_match_rises_over_the_same_decades_for_every_length(alpha, length):
    n = np.logspace(0, 40, 40001)
    acc = scaling.expected_accuracy(n, 1e20, alpha, length)
    u = np.log10(n)
    width = np.interp(0.9, acc, u) - np.interp(0.1, acc, u)
    assert width == pytest.approx(math_model.exact_match_rise_width(alpha), abs=2e-3)


def test_shift_and_family_validate_input():
    with pytest.raises(ValueError, match="lower < upper"):
        math_model.exact_match_rise_width(-0.3, 0.9, 0.1)
    assert math_model.shift_decades(1, -0.3) == 0
    assert math_model.shift_decades(10, -0.5) == pytest.approx(2)
    with pytest.raises(ValueError, match="alpha must be < 0"):
        math_model.shift_decades(5, 0.3)
    with pytest.raises(ValueError, match="stop > start"):
        math_model.family(9, 7, 5)


def test_measured_curves_average_to_the_expected_curves():
    acc, ted = math_model.measured_curves(FAMILY, C, ALPHA, L, n_items=100, n_repeats=300, seed=1)
    assert acc.shape == ted.shape == (300, FAMILY.size)
    se_acc = np.sqrt(
        scaling.expected_accuracy(FAMILY, C, ALPHA, L)
        * (1 - scaling.expected_accuracy(FAMILY, C, ALPHA, L))
        / (100 * 300)
    )
    assert np.all(np.abs(acc.mean(0) - scaling.expected_accuracy(FAMILY, C, ALPHA, L)) <= 5 * se_acc + 1e-12)
    assert np.allclose(ted.mean(0), scaling.expected_token_edit_distance(FAMILY, C, ALPHA, L), atol=0.05)
    again, _ = math_model.measured_curves(FAMILY, C, ALPHA, L, n_items=100, n_repeats=300, seed=1)
    assert np.array_equal(acc, again)


def test_window_scores_reproduce_the_scoped_numbers():
    row = math_model.window_scores(FAMILY, C, ALPHA, L)
    assert row["share_below_floor"] == pytest.approx(7 / 13)
    assert row["emergence_score_ratio"] == pytest.approx(2.84, abs=0.01)
    old = math_model.window_scores(FAMILY, 1e8, ALPHA, L)  # the chapter's earlier parameters
    assert old["share_below_floor"] == pytest.approx(3 / 13) and old["emergence_score_ratio"] < 1


def test_ratio_by_floor_share_bins_and_validates():
    table = pd.DataFrame(
        {
            "share_below_floor": [0.0, 0.3, 0.6, 1.0],
            "emergence_score_ratio": [0.5, 1, 3, 9],
            "steepest_rise_ratio_ratio": [0.8, 1.1, 2, 2],
        }
    )
    out = math_model.ratio_by_floor_share(table)
    assert out["windows"].tolist() == [1, 1, 1, 1]
    assert out.loc["75%-100%", "median emergence_score ratio"] == 9
    with pytest.raises(ValueError, match="lacks columns"):
        math_model.ratio_by_floor_share(table.drop(columns="emergence_score_ratio"))


# --- claim checks and their counterfactuals --------------------------------------------------------------------------


def test_looks_emergent_and_its_counterfactuals():
    assert math_model.looks_emergent(scaling.expected_accuracy(FAMILY, C, ALPHA, L))
    # counterfactual: the chapter's earlier c = 1e8, where only 3 of 13 models read below 1%
    assert not math_model.looks_emergent(scaling.expected_accuracy(FAMILY, 1e8, ALPHA, L))
    # counterfactual: a window so early that the largest model is still near zero
    assert not math_model.looks_emergent(scaling.expected_accuracy(FAMILY, 1e12, ALPHA, L))
    with pytest.raises(ValueError, match="increasing pair"):
        math_model.looks_emergent(np.linspace(0, 1, 5), share=(0.8, 0.2))


def test_accuracy_sharper_than_ted_and_the_window_that_flips_it():
    for c, expected in ((C, True), (1e8, False)):  # counterfactual: the same family, c = 1e8
        acc = scaling.expected_accuracy(FAMILY, c, ALPHA, L)
        ted = scaling.expected_token_edit_distance(FAMILY, c, ALPHA, L)
        for m in math_model.SCORED:
            assert emergence.sharper(FAMILY, acc, ted, m, 1.25, b_higher_is_better=False) is expected, (c, m)


def test_measured_share_of_draws_falls_in_the_flipped_window():
    shares = {}
    for c in (C, 1e8):
        acc, ted = math_model.measured_curves(FAMILY, c, ALPHA, L, n_items=100, n_repeats=100, seed=5)
        shares[c] = emergence.sharper_share(FAMILY, acc, ted, "steepest_rise_ratio", b_higher_is_better=False)
    assert shares[C] >= 0.9 and shares[1e8] < 0.9


def test_ratio_depends_on_window_fails_when_the_metrics_are_affine_copies():
    starts = np.arange(4, 14.01, 0.5)
    five = math_model.window_table(starts, 6, 2, C, ALPHA, 5)
    one = math_model.window_table(starts, 6, 2, C, ALPHA, 1)  # counterfactual: L = 1, TED = 1 - accuracy
    for m in math_model.SCORED:
        assert math_model.ratio_depends_on_window(five, m)
        assert not math_model.ratio_depends_on_window(one, m)
    # counterfactual: only windows at the foot, where accuracy always wins
    assert not math_model.ratio_depends_on_window(five[five["start"] <= 6], "steepest_rise_ratio")
    with pytest.raises(ValueError, match="measure must be one of"):
        math_model.ratio_depends_on_window(five, "rise_width")


def test_more_zero_accuracy_and_a_window_with_no_floor():
    assert math_model.more_zero_accuracy(math_model.floor_counts(FAMILY, C, ALPHA, L, 100))
    # counterfactual: a family of large models (c far below the window): nothing reads 0
    late = math_model.floor_counts(FAMILY, 1e4, ALPHA, L, 100)
    assert late["accuracy reads 0"] == 0 and not math_model.more_zero_accuracy(late)
    with pytest.raises(ValueError, match="floor_counts"):
        math_model.more_zero_accuracy({"models": 3})


def test_sparse_sampling_inflates_eq1_for_accuracy_not_for_a_line_or_ted():
    api = np.array(math_model.API_SIZES)
    even = np.logspace(np.log10(api[0]), np.log10(api[-1]), api.size)
    acc = lambda x: scaling.expected_accuracy(x, C, ALPHA, L)
    ted = lambda x: scaling.expected_token_edit_distance(x, C, ALPHA, L)
    assert math_model.spacing_inflates_eq1(api, acc(api), even, acc(even))
    # counterfactuals: a straight line in log N, and the edit distance on the same sizes
    assert not math_model.spacing_inflates_eq1(api, np.log10(api), even, np.log10(even))
    assert not math_model.spacing_inflates_eq1(api, ted(api), even, ted(even), higher_is_better=False)
    with pytest.raises(ValueError, match="same number of sizes"):
        math_model.spacing_inflates_eq1(api, acc(api), even[:3], acc(even[:3]))


def test_published_curve_is_sharper_than_a_line_and_a_line_is_not():
    ruan = bigbench.ruan_scores()
    rows = ruan[(ruan["task"] == "arithmetic 2-digit addition") & (ruan["family"] == "GPT-Neo/J")]
    rows = rows.sort_values("params")
    x, y = rows["params"].to_numpy(), rows["value"].to_numpy()
    assert emergence.line_null_test(x, y, n_items=2000, n_draws=500).sharper_than_line(0.01)
    # counterfactual: a data set with the opposite pattern, the same rise spread evenly over the decades
    line = y[0] + (y[-1] - y[0]) * (np.log10(x) - np.log10(x[0])) / np.log10(x[-1] / x[0])
    assert not emergence.line_null_test(x, line, n_items=2000, n_draws=500).sharper_than_line(0.01)


def test_window_ratio_chart_builds_a_slider_and_validates():
    table = math_model.window_table(np.arange(6, 9.01, 0.5), 6, 2, C, ALPHA, L)
    chart = plotting.window_ratio_chart(
        math_model.ratios_long(table), c=C, alpha=ALPHA, target_length=L, width=6, n_models=13, start=7.0
    )
    spec = chart.to_dict()
    assert [p["name"] for p in spec["params"]] == ["wstart"]
    with pytest.raises(ValueError, match="lacks columns"):
        plotting.window_ratio_chart(table, c=C, alpha=ALPHA, target_length=L, width=6, n_models=13, start=7.0)


def test_published_curve_is_sorted_and_rejects_an_unknown_family():
    x, y = math_model.published_curve()
    assert x.size == y.size >= 3 and np.all(np.diff(x) > 0) and ((y >= 0) & (y <= 1)).all()
    with pytest.raises(ValueError, match="fewer than"):
        math_model.published_curve(family_name="no such family")


def test_sharpness_summary_separates_a_jump_from_a_line():
    x = np.logspace(8, 12, 9)
    ref = emergence.reference_curves(x, 10.1)
    jump = math_model.sharpness_summary(x, ref["step"], n_items=1000, n_draws=200)
    line = math_model.sharpness_summary(x, 0.1 + 0.8 * ref["line"], n_items=1000, n_draws=200)
    assert list(jump.index) == list(emergence.MEASURES)
    assert (jump["low"] <= jump["high"]).all()
    assert jump.loc["steepest_rise_ratio", "p"] < 0.01 < line.loc["steepest_rise_ratio", "p"]
