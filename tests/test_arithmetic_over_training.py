"""Chapter 6's claim checks (``arithmetic.over_training``), each fed a counterfactual family that must fail it."""

import numpy as np
import pandas as pd
import pytest

from mirage_utils.arithmetic import over_training as ot

SIZES = {"s": 3e3, "m": 1e4, "l": 3e4, "xl": 1e5, "xxl": 3e5}
TOKENS = [0, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6]


def _family(
    interaction: float = 0.05, seeds=(0, 1, 2), late_drop: float = 0.0, prior: float = 0.0, seed: int = 0
) -> pd.DataFrame:
    """A toy checkpoint table: every test's in-context score rises with size and training, with the given
    size x training interaction; ``late_drop`` makes the largest size lose that much at its last checkpoint."""
    gen = np.random.default_rng(seed)
    rows = []
    for model, n in SIZES.items():
        cn = np.log10(n) - 4.0
        for s in seeds:
            offset = gen.normal(0, 0.01)
            for step, tokens in enumerate(TOKENS):
                cd = np.log10(tokens) - 5.0 if tokens else -3.0
                for test in ot.REDEFINED + ot.CONTROLS:
                    y = float(
                        np.clip(
                            0.5 + 0.08 * cn + 0.08 * cd + interaction * cn * cd + offset + gen.normal(0, 0.01), 0, 1
                        )
                    )
                    if model == "xxl" and step == len(TOKENS) - 1 and test in ot.REDEFINED:
                        y -= late_drop
                    rows.append(
                        {
                            "model": model,
                            "seed": s,
                            "n_params": n,
                            "step": step,
                            "tokens": tokens,
                            "task": test,
                            "exact_match": y,
                            "token_prob": 0.1 + 0.9 * y,
                            "ted": 3.0 * (1 - y),
                            "prior_match": prior if test in ot.REDEFINED else y,
                        }
                    )
    return pd.DataFrame(rows)


def test_coverage_counts_seeds_and_trained_checkpoints():
    cov = ot.coverage(_family(seeds=(0, 2)))
    assert list(cov["model"]) == list(SIZES) and set(cov["n_seeds"]) == {2} and set(cov["seeds"]) == {"0,2"}
    assert set(cov["checkpoints"]) == {len(TOKENS) - 1}  # the random initialisation is not a trained checkpoint
    with pytest.raises(ValueError, match="lacks columns"):
        ot.coverage(_family().drop(columns="seed"))
    with pytest.raises(ValueError, match="empty"):
        ot.coverage(_family().iloc[:0])


def test_chance_levels_follow_answer_length():
    chance = ot.chance_levels(12345, 0.5, n=2000)
    # |a - b| of two 2-digit numbers is often a single digit (chance 1/10); 4-digit sums have 4-5 digits
    assert chance["times_as_minus"] > chance["times_as_plus"] > chance["plus_as_minus"] > chance["plus_control"]
    assert chance["plus_control"] < 1e-3 and 0.01 < chance["times_as_minus"] < 0.1
    with pytest.raises(ValueError, match="unknown"):
        ot.chance_levels(12345, 0.5, tests=["times_as_divide"])
    with pytest.raises(ValueError, match="n must be"):
        ot.chance_levels(12345, 0.5, n=0)


def test_follows_context_and_its_counterfactuals():
    fam = _family()
    largest = fam["n_params"] == max(SIZES.values())
    last = fam["step"] == fam["step"].max()
    fam.loc[largest & last & (fam["task"] == "times_as_plus"), "exact_match"] = 1.0
    fam.loc[largest & last & (fam["task"] == "plus_as_minus"), "exact_match"] = 0.1
    assert ot.follows_context(ot.final_profile(fam), "times_as_plus", "plus_as_minus")
    # counterfactual 1: the weak redefinition is followed too, in one seed
    both = fam.copy()
    both.loc[largest & last & (both["task"] == "plus_as_minus") & (both["seed"] == 1), "exact_match"] = 0.8
    assert not ot.follows_context(ot.final_profile(both), "times_as_plus", "plus_as_minus")
    # counterfactual 2: one seed of the largest size does not follow the strong one
    weak = fam.copy()
    weak.loc[largest & last & (weak["task"] == "times_as_plus") & (weak["seed"] == 2), "exact_match"] = 0.5
    assert not ot.follows_context(ot.final_profile(weak), "times_as_plus", "plus_as_minus")
    with pytest.raises(ValueError, match="low <= high"):
        ot.follows_context(ot.final_profile(fam), "times_as_plus", "plus_as_minus", high=0.3, low=0.5)


