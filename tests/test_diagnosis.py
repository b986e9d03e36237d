"""Tests for the mirage test: verdicts on constructed curves whose answer is known."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils import diagnosis as dg
from mirage_utils.seeding import rng


def _smooth_family(n_examples: int, length: int, seed: int = 0):
    """Math-model family: per-token accuracy rises smoothly; exact match = all `length` tokens right."""
    gen = rng(seed)
    p_token = np.array([0.3, 0.45, 0.6, 0.75, 0.9, 0.97])
    tokens = [gen.random((n_examples, length)) < p for p in p_token]
    exact = [t.all(axis=1).astype(float) for t in tokens]
    per_token = [t.mean(axis=1) for t in tokens]
    return exact, per_token


def test_mirage_family_is_metric_induced():
    exact, per_token = _smooth_family(2000, 8)
    result = dg.diagnose(dg.binary_curve(exact), dg.mean_curve(per_token))
    assert result.verdict == "metric-induced"
    assert result.onset >= 2 and result.precursor_lo > 0 and result.fraction >= 0.1


def test_true_jump_persists():
    gen = rng(1)
    level = np.array([0.0, 0.0, 0.0, 0.0, 0.9, 1.0])  # continuous metric flat, then a jump where the discrete one jumps
    cont = [lv + 0.01 * gen.standard_normal(500) for lv in level]
    disc = [(gen.random(500) < (0.001 if lv == 0 else 0.8)).astype(float) for lv in level]
    result = dg.diagnose(dg.binary_curve(disc), dg.mean_curve(cont))
    assert result.verdict == "persists" and result.onset == 4


def test_other_verdicts():
    flat = [np.zeros(100)] * 4
    cont = [np.arange(4.0) + v for v in range(4)]
    assert dg.diagnose(dg.binary_curve(flat), dg.mean_curve(cont)).verdict == "never rises"
    rising = [np.r_[np.ones(10 * i), np.zeros(100 - 10 * i)] for i in (0, 5, 9, 10)]
    assert dg.diagnose(dg.binary_curve(rising), dg.mean_curve(cont)).verdict == "no flat phase"
    late = [np.zeros(100), np.zeros(100), np.ones(100)]
    wide = [np.array([0.0, 10.0]), np.array([0.0, 12.0]), np.array([20.0, 30.0])]  # 2 samples: huge intervals
    assert dg.diagnose(dg.binary_curve(late), dg.mean_curve(wide)).verdict == "inconclusive"


def test_lower_is_better_continuous_metric_is_oriented():
    exact, per_token = _smooth_family(2000, 8)
    edit = [8 * (1 - t) for t in per_token]  # errors per answer: lower is better
    result = dg.diagnose(dg.binary_curve(exact), dg.mean_curve(edit, higher_is_better=False))
    assert result.verdict == "metric-induced" and result.total > 0


def test_validation():
    with pytest.raises(ValueError, match="0/1"):
        dg.binary_curve([np.array([0, 2])])
    with pytest.raises(ValueError, match="at least 2"):
        dg.mean_curve([np.array([1.0])])
    with pytest.raises(ValueError, match="contain"):
        dg.Curve(np.array([0.5, 0.6]), np.array([0.6, 0.5]), np.array([0.7, 0.7]))
    c = dg.mean_curve([np.arange(3.0), np.arange(3.0) + 1])
    with pytest.raises(ValueError, match="same models"):
        dg.diagnose(dg.binary_curve([np.zeros(3)] * 3), c)
    with pytest.raises(ValueError, match="tolerance"):
        dg.diagnose(dg.binary_curve([np.zeros(3)] * 2), c, tolerance=1.5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 8))
def test_verdict_is_always_one_of_the_documented_ones_and_bounds_are_ordered(seed, n_models):
    gen = rng(seed)
    disc = [(gen.random(50) < gen.random()).astype(float) for _ in range(n_models)]
    cont = [gen.normal(gen.normal(), 1.0, 20) for _ in range(n_models)]
    result = dg.diagnose(dg.binary_curve(disc), dg.mean_curve(cont))
    assert result.verdict in dg.VERDICTS
    if result.verdict in ("metric-induced", "persists", "inconclusive") and result.total > 0:
        assert result.precursor_lo <= result.precursor <= result.precursor_hi


def test_diagnose_table_has_one_row_per_case():
    exact, per_token = _smooth_family(500, 6)
    table = dg.diagnose_table({"mirage": (dg.binary_curve(exact), dg.mean_curve(per_token))})
    assert table.columns.tolist() == ["case", "verdict", "onset (model index)", "precursor share", "reason"]
    assert table.loc[0, "verdict"] == "metric-induced"
