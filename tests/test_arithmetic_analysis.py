"""Seed-level summaries and claim checks of the arithmetic family, each fed a counterfactual that must fail it."""

import numpy as np
import pandas as pd
import pytest

from mirage_utils.arithmetic import analysis as an


def _metrics(top: float, bottom: float, seeds=(0, 1, 2)) -> pd.DataFrame:
    """A toy metrics table: three sizes whose held-out 4-digit-sum accuracy runs from ``bottom`` to ``top``."""
    rows = []
    for model, n, acc in [("s", 3e3, bottom), ("m", 3e4, (top + bottom) / 2), ("l", 3e5, top)]:
        for seed in seeds:
            for split in ("test", "train"):
                for L, chance in ((4, 1 / 9000), (5, 1 / 90000)):
                    rows.append(
                        {
                            "model": model,
                            "n_params": n,
                            "seed": seed,
                            "task": "addition_4digit",
                            "split": split,
                            "target_length": L,
                            "n": 1000,
                            "n_correct": round(1000 * acc),
                            "chance": chance,
                        }
                    )
    return pd.DataFrame(rows)


def test_competence_check_passes_a_competent_family_and_fails_counterfactuals():
    assert an.is_competent(an.competence_table(_metrics(0.995, 0.0))) == {
        "largest solves": True,
        "smallest fails": True,
    }
    assert not an.is_competent(an.competence_table(_metrics(0.95, 0.0)))["largest solves"]
    assert not an.is_competent(an.competence_table(_metrics(0.995, 0.2)))["smallest fails"]
    with pytest.raises(ValueError, match="no held-out rows"):
        an.is_competent(an.competence_table(_metrics(0.9, 0.0)), task="multiplication_2digit")


def test_competence_uses_the_median_seed_not_the_pooled_problems():
    m = _metrics(0.995, 0.0)
    m.loc[(m["model"] == "l") & (m["seed"] == 0), "n_correct"] = 0  # one seed never learned
    table = an.competence_table(m)
    row = table[(table["model"] == "l") & (table["split"] == "test")].iloc[0]
    assert row["median"] == pytest.approx(0.995) and row["low"] == 0.0
    assert an.is_competent(table)["largest solves"]  # two of three seeds: the median solves
    m.loc[(m["model"] == "l") & (m["seed"] == 1), "n_correct"] = 0
    assert not an.is_competent(an.competence_table(m))["largest solves"]


def test_over_seeds_summarises_per_seed_values():
    t = pd.DataFrame({"g": ["a"] * 6, "seed": [0, 0, 1, 1, 2, 2], "v": [1.0, 3.0, 2.0, 2.0, 5.0, 5.0]})
    out = an.over_seeds(t, ["g"], "v").iloc[0]
    assert out["median"] == 2.0 and out["low"] == 2.0 and out["high"] == 5.0 and out["n_seeds"] == 3
    assert out["ci_low"] < out["mean"] < out["ci_high"]
    with pytest.raises(ValueError, match="seed"):
        an.over_seeds(t, ["g", "seed"], "v")


def test_loss_flatness_and_its_counterfactual():
    steps = np.arange(100, 5001, 100)
    flat = pd.DataFrame({"model": "m", "seed": 0, "step": steps, "loss": 0.5 + np.exp(-steps / 500)})
    falling = pd.DataFrame({"model": "m", "seed": 0, "step": steps, "loss": 2.0 - steps / 3000})
    assert an.loss_is_flat(flat)["flat"].all()
    assert not an.loss_is_flat(falling)["flat"].any()


def test_zero_reading_rate():
    out = pd.DataFrame(
        {"model": "m", "params": 1.0, "target_length": 3, "exact_match": np.r_[np.ones(5, bool), np.zeros(995, bool)]}
    )
    z = an.zero_reading_rate(out, 100, 200, seed=0).iloc[0]
    assert z["P(reads 0)"] == pytest.approx((1 - 0.005) ** 100, abs=0.1)  # about 0.6
    assert an.zero_reading_rate(out.assign(exact_match=True), 100, 10, 0)["P(reads 0)"].iloc[0] == 0


