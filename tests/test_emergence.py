"""Tests for the emergence score (Eq. 1) and its stated edge-case rules."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mirage_utils import emergence

x = np.array([1e7, 1e8, 1e9, 1e10, 1e11])


def test_hand_computed_value():
    y = np.array([0.0, 0.1, 0.1, 0.5, 0.9])
    steps = np.diff(y) ** 2  # 0.01, 0, 0.16, 0.16 -> median 0.085
    assert emergence.emergence_score(x, y) == pytest.approx(0.9 / np.sqrt(np.median(steps)))


def test_edge_cases_follow_the_stated_rules():
    assert emergence.emergence_score(x, np.full(5, 0.3)) == 0.0  # constant
    assert emergence.emergence_score(x, [0, 0, 0, 1, 1]) == np.inf  # step on a flat background
    assert emergence.emergence_score(x, [1, 1, 0, 0, 0]) == -np.inf  # falling step
    with pytest.raises(ValueError, match="at least 3"):
        emergence.emergence_score(x[:2], [0, 1])
    with pytest.raises(ValueError, match="duplicate"):
        emergence.emergence_score([1, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="finite"):
        emergence.emergence_score(x, [0, np.nan, 0, 0, 1])


def test_lower_is_better_orientation():
    ted = np.array([5.0, 4.0, 2.5, 1.0, 0.5])
    assert emergence.emergence_score(x, ted) < 0
    assert emergence.emergence_score(x, ted, higher_is_better=False) == -emergence.emergence_score(x, ted)


curves = arrays(np.float64, st.integers(3, 12), elements=st.floats(-10, 10, allow_nan=False))


@given(curves, st.randoms())
def test_order_of_points_does_not_matter(y, rnd):
    xs = np.logspace(6, 6 + y.size - 1, y.size)
    perm = list(range(y.size))
    rnd.shuffle(perm)
    a = emergence.emergence_score(xs, y)
    b = emergence.emergence_score(xs[perm], y[perm])
    assert a == b or (np.isnan(a) and np.isnan(b))


# values on a 1/8 grid, so that shifting cannot round a difference (and so a tie) away in float64
grid_curves = arrays(np.float64, st.integers(3, 12), elements=st.integers(-80, 80).map(lambda v: v / 8))


@given(grid_curves, st.sampled_from([0.5, 2.0, 4.0]), st.sampled_from([-3.0, 0.0, 1.5]))
def test_invariant_to_affine_rescaling_of_y(y, scale, shift):
    xs = np.arange(y.size, dtype=float)
    a = emergence.emergence_score(xs, y)
    b = emergence.emergence_score(xs, scale * y + shift)
    if np.isfinite(a) and a != 0:
        assert b == pytest.approx(a, rel=1e-6)


def test_vectorised_equals_scalar():
    rng = np.random.default_rng(0)
    ys = rng.random((20, x.size))
    batch = emergence.emergence_scores(x, ys)
    assert np.allclose(batch, [emergence.emergence_score(x, row) for row in ys])


def test_table_groups_and_short_series():
    df = pd.DataFrame(
        {
            "task": ["a"] * 5 + ["b"] * 2,
            "params": [*x, 1e7, 1e8],
            "score": [0, 0, 0, 1, 1, 0.1, 0.2],
        }
    )
    table = emergence.emergence_table(df, by=["task"], x="params", y="score")
    assert table.set_index("task")["n_points"].to_dict() == {"a": 5, "b": 2}
    assert table.set_index("task").loc["a", "emergence_score"] == np.inf
    assert np.isnan(table.set_index("task").loc["b", "emergence_score"])
    with pytest.raises(ValueError, match="columns not in the table"):
        emergence.emergence_table(df, by=["family"], x="params", y="score")


# --- spacing-aware sharpness --------------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.integers(3, 12), st.floats(0.5, 4), st.floats(-3, 3), st.floats(0.01, 5), st.integers(0, 10**6))
@settings(max_examples=60, deadline=None)
def test_a_straight_line_scores_one_at_any_spacing(n, decades, intercept, slope, seed):
    gen = np.random.default_rng(seed)
    u = np.sort(gen.uniform(0, decades, n))
    if np.min(np.diff(u)) < 1e-6:
        return
    x, y = 10 ** (3 + u), intercept + slope * u
    assert emergence.steepest_rise_ratio(x, y) == pytest.approx(1.0, rel=1e-9)
    assert emergence.rise_width(x, y) == pytest.approx(0.8 * (u[-1] - u[0]), rel=1e-9)
    # Eq. 1 instead grows with the number of points on the same line (exactly k - 1 when evenly spaced)
    even = np.linspace(0, decades, n)
    assert emergence.emergence_score(10**even, even) == pytest.approx(n - 1)


@given(st.floats(0.1, 10), st.floats(-5, 5))
@settings(max_examples=30, deadline=None)
def test_sharpness_measures_are_affine_invariant(scale, shift):
    x = np.logspace(3, 6, 7)
    y = np.array([0.0, 0.01, 0.02, 0.1, 0.7, 0.95, 1.0])
    assert emergence.steepest_rise_ratio(x, scale * y + shift) == pytest.approx(emergence.steepest_rise_ratio(x, y))
    assert emergence.rise_width(x, scale * y + shift) == pytest.approx(emergence.rise_width(x, y))


def test_known_cases_order_sharpness_sensibly():
    x = np.logspace(3, 7, 9)  # 4 decades, 0.5 decade apart
    u = np.log10(x)
    line = (u - 3) / 4
    narrow = 1 / (1 + np.exp(-(u - 5) / 0.1))
    wide = 1 / (1 + np.exp(-(u - 5) / 0.8))
    step = (u > 5.2).astype(float)
    floor = np.where(u < 6, 0.0, u - 6)  # zero for most of the window, then a steady rise
    ratios = {
        k: emergence.steepest_rise_ratio(x, v)
        for k, v in dict(line=line, wide=wide, narrow=narrow, step=step, floor=floor).items()
    }
    assert ratios["line"] == pytest.approx(1)
    assert 1 < ratios["wide"] < ratios["narrow"] <= ratios["step"] == pytest.approx(8)  # 4 decades / 0.5
    assert np.isfinite(ratios["floor"])  # Eq. 1 gives inf for a floor at zero; these stay finite
    assert np.isinf(emergence.emergence_score(x, floor))
    widths = {k: emergence.rise_width(x, v) for k, v in dict(line=line, wide=wide, narrow=narrow, step=step).items()}
    assert widths["step"] <= widths["narrow"] < widths["wide"] < widths["line"]
    assert np.isnan(emergence.steepest_rise_ratio(x, line[::-1]))  # no net rise: nothing to call sharp
    assert emergence.steepest_rise_ratio(x, line[::-1], higher_is_better=False) == pytest.approx(1)


def test_sharpness_measures_validate_input():
    with pytest.raises(ValueError, match="positive"):
        emergence.steepest_rise_ratio([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="at least"):
        emergence.rise_width([1, 10], [0, 1])
    with pytest.raises(ValueError, match="lower < upper"):
        emergence.rise_width([1, 10, 100], [0, 1, 2], lower=0.9, upper=0.1)


def test_sharpness_table_reports_every_measure_with_its_window():
    x = np.logspace(3, 7, 9)
    df = pd.DataFrame(
        {
            "curve": ["line"] * 9 + ["step"] * 9,
            "x": np.r_[x, x],
            "y": np.r_[np.linspace(0, 1, 9), (np.log10(x) > 5.2).astype(float)],
        }
    )
    t = emergence.sharpness_table(df, ["curve"], "x", "y").set_index("curve")
    assert t.loc["line", "window_decades"] == pytest.approx(4)
    assert t.loc["line", "emergence_score"] == pytest.approx(8)  # Eq. 1: k - 1 for a line
    assert t.loc["line", "steepest_rise_ratio"] == pytest.approx(1)
    assert t.loc["step", "steepest_rise_ratio"] == pytest.approx(8)


# --- properties of Eq. 1 stated in Chapter 1 ----------------------------------------------------------------------


@given(st.integers(3, 30), st.floats(-5, 5), st.floats(0.01, 10))
@settings(max_examples=60, deadline=None)
def test_eq1_of_an_evenly_spaced_line_is_k_minus_1(k, intercept, slope):
    u = np.arange(k, dtype=float)
    assert emergence.emergence_score(10**u, intercept + slope * u) == pytest.approx(k - 1, rel=1e-9)


@given(st.lists(st.floats(0.05, 2.0), min_size=2, max_size=12), st.floats(0.1, 5))
@settings(max_examples=60, deadline=None)
def test_eq1_of_an_unevenly_spaced_line_is_span_over_root_median_squared_gap(gaps, slope):
    u = np.concatenate([[0.0], np.cumsum(gaps)])
    expected = (u[-1] - u[0]) / np.sqrt(np.median(np.diff(u) ** 2))  # the median gap when the count of gaps is odd
    assert emergence.emergence_score(10**u, slope * u) == pytest.approx(expected, rel=1e-9)
    assert emergence.steepest_rise_ratio(10**u, slope * u) == pytest.approx(1.0, rel=1e-9)


@given(st.integers(4, 15), st.data())
@settings(max_examples=60, deadline=None)
def test_eq1_is_infinite_once_more_than_half_the_steps_are_flat(k, data):
    steps = k - 1
    flat = data.draw(st.integers(steps // 2 + 1, steps - 1))  # more than half flat, at least one rise
    rises = data.draw(arrays(np.float64, steps - flat, elements=st.floats(0.01, 1)))
    y = np.concatenate([[0.0], np.cumsum(np.concatenate([np.zeros(flat), rises]))])  # a floor, then a rise
    x = np.logspace(0, k - 1, k)
    assert emergence.emergence_score(x, y) == np.inf
    assert np.isfinite(emergence.steepest_rise_ratio(x, y))


@given(arrays(np.float64, 3, elements=st.integers(-800, 800).map(lambda v: v / 64)))  # no squares that underflow
@settings(max_examples=100, deadline=None)
def test_eq1_on_three_points_never_exceeds_2(y):
    score = emergence.emergence_score([1.0, 10.0, 100.0], y)
    assert abs(score) <= 2 + 1e-9


@given(arrays(np.float64, st.integers(3, 10), elements=st.floats(-10, 10, allow_nan=False)), st.data())
@settings(max_examples=100, deadline=None)
def test_steepest_rise_ratio_is_at_least_one_when_the_curve_rises(y, data):
    gaps = data.draw(arrays(np.float64, y.size - 1, elements=st.floats(0.1, 2)))
    x = 10 ** np.concatenate([[0.0], np.cumsum(gaps)])
    ratio = emergence.steepest_rise_ratio(x, y)
    if y[-1] > y[0]:
        assert ratio >= 1 - 1e-9
    else:
        assert np.isnan(ratio)


def test_eq1_of_a_line_on_real_family_grids_crosses_5():
    """Straight lines in log N on Ruan et al.'s 8-size grids (Pythia, OPT) already cross the 'ES > 5' threshold."""
    pythia = np.array([7e7, 1.6e8, 4.1e8, 1e9, 1.4e9, 2.8e9, 6.9e9, 1.2e10])
    opt = np.array([1.25e8, 3.5e8, 1.3e9, 2.7e9, 6.7e9, 1.3e10, 3e10, 6.6e10])
    for grid in (pythia, opt):
        assert emergence.emergence_score(grid, np.log10(grid)) > 5
        assert emergence.steepest_rise_ratio(grid, np.log10(grid)) == pytest.approx(1)


