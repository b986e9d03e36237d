"""BIG-bench tables, the official results-file loader (on a fixture in that format) and the null simulation."""

from pathlib import Path

import numpy as np
import pytest

from mirage_utils import bigbench, data
from mirage_utils.seeding import rng

FIXTURE = Path(__file__).parent / "fixtures" / "bigbench"
SHARED = (data.SHARED_DATA / data.REGISTRY["bigbench/task_metadata"].path).exists()


def test_results_file_loader_on_fixture():
    df = bigbench.load_results_file(next(FIXTURE.glob("benchmark_tasks/toy_task/results/*2m.json")))
    assert list(df.columns) == bigbench.RESULTS_COLUMNS
    assert len(df) == 4 and set(df["metric"]) == {"multiple_choice_grade", "calibration_multiple_choice_brier_score"}
    assert df["model_family"].eq("BIG-G T=0").all() and df["non_embedding_params"].eq(1_500_000).all()
    everything = bigbench.load_results_dir(FIXTURE)
    assert set(everything["model_name"]) == {"2m", "8b"} and len(everything) == 8


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


def test_null_scores_are_scale_free_and_seeded():
    a = bigbench.null_emergence_scores(2000, np.arange(3, 8), 1.0, rng(0))
    b = bigbench.null_emergence_scores(2000, np.arange(3, 8), 50.0, rng(0))
    assert np.allclose(a, b)  # noise level does not matter
    assert np.all(np.abs(a[::5]) <= 2 + 1e-9)  # every 5th series has 3 sizes: bounded by 2


@pytest.mark.skipif(not SHARED, reason="../shared/data is not present")
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
    assert all(len(em) == 3 for em in table["exact match"])
    with pytest.raises(ValueError, match="no runs"):
        bigbench.lu_mirage_tests("Nope")
    with pytest.raises(ValueError, match="unknown metric"):
        bigbench.lu_mirage_tests("LLaMA", "BLEU")
