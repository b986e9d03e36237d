"""Tests for the math model in mirage_utils.scaling."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mirage_utils import scaling

N = np.logspace(6, 14, 50)


def test_power_law_and_probability():
    assert scaling.cross_entropy(1e9, 1e9, -0.3) == pytest.approx(1.0)
    assert scaling.per_token_probability(1e9, 1e9, -0.3) == pytest.approx(np.exp(-1))
    ce = scaling.cross_entropy(N, 1e8, -0.3)
    assert np.all(np.diff(ce) < 0)


@given(st.floats(1e3, 1e12), st.floats(-1.5, -0.01), st.integers(1, 8))
def test_accuracy_is_power_of_single_token_and_shifted_copy(c, alpha, L):
    acc1 = scaling.expected_accuracy(N, c, alpha, 1)
    accL = scaling.expected_accuracy(N, c, alpha, L)
    assert np.allclose(accL, acc1**L, rtol=1e-10, atol=1e-300)
    shifted = scaling.expected_accuracy(N / L ** (1 / abs(alpha)), c, alpha, 1)
    assert np.allclose(accL, shifted, rtol=1e-8, atol=1e-300)


@given(st.floats(0, 1), st.integers(1, 10))
def test_ted_linear_in_p(p, L):
    assert scaling.token_edit_distance_from_p(p, L) == pytest.approx(L * (1 - p))
    assert 0 <= scaling.token_edit_distance_from_p(p, L) <= L


def test_multiple_choice_is_a_step_and_brier_is_smooth():
    mcg = scaling.expected_multiple_choice_grade(N, 1e9, -0.3, 1, 4)
    assert set(np.unique(mcg)) == {0.0, 1.0}
    assert np.count_nonzero(np.diff(mcg)) == 1
    # the step sits where the correct option's probability passes 1/K
    p = scaling.per_token_probability(N, 1e9, -0.3)
    assert np.array_equal(mcg == 1.0, p > 0.25)
    brier = scaling.expected_brier_score(N, 1e9, -0.3, 1, 4)
    assert np.all(np.diff(brier) < 0)
    # K options, uniform prediction: Brier = (1 - 1/K) / K
    assert scaling.brier_score_from_p(0.25, 1, 4) == pytest.approx((0.75**2 + 3 * 0.25**2) / 4)


def test_fit_power_law_recovers_parameters():
    c, alpha = scaling.fit_power_law(N, scaling.cross_entropy(N, 3e8, -0.27))
    assert c == pytest.approx(3e8, rel=1e-6)
    assert alpha == pytest.approx(-0.27, rel=1e-9)
    with pytest.raises(ValueError, match="does not fall"):
        scaling.fit_power_law(N, N)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_params=N, c=-1.0, alpha=-0.3), "c must be > 0"),
        (dict(n_params=N, c=1e9, alpha=0.3), "alpha must be < 0"),
        (dict(n_params=[1e9, np.nan], c=1e9, alpha=-0.3), "finite"),
        (dict(n_params=[0.0], c=1e9, alpha=-0.3), "n_params must be > 0"),
    ],
)
def test_cross_entropy_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        scaling.cross_entropy(**kwargs)


def test_metric_validation():
    with pytest.raises(ValueError, match="target_length"):
        scaling.expected_accuracy(N, 1e9, -0.3, 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        scaling.accuracy_from_p(1.5, 2)
    with pytest.raises(ValueError, match="n_options must be >= 2"):
        scaling.expected_brier_score(N, 1e9, -0.3, 1, 1)


def test_crossing_and_onset_size():
    from mirage_utils.scaling import crossing, onset_size

    assert crossing([0, 1, 2], [0.0, 0.4, 0.8], 0.6) == pytest.approx(1.5)
    assert crossing([0, 1, 2], [0.7, 0.8, 0.9], 0.5) == 0.0
    assert np.isnan(crossing([0, 1, 2], [0.1, 0.2, 0.3], 0.5))
    assert onset_size([10, 100, 1000], [0.0, 0.4, 0.8], 0.6) == pytest.approx(10**2.5)
    with pytest.raises(ValueError):
        onset_size([0, 1], [0.0, 1.0])
    with pytest.raises(ValueError):
        crossing([0, 1], [0.0, 1.0, 2.0], 0.5)