# --- one entry point, comparisons, uncertainty ------------------------------------------------------------------


def test_sharpness_dispatches_by_name_and_rejects_unknown_measures():
    x = np.logspace(3, 7, 9)
    y = emergence.reference_curves(x, 5.0)["logistic 1 dec"]
    assert emergence.sharpness(x, y, "emergence_score") == emergence.emergence_score(x, y)
    assert emergence.sharpness(x, y, "steepest_rise_ratio") == emergence.steepest_rise_ratio(x, y)
    assert emergence.sharpness(x, y, "rise_width") == emergence.rise_width(x, y)
    with pytest.raises(ValueError, match="measure must be one of"):
        emergence.sharpness(x, y, "slope")


def test_is_sharper_respects_direction_margin_and_nan():
    assert emergence.is_sharper(3.0, 2.0, "steepest_rise_ratio", 1.25)
    assert not emergence.is_sharper(2.4, 2.0, "steepest_rise_ratio", 1.25)  # within the margin
    assert emergence.is_sharper(0.5, 1.0, "rise_width", 1.25)  # narrower is sharper
    assert not emergence.is_sharper(1.0, 0.5, "rise_width")
    assert not emergence.is_sharper(np.nan, 1.0, "emergence_score")
    assert not emergence.is_sharper(np.inf, np.inf, "emergence_score")  # two floors: nothing to compare
    with pytest.raises(ValueError, match="factor"):
        emergence.is_sharper(2.0, 1.0, "emergence_score", 0.5)


