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
    p_at_least_one = lambda m: 1 - (1 - acc) ** m
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


# --- App. A.1/A.3: the median reading, and the Monte Carlo claim checks with their counterfactuals ----------------


def _shared_difficulty_readings(true_acc, n_items, repeats, concentration, seed):
    """Counterfactual test sets from one template: the whole set shares a difficulty a_T ~ Beta with mean a."""
    gen = np.random.default_rng(seed)
    a = np.clip(np.asarray(true_acc, dtype=float), 1e-12, 1 - 1e-12)
    a_t = gen.beta(a * concentration, (1 - a) * concentration, size=(repeats, a.size))
    return gen.binomial(n_items, a_t) / n_items


def test_round_to_resolution_is_zero_exactly_below_half_a_step():
    # Eq. 3 rounds the *expected* accuracy to 0 below 1/(2N): an identity of the rounding, not what one reads
    a = np.logspace(-6, 0, 61)
    for n in (100, 1000, 10_000):
        assert np.array_equal(resolution.round_to_resolution(a, n) == 0, a < 1 / (2 * n))


@pytest.mark.parametrize("n", [1, 2, 100, 1000, 10_000])
def test_median_zero_threshold_is_ln2_over_n_not_half_over_n(n):
    t = resolution.median_zero_threshold(n)
    assert resolution.zero_reading_probability(t, n) == pytest.approx(0.5)  # the definition of the median's switch
    if n >= 100:
        assert np.log(2) * (1 - 1 / n) < t * n < np.log(2)  # ~ ln 2 / N
    # the old rule (0 below 1/(2N)) is a factor 2 ln 2 = 1.39 too low: at a = 0.6/N the rounded expectation is 1/N,
    # yet the median reading is 0 (this would have caught the old statement)
    if n >= 100:
        a = 0.6 / n
        assert resolution.round_to_resolution(a, n) == pytest.approx(1 / n)
        assert np.median(resolution.simulate_measured_accuracy(a, n, 20_001, seed=3)) == 0
        assert np.median(resolution.simulate_measured_accuracy(0.8 / n, n, 20_001, seed=4)) == pytest.approx(1 / n)


def test_zero_reading_probability_values_and_validation():
    assert resolution.zero_reading_probability([0.0, 1.0, 0.5], 2).tolist() == [1.0, 0.0, 0.25]
    with pytest.raises(ValueError):
        resolution.zero_reading_probability(1.5, 10)
    with pytest.raises(ValueError):
        resolution.median_zero_threshold(0)


def test_zero_fraction_crossing_rising_and_falling():
    x = np.array([0.0, 1.0, 2.0])
    readings = np.array([[0.0, 0.0, 0.1], [0.1, 0.0, 0.1], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]])  # zero fraction .25 .5 0
    assert resolution.zero_fraction_crossing(x, readings) == pytest.approx(1.0)
    assert resolution.zero_fraction_crossing(x, readings[:, ::-1]) == pytest.approx(1.0)
    assert np.isnan(resolution.zero_fraction_crossing(x, np.full((3, 3), 0.2)))
    with pytest.raises(ValueError):
        resolution.zero_fraction_crossing([1.0, 0.0, 2.0], readings)
    with pytest.raises(ValueError):
        resolution.zero_fraction_crossing(x, readings[:, :2])
    with pytest.raises(ValueError):
        resolution.median_zero_onset_matches(x, readings, 1.0, atol=0.0)


def test_median_zero_onset_check_in_accuracy_and_its_counterfactuals():
    a = np.logspace(-5, 0, 41)
    for n in (100, 1000):
        m = resolution.simulate_measured_accuracy(a, n, 10_000, seed=n)
        x = np.log10(a)
        assert resolution.median_zero_onset_matches(x, m, np.log10(resolution.median_zero_threshold(n)), atol=0.03)
        # counterfactual 1, the old rule: a zero median below 1/(2N), 0.14 decade too low
        assert not resolution.median_zero_onset_matches(x, m, np.log10(1 / (2 * n)), atol=0.03)
        # counterfactual 2: items that share one template's difficulty read 0 up to higher accuracies
        shared = _shared_difficulty_readings(a, n, 4000, concentration=5.0, seed=n)
        assert not resolution.median_zero_onset_matches(x, shared, np.log10(resolution.median_zero_threshold(n)), 0.03)