def test_length_law_recovers_a_geometric_family_and_rejects_a_step():
    L = np.arange(1, 6)
    geometric = pd.DataFrame({"model": "m", "target_length": L, "exact_match": 0.8**L, "ted": L * 0.2})
    fit = an.length_law_fit(geometric, ["model"])
    assert fit["p_hat"].iloc[0] == pytest.approx(0.8)
    assert an.length_law_r2(fit, ["model"])["R2 log accuracy"].iloc[0] == pytest.approx(1.0)
    step = geometric.assign(exact_match=[0.9, 0.9, 0.9, 0.001, 0.001])  # same TED, accuracy collapses at L = 4
    r2 = an.length_law_r2(an.length_law_fit(step, ["model"]), ["model"])["R2 log accuracy"].iloc[0]
    assert r2 < 0.8


def test_multiple_choice_option_subsets_and_chance():
    rows = []
    for q, (answer, options) in enumerate(
        [("1234", ["1234", "1299", "5234", "87", "banana"]), ("567", ["567", "512", "999", "12345", "house"])]
    ):
        for i, o in enumerate(options):
            rows.append(
                {
                    "model": "m",
                    "seed": 0,
                    "task": "t",
                    "question": q,
                    "option": o,
                    "correct": o == answer,
                    "log_prob": -np.inf if not o.isdigit() else -float(i),
                }
            )
    mc = pd.DataFrame(rows)
    all_ = an.multiple_choice_scores(mc, "all").iloc[0]
    assert all_["mcg"] == 1.0 and all_["chance"] == pytest.approx(1 / 5)
    same = an.multiple_choice_scores(mc, "same_length").iloc[0]
    assert same["chance"] == pytest.approx(1 / 3)
    lead = an.multiple_choice_scores(mc, "same_lead").iloc[0]
    assert lead["questions"] == 2 and lead["chance"] == pytest.approx(1 / 2)
    with pytest.raises(ValueError, match="options"):
        an.multiple_choice_scores(mc, "some")
    with pytest.raises(ValueError, match="rescore-mc"):  # a table from before the near-miss option set
        an.multiple_choice_scores(mc, "near_miss")
    near = mc.assign(option_set="bigbench")
    near = pd.concat([near, near.assign(option_set="near_miss", log_prob=-near["log_prob"].abs()[::-1].to_numpy())])
    nm = an.multiple_choice_scores(near, "near_miss").iloc[0]
    assert nm["chance"] == pytest.approx(1 / 5) and nm["mcg"] == 0.0  # the answer has the lowest log-probability
    assert an.multiple_choice_scores(near, "all").iloc[0]["mcg"] == 1.0  # "all" reads BIG-bench's options only


def test_smallest_at_chance_and_emergence_by_seed():
    rows = []
    for seed in range(3):
        for n, mcg in [(1e3, 0.34), (1e4, 0.5), (1e5, 0.95)]:
            rows.append(
                {
                    "model": f"m{n:g}",
                    "seed": seed,
                    "task": "t",
                    "n_params": n,
                    "mcg": mcg + 0.01 * seed,
                    "brier": 0.3 - mcg / 4,
                    "chance": 1 / 3,
                }
            )
    scores = pd.DataFrame(rows)
    assert an.smallest_at_chance(scores) == {"t": True}
    assert an.smallest_at_chance(scores.assign(mcg=scores["mcg"] + 0.2)) == {"t": False}  # smallest beats chance
    # the option set nearest chance at the smallest size, relative to the room above chance (not in absolute terms)
    few = scores.assign(chance=0.5, mcg=scores["mcg"].clip(lower=0.62))  # 0.12 above chance: 24% of the room
    many = scores.assign(chance=0.2, mcg=scores["mcg"] + 0.02)  # 0.16 above chance but only 20% of the room
    assert an.floor_nearest_chance({"few": few, "many": many}) == {"t": "many"}
    assert an.floor_nearest_chance({"few": few.assign(mcg=0.55), "many": many}) == {"t": "few"}
    with pytest.raises(ValueError, match="no option sets"):
        an.floor_nearest_chance({})
    sharp = an.sharpness_by_seed(scores, "mcg").iloc[0]
    assert sharp["seeds"] == 3 and sharp["sizes"] == 3 and sharp["window_decades"] == pytest.approx(2)
    for m in an.SHARPNESS_MEASURES:
        assert sharp[f"{m}_low"] <= sharp[f"{m}_median"] <= sharp[f"{m}_high"]


