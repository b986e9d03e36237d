"""Tests for Pythia as a real family (mirage_utils.real_families): LAMBADA's mirage test, the probit link, MMLU.

Every claim check the chapters assert has a counterfactual here that makes it fail."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils import diagnosis
from mirage_utils import real_families as rf

N_LAMBADA = 5153
STEPS = [0, 64, 128, 256, 512, 1000, 3000, 13000, 143000]


def _evals(acc: dict, log_ppl: dict, sizes=("70m", "160m"), steps=STEPS) -> pd.DataFrame:
    """A pythia_evals-like LAMBADA table: acc[size](step) and log_ppl[size](step) per run (callables of run, step)."""
    rows = []
    for i, size in enumerate(sizes):
        for run in rf.RUN_NAMES:
            for step in steps:
                a = round(acc[size](run, step) * N_LAMBADA) / N_LAMBADA
                p = float(np.exp(log_ppl[size](run, step)))
                base = dict(size=size, run=run, params=1e7 * 4**i, step=step, shots=0, task=rf.LAMBADA, n=N_LAMBADA)
                se = np.sqrt(a * (1 - a) / (N_LAMBADA - 1))
                rows.append({**base, "metric": "acc", "value": a, "stderr": se})
                rows.append({**base, "metric": "ppl", "value": p, "stderr": 0.03 * p})
    return pd.DataFrame(rows)


def _mirage_evals(flat_ppl: bool = False) -> pd.DataFrame:
    """Accuracy 0 up to step 512, then rising; log-perplexity falling from step 64 on (or flat until step 512)."""

    def acc(run, step):
        return 0.0 if step <= 512 else min(0.7, 0.05 * np.log10(step) + (0.01 if run == "deduped" else 0.0))

    def ppl(run, step):
        if flat_ppl and step <= 512:
            return 15.0
        return 15.0 - 1.2 * np.log2(max(step, 32) / 32) + (0.02 if run == "deduped" else 0.0)

    return _evals({s: acc for s in ("70m", "160m")}, {s: ppl for s in ("70m", "160m")})


def test_lambada_table_columns_and_log_ppl():
    table = rf.lambada_table(_mirage_evals())
    assert set(table["run"]) == set(rf.RUN_NAMES) and len(table) == 2 * 2 * len(STEPS)
    assert np.allclose(table["log_ppl"], np.log(table["ppl"]))
    assert np.allclose(table["log_ppl_se"], 0.03)
    assert (table["correct"] == (table["acc"] * table["n"]).round()).all()


def test_lambada_table_rejects_bad_input():
    evals = _mirage_evals()
    with pytest.raises(ValueError, match="lacks columns"):
        rf.lambada_table(evals.drop(columns="stderr"))
    with pytest.raises(ValueError, match="both acc and ppl"):
        rf.lambada_table(evals[~((evals["metric"] == "ppl") & (evals["step"] == 0))])
    with pytest.raises(ValueError, match="whole number"):
        rf.lambada_table(evals.assign(value=np.where(evals["metric"] == "acc", 0.33333, evals["value"])))
    with pytest.raises(ValueError, match="no lambada"):
        rf.lambada_table(evals, shots=5)


def test_over_training_mirage_is_metric_induced_and_its_counterfactual_persists():
    """Claim check (Ch7): each run alone reads metric-induced over training. Counterfactual: log-perplexity flat
    while accuracy is 0 -> persists, so the check fails."""
    cases = rf.lambada_cases(rf.lambada_table(_mirage_evals()), "steps")
    table = diagnosis.replicate_table(cases)
    assert rf.single_runs_agree(table, "metric-induced").all()
    assert (table.loc[table["replicate"] != "runs", "onset size"] == 1000).all()
    flat = diagnosis.replicate_table(rf.lambada_cases(rf.lambada_table(_mirage_evals(flat_ppl=True)), "steps"))
    assert not rf.single_runs_agree(flat, "metric-induced").any()
    assert set(flat.loc[flat["replicate"] != "runs", "verdict"]) == {"persists"}


def test_not_replicates_drops_the_runs_unit():
    table = rf.lambada_table(_mirage_evals())
    cases = rf.lambada_cases(table, "steps", not_replicates=["160m"])
    assert [r.unit for r in cases["pythia-70m"]] == ["runs", "standard", "deduped"]
    assert [r.unit for r in cases["pythia-160m"]] == ["standard", "deduped"]


def test_over_sizes_no_flat_phase_and_counterfactual():
    """Claim check (Ch7): across sizes at the final checkpoint accuracy has no flat phase. Counterfactual: a family
    whose accuracy stays 0 at the first three sizes while log-perplexity falls is metric-induced instead."""
    sizes = ("70m", "160m", "410m", "1b", "1.4b")

    def rising(run, step, i):
        return 0.2 + 0.1 * i + (0.002 if run == "deduped" else 0.0)

    def late(run, step, i):
        return 0.0 if i < 3 else 0.3 * (i - 2) + (0.002 if run == "deduped" else 0.0)

    def ppl(run, step, i):
        return 5.0 - 0.8 * i + (0.01 if run == "deduped" else 0.0)

    def make(f):
        return {s: (lambda run, step, i=i: f(run, step, i)) for i, s in enumerate(sizes)}

    smooth = rf.lambada_table(_evals(make(rising), make(ppl), sizes=sizes, steps=[143000]))
    verdicts = diagnosis.replicate_table(rf.lambada_cases(smooth, "sizes"))["verdict"]
    assert (verdicts == "no flat phase").all()
    jump = rf.lambada_table(_evals(make(late), make(ppl), sizes=sizes, steps=[143000]))
    verdicts = diagnosis.replicate_table(rf.lambada_cases(jump, "sizes"))["verdict"]
    assert not (verdicts == "no flat phase").any()
    assert (verdicts == "metric-induced").all()


def test_book_verdict_words():
    def table(verdicts):
        return pd.DataFrame({"case": "a", "replicate": ["runs", "standard"], "verdict": verdicts})

    assert rf.book_verdict(table(["metric-induced", "metric-induced"])) == "holds"
    assert rf.book_verdict(table(["persists", "persists"])) == "fails"
    assert rf.book_verdict(table(["metric-induced", "inconclusive"])) == "cannot tell from these data"
    with pytest.raises(ValueError):
        rf.book_verdict(pd.DataFrame())
    with pytest.raises(ValueError, match="unknown verdict"):
        rf.single_runs_agree(table(["persists", "persists"]), "mirage")


def test_coincident_sizes_finds_copied_runs():
    def acc(run, step):
        return 0.0 if step <= 512 else 0.1 + (0.01 if run == "deduped" else 0.0)

    def acc_copy(run, step):
        return 0.0 if step <= 512 else 0.1

    def ppl(run, step):
        return 10.0 - np.log2(max(step, 1)) / 4 + (0.01 if run == "deduped" else 0.0)

    def ppl_copy(run, step):
        return 10.0 - np.log2(max(step, 1)) / 4

    evals = _evals({"70m": acc, "160m": acc_copy}, {"70m": ppl, "160m": ppl_copy})
    assert rf.coincident_sizes(evals) == ["160m"]
    with pytest.raises(ValueError, match="max_share"):
        rf.coincident_sizes(evals, max_share=1.5)


def test_probit_link_recovers_its_coefficients_and_predicts():
    """Claim check (Ch7): a link fitted on some points predicts held-out points. Counterfactual: held-out
    accuracies that do not follow the link (shuffled against log-perplexity) fail the check."""
    log_ppl = np.linspace(1.3, 8.0, 40)
    acc = rf.ProbitLink(1.0, -0.4, 0).predict(log_ppl)
    rows = pd.DataFrame({"log_ppl": log_ppl, "n": 5153, "correct": np.round(acc * 5153).astype(int)})
    rows["acc"] = rows["correct"] / rows["n"]
    link = rf.fit_probit_link(rows.iloc[::4])
    assert link.intercept == pytest.approx(1.0, abs=0.02) and link.slope == pytest.approx(-0.4, abs=0.01)
    assert link.half_ppl == pytest.approx(np.exp(2.5), rel=0.05)
    held = rows.drop(index=rows.index[::4])
    assert rf.link_predicts(rf.link_errors(link, held), 0.02, 0.1)
    shuffled = held.assign(acc=held["acc"].sample(frac=1, random_state=0).to_numpy())
    assert not rf.link_predicts(rf.link_errors(link, shuffled), 0.02, 0.1)
    with pytest.raises(ValueError, match="three rows"):
        rf.fit_probit_link(rows.assign(correct=0))
    with pytest.raises(ValueError):
        rf.link_predicts(pd.Series([], dtype=float))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_matches_statsmodels(p):
    from statsmodels.stats.multitest import multipletests

    assert np.allclose(rf.holm(p), multipletests(p, method="holm")[1])


def test_holm_rejects_non_probabilities():
    with pytest.raises(ValueError):
        rf.holm([0.1, 1.2])
    with pytest.raises(ValueError):
        rf.holm([])


def _mmlu(n_per_subject: int, accs: dict) -> pd.DataFrame:
    """A pythia_evals-like MMLU table: 4 subjects x sizes in ``accs`` (size -> accuracy, both runs)."""
    rows = []
    for i, (size, a) in enumerate(accs.items()):
        for run in rf.RUN_NAMES:
            for subject in ("algebra", "anatomy", "astronomy", "virology"):
                value = round(a * n_per_subject) / n_per_subject
                rows.append(
                    dict(
                        size=size,
                        run=run,
                        params=1e7 * 4**i,
                        step=rf.FINAL_STEP,
                        shots=0,
                        task=rf.MMLU_PREFIX + subject,
                        metric="acc",
                        value=value,
                        stderr=0.01,
                        n=n_per_subject,
                    )
                )
    return pd.DataFrame(rows)


def test_mmlu_small_subjects_do_not_resolve_what_the_average_does():
    """Claim check (Ch8): a 3-point rise is resolved by the pooled questions but by no subject of 300 after Holm.
    Counterfactual: subjects of 2,000 questions resolve it too, so the check fails."""
    accs = {"70m": 0.25, "1b": 0.28}
    small = rf.mmlu_summary(rf.mmlu_subjects(_mmlu(300, accs)))
    assert small.loc["1b", "Holm, both runs"] == 0
    big = rf.mmlu_summary(rf.mmlu_subjects(_mmlu(2000, accs)))
    assert big.loc["1b", "Holm, both runs"] == 4
    assert small.loc["1b", "questions"] == 1200
    assert rf.first_size(big["average above chance, both runs"]) == "1b"
    assert rf.first_size(big["Holm, both runs"] > 0) == "1b"
    assert rf.pooling_verdict(small) == "holds"
    assert rf.pooling_verdict(big) == "cannot tell from these data"


def test_mmlu_average_at_chance_is_not_resolved():
    """Counterfactual for "the average is above chance from size X": at chance it never is."""
    summary = rf.mmlu_summary(rf.mmlu_subjects(_mmlu(3000, {"70m": 0.25, "1b": 0.25})))
    assert rf.first_size(summary["average above chance, both runs"]) is None
    assert rf.pooling_verdict(summary) == "fails"
    with pytest.raises(ValueError, match="max_share"):
        rf.pooling_verdict(summary, max_share=0)


def test_mmlu_subjects_p_values_are_exact_binomial():
    from scipy import stats

    subjects = rf.mmlu_subjects(_mmlu(100, {"70m": 0.31}))
    row = subjects.iloc[0]
    assert row["p"] == pytest.approx(stats.binomtest(31, 100, 0.25, alternative="greater").pvalue)
    assert (subjects["p_holm"] >= subjects["p"]).all()
    with pytest.raises(ValueError, match="no MMLU"):
        rf.mmlu_subjects(_mmlu(100, {"70m": 0.31}), step=1)


def test_first_size():
    assert rf.first_size(pd.Series([False, True, False, True, True], index=list("abcde"))) == "d"
    assert rf.first_size(pd.Series([False, False], index=list("ab"))) is None


def test_on_pythia_lambada_and_mmlu():
    """The vendored Pythia results: the findings the chapters state."""
    from mirage_utils import data

    evals = data.pythia_evals()
    assert rf.coincident_sizes(evals) == ["2.8b"]
    table = rf.lambada_table(evals)
    over = diagnosis.replicate_table(rf.lambada_cases(table, "steps", not_replicates=["2.8b"]))
    agree = rf.single_runs_agree(over, "metric-induced")
    assert agree.sum() == 7 and not agree["pythia-12b"]
    assert rf.book_verdict(over) == "cannot tell from these data"
    sizes = diagnosis.replicate_table(rf.lambada_cases(table, "sizes"))
    assert (sizes["verdict"] == "no flat phase").all()
    final = table[table["step"] == rf.FINAL_STEP]
    errors = rf.link_errors(rf.fit_probit_link(final), table[table["step"] < rf.FINAL_STEP])
    assert rf.link_predicts(errors, 0.02, 0.1)
    summary = rf.mmlu_summary(rf.mmlu_subjects(evals))
    assert rf.first_size(summary["average above chance, both runs"]) == "1.4b"
    assert summary["Holm, both runs"].max() <= 3
    assert rf.pooling_verdict(summary) == "holds"
    assert summary.attrs["subjects"] == 57
    smallest = summary.iloc[0]
    for run in rf.RUN_NAMES:  # 70M: its 14,042-question interval contains chance in both runs
        assert smallest[f"average lo, {run}"] < rf.MMLU_CHANCE < smallest[f"average hi, {run}"]


def test_write_results_files_keeps_the_chosen_tasks(tmp_path):
    import json

    written = rf.write_results_files(tmp_path / "out", tasks=("lambada_openai", "wsc"))
    assert len(written) == 16 and {p.parent.name for p in written} >= {"pythia-70m", "pythia-1b-bf16"}
    doc = json.loads(written[0].read_text())
    assert set(doc["results"]) == {"lambada_openai", "wsc"} and "revision=step143000" in doc["config"]["model_args"]
    whole = rf.write_results_files(tmp_path / "whole", tasks=None)
    assert len(json.loads(whole[0].read_text())["results"]) == 87
    with pytest.raises(ValueError, match="no results for"):
        rf.write_results_files(tmp_path / "x", tasks=("not_a_task",))
    with pytest.raises(ValueError, match="no Pythia v1 results"):
        rf.write_results_files(tmp_path / "y", step=7)
    with pytest.raises(ValueError, match="shots"):
        rf.write_results_files(tmp_path / "z", shots=3)


def test_sizes_table_names_match_the_results_files():
    table = rf.sizes_table()
    assert table["model"].tolist()[0] == "pythia-v1.1-70m" and table["params"].iloc[0] == 18_915_328


def _check_pythia(tmp_path, tasks, edit=None):
    """The check on Pythia's results files for ``tasks``; ``edit(doc)`` changes each file first."""
    import json

    from mirage_utils.checking import check, lmeval

    folder = tmp_path / "results"
    for path in rf.write_results_files(folder, tasks=tasks):
        if edit is not None:
            doc = json.loads(path.read_text())
            edit(doc)
            path.write_text(json.dumps(doc))
    sizes = dict(zip(rf.sizes_table()["model"], rf.sizes_table()["params"]))
    return check(lmeval.read_results(folder, sizes).frame)