def test_median_zero_onset_check_in_length_catches_the_old_onset():
    # App. A.3 at eps = 0.3: the median reading turns 0 at L* = ln(1/a*) / -ln(1-eps); the old L* = ln(2N) / -ln(1-eps)
    # is ln(2 ln 2) / -ln(0.7) = 0.92 token later, which a +-1 token tolerance hid
    eps, lengths = 0.3, np.arange(1, 41)
    for n in (100, 10_000):
        r = resolution.simulate_measured_accuracy((1 - eps) ** lengths, n, 10_000, seed=7 * n)
        new = np.log(resolution.median_zero_threshold(n)) / np.log1p(-eps)
        old = np.log(2 * n) / -np.log1p(-eps)
        assert old - new == pytest.approx(np.log(2 * np.log(2)) / -np.log1p(-eps), abs=0.01)
        assert resolution.median_zero_onset_matches(lengths, r, new, atol=0.2)
        assert not resolution.median_zero_onset_matches(lengths, r, old, atol=0.2)


def test_zero_rate_check_passes_independent_items_and_fails_shared_difficulty():
    a = np.logspace(-4, 0, 21)
    m = resolution.simulate_measured_accuracy(a, 100, 4000, seed=11)
    assert resolution.zero_rate_matches_binomial(m, a, 100)
    assert not resolution.zero_rate_matches_binomial(_shared_difficulty_readings(a, 100, 4000, 5.0, 12), a, 100)
    assert not resolution.zero_rate_matches_binomial(m, a, 200)  # readings from fewer items than claimed
    with pytest.raises(ValueError):
        resolution.zero_rate_matches_binomial(m[:, :5], a, 100)


def test_standard_error_checks_and_their_counterfactuals():
    # App. A.2's claims on simulated edit distances: L*eps is the mean for a large vocabulary and substitutions only;
    # insertions (the counterfactual) push it above; a 2-token vocabulary pulls it below.
    from mirage_utils import metrics, sequences
    from mirage_utils.seeding import rng

    gen = rng(5)
    L, n = 10, 4000

    def ted(vocab, **rates):
        t = sequences.sample_targets(n, L, vocab, gen)
        d = metrics.token_edit_distances_padded(t, sequences.corrupt(t, gen, vocab_size=vocab, **rates).predictions)
        return d.mean(), d.std(ddof=1) / np.sqrt(n)

    sub_only, se = ted(1000, substitution=0.2)
    assert resolution.within_standard_errors(sub_only, L * 0.2, se)
    assert resolution.at_most(sub_only, L * 0.2, se)
    with_ins, se_ins = ted(1000, substitution=0.2, insertion=0.05)
    assert not resolution.within_standard_errors(with_ins, L * 0.2, se_ins)
    assert not resolution.at_most(with_ins, L * 0.2, se_ins)
    assert resolution.clearly_greater(with_ins, L * 0.2, se_ins)
    assert not resolution.clearly_greater(sub_only, L * 0.2, se)
    small, se_small = ted(2, substitution=0.5)
    assert resolution.clearly_greater(L * 0.5, small, se_small, z=10)
    assert not resolution.clearly_greater(L * 0.2, sub_only, se, z=10)  # large vocabulary: no gap


def test_standard_error_checks_validate_and_broadcast():
    assert resolution.within_standard_errors([1.0, 1.1], 1.0, [0.0, 0.05], z=2.5)
    assert not resolution.within_standard_errors([1.0, 1.2], 1.0, 0.04)
    assert resolution.within_standard_errors(1.0, 1.004, 0.0, atol=0.005)
    with pytest.raises(ValueError):
        resolution.within_standard_errors([1.0], [1.0], -0.1)
    with pytest.raises(ValueError):
        resolution.clearly_greater([], [], [])
    with pytest.raises(ValueError):
        resolution.at_most([1.0, 2.0], [1.0, 2.0, 3.0], 0.1)
