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
    df = pd.DataFrame({
        "task": ["a"] * 5 + ["b"] * 2,
        "params": [*x, 1e7, 1e8],
        "score": [0, 0, 0, 1, 1, 0.1, 0.2],
    })
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
    assert emergence.emergence_score(10 ** even, even) == pytest.approx(n - 1)


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
    ratios = {k: emergence.steepest_rise_ratio(x, v) for k, v in
              dict(line=line, wide=wide, narrow=narrow, step=step, floor=floor).items()}
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
    df = pd.DataFrame({"curve": ["line"] * 9 + ["step"] * 9, "x": np.r_[x, x],
                       "y": np.r_[np.linspace(0, 1, 9), (np.log10(x) > 5.2).astype(float)]})
    t = emergence.sharpness_table(df, ["curve"], "x", "y").set_index("curve")
    assert t.loc["line", "window_decades"] == pytest.approx(4)
    assert t.loc["line", "emergence_score"] == pytest.approx(8)  # Eq. 1: k - 1 for a line
    assert t.loc["line", "steepest_rise_ratio"] == pytest.approx(1)
    assert t.loc["step", "steepest_rise_ratio"] == pytest.approx(8)