def test_check_warns_on_logiqa_and_its_counterfactual(tmp_path):
    """Claim check (Ch8): the check warns that logiqa's accuracy never rises above chance. Counterfactual: the same
    files with logiqa's accuracy moved to 0.40-0.50 (rising with the file order) carry no warning."""
    report = _check_pythia(tmp_path / "a", ("logiqa", "lambada_openai"))
    overview = pd.DataFrame(report["overview"])
    assert set(overview.loc[overview["at or below chance"], "task"]) == {"logiqa"}
    assert report["tasks"]["lambada_openai"]["diagnosis"]["by continuous metric"]["ppl"]["verdict"] == "no flat phase"

    def above_chance(doc):
        size = doc["config"]["model_args"].split("pythia-v1.1-")[1].split("-")[0].split(",")[0]
        doc["results"]["logiqa"]["acc"] = 0.40 + 0.01 * [
            "70m",
            "160m",
            "410m",
            "1b",
            "1.4b",
            "2.8b",
            "6.9b",
            "12b",
        ].index(size)

    moved = pd.DataFrame(_check_pythia(tmp_path / "b", ("logiqa", "lambada_openai"), above_chance)["overview"])
    assert not moved.loc[moved["task"] == "logiqa", "at or below chance"].any()


def _mmlu_subjects_spread(accs: dict, n_per_subject: int = 300) -> pd.DataFrame:
    """A pythia_evals-like MMLU table whose subjects differ: accs[size] is a list of subject accuracies (both runs)."""
    rows = []
    for i, (size, values) in enumerate(accs.items()):
        for run in rf.RUN_NAMES:
            for j, a in enumerate(values):
                value = round(a * n_per_subject) / n_per_subject
                base = dict(size=size, run=run, params=1e7 * 4**i, step=rf.FINAL_STEP, shots=0, metric="acc")
                rows.append({**base, "task": f"{rf.MMLU_PREFIX}s{j:02d}", "value": value, "stderr": 0.01})
                rows[-1]["n"] = n_per_subject
    return pd.DataFrame(rows)


