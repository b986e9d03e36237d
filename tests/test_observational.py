"""Tests for mirage_utils.observational: the data join, no peeking past the cutoff, the PCA and sigmoid on known
synthetic truths, the bootstrap interval's coverage, and input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from mirage_utils import observational as ob

FAST = {"n_boot": 30, "tasks": ("word_unscrambling", "arithmetic_2dm")}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return ob.model_table()


@pytest.fixture(scope="module")
def paper_backtest(table: pd.DataFrame) -> pd.DataFrame:
    return ob.backtest(table, n_boot=50)


# --- data --------------------------------------------------------------------------------------------------------


def test_model_table_joins_all_84_models(table: pd.DataFrame) -> None:
    assert len(table) == 84 and table["model"].is_unique
    assert table["flops"].notna().sum() == 73  # 11 models (Qwen2, Mistral, Mixtral, Qwen1.5-110B, Jamba) lack FLOPs
    assert table["family"].notna().all()
    bleu = table["ipa_transliterate_bleu"].dropna()
    assert 0.6 < bleu.max() <= 1.0  # rescaled from 0-100 (Llama-3.1-405B: 65.2)
    for key in ob.TASKS:
        vals = table[key].dropna()
        assert ((vals >= 0) & (vals <= 1)).all(), key
    llama2 = table.set_index("model").loc["meta-llama/Llama-2-7b-hf"]
    assert llama2["flops"] == pytest.approx(ob.PAPER_CUTOFF)


def test_cutoff_is_inclusive_and_unknown_flops_never_train(table: pd.DataFrame) -> None:
    mask = ob.train_mask(table, ob.PAPER_CUTOFF)
    models = set(table.loc[mask, "model"])
    assert "meta-llama/Llama-2-7b-hf" in models  # exactly at the cutoff: a training model
    assert "meta-llama/Llama-2-13b-hf" not in models
    assert not mask[table["flops"].isna().to_numpy()].any()
    assert mask.sum() == 44


# --- no peeking --------------------------------------------------------------------------------------------------


def test_heldout_scores_replaced_by_garbage_change_nothing_but_observed(table: pd.DataFrame) -> None:
    cutoff = ob.PAPER_CUTOFF
    held = ~ob.train_mask(table, cutoff)
    garbage = table.copy()
    gen = np.random.default_rng(1)
    for key in ob.TASKS:
        garbage.loc[held, key] = gen.uniform(0, 1, held.sum())
    a = ob.backtest(table, cutoff, **FAST)  # type: ignore[arg-type]
    b = ob.backtest(garbage, cutoff, **FAST)  # type: ignore[arg-type]
    cols = ["forecaster", "metric", "model", "predicted", "lower", "upper"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert not np.allclose(a["observed"], b["observed"])


def test_pca_never_sees_heldout_rows(table: pd.DataFrame) -> None:
    train = ob.train_mask(table, ob.PAPER_CUTOFF)
    garbage = table.copy()
    garbage.loc[~train, list(ob.BENCHMARKS)] = np.where(
        np.random.default_rng(2).random(((~train).sum(), len(ob.BENCHMARKS))) < 0.3, np.nan, 0.99
    )
    fa, fb = ob.fit_pca(table, train), ob.fit_pca(garbage, train)
    np.testing.assert_array_equal(fa.components, fb.components)
    np.testing.assert_array_equal(fa.mean, fb.mean)
    np.testing.assert_array_equal(fa.transform(table.loc[train]), fb.transform(garbage.loc[train]))


def test_heldout_benchmarks_move_only_their_own_prediction(table: pd.DataFrame) -> None:
    """A held-out model's benchmarks are its input (the observational premise), never anyone else's."""
    held = table.index[~ob.train_mask(table, ob.PAPER_CUTOFF) & table["flops"].notna()]
    target = table.loc[held[0], "model"]
    changed = table.copy()
    changed.loc[held[0], list(ob.BENCHMARKS)] = 0.9
    kwargs = {**FAST, "forecasters": ("pc_sigmoid",)}
    a = ob.backtest(table, **kwargs).set_index(["metric", "model"])  # type: ignore[arg-type]
    b = ob.backtest(changed, **kwargs).set_index(["metric", "model"])  # type: ignore[arg-type]
    others = a.index.get_level_values("model") != target
    np.testing.assert_array_equal(a.loc[others, "predicted"], b.loc[others, "predicted"])
    assert not np.allclose(a.loc[~others, "predicted"], b.loc[~others, "predicted"])


@settings(max_examples=5, deadline=None)
@given(st.sampled_from(ob.SWEEP_CUTOFFS), st.integers(0, 2**16))
def test_no_peeking_at_any_cutoff(cutoff: float, seed: int) -> None:
    table = ob.model_table()
    held = ~ob.train_mask(table, cutoff)
    garbage = table.copy()
    gen = np.random.default_rng(seed)
    garbage.loc[held, "word_unscrambling"] = gen.uniform(0, 1, held.sum())
    kwargs = {"n_boot": 10, "tasks": ("word_unscrambling",)}
    a = ob.backtest(table, cutoff, **kwargs)  # type: ignore[arg-type]
    b = ob.backtest(garbage, cutoff, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_array_equal(a["predicted"], b["predicted"])
    assert (a["x"] > np.log10(cutoff)).all() and (a["cutoff"] == np.log10(cutoff)).all()


# --- PCA and sigmoid on known truths ------------------------------------------------------------------------------


def _low_rank(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    gen = np.random.default_rng(seed)
    latent = gen.normal(size=n)
    loadings = np.linspace(0.05, 0.12, len(ob.BENCHMARKS))
    scores = 0.5 + latent[:, None] * loadings[None, :] + gen.normal(0, 0.003, (n, len(ob.BENCHMARKS)))
    frame = pd.DataFrame(scores, columns=list(ob.BENCHMARKS))
    frame.insert(0, "model", [f"m{i}" for i in range(n)])
    return frame, latent


def test_pca_recovers_a_rank_one_capability_and_imputes_missing_cells() -> None:
    frame, latent = _low_rank()
    truth = frame[list(ob.BENCHMARKS)].to_numpy().copy()
    holes = frame.copy()
    holes.loc[[3, 10, 17], "HumanEval"] = np.nan
    holes.loc[[5, 21], "ARC-C"] = np.nan
    fit = ob.fit_pca(holes, np.ones(len(frame), dtype=bool), ob.BENCHMARKS)
    assert fit.explained_variance_ratio[0] > 0.98
    pc1 = fit.transform(holes)[:, 0]
    assert abs(np.corrcoef(pc1, latent)[0, 1]) > 0.999
    imputed = fit._impute(holes[list(ob.BENCHMARKS)].to_numpy(dtype=float))
    assert np.abs(imputed - truth)[np.isnan(holes[list(ob.BENCHMARKS)].to_numpy(dtype=float))].max() < 0.02


@pytest.mark.parametrize("floor", [None, 0.1])
def test_sigmoid_recovers_a_known_relation(floor: float | None) -> None:
    gen = np.random.default_rng(3)
    x = gen.uniform(-3, 3, (80, 2))
    true_floor = 0.1
    y_true = true_floor + (1 - true_floor) * expit(0.5 + 1.5 * x[:, 0] - 1.0 * x[:, 1])
    y = np.clip(y_true + gen.normal(0, 0.01, 80), 0, 1)
    fit = ob.fit_sigmoid(x, y, floor=floor)
    assert fit.floor == pytest.approx(true_floor, abs=0.02)
    grid = gen.uniform(-4, 4, (200, 2))  # including mild extrapolation
    truth = true_floor + (1 - true_floor) * expit(0.5 + 1.5 * grid[:, 0] - grid[:, 1])
    assert np.abs(fit.predict(grid) - truth).max() < 0.03
    slope = fit.weights / fit.x_std
    np.testing.assert_allclose(slope, [1.5, -1.0], rtol=0.1)


def test_sigmoid_floor_stays_in_their_bounds() -> None:
    x = np.linspace(-3, 3, 40)
    y = 0.4 + 0.6 * expit(2 * x)  # a floor of 0.4 is outside [0, 0.2]
    fit = ob.fit_sigmoid(x, y)
    assert 0.0 <= fit.floor <= 0.2 + 1e-12


def test_bootstrap_prediction_interval_covers_about_nominally() -> None:
    gen = np.random.default_rng(4)
    x = gen.uniform(-3, 1, 60)
    f = lambda v: 0.05 + 0.95 * expit(1.2 * v)
    y = np.clip(f(x) + gen.normal(0, 0.04, 60), 0, 1)
    x_new = gen.uniform(-3, 1.5, 300)
    y_new = np.clip(f(x_new) + gen.normal(0, 0.04, 300), 0, 1)
    pred, lower, upper = ob.bootstrap_predict(x, y, x_new, n_boot=300, seed=5)
    assert (lower <= pred + 1e-9).all() and (pred <= upper + 1e-9).all()
    coverage = float(((lower <= y_new) & (y_new <= upper)).mean())
    assert 0.85 <= coverage <= 0.995
    _, lo_mean, up_mean = ob.bootstrap_predict(x, y, x_new, n_boot=300, seed=5, interval="mean")
    assert np.mean(up_mean - lo_mean) < np.mean(upper - lower)  # the curve is known better than one model


def test_bootstrap_is_reproducible_from_its_seed() -> None:
    x = np.linspace(-2, 2, 30)
    y = expit(2 * x)
    a = ob.bootstrap_predict(x, y, [2.5], n_boot=50, seed=7)
    b = ob.bootstrap_predict(x, y, [2.5], n_boot=50, seed=7)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# --- outputs -----------------------------------------------------------------------------------------------------


def test_backtest_schema_and_summary(paper_backtest: pd.DataFrame) -> None:
    bt = paper_backtest
    assert list(bt.columns[: len(ob.COLUMNS)]) == ob.COLUMNS
    assert set(bt["forecaster"]) == set(ob.FORECASTERS) and set(bt["metric"]) == set(ob.TASKS)
    assert (bt["lower"] <= bt["upper"]).all()
    np.testing.assert_allclose(bt["abs_error"], (bt["predicted"] - bt["observed"]).abs())
    summary = ob.summarise(bt)
    assert len(summary) == len(ob.FORECASTERS) * len(ob.TASKS)
    assert (summary["n_train"] + summary["n_heldout"] <= 73).all()
    assert summary["coverage"].between(0, 1).all()


def test_compare_can_go_either_way(paper_backtest: pd.DataFrame) -> None:
    """The comparison is a claim check: swap the roles and the verdict must flip."""
    fwd = ob.compare(paper_backtest)
    rev = ob.compare(paper_backtest, "flops_sigmoid", "pc_sigmoid")
    np.testing.assert_allclose(fwd["mae_ratio"] * rev["mae_ratio"], 1.0)
    ties = (
        paper_backtest.pivot_table(index=["metric", "model"], columns="forecaster", values="abs_error")
        .eval("pc_sigmoid == flops_sigmoid")
        .groupby("metric")
        .mean()
        .to_numpy()
    )
    np.testing.assert_allclose(fwd["share_closer"] + rev["share_closer"] + ties, 1.0)
    perfect = paper_backtest.copy()
    perfect.loc[perfect["forecaster"] == "pc_sigmoid", "abs_error"] = 0.0
    assert (ob.compare(perfect)["mae_ratio"] == 0).all()


def test_sweep_stacks_cutoffs(table: pd.DataFrame) -> None:
    out = ob.sweep(table, (3e22, ob.PAPER_CUTOFF), **FAST)
    assert sorted(out["cutoff"].unique()) == pytest.approx([np.log10(3e22), np.log10(ob.PAPER_CUTOFF)])


# --- validation --------------------------------------------------------------------------------------------------


def test_validation_errors(table: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="cutoff"):
        ob.train_mask(table, -1.0)
    with pytest.raises(ValueError, match="leaves"):
        ob.backtest(table, 1e20)
    with pytest.raises(ValueError, match="leaves"):
        ob.backtest(table, 1e30)
    with pytest.raises(ValueError, match="unknown tasks"):
        ob.backtest(table, tasks=("lambada",))
    with pytest.raises(ValueError, match="unknown forecasters"):
        ob.backtest(table, forecasters=("oracle",))
    with pytest.raises(ValueError, match="floor"):
        ob.backtest(table, floor="zero")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lacks columns"):
        ob.backtest(table.drop(columns=["MMLU"]))
    with pytest.raises(ValueError, match="repeats a model"):
        ob.backtest(pd.concat([table, table.head(1)]))
    with pytest.raises(ValueError, match="cutoffs"):
        ob.sweep(table, ())
    with pytest.raises(ValueError, match="DataFrame"):
        ob.summarise([1, 2])  # type: ignore[arg-type]


def test_fit_validation_errors() -> None:
    x = np.linspace(0, 1, 10)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ob.fit_sigmoid(x, x * 100)
    with pytest.raises(ValueError, match="at least"):
        ob.fit_sigmoid(x[:4], x[:4])
    with pytest.raises(ValueError, match="constant"):
        ob.fit_sigmoid(np.ones(10), x)
    with pytest.raises(ValueError, match="floor_bounds"):
        ob.fit_sigmoid(x, x, floor_bounds=(0.5, 0.1))
    with pytest.raises(ValueError, match="floor"):
        ob.fit_sigmoid(x, x, floor=1.0)
    with pytest.raises(ValueError, match="finite"):
        ob.fit_sigmoid(np.r_[x[:-1], np.nan], x)
    with pytest.raises(ValueError, match="n_boot"):
        ob.bootstrap_predict(x, x, [0.5], n_boot=0)
    with pytest.raises(ValueError, match="level"):
        ob.bootstrap_predict(x, x, [0.5], level=1.5)
    with pytest.raises(ValueError, match="interval"):
        ob.bootstrap_predict(x, x, [0.5], interval="both")  # type: ignore[arg-type]
    frame, _ = _low_rank(20)
    with pytest.raises(ValueError, match="mask"):
        ob.fit_pca(frame, np.ones(5, dtype=bool), ob.BENCHMARKS)
    with pytest.raises(ValueError, match="training models"):
        ob.fit_pca(frame, np.arange(20) < 3, ob.BENCHMARKS)
    constant = frame.assign(MMLU=0.5)
    with pytest.raises(ValueError, match="constant"):
        ob.fit_pca(constant, np.ones(20, dtype=bool), ob.BENCHMARKS)
    with pytest.raises(ValueError, match="components"):
        ob.fit_pca(frame, np.ones(20, dtype=bool), ob.BENCHMARKS, n_components=9)


def test_verdicts_follow_the_errors(paper_backtest: pd.DataFrame) -> None:
    fwd = ob.verdicts(ob.compare(paper_backtest))
    rev = ob.verdicts(ob.compare(paper_backtest, "flops_sigmoid", "pc_sigmoid"))
    flipped = {ob.HOLDS: ob.FAILS, ob.FAILS: ob.HOLDS, ob.CANNOT_TELL: ob.CANNOT_TELL}
    assert [flipped[v] for v in fwd["verdict"]] == list(rev["verdict"])
    # counterfactual: make the PC forecaster's errors 10x the baseline's on every model and the claim must fail
    worse = paper_backtest.copy()
    base = worse.loc[worse["forecaster"] == "flops_sigmoid"].set_index(["metric", "model"])["abs_error"]
    pc = worse["forecaster"] == "pc_sigmoid"
    keys = pd.MultiIndex.from_frame(worse.loc[pc, ["metric", "model"]])
    worse.loc[pc, "abs_error"] = 10 * base.reindex(keys).to_numpy() + 0.01
    assert set(ob.verdicts(ob.compare(worse))["verdict"]) == {ob.FAILS}
    with pytest.raises(ValueError, match="alpha"):
        ob.verdicts(fwd, alpha=0)
    with pytest.raises(ValueError, match="compare"):
        ob.verdicts(paper_backtest)


def test_models_without_flops_can_be_held_out_for_the_pc_forecaster(table: pd.DataFrame) -> None:
    out = ob.backtest(table, unknown_flops="heldout", **FAST)  # type: ignore[arg-type]
    no_flops = set(table.loc[table["flops"].isna(), "model"])
    pc = out[out["forecaster"] == "pc_sigmoid"]
    assert no_flops <= set(pc["model"]) and pc.loc[pc["model"].isin(no_flops), "x"].isna().all()
    assert not set(out.loc[out["forecaster"] == "flops_sigmoid", "model"]) & no_flops
    default = ob.backtest(table, **FAST)  # type: ignore[arg-type]
    shared = ob.compare(out)[["mae_pc_sigmoid", "mae_flops_sigmoid"]]
    pd.testing.assert_frame_equal(shared, ob.compare(default)[["mae_pc_sigmoid", "mae_flops_sigmoid"]])
    with pytest.raises(ValueError, match="unknown_flops"):
        ob.backtest(table, unknown_flops="train")  # type: ignore[arg-type]
