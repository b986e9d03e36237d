"""Tests for the math model in mirage_utils.scaling."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
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


# --- Michaelov & Bergen's params x tokens test with the model run as the unit -------------------------------------

INTERACTION = "c_log_params:c_log_tokens"


def _training_runs(interaction, seed, sd_unit=0.05, noise=0.02):
    """6 sizes x 3 seeds = 18 runs, 8 checkpoints each at log-spaced tokens 1e4..1e7, random intercept per run."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    sizes, tokens = np.logspace(6, 9, 6), np.logspace(4, 7, 8)
    rows = []
    for n in sizes:
        for s in range(3):
            u = rng.normal(0.0, sd_unit)
            rows += [dict(unit=f"{n:.0e}/seed{s}", n_params=n, tokens=t, u=u) for t in tokens]
    d = pd.DataFrame(rows)
    c_n = np.log10(d["n_params"]) - np.log10(d["n_params"]).mean()
    c_d = np.log10(d["tokens"]) - np.log10(d["tokens"]).mean()
    d["y"] = 0.2 * c_n + 0.1 * c_d + interaction * c_n * c_d + d["u"] + rng.normal(0.0, noise, len(d))
    return d.drop(columns="u")


def test_mixedlm_recovers_negative_interaction():
    res = scaling.params_tokens_mixedlm(_training_runs(-0.08, seed=0), "y")
    assert list(res.index) == ["Intercept", "c_log_params", "c_log_tokens", INTERACTION]
    assert list(res.columns) == ["coef", "std_err", "stat", "p", "method", "n_units", "n_rows"]
    assert set(res["method"]) == {"mixedlm"}
    assert set(res["n_units"]) == {18} and set(res["n_rows"]) == {144}
    assert res.loc[INTERACTION, "coef"] == pytest.approx(-0.08, abs=0.02)
    assert res.loc[INTERACTION, "p"] < 0.01
    assert res.loc["c_log_params", "coef"] == pytest.approx(0.2, abs=0.05)
    assert res.loc["c_log_tokens", "coef"] == pytest.approx(0.1, abs=0.02)


def test_mixedlm_no_interaction_is_not_significant():
    # counterfactual: same design, true interaction 0 (seed 0 checked: p ~ 0.86)
    res = scaling.params_tokens_mixedlm(_training_runs(0.0, seed=0), "y")
    assert set(res["method"]) == {"mixedlm"}
    assert res.loc[INTERACTION, "p"] > 0.05
    assert abs(res.loc[INTERACTION, "coef"]) < 0.01


def test_mixedlm_drops_random_initialisation_rows():
    import pandas as pd

    d = _training_runs(-0.08, seed=1)
    init = d.groupby("unit", as_index=False).first().assign(tokens=0.0, y=100.0)
    with_init = pd.concat([init, d]).sort_values(["unit", "tokens"], kind="stable").reset_index(drop=True)
    a = scaling.params_tokens_mixedlm(d, "y")
    b = scaling.params_tokens_mixedlm(with_init, "y")
    assert set(b["n_rows"]) == {144}
    np.testing.assert_allclose(b["coef"], a["coef"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b["p"], a["p"], rtol=1e-4, atol=1e-12)


def test_mixedlm_is_less_confident_than_pseudo_replicated_ols():
    """All the variation is between runs (a per-run offset unrelated to size), so the checkpoints of one run add
    no evidence about size. Pooled OLS counts 20 checkpoints x 5 runs as 100 independent rows."""
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = []
    for i, n in enumerate(np.logspace(6, 9, 5)):
        u = rng.normal(0.0, 1.0)
        rows += [dict(unit=i, n_params=n, tokens=t, y=u + rng.normal(0.0, 0.01)) for t in np.logspace(4, 7, 20)]
    d = pd.DataFrame(rows)
    mixed = scaling.params_tokens_mixedlm(d, "y")
    # rescale tokens to geometric mean 1 so OLS's log_params effect is also read at the average training length
    # (uncentred, it is read at 1 token, far outside the data, with an inflated SE)
    ols = scaling.params_tokens_regression(d.assign(tokens=d["tokens"] / np.exp(np.log(d["tokens"]).mean())), "y")
    assert set(mixed["method"]) == {"mixedlm"}
    assert mixed.loc["c_log_params", "coef"] == pytest.approx(ols.loc["log_params", "coef"], rel=1e-6)
    assert ols.loc["log_params", "p"] < 1e-3  # spuriously "significant"
    assert mixed.loc["c_log_params", "p"] > 0.05
    assert mixed.loc["c_log_params", "p"] > ols.loc["log_params", "p"]


def test_mixedlm_falls_back_to_two_stage(monkeypatch):
    import statsmodels.formula.api as smf

    d = _training_runs(-0.08, seed=2)
    mixed = scaling.params_tokens_mixedlm(d, "y")

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(smf, "mixedlm", broken)
    two = scaling.params_tokens_mixedlm(d, "y")
    assert set(two["method"]) == {"two-stage"}
    assert list(two.columns) == list(mixed.columns) and list(two.index) == list(mixed.index)
    # balanced design: the two-stage estimates equal the mixed model's fixed effects
    np.testing.assert_allclose(two["coef"], mixed["coef"], rtol=1e-5, atol=1e-8)
    assert two.loc[INTERACTION, "p"] < 0.01


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.drop(columns="unit"), r"columns not in the table: \['unit'\]"),
        (lambda d: d[d["unit"].isin(sorted(set(d["unit"]))[:2])], "at least 3 units"),
        (lambda d: d.assign(n_params=1e6), "at least 2 distinct n_params"),
        (lambda d: d.assign(n_params=np.where(d["n_params"] > 1e8, -1.0, d["n_params"])), "n_params must be > 0"),
        (lambda d: d.assign(n_params=d["n_params"] * (1 + (d["tokens"] > 1e6))), "constant within each unit"),
    ],
)
def test_mixedlm_rejects_bad_input(change, match):
    with pytest.raises(ValueError, match=match):
        scaling.params_tokens_mixedlm(change(_training_runs(-0.08, seed=0)), "y")