def test_mmlu_subject_bootstrap_and_its_counterfactual():
    """Claim check (Ch8): the verdict's interval is a bootstrap over subjects. Twenty subjects averaging 0.28 resolve
    the average above chance under both intervals when they agree; counterfactual: when they scatter (half at 0.20,
    half at 0.36) the Wilson interval over 6,000 questions still resolves it, the subject bootstrap does not, and the
    verdict fails."""
    same = {"70m": [0.25] * 20, "1b": [0.28] * 20}
    spread = {"70m": [0.25] * 20, "1b": [0.20, 0.36] * 10}
    agree = rf.mmlu_summary(rf.mmlu_subjects(_mmlu_subjects_spread(same)))
    scatter = rf.mmlu_summary(rf.mmlu_subjects(_mmlu_subjects_spread(spread)))
    for summary in (agree, scatter):
        assert summary.loc["1b", "average, standard"] == pytest.approx(0.28)
        assert rf.first_size(summary["average above chance, both runs"]) == "1b"
    assert rf.first_size(agree["boot above chance, both runs"]) == "1b"
    assert rf.pooling_verdict(agree) == "holds" == rf.pooling_verdict(agree, interval="wilson")
    assert rf.first_size(scatter["boot above chance, both runs"]) is None
    assert rf.pooling_verdict(scatter) == "fails" != rf.pooling_verdict(scatter, interval="wilson")
    width = scatter.loc["1b", "boot hi, standard"] - scatter.loc["1b", "boot lo, standard"]
    assert width > 2 * (scatter.loc["1b", "average hi, standard"] - scatter.loc["1b", "average lo, standard"])


