"""Chapter 2's shared tables and verdict rules (mirage_utils.arithmetic.legs), on toy tables."""

import numpy as np
import pandas as pd
import pytest

from mirage_utils.arithmetic import legs


def test_verdict_rules_cover_the_three_words():
    assert legs.agreement_verdict([True, True]) == legs.HOLDS
    assert legs.agreement_verdict([False, False]) == legs.FAILS
    assert legs.agreement_verdict([True, False]) == legs.CANNOT_TELL
    assert legs.share_verdict(3, 4) == legs.HOLDS
    assert legs.share_verdict(1, 4) == legs.FAILS
    assert legs.share_verdict(2, 4) == legs.CANNOT_TELL
    assert legs.all_verdict(pd.Series([True, True])) == legs.HOLDS
    assert legs.all_verdict(pd.Series([True, False])) == legs.FAILS
    with pytest.raises(ValueError):
        legs.agreement_verdict([])
    with pytest.raises(ValueError):
        legs.share_verdict(5, 4)
    with pytest.raises(ValueError):
        legs.all_verdict(pd.Series([], dtype=bool))


def _cells() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": ["s", "s", "l"],
            "n_params": [1e3, 1e3, 1e5],
            "params": [1e3, 1e3, 1e5],
            "seed": [0, 1, 0],
            "task": ["t"] * 3,
            "target_length": [4] * 3,
            "n": [1000] * 3,
            "n_correct": [0, 0, 900],
            "chance": [1e-4] * 3,
            "cross_entropy": [2.0, 1.0, 0.1],
            "n_tokens": [1, 3, 2],
        }
    )


def test_resolution_cells_and_passuntil_rescue():
    cells = _cells()
    pu = cells[["model", "n_params", "seed", "task", "target_length", "chance"]].assign(pass_low=[1e-3, 0.0, 0.5])
    greedy, sampled = legs.resolution_cells(cells, pu)
    assert greedy["resolved"].tolist() == [False, False, True]
    assert legs.resolved_by_either(greedy, sampled).tolist() == [True, False, True]
    both = legs.unresolved_by_both(greedy, sampled)
    assert both[["model", "seed"]].values.tolist() == [["s", 1]]


def test_cross_entropy_is_token_weighted_per_seed():
    ce = legs.cross_entropy_per_seed(_cells())
    assert ce["cross_entropy"].tolist() == pytest.approx([0.1, 2.0, 1.0])


def test_as_one_seed_gives_the_family_layout():
    curves = pd.DataFrame({"model": ["a"], "params": [10.0], "target_length": [1]})
    out = legs.as_one_seed(curves, "task x")
    assert out[["task", "seed", "n_params"]].iloc[0].tolist() == ["task x", 0, 10.0]


def test_seed_mean_swap_and_pairing_sensitivity_on_a_toy_family():
    """A genuine step in exact match over a straight edit distance is found on the seed-mean curve and under every
    pairing of seeds across sizes; bad arguments raise."""
    sizes = 10.0 ** np.arange(3, 9)
    rows = []
    for seed, shift in enumerate((0, 1, 2)):
        em = (np.arange(6) >= 3 + (shift == 2)).astype(float)  # a step between neighbouring sizes
        ted = np.linspace(4, 0, 6) + 0.01 * shift
        rows += [
            {"task": "t", "target_length": 4, "seed": seed, "n_params": n, "exact_match": e, "ted": d}
            for n, e, d in zip(sizes, em, ted, strict=True)
        ]
    toy = pd.DataFrame(rows)
    mean = legs.seed_mean_swap(toy)
    assert mean.sharper["steepest_rise_ratio"][("t", 4)]
    pairing = legs.pairing_sensitivity(toy, ("t", 4), draws=20)
    assert len(pairing) == 20 and pairing["sharper_steepest_rise_ratio"].all()
    with pytest.raises(ValueError, match="no rows"):
        legs.pairing_sensitivity(toy, ("t", 9))
    with pytest.raises(ValueError, match="draws"):
        legs.pairing_sensitivity(toy, ("t", 4), draws=0)
