"""Tests for the random-graph transitions: edge sampling, components, the analytic limit, the K4 partial credit."""

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils import graphs
from mirage_utils.seeding import rng


def test_complete_and_empty_graphs():
    e = graphs.gnp_edges(9, 1.0, rng(0))
    assert sorted(map(tuple, e.tolist())) == list(itertools.combinations(range(9), 2))
    assert graphs.gnp_edges(9, 0.0, rng(0)).shape == (0, 2)
    assert graphs.largest_component_fraction(9, e) == 1.0
    assert graphs.largest_component_fraction(9, np.empty((0, 2))) == pytest.approx(1 / 9)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 60), st.floats(0.0, 1.0), st.integers(0, 2**31 - 1))
def test_edges_are_distinct_valid_pairs_and_components_match_networkx(n, p, seed):
    e = graphs.gnp_edges(n, p, rng(seed))
    assert np.all(e[:, 0] < e[:, 1]) and e.min(initial=0) >= 0 and e.max(initial=0) < n
    assert len({tuple(r) for r in e.tolist()}) == len(e)
    g = nx.empty_graph(n)
    g.add_edges_from(e.tolist())
    assert graphs.largest_component_fraction(n, e) == max(len(c) for c in nx.connected_components(g)) / n


def test_edge_count_matches_binomial_mean():
    n, p = 200, 0.05
    counts = [len(graphs.gnp_edges(n, p, rng(s))) for s in range(200)]
    expected, sd = n * (n - 1) / 2 * p, np.sqrt(n * (n - 1) / 2 * p * (1 - p))
    assert abs(np.mean(counts) - expected) < 4 * sd / np.sqrt(200)


def test_giant_limit_solves_its_fixed_point_and_has_the_kink():
    c = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    s = graphs.giant_fraction_limit(c)
    assert np.all(s[:2] == 0)
    np.testing.assert_allclose(s, 1 - np.exp(-c * s), atol=1e-12)
    # Right derivative at c = 1 is 2: S ~ 2 (c - 1).
    assert graphs.giant_fraction_limit([1.001])[0] / 0.001 == pytest.approx(2, rel=0.01)
    with pytest.raises(ValueError):
        graphs.giant_fraction_limit([-1.0])


def test_simulated_giant_fraction_approaches_the_limit():
    sim = graphs.sample_giant_fractions(20000, [0.5, 2.0], reps=3, seed=0).mean(axis=1)
    assert sim[0] < 0.01
    assert sim[1] == pytest.approx(graphs.giant_fraction_limit([2.0])[0], abs=0.01)


@settings(max_examples=60, deadline=None)
@given(st.integers(4, 8), st.floats(0.0, 0.9), st.integers(0, 2**31 - 1))
def test_densest_four_set_matches_brute_force(n, p, seed):
    g = nx.gnp_random_graph(n, p, seed=seed)
    brute = max(g.subgraph(s).number_of_edges() for s in itertools.combinations(range(n), 4))
    assert graphs.densest_four_set_edges(g) == brute


def test_k4_sampling_is_seeded_and_consistent():
    a = graphs.sample_k4(40, [0.05, 0.4], reps=5, seed=3)
    b = graphs.sample_k4(40, [0.05, 0.4], reps=5, seed=3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert np.all((a["has_k4"] == 1) == (a["k4_count"] > 0))
    assert np.all((a["has_k4"] == 1) == (a["densest_four_set"] == 6))
    assert a["has_k4"][1].all()


def test_validation():
    with pytest.raises(ValueError):
        graphs.gnp_edges(1, 0.5, rng(0))
    with pytest.raises(ValueError):
        graphs.gnp_edges(10, 1.5, rng(0))
    with pytest.raises(ValueError, match="reps"):
        graphs.sample_giant_fractions(10, [1.0], reps=0, seed=0)
    with pytest.raises(ValueError, match="endpoints"):
        graphs.largest_component_fraction(3, [[0, 5]])


def test_giant_transition_summary_columns_and_values():
    cs = np.round(np.arange(0.8, 2.01, 0.1), 2)
    fractions = {1000: graphs.sample_giant_fractions(1000, cs, reps=4, seed=0)}
    table = graphs.giant_transition_summary(cs, fractions)
    assert table.columns.tolist() == [
        "n",
        "S(0.9)",
        "S(2.0)",
        "precursor share",
        "slope 0.8-1.0",
        "slope 1.0-1.2",
        "indicator window",
    ]
    row = table.iloc[0]
    assert row["precursor share"] == pytest.approx(row["S(0.9)"] / row["S(2.0)"])
    assert 0 < row["S(2.0)"] < 1 and row["slope 1.0-1.2"] > row["slope 0.8-1.0"]


# --- The 4-clique: first-moment counts, the Poisson window, the diamond below it, and the claim checks -------------


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 9), st.floats(0.0, 0.9), st.integers(0, 2**31 - 1))
def test_diamond_and_k4_counts_match_brute_force(n, p, seed):
    g = nx.gnp_random_graph(n, p, seed=seed)
    k4 = sum(1 for s in itertools.combinations(range(n), 4) if g.subgraph(s).number_of_edges() == 6)
    # a 4-set with 5 edges holds one diamond, with 6 edges six (one per missing edge)
    diamonds = sum({5: 1, 6: 6}.get(g.subgraph(s).number_of_edges(), 0) for s in itertools.combinations(range(n), 4))
    assert graphs.count_diamonds_and_k4(g) == (diamonds, k4)


