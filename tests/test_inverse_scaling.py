"""Tests for mirage_utils.inverse_scaling: declines from the running best, the model-level regression, and the claim
checks of Chapter 6's Pythia section, each with a counterfactual family that makes it fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils import inverse_scaling as inv
from mirage_utils.seeding import rng

STEPS = (1000, 3000, 13000, 23000, 33000, 43000, 53000, 63000, 73000, 83000, 93000, 103000, 113000, 123000, 143000)
SIZES = {"s": 2e7, "m": 3e8, "l": 1.2e9, "xl": 6e9}


def family(late_trend: dict[str, float] | None = None, seed: int = 0, n: int = 2000) -> pd.DataFrame:
    """A Pythia-like family: 4 sizes x 2 runs x 15 checkpoints, one task with chance 0.25, binomial noise of ``n``
    questions. Scores rise with size and log tokens; ``late_trend`` adds, per size, a slope per decade of tokens
    after 2^36 tokens (negative: a late decline)."""
    late_trend = late_trend or {}
    gen = rng(seed)
    rows = []
    for k, (size, params) in enumerate(SIZES.items()):
        for run in ("standard", "deduped"):
            for step in STEPS:
                tokens = step * 2_097_152
                lt = np.log10(tokens)
                mean = 0.3 + 0.05 * k + 0.02 * (lt - 9.3) * (1 + k) / 2
                mean += late_trend.get(size, 0.0) * max(lt - 10.8, 0.0)
                mean = float(np.clip(mean, 0.01, 0.99))
                value = gen.binomial(n, mean) / n
                rows.append(
                    {
                        "model": f"m-{size}-{run}",
                        "run": run,
                        "size": size,
                        "params": params,
                        "step": step,
                        "tokens": tokens,
                        "task": "t",
                        "value": value,
                        "stderr": np.sqrt(value * (1 - value) / (n - 1)),
                        "n": n,
                        "chance": 0.25,
                    }
                )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the Pythia table


@pytest.fixture(scope="module")
def pythia() -> pd.DataFrame:
    from mirage_utils import data

    return inv.pythia_scores(data.pythia_evals())


def test_pythia_scores_tasks_and_mmlu(pythia: pd.DataFrame) -> None:
    assert set(pythia["task"]) == set(inv.PYTHIA_CHANCE)
    assert pythia.groupby("task").size().nunique() == 1  # 16 models x 27 checkpoints each
    mmlu = pythia[pythia["task"] == inv.MMLU]
    assert set(mmlu["n"]) == {14042.0}
    assert mmlu["value"].between(0.2, 0.3).all()
    assert (pythia.loc[pythia["task"] == "wsc", "chance"] == 66 / 104).all()


def test_mmlu_pools_questions_not_subjects() -> None:
    base = {"model": "m", "run": "standard", "size": "s", "params": 1e7, "step": 1, "tokens": 2e6, "shots": 0}
    rows = [
        {**base, "task": "hendrycksTest-a", "metric": "acc", "value": 0.5, "stderr": 0.1, "n": 100},
        {**base, "task": "hendrycksTest-b", "metric": "acc", "value": 0.2, "stderr": 0.02, "n": 400},
    ]
    out = inv.pythia_scores(pd.DataFrame(rows), tasks=[inv.MMLU])
    assert out["value"].iloc[0] == pytest.approx((50 + 80) / 500)
    assert out["stderr"].iloc[0] == pytest.approx(np.sqrt(10.0**2 + 8.0**2) / 500)


def test_pythia_scores_validates() -> None:
    from mirage_utils import data

    ev = data.pythia_evals()
    with pytest.raises(ValueError, match="no chance level"):
        inv.pythia_scores(ev, tasks=["crows_pairs_english"])
    with pytest.raises(ValueError, match="not in the table"):
        inv.pythia_scores(ev[ev["task"] != "piqa"], tasks=["piqa"])
    with pytest.raises(ValueError, match="no rows"):
        inv.pythia_scores(ev, shots=3)
    with pytest.raises(ValueError, match="lacks columns"):
        inv.pythia_scores(ev.drop(columns="stderr"))
    with pytest.raises(ValueError, match="empty"):
        inv.pythia_scores(ev.iloc[:0])


# ---------------------------------------------------------------- declines


def test_declines_reads_running_max() -> None:
    t = family()
    cut = t[t["model"] == "m-s-standard"].copy()
    cut.loc[cut["step"] == 63000, "value"] = 0.9  # one spike, then back to the curve
    d = inv.declines(cut, draws=500)
    row = d.iloc[0]
    assert row["peak"] == 0.9 and row["peak_step"] == 63000
    assert row["decline"] == pytest.approx(0.9 - row["final"])
    assert row["max_drop"] >= row["decline"] - 1e-12
    assert row["drop_from_step"] == 63000 and row["above_chance"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=3, max_size=12))
def test_largest_drop_matches_brute_force(values: list[float]) -> None:
    v = np.asarray(values)
    se = np.full(v.size, 0.01)
    drop, _, peak, at = inv._largest_drop(v[None, :], se)
    brute = max(max(v[: j + 1]) - v[j] for j in range(v.size))
    assert drop[0] == pytest.approx(brute)
    assert v[peak[0]] == pytest.approx(max(v[: at[0] + 1])) and peak[0] <= at[0]


def test_selection_aware_null_is_not_fooled_by_the_running_max() -> None:
    """Flat curves with pure noise: the naive z of the final decline often exceeds 2 (the max of 14 readings is
    biased up), the selection-aware p value rarely falls below 0.05."""
    gen = rng(3)
    rows = []
    for m in range(60):
        for step in STEPS:
            v = gen.binomial(1000, 0.6) / 1000
            rows.append(
                {
                    "model": f"m{m}",
                    "run": "standard",
                    "size": "s",
                    "params": 1e8,
                    "step": step,
                    "tokens": step * 2e6,
                    "task": "t",
                    "value": v,
                    "stderr": np.sqrt(v * (1 - v) / 999),
                    "n": 1000,
                    "chance": 0.25,
                }
            )
    d = inv.declines(pd.DataFrame(rows), draws=400, max_draws=400)
    assert (d["z"] > 1.0).mean() > 0.3
    assert (d["p_null"] < 0.05).mean() <= 0.12
    assert inv.declining_sizes(d) == set()


def test_decline_at_chance_is_not_counted() -> None:
    t = family()
    flat = t[t["model"] == "m-s-standard"].copy()
    flat["value"] = 0.25
    flat.loc[flat["step"] == 63000, "value"] = 0.27
    flat["stderr"] = 0.0137
    d = inv.declines(flat, draws=200)
    assert not d["above_chance"].iloc[0]
    assert inv.declining_sizes(d) == set()


def test_declines_validates() -> None:
    t = family()
    with pytest.raises(ValueError, match="draws"):
        inv.declines(t, draws=10)
    with pytest.raises(ValueError, match="at least 3 checkpoints"):
        inv.declines(t, min_step=123000)
    with pytest.raises(ValueError, match="lacks columns"):
        inv.declines(t.drop(columns="chance"))


# ---------------------------------------------------------------- regression


def test_two_stage_and_mixed_recover_a_known_interaction() -> None:
    rows = []
    gen = rng(1)
    for k, params in enumerate((1e7, 1e8, 1e9, 1e10)):
        for run in range(2):
            for step in STEPS:
                lt = np.log10(step * 2e6)
                v = 0.4 + 0.03 * (lt - 10) * (np.log10(params) - 8.5) + gen.normal(0, 0.003) + 0.002 * run
                rows.append(
                    {
                        "model": f"m{k}{run}",
                        "run": str(run),
                        "size": str(k),
                        "params": params,
                        "step": step,
                        "tokens": step * 2e6,
                        "task": "t",
                        "value": v,
                        "stderr": 0.003,
                        "n": 1000,
                        "chance": 0.25,
                    }
                )
    t = pd.DataFrame(rows)
    reg = inv.regression_table(t, min_tokens=0)
    assert reg["two-stage coef"].iloc[0] == pytest.approx(0.03, abs=0.003)
    assert reg["mixed coef"].iloc[0] == pytest.approx(0.03, abs=0.003)
    assert reg["two-stage df"].iloc[0] == 6
    assert reg["direction (two-stage)"].iloc[0] == "standard" == reg["direction (mixed)"].iloc[0]


def test_direction_words() -> None:
    assert inv.direction(0.1, 0.01) == "standard"
    assert inv.direction(-0.1, 0.01) == "inverse"
    assert inv.direction(-0.1, 0.2) == "none"
    assert inv.direction(-0.1, float("nan")) == "none"
    with pytest.raises(ValueError):
        inv.direction(0.1, 0.01, alpha=1.5)


def test_regression_validates() -> None:
    t = family()
    with pytest.raises(ValueError, match="at least 3 checkpoints"):
        inv.late_slopes(t, min_tokens=130000 * 2_097_152)
    with pytest.raises(ValueError, match="at least 3 models"):
        inv.two_stage(inv.late_slopes(t[t["model"].isin(["m-s-standard", "m-l-standard"])]))
    with pytest.raises(ValueError, match="constant"):
        inv.mixed_effects(t.assign(value=0.5))


# ---------------------------------------------------------------- claim checks and their counterfactuals


def test_claims_hold_on_a_standard_family() -> None:
    t = family()
    assert not inv.finds_inverse(inv.regression_table(t))
    assert inv.declining_sizes(inv.declines(t, draws=300, max_draws=3000)) == set()


def test_counterfactual_larger_models_decline_late() -> None:
    """Michaelov & Bergen's pattern: the two largest sizes lose ground late in training. Both claim checks of the
    chapter must fail: the interaction turns inverse and the declines sit in the largest sizes."""
    t = family({"l": -0.2, "xl": -0.3})
    reg = inv.regression_table(t)
    assert inv.finds_inverse(reg)
    assert "t" not in inv.standard_tasks(reg)
    assert {"l", "xl"} <= inv.declining_sizes(inv.declines(t, draws=300, max_draws=20000))


def test_pythia_claims_and_their_counterfactual(pythia: pd.DataFrame) -> None:
    """The chapter's claims on Pythia, and the same data with the larger half of the sizes made to fall late in
    training (0.05 per decade of tokens after 27B, twice that for the largest): the checks must flip."""
    reg = inv.regression_table(pythia)
    assert not inv.finds_inverse(reg)
    assert len(inv.standard_tasks(reg)) >= 6
    dec = inv.declines(pythia)
    assert inv.declining_sizes(dec) <= {"70m", "160m"}

    sizes = sorted(pythia["params"].unique())
    fall = {p: 0.05 * (1 + (p == sizes[-1])) for p in sizes[4:]}
    late = np.log10(pythia["tokens"].clip(lower=1)) - np.log10(13000 * 2_097_152)
    bent = pythia.assign(value=pythia["value"] - pythia["params"].map(fall).fillna(0.0) * late.clip(lower=0))
    bent_reg = inv.regression_table(bent)
    assert inv.finds_inverse(bent_reg)
    assert not inv.declining_sizes(inv.declines(bent, draws=300, max_draws=3000)) <= {"70m", "160m"}


def test_perplexity_rebound() -> None:
    rows = [
        {"model": "m", "run": "standard", "size": "s", "params": 1e7, "step": s, "shots": 0, "task": "lambada_openai"}
        | {"metric": "ppl", "value": v}
        for s, v in ((0, 1e5), (1000, 80.0), (2000, 40.0), (3000, 60.0))
    ]
    out = inv.perplexity_rebound(pd.DataFrame(rows))
    assert out["best"].iloc[0] == 40.0 and out["best_step"].iloc[0] == 2000
    assert out["ratio"].iloc[0] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="positive"):
        inv.perplexity_rebound(pd.DataFrame(rows).assign(value=-1.0))
    with pytest.raises(ValueError, match="no zero-shot"):
        inv.perplexity_rebound(pd.DataFrame(rows), task="piqa")


def test_perplexity_confirms_and_its_counterfactual() -> None:
    table = pd.DataFrame({"size": ["70m", "70m", "1b"], "ratio": [1.5, 1.3, 1.0]})
    assert inv.perplexity_confirms(table, {"70m"})
    assert not inv.perplexity_confirms(table, {"70m", "1b"})  # a declining size whose perplexity keeps falling
    assert not inv.perplexity_confirms(table.assign(ratio=[1.5, 1.1, 1.0]), {"70m"})
    assert not inv.perplexity_confirms(table, set())
    with pytest.raises(ValueError, match="factor"):
        inv.perplexity_confirms(table, {"70m"}, factor=0.9)


def test_pythia_perplexity_confirms_the_small_models_drop() -> None:
    from mirage_utils import data

    ev = data.pythia_evals()
    ppl = inv.perplexity_rebound(ev)
    assert inv.perplexity_confirms(ppl, {"70m", "160m"})
    assert not inv.perplexity_confirms(ppl, {"1b"})


# ---------------------------------------------------------------- MMLU near chance (Fig. 6.5's caption)


def test_pythia_mmlu_stays_near_chance(pythia: pd.DataFrame) -> None:
    """The caption of Fig. 6.5: MMLU stays within a few points of chance at every checkpoint of every model."""
    assert inv.stays_near_chance(pythia, "mmlu", margin=0.04)
    assert not inv.stays_near_chance(pythia, "mmlu", margin=0.02)  # it does leave chance by 2-4 points
    assert not inv.stays_near_chance(pythia, "sciq", margin=0.04)  # a task that leaves chance fails the check


def test_stays_near_chance_counterfactual_and_validation() -> None:
    fam = family()
    near = fam.assign(value=0.25 + 0.01 * np.sin(np.arange(len(fam))))
    assert inv.stays_near_chance(near, "t", margin=0.02)
    risen = near.copy()
    risen.loc[risen.index[-1], "value"] = 0.40  # one model leaves chance at its last checkpoint
    assert not inv.stays_near_chance(risen, "t", margin=0.02)
    with pytest.raises(ValueError, match="margin"):
        inv.stays_near_chance(near, "t", margin=0.0)
    with pytest.raises(ValueError, match="not in the table"):
        inv.stays_near_chance(near, "mmlu")
    with pytest.raises(ValueError, match="lacks columns"):
        inv.stays_near_chance(near.drop(columns="chance"), "t")


def test_plot_over_training_is_legible_at_column_width() -> None:
    """Fig. 6.5: panels stacked in one column, at most 4.2 in wide, no text below 10 pt, the legend inside a panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    fam = pd.concat([family(), family(seed=1).assign(task="u")], ignore_index=True)
    fig = inv.plot_over_training(fam, ["t", "u"])
    try:
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert len(axes) == 2
        assert fig.get_size_inches()[0] <= 4.2
        columns = {round(ax.get_position().x0, 3) for ax in axes}
        assert len(columns) == 1  # stacked, never side by side
        fig.canvas.draw()
        texts = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
        assert min(t.get_fontsize() for t in texts) >= 10
        assert axes[0].get_legend() is not None  # inside the first panel, not a panel of its own
        with pytest.raises(ValueError, match="subset"):
            inv.plot_over_training(fam, ["absent"])
    finally:
        plt.close(fig)