def test_loses_ability_sees_a_late_decline_in_either_orientation():
    assert not ot.loses_ability(_family(), ["exact_match", "token_prob", "ted"], ot.REDEFINED, margin=0.05)
    dropped = _family(late_drop=0.3)  # counterfactual: the largest size loses 0.3 at its last checkpoint
    assert ot.loses_ability(dropped, ["exact_match"], ot.REDEFINED, margin=0.05)
    assert ot.loses_ability(dropped, ["ted"], ot.REDEFINED, margin=0.05)  # TED rising is the same loss
    assert not ot.loses_ability(dropped, ["exact_match"], ot.CONTROLS, margin=0.05)
    d = ot.declines(dropped, "ted", ot.REDEFINED)
    assert (d["decline"] >= 0).all() and 0.5 < d["decline"].max() < 0.9  # 3 x 0.3, less the last step's gain
    with pytest.raises(ValueError, match="unknown metric"):
        ot.declines(dropped, "prior_match", ot.REDEFINED)
    with pytest.raises(ValueError, match="margin"):
        ot.loses_ability(dropped, ["ted"], ot.REDEFINED, margin=-1)


def test_never_falls_back_and_its_counterfactual():
    assert ot.never_falls_back(_family(prior=0.0))
    assert not ot.never_falls_back(_family(prior=0.3))  # models answering with the usual meaning
    assert ot.never_falls_back(_family(prior=0.0), tests=ot.CONTROLS, level=1.0)
    with pytest.raises(ValueError, match="level"):
        ot.never_falls_back(_family(), level=2)


def test_oriented_verdict_reads_ted_the_other_way():
    assert ot.oriented_verdict(-0.1, 0.001, "exact_match") == "inverse"
    assert ot.oriented_verdict(-0.1, 0.001, "ted") == "standard"  # TED falling faster for larger models
    assert ot.oriented_verdict(0.1, 0.001, "ted") == "inverse"
    assert ot.oriented_verdict(0.1, 0.001, "token_prob") == "standard"
    assert ot.oriented_verdict(-0.1, 0.2, "exact_match") == "none"
    with pytest.raises(ValueError, match="unknown metric"):
        ot.oriented_verdict(0.1, 0.01, "accuracy")


@pytest.mark.filterwarnings("ignore")
def test_regression_finds_inverse_scaling_only_when_it_is_there():
    metrics = ["exact_match", "ted"]
    found = ot.regression(_family(interaction=0.05), ot.REDEFINED, metrics)
    assert set(found["direction"]) == {"standard"} and not ot.finds_inverse(found)
    assert set(found["n_units"]) == {15} and set(found["n_sizes"]) == {5}
    # counterfactual: Michaelov & Bergen's pattern, larger models gaining less (negative interaction)
    inverse = ot.regression(_family(interaction=-0.05), ot.REDEFINED, metrics)
    assert set(inverse["direction"]) == {"inverse"} and ot.finds_inverse(inverse)
    assert ot.finds_inverse(inverse, corrected=False)
    with pytest.raises(ValueError, match="unknown metrics"):
        ot.regression(_family(), ot.REDEFINED, ["prior_match"])
    with pytest.raises(ValueError, match="no fitted rows"):
        ot.finds_inverse(found, tests=ot.CONTROLS)


@pytest.mark.filterwarnings("ignore")
def test_verdict_grid_marks_settings_with_too_few_runs():
    fam = _family(interaction=-0.05, seeds=(0,))
    grid = ot.verdict_grid(
        fam, ["times_as_plus"], ["exact_match"], {"all": 0, "late": 1e5}, {"all sizes": 0, "largest two": 1e5}
    )
    small = grid[grid["sizes"] == "largest two"]
    assert set(small["direction"]) == {"too few runs"} and set(small["n_units"]) == {2}
    assert ot.finds_inverse(grid)  # the fitted settings still see the counterfactual's inverse scaling
    with pytest.raises(ValueError, match="at least one window"):
        ot.verdict_grid(fam, ["times_as_plus"], ["exact_match"], {}, {"all": 0})