def test_mmlu_subject_bootstrap_weights_subjects_by_their_questions():
    """A subject of 900 questions at 0.40 beside three of 100 at 0.20: the average is 0.35, weighted by n."""
    frame = _mmlu_subjects_spread({"70m": [0.2, 0.2, 0.2]}, n_per_subject=100)
    big = _mmlu_subjects_spread({"70m": [0.4]}, n_per_subject=900).assign(task=rf.MMLU_PREFIX + "big")
    summary = rf.mmlu_summary(rf.mmlu_subjects(pd.concat([frame, big], ignore_index=True)), n_boot=2000)
    assert summary.loc["70m", "average, deduped"] == pytest.approx(0.35)
    assert 0.2 <= summary.loc["70m", "boot lo, deduped"] < 0.35 < summary.loc["70m", "boot hi, deduped"] <= 0.4


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=3, max_size=12))
def test_mmlu_subject_bootstrap_stays_within_the_subjects(correct):
    """Any resample's average is a weighted mean of subject accuracies, so the interval lies between the extremes."""
    accs = [k / 50 for k in correct]
    summary = rf.mmlu_summary(rf.mmlu_subjects(_mmlu_subjects_spread({"70m": accs}, 50)), n_boot=200)
    row = summary.loc["70m"]
    assert min(accs) - 1e-12 <= row["boot lo, standard"] <= row["boot hi, standard"] <= max(accs) + 1e-12