def test_expected_copies_and_simulated_means():
    from math import comb

    assert graphs.expected_copies(40, 0.1, graphs.K4)[()] == pytest.approx(comb(40, 4) * 0.1**6)
    assert graphs.expected_copies(40, 0.1, graphs.DIAMOND)[()] == pytest.approx(6 * comb(40, 4) * 0.1**5)
    r = graphs.sample_k4(60, [0.12], reps=300, seed=2)
    for key, h in (("diamond_count", graphs.DIAMOND), ("k4_count", graphs.K4)):
        mean, se = r[key].mean(), r[key].std(ddof=1) / np.sqrt(300)
        assert abs(mean - graphs.expected_copies(60, 0.12, h)[()]) < 4 * se
    assert np.all((r["diamond_count"] > 0) == (r["densest_four_set"] >= 5))
    half = graphs.poisson_half_point(60, graphs.DIAMOND)
    assert graphs.poisson_presence(60, half, graphs.DIAMOND)[()] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least 4"):
        graphs.expected_copies(3, 0.5, graphs.K4)


def test_poisson_window_ratio_is_the_closed_form():
    # 1 - exp(-x^6/24) = 0.1 and 0.9 solved numerically: the ratio of the two x is (ln 10 / ln(10/9))^(1/6)
    x = np.geomspace(0.5, 4, 200_001)
    p = -np.expm1(-(x**6) / 24)
    ratio = x[np.searchsorted(p, 0.9)] / x[np.searchsorted(p, 0.1)]
    assert graphs.poisson_window_ratio(6) == pytest.approx(ratio, rel=1e-4)
    assert graphs.poisson_window_ratio(6) == pytest.approx(1.672, abs=1e-3)
    assert graphs.poisson_window_ratio(5) == pytest.approx((np.log(10) / np.log(10 / 9)) ** 0.2)
    with pytest.raises(ValueError):
        graphs.poisson_window_ratio(6, lo=0.9, hi=0.1)


X = np.geomspace(0.3, 3.0, 13)


def _presence(shape: float, reps: int, seed: int, scale: float = 1.6) -> np.ndarray:
    """0/1 outcomes of shape (len(X), reps) from P(x) = 1 - exp(-ln 2 (x / scale)^shape)."""
    prob = -np.expm1(-np.log(2) * (X / scale) ** shape)
    return (rng(seed).random((reps, X.size)) < prob).T * 1.0


def test_fit_presence_shape_recovers_the_exponent():
    o = _presence(6.0, 2000, 0)
    fit = graphs.fit_presence_shape(X, o.sum(axis=1), np.full(X.size, 2000))
    assert fit["shape lo"] < 6 < fit["shape hi"] and fit["shape hi"] - fit["shape lo"] < 1
    assert fit["ratio lo"] < graphs.poisson_window_ratio(6) < fit["ratio hi"]
    with pytest.raises(ValueError, match="nothing to fit"):
        graphs.fit_presence_shape(X, np.zeros(X.size), np.full(X.size, 5))
    with pytest.raises(ValueError, match="hits"):
        graphs.fit_presence_shape(X, np.full(X.size, 6), np.full(X.size, 5))


def test_window_check_passes_on_a_poisson_threshold_and_fails_on_counterfactuals():
    coarse = {n: _presence(6.0, 100, n) for n in (50, 100, 200, 400)}
    assert graphs.window_matches_poisson(X, coarse, n_edges=6)
    # a sharp threshold: the window narrows as n grows (exponent 6, 12, 24, 48)
    sharp = {n: _presence(6.0 * 2**i, 100, n) for i, n in enumerate((50, 100, 200, 400))}
    assert not graphs.window_matches_poisson(X, sharp, n_edges=6)
    # a coarse threshold with the window the chapter used to report, a ratio near 2 (exponent 4.45)
    near_two = {n: _presence(np.log(np.log(10) / np.log(10 / 9)) / np.log(2), 300, n) for n in (50, 400)}
    assert not graphs.window_matches_poisson(X, near_two, n_edges=6)
    with pytest.raises(ValueError, match="at least one"):
        graphs.window_matches_poisson(X, {}, n_edges=6)


