"""lm-evaluation-harness results files in `python -m mirage_utils check`: both layouts (0.3 on real Pythia files from
the vendored archive, 0.4 on a fixture written from the documented format), file / directory / glob, n recovered
from standard errors (integral on every real file), perplexity read as lower-is-better on a log scale, chance
warnings, runs as replicates, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirage_utils import emergence
from mirage_utils.checking import SchemaError, check, lmeval
from mirage_utils.checking.aggregates import chance_for

ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "third_party" / "pythia" / "evals.tar.xz"
SIZES = ("70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b")
TEST_SET = {"lambada_openai": 5153, "arc_easy": 2376, "piqa": 1838, "winogrande": 1267, "arc_challenge": 1172}
TEST_SET |= {"sciq": 1000, "logiqa": 651, "wsc": 104}


def _folder(size: str, deduped: bool) -> str:
    if size == "1b" and not deduped:
        return "pythia-1b-bf16"
    return f"pythia-{size}" + ("-deduped" if deduped else "")


@pytest.fixture(scope="module")
def pythia(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zero-shot results of both runs of every size at steps 13000 and 143000 (32 files), and one five-shot
    file, extracted from the vendored archive into <tmp>/pythia/<model>/."""
    if not ARCHIVE.is_file():
        pytest.skip("the vendored Pythia archive is absent")
    root = tmp_path_factory.mktemp("pythia")
    wanted = {}
    for size in SIZES:
        for deduped in (False, True):
            folder = _folder(size, deduped)
            stem = folder.removeprefix("pythia-")
            for step in (13000, 143000):
                wanted[f"evals/pythia-v1/{folder}/zero-shot/{stem}_step{step}.json"] = root / folder
    with tarfile.open(ARCHIVE) as tar:
        for member in tar:
            if member.name in wanted:
                target = wanted.pop(member.name)
                target.mkdir(exist_ok=True)
                (target / Path(member.name).name).write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    assert not wanted, f"missing from the archive: {sorted(wanted)[:3]}"
    return root


KEPT_TASKS = ("lambada_openai", "logiqa", "wsc", "piqa", "hendrycksTest-anatomy", "crows_pairs_english")


