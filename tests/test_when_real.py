"""Tests for Chapter 7's shared set-ups (mirage_utils.when_real)."""

import numpy as np

from mirage_utils import diagnosis, graphs
from mirage_utils import when_real as wr
from mirage_utils.seeding import rng


def test_verdict_word():
    assert wr.verdict_word(True, False) == "holds"
    assert wr.verdict_word(False, True) == "fails"
    assert wr.verdict_word(False, False) == "cannot tell from these data"


def test_below_index_is_last_point_before_five_percent():
    i = wr.k4_below_index()
    x5 = (24 * np.log(1 / 0.95)) ** (1 / 6)
    assert wr.RESCALED_P[i] < x5 <= wr.RESCALED_P[i + 1]


def test_k4_window_table_has_one_row_per_size():
    k4 = {n: graphs.sample_k4(n, wr.RESCALED_P * n ** (-2 / 3), reps=30, seed=n) for n in (20, 30)}
    table = wr.k4_window_table(k4)
    assert table["n"].tolist() == [20, 30]
    assert (table["ratio lo"] <= table["window ratio"]).all() and (table["window ratio"] <= table["ratio hi"]).all()
    shares = table["rise: diamond share"] + table["rise: 4-edge share"]
    assert (shares <= 1 + 1e-9).all()


def test_known_cases_cover_the_expected_names_and_the_mirage_case():
    giant = graphs.sample_giant_fractions(2_000, wr.MEAN_DEGREES, reps=5, seed=0)
    k4 = graphs.sample_k4(40, wr.RESCALED_P * 40 ** (-2 / 3), reps=20, seed=1)
    cases = wr.known_cases(giant, k4)
    assert list(cases) == list(wr.KNOWN_EXPECTED)
    name = next(iter(cases))
    assert diagnosis.diagnose(*cases[name]).verdict == "metric-induced"


def test_replicate_verdict_counts_sum_to_settings_times_replicates():
    gen = rng(0)
    sizes = np.arange(6, dtype=float)

    def replicate(unit: str, shift: float) -> diagnosis.Replicate:
        p = np.clip(np.array([0, 0, 0, 0.3, 0.7, 0.9]) + shift, 0, 1)
        disc = diagnosis.binary_curve([(gen.random(400) < q) * 1.0 for q in p])
        cont = diagnosis.mean_curve([np.linspace(0.2, 0.9, 6)[i] + 0.01 * gen.standard_normal(400) for i in range(6)])
        return diagnosis.Replicate(unit, sizes, np.ones(6, dtype=np.int64), disc, cont)

    cases = {"a": [replicate("seeds", 0.0), replicate("seed 0", 0.0), replicate("seed 1", 0.05)]}
    counts = wr.replicate_verdict_counts(cases, tolerances=(0.1, 0.2), onset_rises=(0.0,))
    assert list(counts.columns) == list(diagnosis.VERDICTS)
    assert counts.loc[("a", "seed mean")].sum() == 2
    assert counts.loc[("a", "single seeds")].sum() == 4


def test_arithmetic_tables_are_held_out_rows_of_the_artifacts():
    from mirage_utils.data import REPO_ROOT

    config = REPO_ROOT / "configs" / "arithmetic.json"
    art = wr.arithmetic_artifacts(config)
    per_seed, per_problem = wr.arithmetic_tables(config)
    assert len(per_seed) == (art["metrics"]["split"] == "test").sum()
    assert per_problem["n_params"].notna().all()