def test_loses_ability_discounts_test_set_noise_and_seeds_disagree():
    rows = []
    for step, acc in [(1, 0.0), (100, 0.065), (200, 0.035)]:  # a 6-of-200 wobble near the floor
        rows.append(
            {
                "model": "m",
                "seed": 0,
                "n_params": 1e3,
                "task": "plus_control",
                "step": step,
                "tokens": step * 10,
                "exact_match": acc,
                "n": 200,
            }
        )
    table = pd.DataFrame(rows)
    assert ot.loses_ability(table, ["exact_match"], ["plus_control"], margin=0.02)
    assert not ot.loses_ability(table, ["exact_match"], ["plus_control"], margin=0.02, z=1.96)
    real_loss = table.assign(exact_match=[0.0, 0.9, 0.5])
    assert ot.loses_ability(real_loss, ["exact_match"], ["plus_control"], margin=0.02, z=1.96)
    profile = pd.DataFrame(
        {"n_params": [1e3, 1e5], "task": "plus_as_minus", "low": [0.0, 0.14], "high": [0.1, 0.86], "n_seeds": 3}
    )
    assert ot.seeds_disagree(profile, "plus_as_minus")
    assert not ot.seeds_disagree(profile.assign(high=[0.1, 0.3]), "plus_as_minus")
    with pytest.raises(ValueError):
        ot.seeds_disagree(profile, "times_as_plus")


def test_over_training_summary_bands_span_the_seeds():
    fam = _family()
    s = ot.over_training_summary(fam, "exact_match")
    assert len(s) == len(SIZES) * (len(TOKENS) - 1) * len(ot.TITLES)  # the initialisation is left out
    assert (s["low"] <= s["median"]).all() and (s["median"] <= s["high"]).all()
    with pytest.raises(ValueError, match="lacks columns"):
        ot.over_training_summary(fam.drop(columns="step"), "exact_match")


def test_plot_over_training_puts_two_panels_per_row_and_the_legend_in_a_spare_one():
    import matplotlib

    matplotlib.use("Agg")
    fig = ot.plot_over_training(_family(), "exact_match", "exact match", {"times_as_plus": [(0.1, "chance", ":")]})
    assert len(fig.axes) == 6 and fig.get_size_inches()[0] <= 7.0
    assert fig.axes[-1].get_legend() is not None


def test_verdict_word_reads_the_regression():
    standard = ot.regression(_family(interaction=0.05), ["times_as_plus"], ["exact_match"])
    inverse = ot.regression(_family(interaction=-0.05), ["times_as_plus"], ["exact_match"])
    flat = standard.assign(direction="none")
    assert ot.verdict_word(standard, ["times_as_plus"], ["exact_match"]) == "fails"
    assert ot.verdict_word(inverse, ["times_as_plus"], ["exact_match"]) == "holds"
    assert ot.verdict_word(flat, ["times_as_plus"], ["exact_match"]) == "cannot tell from these data"
    with pytest.raises(ValueError, match="no rows"):
        ot.verdict_word(standard, ["times_as_plus"], ["ted"])


def test_table_fingerprint_ignores_row_order_and_sees_a_changed_score():
    fam = _family()
    assert ot.table_fingerprint(fam) == ot.table_fingerprint(fam.sample(frac=1.0, random_state=0))
    changed = fam.copy()
    changed.loc[changed.index[-1], "exact_match"] += 0.01
    assert ot.table_fingerprint(changed) != ot.table_fingerprint(fam)


def test_load_sensitivity_grid_reads_a_matching_file_and_recomputes_a_stale_one(tmp_path):
    fam = _family()
    fam = fam[fam["tokens"] > 0]
    grid = ot.sensitivity_grid(fam, tests=["times_as_plus"])
    assert set(grid["part"]) == {"grid", "narrower"} and grid["fingerprint"].nunique() == 1
    path = tmp_path / "grid.csv"
    grid.to_csv(path, index=False)
    read, from_file = ot.load_sensitivity_grid(fam, path)
    assert from_file and list(read["direction"]) == list(grid["direction"])
    np.testing.assert_allclose(read["p (Holm)"].to_numpy(float), grid["p (Holm)"].to_numpy(float))
    grid.assign(fingerprint="stale").to_csv(path, index=False)
    assert not ot.load_sensitivity_grid(fam, path)[1]
    with pytest.raises(ValueError, match="at least 4 sizes"):
        ot.grid_floors(fam[fam["n_params"] >= 3e4])


def test_over_training_summary_aligns_seeds_that_save_at_different_steps():
    fam = _family()
    shifted = fam.assign(step=fam["step"] + fam["seed"])  # seed k saves k steps later
    s = ot.over_training_summary(shifted, "exact_match")
    assert len(s) == len(SIZES) * (len(TOKENS) - 1) * len(ot.TITLES)