def test_sharper_separates_a_step_from_a_line_and_not_two_lines():
    x = np.logspace(3, 7, 9)
    ref = emergence.reference_curves(x, 5.1)
    for m in emergence.MEASURES:
        if m != "emergence_score":  # Eq. 1 of a step is inf, of a line k - 1: sharper too, but say it once
            assert emergence.sharper(x, ref["step"], ref["line"], m)
        assert not emergence.sharper(x, ref["line"], 2 * ref["line"] + 1, m)  # counterfactual: equal sharpness
    assert emergence.sharper(x, ref["step"], ref["line"], "emergence_score")


def test_sharper_share_counts_paired_draws():
    x = np.logspace(3, 7, 9)
    ref = emergence.reference_curves(x, 5.1)
    a = np.vstack([ref["step"], ref["line"]])
    b = np.vstack([ref["line"], ref["step"]])
    assert emergence.sharper_share(x, a, b, "steepest_rise_ratio") == 0.5
    with pytest.raises(ValueError, match="same shape"):
        emergence.sharper_share(x, a, b[:1], "steepest_rise_ratio")


def test_sharpness_interval_is_reproducible_and_narrows_with_more_items():
    x = np.logspace(8, 11, 7)
    y = emergence.reference_curves(x, 9.8)["logistic 1 dec"]
    small = emergence.sharpness_interval(x, y, n_items=100, seed=3)
    large = emergence.sharpness_interval(x, y, n_items=100_000, seed=3)
    assert small == emergence.sharpness_interval(x, y, n_items=100, seed=3)
    assert large.high - large.low < small.high - small.low
    assert large.low <= large.estimate * 1.02 and large.high >= large.estimate * 0.98
    gauss = emergence.sharpness_interval(x, y, "rise_width", se=0.01)
    assert gauss.low < gauss.estimate < gauss.high and gauss.undefined == 0


