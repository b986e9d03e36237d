"""BIG-bench tables, the official results-file loader (on a fixture in that format) and the null simulation."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirage_utils import bigbench, emergence
from mirage_utils.seeding import rng

FIXTURE = Path(__file__).parent / "fixtures" / "bigbench"


def test_results_file_loader_on_fixture():
    df = bigbench.load_results_file(next(FIXTURE.glob("benchmark_tasks/toy_task/results/*2m.json")))
    assert list(df.columns) == bigbench.RESULTS_COLUMNS
    assert len(df) == 4 and set(df["metric"]) == {"multiple_choice_grade", "calibration_multiple_choice_brier_score"}
    assert df["model_family"].eq("BIG-G T=0").all() and df["non_embedding_params"].eq(1_500_000).all()
    everything = bigbench.load_results_dir(FIXTURE)
    assert set(everything["model_name"]) == {"2m", "125m", "8b"} and len(everything) == 16


def test_results_loader_errors(tmp_path):
    bad = tmp_path / "scores_x.json"
    bad.write_text('{"model": {}}')
    with pytest.raises(ValueError, match="not a BIG-bench results file"):
        bigbench.load_results_file(bad)
    with pytest.raises(FileNotFoundError):
        bigbench.load_results_dir(tmp_path)


def test_metric_kinds():
    assert bigbench.metric_kind("multiple_choice_grade") == "discontinuous"
    assert bigbench.metric_kind("exact_str_match") == "nonlinear"
    assert bigbench.metric_kind("calibration_multiple_choice_brier_score") == "continuous"
    assert bigbench.metric_kind("something_new") == "unclassified"


def test_shared_tables_have_the_documented_shape():
    tasks = bigbench.preferred_metric_per_task()
    assert len(tasks) == 209 and (tasks["task_type"] == "programmatic").sum() == 42
    wei = bigbench.wei_emergent_tasks()
    assert len(wei) == 48 and wei["task"].isin(tasks["task"]).all()
    lu = bigbench.lu_scores()
    assert set(lu["metric"]) == {"exact match", "edit distance", "BERTScore accuracy"}
    assert not (lu["value"] == -100).any()
    ruan = bigbench.ruan_scores()
    assert ruan["family"].notna().all() and (ruan["params"] > 0).all()


def test_lu_mirage_tests_on_llama():
    from mirage_utils.diagnosis import VERDICTS

    table = bigbench.lu_mirage_tests("LLaMA", "edit distance")
    assert len(table) == 24  # 4 tasks x 3 prompt types x 2 shot counts with all three sizes
    assert set(table["verdict"]) <= set(VERDICTS)
    assert all(len(em) == 3 for em in table["exact match"]) and (table["seeds"] == 3).all()
    row = lambda task, prompt, shots: table[
        (table.task == task) & (table.prompt == prompt) & (table.shots == shots)
    ].iloc[0]
    # the series the old rule (pooled intervals, no guards) called metric-induced
    assert row("social_iqa", "closed", 0)["verdict"] == "negligible gain"
    assert row("logical_deduction", "closed-adv", 0)["verdict"] == "discordant"
    legacy = bigbench.lu_mirage_tests(onset_rise=0.05, min_effect_share=None, monotone=False)
    assert (legacy["verdict"] == "metric-induced").sum() == 5
    with pytest.raises(ValueError, match="no runs"):
        bigbench.lu_mirage_tests("Nope")
    with pytest.raises(ValueError, match="unknown metric"):
        bigbench.lu_mirage_tests("LLaMA", "BLEU")
    with pytest.raises(ValueError, match="min_effect_share"):
        bigbench.lu_mirage_tests(min_effect_share=1.5)
    with pytest.raises(ValueError, match="lack columns"):
        bigbench.lu_mirage_tests(scores=pd.DataFrame({"family": ["LLaMA"]}))


def _lu_like_scores(em: list[float], ed: list[float]) -> pd.DataFrame:
    """A made-up Lu et al. series: three sizes x three seeds, exact match and edit distance per run."""
    rows = []
    for params, e, d in zip((7e9, 13e9, 30e9), em, ed):
        for k, seed in enumerate((105, 2266, 86379)):
            jitter = (k - 1) * 0.002
            rows += [
                {
                    "family": "Made-up",
                    "task": "t",
                    "prompt_type": "closed",
                    "shots": 0,
                    "params": params,
                    "seed": seed,
                    "n_examples": 1000,
                    "metric": m,
                    "value": v,
                }
                for m, v in (("exact match", e + jitter), ("edit distance", d + 10 * jitter))
            ]
    return pd.DataFrame(rows)


def test_lu_claim_fails_on_a_table_with_a_clean_mirage():
    from mirage_utils.diagnosis import no_mirage_found

    # the edit distance falls steadily while exact match sits still and then jumps: the opposite of Lu's pattern
    mirage = bigbench.lu_mirage_tests("Made-up", scores=_lu_like_scores([0.10, 0.11, 0.40], [40.0, 30.0, 20.0]))
    assert mirage["verdict"].tolist() == ["metric-induced"] and not no_mirage_found(mirage["verdict"])
    # the same exact match with an edit distance that barely moves, or turns back at the onset: the claim holds
    for ed, verdict in (([40.0, 39.9, 39.8], "negligible gain"), ([40.0, 30.0, 41.0], "discordant")):
        table = bigbench.lu_mirage_tests("Made-up", scores=_lu_like_scores([0.10, 0.11, 0.40], ed))
        assert table["verdict"].tolist() == [verdict] and no_mirage_found(table["verdict"])
    # seeds are the unit: the interval is the seed spread, so a single seed gives no series at all
    one_seed = _lu_like_scores([0.10, 0.11, 0.40], [40.0, 30.0, 20.0]).query("seed == 105")
    assert bigbench.lu_mirage_tests("Made-up", scores=one_seed).empty


def test_trend_null_known_cases_and_seeding():
    line = bigbench.trend_null(8, 3, 0.0, rng(0))
    assert np.allclose(line["emergence_score"], 7) and np.allclose(line["steepest_rise_ratio"], 1)
    floor = bigbench.trend_null(8, 2, 0.0, rng(0), floor=True)
    assert np.allclose(floor["steepest_rise_ratio"], 1.5)  # slope 1.5 per window after the floor, net rise 1
    a, b = bigbench.trend_null(5, 50, 0.1, rng(3)), bigbench.trend_null(5, 50, 0.1, rng(3))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError):
        bigbench.trend_null(2, 10, 0.1, rng(0))


def test_noise_to_rise_and_the_grid_null_separate_a_jump_from_a_noisy_line():
    x = np.logspace(9, 11, 8)
    rows = [{"s": "line", "params": p, "value": v} for p, v in zip(x, np.linspace(0, 1, 8))]
    rows += [{"s": "jump", "params": p, "value": v} for p, v in zip(x, [0] * 6 + [1, 1])]
    series = pd.DataFrame(rows)
    noise = bigbench.noise_to_rise(series, ["s"])
    assert noise["line"] == pytest.approx(0, abs=1e-9) and noise["jump"] > 0.2
    scores = emergence.sharpness_table(series, ["s"], x="params", y="value").set_index("s").loc[["line", "jump"]]
    scores = scores.reset_index()
    for measure in ("emergence_score", "steepest_rise_ratio"):
        flags = bigbench.beyond_grid_null(series, scores, ["s"], measure, 0.1, n_series=2000, seed=1)
        assert list(flags) == [False, True], measure  # the line is not
    with pytest.raises(ValueError, match="not in the raw table"):
        bigbench.beyond_grid_null(series, scores.assign(s=["line", "other"]), ["s"], "emergence_score", 0.1)


def test_metric_enrichment_on_disjoint_groups_and_its_counterfactual():
    two = {"multiple_choice_grade", "exact_str_match"}
    annotated = pd.Series(["multiple_choice_grade"] * 8 + ["bleu"] * 2)
    others = pd.Series(["multiple_choice_grade"] * 10 + ["bleu"] * 10)
    weak = bigbench.metric_enrichment(annotated, others, two)
    assert weak["annotated_share"] == 0.8 and weak["p"] > 0.05
    strong = bigbench.metric_enrichment(pd.concat([annotated] * 5), pd.concat([others] * 5), two)
    assert strong["p"] < 0.05  # the same shares with five times the entries are significant
    assert bigbench.significantly_enriched(strong) and not bigbench.significantly_enriched(weak)
    opposite = bigbench.metric_enrichment(pd.concat([others] * 5), pd.concat([annotated] * 5), two)
    assert not bigbench.significantly_enriched(opposite)  # the opposite pattern fails the check
    assert bigbench.metric_enrichment(annotated, others, two, extra_hits=10)["p"] < weak["p"]
    # Unknown entries split into hits and misses: adding misses dilutes the share (10 entries, 8 hits -> 8 of 20).
    split = bigbench.metric_enrichment(annotated, others, two, extra_hits=0, extra_misses=10)
    assert split["annotated_share"] == 0.4 and split["p"] > weak["p"]
    with pytest.raises(ValueError):
        bigbench.metric_enrichment(annotated.iloc[:0], others, two)
    with pytest.raises(ValueError, match="extra_hits"):
        bigbench.metric_enrichment(annotated, others, two, extra_misses=-1)


def test_bigg_sharpness_runs_the_lamda_path_on_the_fixture():
    """End to end on the official format: three BIG-G T=0 sizes (a sparse model of 125M beside them is left out),
    one curve per shots x metric, Brier oriented so that lower is better."""
    table = bigbench.bigg_sharpness(bigbench.load_results_dir(FIXTURE)).set_index(["shots", "metric"])
    assert len(table) == 4 and (table["n_points"] == 3).all()
    mcg0, brier0 = table.loc[(0, "multiple_choice_grade")], table.loc[(0, "calibration_multiple_choice_brier_score")]
    assert mcg0["largest"] == 7e9 and mcg0["window_decades"] == pytest.approx(np.log10(7e9 / 1.5e6))
    # 0.25 -> 0.26 -> 0.90: nearly all of the rise in the last interval; Brier 0.19 -> 0.185 -> 0.09 improves
    assert mcg0["steepest_rise_ratio"] > 1.3 and brier0["steepest_rise_ratio"] > 1
    assert np.isnan(table.loc[(1, "multiple_choice_grade"), "steepest_rise_ratio"])  # flat at 0.3: no rise
    mixed = bigbench.bigg_sharpness(bigbench.load_results_dir(FIXTURE), "BIG-G sparse")
    assert (mixed["n_points"] == 1).all()  # one sparse size: no curve to score


def test_grid_null_matches_the_spacing_and_the_grid_test_separates_a_jump():
    even, uneven = np.logspace(0, 3, 7), np.array([1, 2, 4, 10, 100, 300, 1000.0])
    for grid in (even, uneven):  # a noiseless line scores a ratio of exactly 1 on any grid
        assert np.allclose(bigbench.grid_null(grid, 3, 0.0, rng(0))["steepest_rise_ratio"], 1)
    # Eq. 1 of a noiseless line depends on the spacing (k - 1 only when even); the grid null follows the real grid
    assert bigbench.grid_null(uneven, 1, 0.0, rng(0))["emergence_score"].iloc[0] != pytest.approx(6)
    rows = [{"s": "line", "params": p, "value": v} for p, v in zip(uneven, np.log10(uneven) / 3)]
    rows += [{"s": "jump", "params": p, "value": v} for p, v in zip(uneven, [0, 0, 0, 0, 0, 1, 1.0])]
    series = pd.DataFrame(rows)
    scores = emergence.sharpness_table(series, ["s"], x="params", y="value")
    for measure in ("emergence_score", "steepest_rise_ratio"):
        flags = bigbench.beyond_grid_null(series, scores, ["s"], measure, 0.1, n_series=4000)
        assert dict(zip(scores["s"], flags)) == {"jump": True, "line": False}, measure
    with pytest.raises(ValueError, match="lack columns"):
        bigbench.beyond_grid_null(series, scores, ["nope"], "emergence_score", 0.1)
    # Three sizes: Eq. 1 is bounded by 2, so no series is flagged by it; the ratio can still flag a jump.
    three = pd.DataFrame(
        [{"s": "jump", "params": p, "value": v} for p, v in zip([1, 10, 100.0], [0, 0, 1.0])]
        + [{"s": "line", "params": p, "value": v} for p, v in zip([1, 10, 100.0], [0, 0.5, 1.0])]
    )
    three_scores = emergence.sharpness_table(three, ["s"], x="params", y="value")
    assert not bigbench.beyond_grid_null(three, three_scores, ["s"], "emergence_score", 0.1, n_series=2000).any()
    ratio = bigbench.beyond_grid_null(three, three_scores, ["s"], "steepest_rise_ratio", 0.1, n_series=2000)
    assert dict(zip(three_scores["s"], ratio)) == {"jump": True, "line": False}
    assert bigbench.null_quantile_error(20_000) == pytest.approx(0.0007, abs=1e-4)


def test_paired_contrast_needs_more_than_a_one_series_lead():
    def flags(em_hits: int, bleu_hits: int, n: int = 12) -> pd.DataFrame:
        fam = [f"f{i}" for i in range(n)]
        return pd.concat(
            [
                pd.DataFrame({"family": fam, "metric": "exact match", "beyond": [i < em_hits for i in range(n)]}),
                pd.DataFrame({"family": fam, "metric": "BLEU", "beyond": [i < bleu_hits for i in range(n)]}),
            ]
        )

    one = bigbench.paired_metric_contrast(flags(1, 0), ["family"], "beyond", "exact match", "BLEU")
    assert (one["a_only"], one["b_only"], one["p"]) == (1, 0, 0.5)
    assert not bigbench.flagged_more_often(one)  # a lead of one series is not evidence
    strong = bigbench.paired_metric_contrast(flags(8, 0), ["family"], "beyond", "exact match", "BLEU")
    assert bigbench.flagged_more_often(strong) and strong["p"] == pytest.approx(0.5**8)
    reverse = bigbench.paired_metric_contrast(flags(0, 8), ["family"], "beyond", "exact match", "BLEU")
    assert not bigbench.flagged_more_often(reverse)  # the counterfactual: the graded metric is the sharp one
    with pytest.raises(ValueError, match="both"):
        bigbench.paired_metric_contrast(flags(1, 0), ["family"], "beyond", "exact match", "ROUGE")


def test_one_bigg_family_keeps_one_family():
    results = bigbench.load_results_dir(FIXTURE)
    mixed = pd.concat([results, results.assign(model_family="BIG-G sparse")])
    assert len(bigbench.one_bigg_family(mixed)) == (results["model_family"] == "BIG-G T=0").sum() == 12
    with pytest.raises(ValueError, match="present"):
        bigbench.one_bigg_family(mixed, "BIG-G T=1")


def test_published_series_scores_both_tables_and_flags_against_their_own_null():
    pub = bigbench.published_series()
    assert (pub.lu_es["n_points"] >= 3).all() and set(pub.lu_es["family"]) == {"LLaMA"}
    assert set(pub.ruan_es) == {"params", "flops"} and (pub.ruan_es["params"]["n_points"] >= 3).all()
    assert 0 < pub.noise_ruan < 1 and 0 < pub.noise_lu < 1
    hit = pub.flag("lu", "steepest_rise_ratio")
    assert hit.dtype == bool and hit.index.equals(pub.lu_es.index)
    assert not pub.flag("lu", "emergence_score").any()  # Eq. 1 is never flagged on three sizes
    assert pub.flag("ruan", "steepest_rise_ratio", noise_x=2.0).sum() <= pub.flag("ruan", "steepest_rise_ratio").sum()
    with pytest.raises(ValueError, match="source"):
        pub.flag("wei", "emergence_score")