def test_sharper_than_and_its_counterfactual():
    rows = []
    for seed in range(3):
        for i, n in enumerate(np.logspace(3, 5, 7)):
            jump = 0.25 + 0.7 * (i >= 5) + 0.01 * seed  # MCG: flat at chance, then a jump
            rows.append({"seed": seed, "task": "t", "n_params": n, "mcg": jump, "brier": 0.8 - 0.1 * i})  # smooth
    scores = pd.DataFrame(rows)
    mcg = an.sharpness_by_seed(scores, "mcg")
    brier = an.sharpness_by_seed(scores, "brier", higher_is_better=False)
    for m in an.SHARPNESS_MEASURES:
        assert an.sharper_than(mcg, brier, m) == {"t": True}, m
    smooth_mcg = an.sharpness_by_seed(scores.assign(mcg=0.25 + 0.1 * np.tile(np.arange(7), 3)), "mcg")
    assert an.sharper_than(smooth_mcg, brier, "steepest_rise_ratio") == {"t": False}  # both lines: not sharper
    jumpy_brier = an.sharpness_by_seed(scores.assign(brier=0.8 - scores["mcg"] * 0.7), "brier", higher_is_better=False)
    assert an.sharper_than(mcg, jumpy_brier, "rise_width_decades") == {"t": False}  # Brier jumps too
    with pytest.raises(ValueError, match="measure"):
        an.sharper_than(mcg, brier, "slope")
    by_length = scores.assign(target_length=4)
    em = an.sharpness_by_seed(by_length, "mcg", by=("task", "target_length"))
    assert an.sharper_than(em, an.sharpness_by_seed(by_length, "brier", False, ("task", "target_length"))) == {
        ("t", 4): True
    }


def test_seeds_phrase():
    assert an.seeds_phrase(pd.DataFrame({"model": ["a", "b"], "seed": [0, 0]})) == "1 seed per size"
    two = pd.DataFrame({"model": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0]})
    assert an.seeds_phrase(two) == "1 to 3 seeds per size"
    with pytest.raises(ValueError):
        an.seeds_phrase(two.iloc[:0])


def test_falls_with_size_tolerates_one_dip_but_not_a_flat_or_rising_curve():
    n = np.logspace(3, 6, 8)
    falling = pd.DataFrame({"n": n, "ce": 2.0 / np.log10(n)})
    assert an.falls_with_size(falling, "n", "ce")
    one_dip = falling.assign(ce=falling["ce"].to_numpy() * np.array([1, 1, 1, 0.9, 1, 1, 1, 1]))
    assert an.falls_with_size(one_dip, "n", "ce")
    assert not an.falls_with_size(falling.assign(ce=1.0 + 0.01 * np.sin(np.arange(8))), "n", "ce")  # no trend
    assert not an.falls_with_size(falling.assign(ce=falling["ce"].to_numpy()[::-1]), "n", "ce")  # rises
    with pytest.raises(ValueError):
        an.falls_with_size(falling.head(2), "n", "ce")