def test_sharpness_interval_validates_input():
    x, y = np.logspace(3, 5, 5), np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="exactly one"):
        emergence.sharpness_interval(x, y)
    with pytest.raises(ValueError, match="exactly one"):
        emergence.sharpness_interval(x, y, n_items=10, se=0.1)
    with pytest.raises(ValueError, match=r"proportions in \[0, 1\]"):
        emergence.sharpness_interval(x, y * 2, n_items=10)
    with pytest.raises(ValueError, match="level"):
        emergence.sharpness_interval(x, y, se=0.1, level=1.5)
    with pytest.raises(ValueError, match="n_draws"):
        emergence.sharpness_interval(x, y, se=0.1, n_draws=10)
    with pytest.raises(ValueError, match="se must be >= 0"):
        emergence.sharpness_interval(x, y, se=-0.1)


@given(st.integers(4, 10), st.floats(1, 4), st.floats(0.05, 0.4), st.floats(0.3, 0.6), st.integers(0, 10**6))
@settings(max_examples=25, deadline=None)
def test_a_noiseless_line_is_never_sharper_than_the_line_null(k, decades, lo, rise, seed):
    u = np.sort(np.random.default_rng(seed).uniform(0, decades, k))
    if np.min(np.diff(u)) < 1e-3:
        return
    y = lo + rise * (u - u[0]) / (u[-1] - u[0])
    for m in ("steepest_rise_ratio", "rise_width"):
        test = emergence.line_null_test(10 ** (8 + u), y, m, n_items=500, n_draws=200, seed=seed)
        assert not test.sharper_than_line(0.05)


def test_line_null_test_finds_a_step_and_a_narrow_logistic_sharp():
    x = np.logspace(8, 11, 7)
    ref = emergence.reference_curves(x, 9.6, widths=(0.3, 3.0))
    for name in ("step", "logistic 0.3 dec"):
        assert emergence.line_null_test(x, ref[name], n_items=1000, n_draws=500).sharper_than_line(0.01)
    assert not emergence.line_null_test(x, ref["line"], n_items=1000, n_draws=500).sharper_than_line(0.01)
    with pytest.raises(ValueError, match="does not rise"):
        emergence.line_null_test(x, ref["line"][::-1], n_items=1000)
    with pytest.raises(ValueError, match="alpha"):
        emergence.line_null_test(x, ref["step"], se=0.01, n_draws=100).sharper_than_line(1.5)


def test_reference_curves_are_what_they_say():
    x = np.logspace(3, 7, 41)
    ref = emergence.reference_curves(x, 5.0, widths=(1.0,))
    assert set(ref) == {"line", "logistic 1 dec", "step", "floor"}
    u = np.log10(x)
    assert np.interp(4.5, u, ref["logistic 1 dec"]) == pytest.approx(0.1, abs=1e-3)
    assert np.interp(5.5, u, ref["logistic 1 dec"]) == pytest.approx(0.9, abs=1e-3)
    assert ref["step"][u < 5].max() == 0 and ref["step"][u >= 5].min() == 1
    assert ref["floor"][u <= 5].max() == 0 and ref["floor"][-1] == pytest.approx(1)
    with pytest.raises(ValueError, match="widths"):
        emergence.reference_curves(x, 5.0, widths=(0.0,))