def test_mmlu_summary_rejects_bad_input():
    frame = rf.mmlu_subjects(_mmlu_subjects_spread({"70m": [0.3] * 4, "1b": [0.3] * 4}))
    with pytest.raises(ValueError, match="same subjects"):
        rf.mmlu_summary(frame.drop(index=frame.index[-1]))
    with pytest.raises(ValueError, match="level"):
        rf.mmlu_summary(frame, level=1.5)
    with pytest.raises(ValueError, match="n_boot"):
        rf.mmlu_summary(frame, n_boot=10)
    with pytest.raises(ValueError, match="interval"):
        rf.pooling_verdict(rf.mmlu_summary(frame), interval="normal")  # type: ignore[arg-type]


def test_on_pythia_mmlu_subject_bootstrap():
    """The vendored Pythia results (Ch8): with the subject bootstrap the average is above chance in both runs from
    6.9B (the standard 2.8B run's interval reaches below chance), with the Wilson interval from 1.4B; the verdict
    holds under both; the first size does not depend on the bootstrap's seed."""
    from mirage_utils import data

    subjects = rf.mmlu_subjects(data.pythia_evals())
    summary = rf.mmlu_summary(subjects)
    assert rf.first_size(summary["boot above chance, both runs"]) == "6.9b"
    assert rf.first_size(summary["average above chance, both runs"]) == "1.4b"
    assert summary.loc["2.8b", "boot lo, standard"] < rf.MMLU_CHANCE < summary.loc["2.8b", "average lo, standard"]
    assert rf.pooling_verdict(summary) == "holds" == rf.pooling_verdict(summary, interval="wilson")
    assert summary.filter(like="average, ").max(axis=None) < 0.29
    for seed in (1, 2):
        again = rf.mmlu_summary(subjects, seed=seed)
        assert rf.first_size(again["boot above chance, both runs"]) == "6.9b"