def test_precursor_check_follows_the_diamond_and_fails_on_counterfactuals():
    sizes = (50, 100, 200, 400)
    halves = {n: graphs.poisson_half_point(n, graphs.DIAMOND) * n ** (2 / 3) for n in sizes}
    diamond_like = {n: graphs.poisson_presence(n, X * n ** (-2 / 3), graphs.DIAMOND) for n in sizes}
    assert graphs.precursor_follows(X, diamond_like, halves)
    # K4's own presence does not move with n on this axis and sits near x = 1.6
    k4_like = {n: graphs.poisson_presence(n, X * n ** (-2 / 3), graphs.K4) for n in sizes}
    assert not graphs.precursor_follows(X, k4_like, halves)
    # a curve at the diamond's place that moves right as n grows
    right = {n: diamond_like[m] for n, m in zip(sizes, sizes[::-1])}
    assert not graphs.precursor_follows(X, right, {n: halves[n] for n in sizes}, rel_tol=1.0)
    with pytest.raises(ValueError, match="same two or more"):
        graphs.precursor_follows(X, diamond_like, {50: 1.0})


def test_k4_limit_outcomes_are_a_rescaled_indicator():
    has, partial = graphs.k4_limit_outcomes([0.5, 1.6, 3.0], reps=2000, seed=0)
    assert has[0].mean() < 0.01 and has[2].mean() > 0.99 and abs(has[1].mean() - 0.5) < 0.05
    for h, c in zip(has, partial):
        np.testing.assert_allclose(c, (5 + h) / 6)
    with pytest.raises(ValueError, match="reps"):
        graphs.k4_limit_outcomes([1.0], reps=1, seed=0)


def test_sharpens_with_n_fails_on_a_window_that_does_not_narrow():
    import pandas as pd

    giant_like = pd.DataFrame(
        {
            "n": [100, 1000, 10000],
            "precursor share": [0.3, 0.1, 0.02],
            "slope 0.8-1.0": [0.5, 0.2, 0.05],
            "slope 1.0-1.2": [0.8, 1.2, 1.6],
            "indicator window": [0.6, 0.3, 0.1],
        }
    )
    assert graphs.sharpens_with_n(giant_like)
    coarse = giant_like.assign(**{"indicator window": [0.6, 0.6, 0.6]})
    assert not graphs.sharpens_with_n(coarse)
    assert graphs.sharpens_with_n(giant_like, largest_precursor_below=0.05, largest_slope_above=1.2)
    # sharpening, but too slowly: the largest graphs still have a large precursor or a shallow rise
    assert not graphs.sharpens_with_n(giant_like, largest_precursor_below=0.01)
    assert not graphs.sharpens_with_n(giant_like, largest_slope_above=2.0)
    with pytest.raises(ValueError, match="columns"):
        graphs.sharpens_with_n(giant_like.drop(columns="n"))


def test_rise_mostly_from_fails_when_another_level_makes_the_rise():
    import pandas as pd

    table = pd.DataFrame({"n": [50, 400], "rise: diamond share": [0.6, 0.95], "rise: 4-edge share": [0.4, 0.05]})
    assert graphs.rise_mostly_from(table, 400, "rise: diamond share")
    assert not graphs.rise_mostly_from(table, 50, "rise: diamond share")  # at n = 50 the 4-edge level matters too
    assert not graphs.rise_mostly_from(table, 400, "rise: 4-edge share")
    with pytest.raises(ValueError, match="no row"):
        graphs.rise_mostly_from(table, 100, "rise: diamond share")


def test_rise_by_level_splits_the_partial_credit():
    best = np.array([[4, 4, 3, 4], [5, 5, 4, 5], [6, 6, 6, 6]])
    shares = graphs.rise_by_level(best, 1)
    assert shares[5] == pytest.approx(0.75) and shares[4] == pytest.approx(0.25) and shares[6] == 0
    assert sum(graphs.rise_by_level(best, 2).values()) == pytest.approx(1)
    mean_rise = best[1].mean() / 6 - best[0].mean() / 6
    assert mean_rise == pytest.approx(sum((best[1] >= k).mean() - (best[0] >= k).mean() for k in range(1, 7)) / 6)
    with pytest.raises(ValueError, match="upto"):
        graphs.rise_by_level(best, 3)
    with pytest.raises(ValueError, match="does not rise"):
        graphs.rise_by_level(np.array([[5, 5], [5, 5]]), 1)
