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
    assert table.columns.tolist() == ["n", "S(0.9)", "S(2.0)", "precursor share", "slope 0.8-1.0", "slope 1.0-1.2",
                                      "indicator window"]
    row = table.iloc[0]
    assert row["precursor share"] == pytest.approx(row["S(0.9)"] / row["S(2.0)"])
    assert 0 < row["S(2.0)"] < 1 and row["slope 1.0-1.2"] > row["slope 0.8-1.0"]