@pytest.fixture(scope="module")
def pythia_few(pythia: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same real files with six of their 87 tasks kept (every other key as shipped), so reports stay fast."""
    root = tmp_path_factory.mktemp("pythia-few")
    for path in pythia.rglob("*.json"):
        doc = json.loads(path.read_text())
        doc["results"] = {t: v for t, v in doc["results"].items() if t in KEPT_TASKS}
        _write(root / path.relative_to(pythia), doc)
    return root


def _lm04(model_args: object, acc: float, ppl: float, n: int = 200, shots: int = 0) -> dict[str, object]:
    """A results file in lm-eval 0.4's layout (metric keys with the filter, n-samples, configs, n-shot)."""
    se = float(np.sqrt(acc * (1 - acc) / (n - 1)))
    return {
        "results": {
            "lambada_openai": {
                "alias": "lambada_openai",
                "acc,none": acc,
                "acc_stderr,none": se,
                "perplexity,none": ppl,
                "perplexity_stderr,none": ppl * 0.03,
            },
            "arc_easy": {"alias": "arc_easy", "acc,none": 0.25 + acc / 2, "acc_stderr,none": "N/A"},
        },
        "groups": {},
        "configs": {"lambada_openai": {"task": "lambada_openai", "num_fewshot": shots}, "arc_easy": {"num_fewshot": 0}},
        "versions": {"lambada_openai": 1.0, "arc_easy": 1.0},
        "n-shot": {"lambada_openai": shots, "arc_easy": 0},
        "higher_is_better": {"lambada_openai": {"acc": True, "perplexity": False}, "arc_easy": {"acc": True}},
        "n-samples": {
            "lambada_openai": {"original": n, "effective": n},
            "arc_easy": {"original": 300, "effective": 300},
        },
        "config": {"model": "hf", "model_args": model_args, "batch_size": 1, "limit": None},
        "lm_eval_version": "0.4.5",
    }


def _write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def test_pythia_03_layout_directory_gives_every_column(pythia: Path) -> None:
    read = lmeval.read_results(pythia)
    frame = read.frame
    assert read.files == 32
    assert list(frame.columns[:10]) == list(lmeval.COLUMNS[:10])
    assert set(frame["run"]) == {"standard", "deduped"}
    assert set(frame["step"]) == {13000.0, 143000.0}
    assert set(frame["shots"]) == {0.0}
    # pythia-1b-bf16 (standard) and pythia-1b-deduped are one size's two runs
    one_b = frame[frame["params"] == 1e9]
    assert set(one_b["model"]) == {"pythia-v1.1-1b"} and set(one_b["run"]) == {"standard", "deduped"}
    assert sorted(frame["params"].unique()) == sorted(lmeval.nominal_size(s)[1] for s in SIZES)  # type: ignore[index]
    assert any("nominal" in n for n in read.notes)
    for task, n in TEST_SET.items():
        assert set(frame.loc[frame["task"] == task, "n"]) == {float(n)}, task


def test_n_recovered_from_stderr_is_integral_on_every_real_accuracy(pythia: Path) -> None:
    for path in sorted(pythia.rglob("*.json")):
        for task, scores in json.loads(path.read_text())["results"].items():
            for metric in ("acc", "acc_norm"):
                if metric not in scores or scores[f"{metric}_stderr"] == 0:
                    continue
                p, se = scores[metric], scores[f"{metric}_stderr"]
                raw = p * (1 - p) / se**2 + 1
                assert abs(raw - round(raw)) < 1e-6 and abs(p * round(raw) - round(p * round(raw))) < 1e-6
                assert lmeval.recover_n(p, se) == round(raw), (path.name, task)
    # a standard error that is not lm-eval's sample one gives no n, never a rounded guess
    assert np.isnan(lmeval.recover_n(0.5, 0.5 / np.sqrt(1000.5)))
    assert np.isnan(lmeval.recover_n(0.0, 0.0))


def test_file_directory_and_glob_name_the_same_files(pythia: Path) -> None:
    one = next(pythia.glob("pythia-70m/*143000.json"))
    assert lmeval.read_results(one).files == 1
    assert lmeval.read_results(str(pythia / "*" / "*143000.json")).files == 16
    assert lmeval.is_input(pythia) and lmeval.is_input(one) and lmeval.is_input(str(pythia / "*" / "*.json"))
    with pytest.raises(SchemaError, match="matches no file"):
        lmeval.read_results(str(pythia / "*" / "*.nothing"))
    with pytest.raises(SchemaError, match="no such file"):
        lmeval.read_results(pythia / "absent.json")


def test_04_layout_fixture_reads_filters_n_samples_shots_and_direction(tmp_path: Path) -> None:
    for i, (size, acc, ppl) in enumerate([("70m", 0.02, 400.0), ("410m", 0.1, 60.0), ("1.4b", 0.4, 12.0)]):
        args: object = f"pretrained=org/fam-{size},revision=step{1000 * (i + 1)}"
        if i == 1:  # model_args may be a dict
            args = {"pretrained": f"org/fam-{size}", "dtype": "bfloat16"}
        _write(tmp_path / f"fam-{size}" / "results_2024-01-01T00-00-00.json", _lm04(args, acc, ppl))
    frame = lmeval.read_results(tmp_path).frame
    lam = frame[frame["task"] == "lambada_openai"]
    assert set(lam["metric"]) == {"acc", "perplexity"}  # ",none" dropped
    assert set(lam["n"]) == {200.0} and set(frame.loc[frame["task"] == "arc_easy", "n"]) == {300.0}
    assert frame.loc[frame["task"] == "arc_easy", "stderr"].isna().all()  # "N/A"
    assert frame.loc[frame["model"] == "fam-410m", "step"].isna().all()  # no revision: no step
    assert frame.loc[frame["model"] == "fam-70m", "step"].iloc[0] == 1000.0
    assert set(frame.loc[lam.index, "higher_is_better"]) == {True, False}
    assert sorted(frame["params"].unique()) == [7e7, 4.1e8, 1.4e9]


def test_perplexity_is_lower_is_better_on_a_log_scale_with_a_counterfactual() -> None:
    sizes = np.logspace(7.5, 10, 6)
    ppl = 1000 * sizes**-0.3
    frame = pd.DataFrame(
        {"model": [f"m{i}" for i in range(6)], "params": sizes, "metric": "ppl", "value": ppl, "n": 500}
    )
    result = check(frame)
    assert result["metrics"]["ppl"] == {
        "higher is better": False,
        "scale": "log",
        "kind": "continuous",
        "chance": None,
        "chance basis": None,
        "label": "ppl (log scale, lower is better)",
    }
    # a power law is a straight line in log-log: ratio 1, Eq. 1 that of a line; raw ppl read upward gave Eq. 1 < 0
    assert result["sharpness"]["ppl"]["steepest_rise_ratio"] == pytest.approx(1.0)
    assert result["sharpness"]["ppl"]["emergence_score"] == pytest.approx(
        result["sharpness"]["ppl"]["window"]["straight line, emergence_score"]
    )
    counterfactual = check(frame.assign(metric="bleu"))  # same numbers, a higher-is-better name
    assert counterfactual["metrics"]["bleu"]["higher is better"] is True
    assert counterfactual["sharpness"]["bleu"]["steepest_rise_ratio"] is None  # it only falls: no rise
    assert emergence.emergence_score(sizes, ppl) < 0


def test_real_pythia_report_per_task_chance_warnings_and_line_null(pythia_few: Path) -> None:
    read = lmeval.read_results(pythia_few)
    result = check(read.frame, notes=read.notes)
    tasks = result["tasks"]
    assert "checkpoint: step 143000" in " ".join(result["notes"])
    assert {"lambada_openai", "logiqa", "wsc", "piqa"} <= set(tasks)
    assert not any(t.startswith("crows_pairs") for t in tasks)  # bias measures left out, and said so
    lam = tasks["lambada_openai"]
    assert lam["metrics"]["ppl"]["higher is better"] is False and lam["metrics"]["ppl"]["scale"] == "log"
    assert lam["sharpness"]["ppl"]["emergence_score"] > 0
    assert set(lam["line null"]["acc"]) == {"standard", "deduped"}
    assert lam["diagnosis"]["by continuous metric"]["ppl"]["verdict"] in ("no flat phase", "mixed")
    # logiqa: every model's accuracy near or below 0.25 -> a warning, never a bare steepest-rise ratio
    logiqa = tasks["logiqa"]
    assert logiqa["metrics"]["acc"]["chance"] == 0.25
    assert any(w.startswith("acc:") and "chance" in w for w in logiqa["warnings"])
    assert logiqa["line null"]["acc"]["standard"]["p"] > 0.05
    assert any(w.startswith("acc:") for w in tasks["wsc"]["warnings"])
    assert tasks["wsc"]["line null"]["acc"]["standard"]["p"] > 0.05
    # the counterfactual: the same logiqa curve lifted well above chance draws no warning
    frame = read.frame[(read.frame["task"] == "logiqa") & (read.frame["metric"] == "acc")]
    lifted = check(frame.assign(value=frame["value"] + 0.4, stderr=np.nan))
    assert lifted["tasks"]["logiqa"]["warnings"] == []
    # --chance overrides the table
    assert check(frame, chance=0.1)["tasks"]["logiqa"]["warnings"] == []


def test_runs_are_replicates_never_pooled(pythia_few: Path) -> None:
    frame = lmeval.read_results(pythia_few).frame
    lam = frame[frame["task"] == "lambada_openai"]
    both = check(lam)["tasks"]["lambada_openai"]
    assert both["uncertainty"].startswith("runs as the unit (t interval over 2 runs")
    acc = [r for r in both["table"] if r["metric"] == "acc"]
    runs = pd.DataFrame(both["run table"])
    runs = runs[runs["metric"] == "acc"]
    # the runs-as-unit interval is a t interval on two values: far wider than either run's Wilson interval
    assert all((r["hi"] - r["lo"]) > 0 for r in acc)
    assert (
        np.array([r["hi"] - r["lo"] for r in acc])
        > (runs.groupby("model")["hi"].max() - runs.groupby("model")["lo"].min())
        .reindex([r["model"] for r in acc])
        .to_numpy()
    ).mean() > 0.5
    replicates = both["diagnosis"]["by continuous metric"]["ppl"]["replicates"]
    assert [r["replicate"] for r in replicates] == ["runs", "run deduped", "run standard"]
    # one run alone: Wilson from n, no replicate rows
    alone = check(lam[lam["run"] == "standard"].drop(columns="run"))["tasks"]["lambada_openai"]
    assert alone["uncertainty"].startswith("Wilson")
    assert "replicates" not in alone["diagnosis"]["by continuous metric"]["ppl"]


def test_one_directory_per_run_and_a_runs_mapping(tmp_path: Path) -> None:
    for run, shift in (("seed-a", 0.0), ("seed-b", 0.01)):
        for size, acc, ppl in [("70m", 0.02, 400.0), ("410m", 0.1, 60.0), ("1.4b", 0.4, 12.0)]:
            doc = _lm04(f"pretrained=org/fam-{size}", acc + shift, ppl)
            _write(tmp_path / "by-dir" / run / f"fam-{size}" / "results.json", doc)
            _write(tmp_path / "flat" / f"{run}-{size}.json", _lm04(f"pretrained=org/fam-{size}-{run}", acc, ppl))
    by_dir = lmeval.read_results(tmp_path / "by-dir")
    assert set(by_dir.frame["run"]) == {"seed-a", "seed-b"} and any("one sub-folder" in n for n in by_dir.notes)
    result = check(by_dir.frame)["tasks"]["lambada_openai"]
    assert result["uncertainty"].startswith("runs as the unit")
    runs = {f"fam-{s}-{r}": r for s in ("70m", "410m", "1.4b") for r in ("seed-a", "seed-b")}
    with pytest.raises(SchemaError, match="same size"):  # without the mapping: two models per size, one run
        lmeval.read_results(tmp_path / "flat")
    mapped = lmeval.read_results(tmp_path / "flat", runs=runs).frame
    assert set(mapped["run"]) == {"seed-a", "seed-b"}
    with pytest.raises(SchemaError, match="names no run"):
        lmeval.read_results(tmp_path / "flat", runs={"fam-70m-seed-a": "a"})


def test_sizes_file_overrides_nominal_sizes_and_step_selection(pythia_few: Path, tmp_path: Path) -> None:
    sizes = tmp_path / "sizes.csv"
    pd.DataFrame({"model": [f"pythia-v1.1-{s}" for s in SIZES], "params": np.arange(1, 9) * 1e8}).to_csv(
        sizes, index=False
    )
    read = lmeval.read_results(pythia_few, lmeval.read_sizes(sizes))
    assert sorted(read.frame["params"].unique()) == list(np.arange(1, 9) * 1e8)
    assert not any("nominal" in n for n in read.notes)
    early = check(read.frame, step=13000)
    assert "step 13000" in " ".join(early["notes"])
    with pytest.raises(SchemaError, match="no scores at step"):
        check(read.frame, step=5)


def test_multi_task_user_table_is_not_rejected_as_repeats() -> None:
    rows = [
        {"model": f"m{i}", "params": 10.0 ** (7 + i), "task": task, "metric": "acc", "value": v, "n": 400}
        for task, values in {"piqa": [0.5, 0.55, 0.6, 0.7], "sciq": [0.3, 0.4, 0.6, 0.8]}.items()
        for i, v in enumerate(values)
    ]
    result = check(pd.DataFrame(rows))
    assert set(result["tasks"]) == {"piqa", "sciq"}
    assert {r["task"] for r in result["overview"]} == {"piqa", "sciq"}
    assert result["tasks"]["piqa"]["metrics"]["acc"]["chance"] == 0.5
    assert chance_for("hendrycksTest-anatomy", "acc_norm")[0] == 0.25 and chance_for("lambada_openai", "acc")[0] is None


def test_cli_reads_a_folder_of_results_into_a_per_task_report(pythia_few: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mirage_utils",
            "check",
            str(pythia_few / "*" / "*143000.json"),
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    assert {"lambada_openai", "logiqa"} <= set(report["tasks"])
    page = (out / "report.html").read_text()
    assert page.count("<img") == len(report["tasks"]) and 'href="#task-' in page
    bad = tmp_path / "broken.json"
    bad.write_text('{"results": {"x": {"acc": 0.5}}, "config": {}}')
    fail = subprocess.run([sys.executable, "-m", "mirage_utils", "check", str(bad)], capture_output=True, text=True)
    assert fail.returncode == 2 and "does not name its model" in fail.stderr and "Traceback" not in fail.stderr


def test_duplicate_results_and_missing_steps_are_named(tmp_path: Path) -> None:
    doc = _lm04("pretrained=org/fam-70m,revision=step10", 0.1, 50.0)
    _write(tmp_path / "a" / "one.json", doc)
    _write(tmp_path / "a" / "two.json", doc)
    with pytest.raises(SchemaError, match=r"one\.json and .*two\.json both score 'fam-70m'"):
        lmeval.read_results(tmp_path / "a")
    for size, args in (("70m", "revision=step10"), ("410m", "revision=step10"), ("1.4b", "dtype=float16")):
        _write(tmp_path / "b" / f"{size}.json", _lm04(f"pretrained=org/fam-{size},{args}", 0.2, 30.0))
    frame = lmeval.read_results(tmp_path / "b").frame
    with pytest.raises(SchemaError, match="no step where other rows have one"):
        check(frame)
    assert check(frame.assign(step=frame["step"].fillna(10)), step=10)["tasks"]
