"""Chapter 8's worked inputs for `check`: the frames follow the check's layouts, verdict words follow the rule, and
the report figure fits a column."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from mirage_utils import bigbench, check_inputs
from mirage_utils.checking import check, validate


def _family(seeds: int = 2, n: int = 40) -> dict[str, pd.DataFrame]:
    """A made-up family in load_artifacts' shape: five sizes, answers right with a probability growing with size."""
    gen = np.random.default_rng(0)
    sizes = {f"m{i}": 10.0 ** (3 + i) for i in range(5)}
    rows = []
    for i, model in enumerate(sizes):
        for seed in range(seeds):
            a, b = gen.integers(1000, 9999, n), gen.integers(1000, 9999, n)
            right = gen.random(n) < i / 4
            output = np.where(right, a + b, a + b + 1)
            rows.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "seed": seed,
                        "task": "addition_4digit",
                        "split": "test",
                        "a": a,
                        "b": b,
                        "output": output,
                        "log_prob": np.where(right, -0.5, -5.0),
                        "target_length": 5,
                    }
                )
            )
    models = pd.DataFrame({"model": list(sizes), "n_params": list(sizes.values())})
    return {"models": models, "outputs": pd.concat(rows, ignore_index=True)}


def test_family_frame_is_in_the_generations_layout_with_seeds():
    frame = check_inputs.family_sums_frame(_family())
    v = validate(frame)
    assert v.layout == "generations" and v.scale == "params"
    assert set(frame["seed"]) == {0, 1} and len(frame) == 5 * 2 * 40
    assert frame["token_probability"].between(0, 1).all()
    assert (frame["target"] == frame["example_id"].map(lambda e: str(sum(map(int, e.split("+")))))).all()
    with pytest.raises(ValueError, match="no held-out outputs"):
        check_inputs.family_sums_frame(_family(), task="nothing")


def test_verdicts_by_seed_has_one_row_per_seed_and_one_for_seeds_as_the_unit():
    table = check_inputs.verdicts_by_seed(check_inputs.family_sums_frame(_family()))
    assert list(table.index) == ["seed 0", "seed 1", "seeds as the unit"]
    assert list(table.columns) == ["exact match vs token edit distance", "exact match vs token probability"]
    with pytest.raises(ValueError, match="no seed"):
        check_inputs.verdicts_by_seed(check_inputs.family_sums_frame(_family()).drop(columns="seed"))


def test_verdict_table_reads_every_continuous_metric():
    report = check(check_inputs.family_sums_frame(_family()))
    table = check_inputs.verdict_table(report)
    assert list(table.index) == ["token edit distance", "token probability"]
    assert list(table.columns) == ["verdict", "onset model", "precursor share", "reason"]


def test_book_verdict_words():
    assert check_inputs.book_verdict(["metric-induced", "metric-induced"]) == "holds"
    assert check_inputs.book_verdict(["persists"]) == "fails"
    assert check_inputs.book_verdict(["persists", "metric-induced"]) == "cannot tell from these data"
    assert check_inputs.book_verdict(["no flat phase"]) == "cannot tell from these data"
    with pytest.raises(ValueError):
        check_inputs.book_verdict([])


def test_above_chance_verdict():
    assert check_inputs.above_chance_verdict(0.2, 0.3, 0.1) == "holds"
    assert check_inputs.above_chance_verdict(0.0, 0.05, 0.1) == "fails"
    assert check_inputs.above_chance_verdict(0.0, 0.0005, 0.0003) == "cannot tell from these data"


def test_lu_frame_and_verdicts_use_the_aggregates_layout():
    lu = bigbench.lu_scores()
    frame = check_inputs.lu_frame(lu, "logical_deduction", "closed-adv", 0)
    assert validate(frame).layout == "aggregates"
    assert frame["seed"].nunique() == 3 and frame["model"].nunique() == 3
    with pytest.raises(ValueError, match="no Lu et al."):
        check_inputs.lu_frame(lu, "logical_deduction", "closed-adv", 3)
    table = check_inputs.lu_verdicts(lu)
    assert table.index.names == ["task", "prompt", "shots"] and len(table) == 24


def test_instructgpt_frame_carries_the_prompt():
    frame = check_inputs.instructgpt_products_frame()
    assert frame["model"].nunique() == 4 and frame["example_id"].nunique() == 90 * 90
    assert frame["prompt"].str.startswith("Multiply:").all()


def test_plot_report_fits_a_column_with_two_panels_per_row():
    report = check(check_inputs.family_sums_frame(_family()))
    fig = check_inputs.plot_report(report)
    width, _ = fig.get_size_inches()
    assert width <= 7.0
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4  # three metrics on a 2 x 2 grid
    assert visible[0].get_xscale() == "log"
    assert check_inputs.plot_report(report, ["exact_match"]).axes[0].get_title() == "exact match"
    with pytest.raises(ValueError, match="unknown"):
        check_inputs.plot_report(report, ["bleu"])


def test_load_family_reads_the_committed_tables():
    fam = check_inputs.load_family()
    assert {"models", "outputs", "multiple_choice"} <= set(fam)
    frame = check_inputs.family_sums_frame(fam)
    assert frame["model"].nunique() == len(fam["models"]["model"].unique())