def test_steepest_rise_ratios_match_the_scalar_version_row_by_row():
    gen = np.random.default_rng(0)
    x = np.logspace(6, 9, 6)
    y = np.cumsum(gen.normal(0.2, 0.3, size=(50, 6)), axis=1)
    many = emergence.steepest_rise_ratios(x, y)
    one = np.array([emergence.steepest_rise_ratio(x, row) for row in y])
    assert np.allclose(many, one, equal_nan=True) and np.isnan(many).any() and not np.isnan(many).all()
    with pytest.raises(ValueError):
        emergence.steepest_rise_ratios(x[::-1], y)


@given(st.floats(4.5, 5.5), st.floats(0.3, 1.0), st.floats(1.5, 2.5))
def test_narrower_logistics_are_sharper_by_the_ratio_and_the_rise_width(centre, width, factor):
    """Known cases as properties: on a dense grid, of two logistics in log N with the same centre, the narrower one
    has the higher steepest-rise ratio and the smaller 10-90% rise width; a step beats both; a line scores 1."""
    x = np.logspace(0, 10, 81)  # 10 decades, 0.125 decade apart: both logistics rise well inside the window
    curves = emergence.reference_curves(x, centre, widths=(width, width * factor))
    narrow, wide = curves[f"logistic {width:g} dec"], curves[f"logistic {width * factor:g} dec"]
    r_narrow, r_wide = (emergence.steepest_rise_ratio(x, c) for c in (narrow, wide))
    assert 1 < r_wide < r_narrow <= emergence.steepest_rise_ratio(x, curves["step"]) + 1e-9
    assert emergence.rise_width(x, narrow) < emergence.rise_width(x, wide)
    assert emergence.steepest_rise_ratio(x, curves["line"]) == pytest.approx(1)
    # The rise width recovers the logistic's own 10-90% width (interpolation error below one grid step).
    assert emergence.rise_width(x, wide) == pytest.approx(width * factor, abs=0.125 + 0.05 * width * factor)


@given(st.floats(3.5, 6.5), st.integers(0, 2**31 - 1))
def test_a_floor_scores_infinite_eq1_but_a_finite_ratio_wherever_it_starts(start, seed):
    x = np.logspace(2, 8, 13)
    floor = emergence.reference_curves(x, start)["floor"]
    if (floor == 0).sum() > (floor.size - 1) / 2 + 1:  # more than half the steps flat
        assert np.isinf(emergence.emergence_score(x, floor))
    ratio = emergence.steepest_rise_ratio(x, floor)
    span = 6.0
    # A straight rise over the last (8 - start) decades: ratio = span / that, up to the grid's rounding.
    assert np.isfinite(ratio) and ratio == pytest.approx(span / (8 - start), rel=0.35)


@given(st.integers(4, 12), st.floats(0.05, 0.3), st.integers(0, 2**31 - 1))
def test_noise_biases_the_ratio_of_a_line_upwards(k, noise, seed):
    """Noise only adds to the steepest step (the max of noisy steps), so the median ratio of a noisy line is above 1."""
    x = np.logspace(3, 7, k)
    line = np.linspace(0, 1, k)
    y = line + np.random.default_rng(seed).normal(0, noise, size=(400, k))
    ratios = emergence.steepest_rise_ratios(x, y)
    assert np.nanmedian(ratios) > 1


def test_line_null_draws_vectorised_path_gives_the_loops_values_bit_for_bit():
    """line_null_draws computes the steepest-rise ratio of all draws at once; it must equal sharpness() per draw."""
    from mirage_utils.seeding import rng

    gen = np.random.default_rng(1)
    for trial in range(60):
        k = int(gen.integers(3, 10))
        x = gen.permutation(np.logspace(6, 10, k))
        y = gen.uniform(0, 1, k)
        higher = bool(trial % 3)
        kw = {"n_items": float(gen.integers(5, 500))} if trial % 2 else {"se": gen.uniform(0, 0.1, k)}
        fast = emergence.line_null_draws(x, y, n_draws=200, higher_is_better=higher, seed=trial, **kw)
        u = np.log10(x)
        first, last = np.argmin(u), np.argmax(u)
        line = y[first] + (y[last] - y[first]) * (u - u[first]) / (u[last] - u[first])
        draws = emergence._noise_draws(y, kw.get("n_items"), kw.get("se"), 200, rng(trial), centre=line)
        slow = np.array([emergence.sharpness(x, d, "steepest_rise_ratio", higher) for d in draws])
        assert np.array_equal(fast, slow, equal_nan=True), trial