def test_reading_and_rescoring_import_no_torch():
    """Scoring another family's outputs and reading the artifact tables need no training extra."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom mirage_utils.arithmetic import rescore, analysis, shards, over_training\n"
        "from mirage_utils import diagnosis, bigbench, emergence, scaling, metrics, resolution, data\n"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_law_majorities_count_models_and_fail_on_the_opposite_pattern():
    mostly_ted = {"a": (False, True), "b": (False, True), "c": (True, False)}
    assert an.law_majorities(mostly_ted) == {"geometric": False, "linear TED": True}
    mostly_geometric = {k: (t, g) for k, (g, t) in mostly_ted.items()}
    assert an.law_majorities(mostly_geometric) == {"geometric": True, "linear TED": False}
    assert an.law_majorities({"a": (True, True), "b": (False, False)}) == {"geometric": False, "linear TED": False}
    with pytest.raises(ValueError):
        an.law_majorities({})


def test_length_laws_hold_and_their_counterfactual():
    L = np.arange(1, 5)
    geometric = pd.DataFrame({"model": "m", "target_length": L, "exact_match": 0.8**L, "ted": L * 0.2})
    r2 = an.length_law_r2(an.length_law_fit(geometric, ["model"]), ["model"])
    assert an.length_laws_hold(r2) == {"m": (True, True)}
    collapsed = geometric.assign(exact_match=[0.9, 0.9, 0.9, 0.001], ted=[0.1, 0.2, 0.3, 3.5])  # a cliff at L = 4
    r2_bad = an.length_law_r2(an.length_law_fit(collapsed, ["model"]), ["model"])
    assert an.length_laws_hold(r2_bad) == {"m": (False, False)}
    assert an.length_laws_hold(r2.assign(**{"R2 log accuracy": np.nan})) == {"m": (False, True)}
    with pytest.raises(ValueError, match="one row per model"):
        an.length_laws_hold(pd.concat([r2, r2]))


def test_resolved_from_and_its_counterfactual():
    cells = pd.DataFrame(
        [
            {"model": f"m{n}", "n_params": n, "seed": s, "task": "t", "target_length": 4, "resolved": n >= 1e4}
            for n in (1e3, 1e4, 1e5)
            for s in range(2)
        ]
    )
    pu = cells.assign(resolved=False)
    assert an.resolved_from(cells, pu) == 1e4
    assert an.resolved_from(cells, pu.assign(resolved=True)) == 1e3  # PassUntil resolves what greedy cannot
    late = cells.assign(resolved=cells["n_params"] != 1e5)  # the largest size unresolved somewhere
    assert np.isnan(an.resolved_from(late, pu))


def test_multiple_choice_scores_match_the_per_question_metrics_and_tie_to_the_first_option():
    from mirage_utils import metrics

    gen = np.random.default_rng(3)
    rows = []
    for q in range(40):
        lps = np.round(gen.normal(-2, 1, size=4), 1)
        if q % 5 == 0:
            lps[:] = -1.0  # a four-way tie: the first option wins
        for i, lp in enumerate(lps):
            rows.append(
                {
                    "model": "m",
                    "seed": q % 2,
                    "task": "t",
                    "question": q,
                    "option": str(10 + i),
                    "correct": i == q % 4,
                    "log_prob": lp,
                }
            )
    mc = pd.DataFrame(rows)
    got = an.multiple_choice_scores(mc, "all").set_index("seed")
    for seed, g in mc.groupby("seed"):
        lp = g["log_prob"].to_numpy().reshape(-1, 4)
        idx = g["correct"].to_numpy().reshape(-1, 4).argmax(axis=1)
        probs = metrics.normalise_log_probs(lp)
        assert got.loc[seed, "mcg"] == pytest.approx(metrics.multiple_choice_grade(probs, idx))
        assert got.loc[seed, "brier"] == pytest.approx(metrics.brier_score(probs, idx))
    with pytest.raises(ValueError, match="NaN"):
        an.multiple_choice_scores(mc.assign(log_prob=np.nan), "all")


def test_multiple_choice_by_set_and_the_chosen_curves():
    rows = [
        {
            "model": m,
            "seed": 0,
            "task": t,
            "question": 0,
            "option": o,
            "correct": o == "12",
            "log_prob": -1.0 if o == "12" else -2.0,
            "option_set": s,
        }
        for m in ("a", "b")
        for t in ("x", "y")
        for s, opts in (("bigbench", ["12", "13", "7"]), ("units_digit", ["12", "13", "14"]))
        for o in opts
    ]
    fam = {"models": pd.DataFrame({"model": ["a", "b"], "n_params": [10, 100]}), "multiple_choice": pd.DataFrame(rows)}
    by_set = an.multiple_choice_by_set(fam, ["all", "units_digit"])
    assert set(by_set) == {"all", "units_digit"}
    assert by_set["all"].set_index("model")["n_params"].to_dict() == {"a": 10, "b": 100}
    curves = an.chosen_option_curves(by_set, {"x": "all", "y": "units_digit"})
    assert len(curves) == 4 and set(curves["task"]) == {"x", "y"}
    with pytest.raises(ValueError, match="option sets"):
        an.chosen_option_curves(by_set, {"x": "near_miss"})