def test_holm_adjust_hand_example_and_validation():
    np.testing.assert_allclose(scaling.holm_adjust([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    for bad in ([], [0.1, 1.5], [-0.01], [np.nan]):
        with pytest.raises(ValueError):
            scaling.holm_adjust(bad)


# few examples: statsmodels' Holm branch calls gc.collect() on every call (~50 ms with pandas/statsmodels loaded)
@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_holm_adjust_is_monotone_and_bounded(p):
    adj = scaling.holm_adjust(p)
    raw = np.asarray(p)
    assert adj.shape == raw.shape
    assert np.all(adj >= raw - 1e-12) and np.all(adj <= 1.0)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-12)


def test_interaction_verdict_and_counterfactuals():
    assert scaling.interaction_verdict(-0.08, 0.001) == "inverse"
    assert scaling.interaction_verdict(0.08, 0.001) == "positive"
    assert scaling.interaction_verdict(-0.08, 0.2) == "none"  # a negative but unreliable interaction is no finding
    with pytest.raises(ValueError):
        scaling.interaction_verdict(float("nan"), 0.01)


def test_inverse_scaling_table_marks_constant_metrics_untestable_and_corrects_the_rest():
    gen = np.random.default_rng(3)
    rows = []
    for n in [1e3, 3e3, 1e4, 3e4, 1e5]:
        for seed in range(3):
            offset = gen.normal(0, 0.02)
            for tokens in [0, 1e4, 3e4, 1e5, 3e5, 1e6]:
                cn, cd = np.log10(n) - 4, (np.log10(tokens) - 5 if tokens else 0)
                rows.append(
                    {
                        "task": "t",
                        "unit": f"{n}/{seed}",
                        "n_params": n,
                        "tokens": tokens,
                        "falls": 0.5 + 0.1 * cn + 0.1 * cd - 0.1 * cn * cd + offset + gen.normal(0, 0.01),
                        "flat": 0.0,
                    }
                )
    table = pd.DataFrame(rows)
    out = scaling.inverse_scaling_table(table, ["t"], ["falls", "flat"]).set_index("metric")
    assert out.loc["falls", "verdict"] == "inverse" and out.loc["flat", "verdict"] == "untestable"
    rising = table.assign(falls=lambda t: 1 - t["falls"])  # the counterfactual: the opposite interaction
    assert scaling.inverse_scaling_table(rising, ["t"], ["falls"])["verdict"].iloc[0] == "positive"
    with pytest.raises(ValueError, match="no trained checkpoints"):
        scaling.inverse_scaling_table(table, ["nope"], ["falls"])


# --- App. A.3-A.4: item-varying difficulty, ROUGE-L-Sum stitching, shape checks -----------------------------------

from mirage_utils import resolution  # noqa: E402


@given(st.lists(st.floats(0, 0.99), min_size=1, max_size=30), st.integers(1, 12))
def test_item_varying_accuracy_obeys_jensen(eps, L):
    # Jensen on the sample's own mean is an identity, so it is a unit test here and not a claim check in Chapter 5
    eps = np.array(eps)
    assert scaling.mean_accuracy_item_varying(eps, L) >= (1 - eps.mean()) ** L - 1e-12
    assert L * np.mean(np.log1p(-eps)) <= L * np.log1p(-eps.mean()) + 1e-12


def _hits(n, L, mean, concentration, level, seed):
    """Exact match of n items, L tokens, per-token error ~ Beta(mean, concentration) varying by item or by token."""
    gen = np.random.default_rng(seed)
    a, b = mean * concentration, (1 - mean) * concentration
    eps = gen.beta(a, b, size=(n, 1) if level == "item" else (n, L))
    return ~np.any(gen.random((n, L)) < eps, axis=1)


def test_heterogeneity_needs_difficulty_that_varies_by_item_not_by_token():
    n, L, mean = 40_000, 10, 0.2
    geometric = (1 - mean) ** L
    for level, slower in (("item", True), ("token", False)):
        h = _hits(n, L, mean, 2.0, level, seed=1)
        se = h.std(ddof=1) / np.sqrt(n)
        # the Chapter 5 check "item-varying difficulty slows the decay": per-token variation is its counterfactual
        assert resolution.clearly_greater(h.mean(), geometric, se) is slower
        assert resolution.within_standard_errors(h.mean(), geometric, se) is not slower


def test_stitched_recall_is_the_concave_mirror_image_of_exact_match():
    p = np.linspace(0, 1, 101)
    for k in (1, 2, 3, 5):
        recall = scaling.rouge_lsum_recall_from_p(p, k)
        assert np.allclose(recall, 1 - scaling.accuracy_from_p(1 - p, k))  # point reflection of x**K
        assert scaling.is_concave(p, recall)
    for L in (2, 5):
        # the old text called stitching "like exact match": exact match fails the concavity check, and is convex
        assert not scaling.is_concave(p, scaling.accuracy_from_p(p, L))
        assert scaling.is_concave(p, -scaling.accuracy_from_p(p, L))


def test_f_measure_penalises_attempts_below_the_break_even_error():
    assert scaling.f_measure_break_even(2) == pytest.approx(0.5)
    assert scaling.f_measure_break_even(3) == pytest.approx((np.sqrt(5) - 1) / 2)
    for k in (2, 3, 5):
        e = scaling.f_measure_break_even(k)
        low, high = 1 - np.array([e - 0.05, e + 0.05])  # p = 1 - eps on either side of the break-even
        f1, fk = scaling.rouge_lsum_f_from_p([low, high], 1), scaling.rouge_lsum_f_from_p([low, high], k)
        assert fk[0] < f1[0] and fk[1] > f1[1]
        # recall, BIG-bench's unreported half, always rewards more attempts: the check on F must not pass on recall
        rk, r1 = scaling.rouge_lsum_recall_from_p([low, high], k), scaling.rouge_lsum_recall_from_p([low, high], 1)
        assert np.all(rk >= r1)
    assert scaling.rouge_lsum_f_from_p(1.0, 3) == pytest.approx(0.5)  # a perfect answer written 3 times: 2/(K+1)
    with pytest.raises(ValueError):
        scaling.f_measure_break_even(1)
    with pytest.raises(ValueError):
        scaling.rouge_lsum_recall_from_p(0.5, 0)


def test_is_concave_with_monte_carlo_noise_and_its_counterfactual():
    # Chapter 5 checks shape on eps in {0.2, 0.5, 0.8} with 300 x 20 simulated tokens per point (SE ~ 0.005-0.03)
    p = np.array([0.2, 0.5, 0.8])
    gen = np.random.default_rng(0)
    n = 300
    recall = scaling.rouge_lsum_recall_from_p(p, 2) + gen.normal(0, 0.01, 3)
    assert scaling.is_concave(p, recall, se=0.01)
    em = gen.binomial(n, scaling.accuracy_from_p(p, 5)) / n
    se_em = np.sqrt(np.maximum(em * (1 - em), 1 / n) / n)
    assert not scaling.is_concave(p, em, se=se_em)  # exact match is convex, and the check says so
    assert scaling.is_concave(p, -em, se=se_em)
    with pytest.raises(ValueError):
        scaling.is_concave([0, 1], [0, 1])
    with pytest.raises(ValueError):
        scaling.is_concave([0, 2, 1], [0, 1, 2])


def test_power_exponent_check_and_correlated_attempts():
    eps = np.array([0.1, 0.2, 0.4, 0.8])
    assert scaling.log_log_slope(eps, eps**3) == pytest.approx(3)
    assert scaling.has_power_exponent(eps, 1.05 * eps**3, 3)
    # counterfactual: K attempts that are copies of one another stitch nothing, the residual stays eps**1
    assert not scaling.has_power_exponent(eps, eps, 3)
    with pytest.raises(ValueError):
        scaling.has_power_exponent(eps, eps, 3, rtol=0)
    with pytest.raises(ValueError):
        scaling.log_log_slope(eps, -eps)


def test_onsets_increase_and_its_counterfactuals():
    nan = float("nan")
    assert scaling.onsets_increase([1e3, 5e3, 2e4, nan, nan])
    assert not scaling.onsets_increase([1e3, 1e3, 2e4])  # stays put
    assert not scaling.onsets_increase([2e4, 5e3, 1e3])  # reverses
    assert not scaling.onsets_increase([1e3, nan, 2e4])  # a stricter setting is reached after a looser one is not
    assert not scaling.onsets_increase([1e3, nan, nan])  # only one onset: no order to check
    with pytest.raises(ValueError):
        scaling.onsets_increase([1e3])
