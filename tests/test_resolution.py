"""Tests for mirage_utils.resolution (App. A.1 and confidence intervals)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from mirage_utils import resolution


def test_round_to_resolution_examples():
    # the coin example of App. A.1: with 2 flips only 0, 0.5, 1 are possible readings
    assert resolution.round_to_resolution([0.1, 0.3, 0.74, 0.76], 2).tolist() == [0.0, 0.5, 0.5, 1.0]
    assert resolution.round_to_resolution(0.25, 2) == 0.5  # halves round up
    assert resolution.round_to_resolution(4e-5, 1000) == 0.0  # a tiny true accuracy reads as 0


@given(st.floats(0, 1), st.integers(1, 10_000))
def test_round_to_resolution_is_within_half_a_step_on_the_grid(a, b):
    r = float(resolution.round_to_resolution(a, b))
    assert abs(r - a) <= 0.5 / b + 1e-12
    assert abs(r * b - round(r * b)) < 1e-9


def test_resolution_limit():
    assert resolution.resolution_limit(100, 5) == pytest.approx(1 / 500)
    with pytest.raises(ValueError):
        resolution.resolution_limit(0)


@pytest.mark.parametrize("method, scipy_method", [("wilson", "wilson"), ("clopper-pearson", "exact")])
@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (1, 8100), (7218, 8100)])
def test_binomial_ci_matches_scipy(method, scipy_method, k, n):
    low, high = resolution.binomial_ci(k, n, 0.95, method)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method=scipy_method)
    assert low == pytest.approx(ref.low, abs=1e-9)
    assert high == pytest.approx(ref.high, abs=1e-9)


def test_binomial_ci_vectorised_and_zero_successes_has_positive_upper_bound():
    low, high = resolution.binomial_ci([0, 5, 100], [100, 100, 100])
    assert low.shape == (3,) and np.all(low <= high)
    assert low[0] == 0 and high[0] > 0


@pytest.mark.parametrize(
    "k, n, kwargs",
    [(5, 3, {}), (-1, 3, {}), (1.5, 3, {}), (1, 0, {}), (1, 3, {"confidence": 1.0}), (1, 3, {"method": "wald"})],
)
def test_binomial_ci_rejects_bad_input(k, n, kwargs):
    with pytest.raises(ValueError):
        resolution.binomial_ci(k, n, **kwargs)


@given(st.floats(1e-6, 0.9), st.floats(0.5, 0.999))
def test_min_test_size_nonzero_is_the_smallest_sufficient_size(acc, conf):
    n = int(resolution.min_test_size_nonzero(acc, conf))
    p_at_least_one = lambda m: 1 - (1 - acc) ** m  # noqa: E731
    assert p_at_least_one(n) >= conf - 1e-9
    if n > 1:
        assert p_at_least_one(n - 1) < conf + 1e-9


def test_min_test_size_relative_known_value():
    # 1e-4 to +-50% at 95%: about 1.54 million items
    assert resolution.min_test_size_relative(1e-4, 0.5) == pytest.approx(1.96**2 * (1 - 1e-4) / (1e-4 * 0.25), rel=1e-3)
    with pytest.raises(ValueError):
        resolution.min_test_size_relative(0.0)


def test_simulated_measurements_are_seeded_and_on_the_grid():
    a = resolution.simulate_measured_accuracy([1e-4, 0.5], 100, n_repeats=50, seed=1)
    b = resolution.simulate_measured_accuracy([1e-4, 0.5], 100, n_repeats=50, seed=1)
    assert a.shape == (50, 2) and np.array_equal(a, b)
    assert np.allclose(a * 100, np.round(a * 100))
    assert np.mean(a[:, 0] == 0) > 0.9  # a 1e-4 accuracy mostly reads as 0 on 100 items
