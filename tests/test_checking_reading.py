"""`python -m mirage_utils check` on the files researchers have: each of the 13 tracebacks of the issue-24 fuzz exits 2
with one line (the problem, where, a fix), the silently wrong cases score the same in every format, and the report
pair is replaced together or not at all."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirage_utils.__main__ import main
from mirage_utils.checking import SchemaError, check, read_table, validate
from mirage_utils.checking import report as report_module
from mirage_utils.checking.report import unwritable, write_report


def family(n: int = 30, models: int = 5, seed: int = 0) -> pd.DataFrame:
    """Four-digit answers; model i right with probability i / (models - 1)."""
    gen = np.random.default_rng(seed)
    rows = []
    for i, size in enumerate(np.logspace(7, 11, models)):
        for e in range(n):
            target = int(gen.integers(1000, 9999))
            output = target if gen.random() < i / (models - 1) else target + 1
            rows.append(
                {"model": f"m{i}", "params": size, "example_id": e, "target": str(target), "output": str(output)}
            )
    return pd.DataFrame(rows)


def run(path: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    """The CLI in-process: exit status and standard error."""
    code = main(["check", str(path), "--quiet", "--out", str(out), *extra])
    err = capsys.readouterr().err
    return code, err


def fails(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    code, err = run(path, tmp_path / "report", capsys)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("check: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


# --- the 13 tracebacks ----------------------------------------------------------------------------------------------


def test_empty_file(tmp_path, capsys):
    (tmp_path / "e.csv").write_bytes(b"")
    fails(tmp_path / "e.csv", tmp_path, capsys, "empty")
    (tmp_path / "h.csv").write_text("model,params,example_id,target,output\n")
    fails(tmp_path / "h.csv", tmp_path, capsys, "no rows")


def test_latin1_file_is_read_with_a_note(tmp_path):
    frame = family().assign(model=lambda f: f["model"].str.replace("m", "modèle-"))
    frame.to_csv(tmp_path / "l.csv", index=False, encoding="latin-1")
    table = read_table(tmp_path / "l.csv")
    assert table["model"].iloc[0] == "modèle-0"
    assert any("Latin-1" in n and "line 2" in n for n in table.attrs["notes"])


def test_ragged_rows_name_the_line(tmp_path, capsys):
    lines = family().to_csv(index=False).splitlines()
    lines[4] += ",extra"
    (tmp_path / "r.csv").write_text("\n".join(lines))
    fails(tmp_path / "r.csv", tmp_path, capsys, "line 5", "6 fields", "double quotes")
    lines = family().to_csv(index=False).splitlines()
    lines[6] = ",".join(lines[6].split(",")[:3])
    (tmp_path / "s.csv").write_text("\n".join(lines))
    fails(tmp_path / "s.csv", tmp_path, capsys, "line 7", "3 fields")


def test_parquet_bytes_named_csv_are_read_as_parquet(tmp_path):
    family().to_parquet(tmp_path / "p.csv")
    table = read_table(tmp_path / "p.csv")
    assert len(table) == 150 and any("Parquet" in n for n in table.attrs["notes"])
    (tmp_path / "bad.csv").write_bytes(b"PAR1" + b"\x00" * 50)
    with pytest.raises(SchemaError, match="Parquet"):
        read_table(tmp_path / "bad.csv")


@pytest.mark.parametrize("column", ["params", "flops"])
def test_infinite_scale_is_rejected_in_validation(column, tmp_path, capsys):
    frame = family().assign(flops=lambda f: f["params"] * 6)
    frame.loc[3, column] = np.inf
    with pytest.raises(SchemaError, match=f"column '{column}', row 3.*finite"):
        validate(frame)
    frame.to_csv(tmp_path / "i.csv", index=False)
    fails(tmp_path / "i.csv", tmp_path, capsys, "line 5", "finite")


def test_infinite_aggregate_value_is_rejected(tmp_path, capsys):
    agg = pd.DataFrame(
        {"model": ["a", "b", "c"], "params": [1e6, 1e7, 1e8], "metric": "perplexity", "value": [9, 5, np.inf], "n": 9}
    )
    with pytest.raises(SchemaError, match="'value', row 2.*not a finite number"):
        validate(agg)
    agg.to_csv(tmp_path / "agg.csv", index=False)
    fails(tmp_path / "agg.csv", tmp_path, capsys, "not a finite number", "line 4")


def test_one_model_is_rejected_in_validation(tmp_path, capsys):
    frame = family()
    with pytest.raises(SchemaError, match="one model only"):
        validate(frame[frame["model"] == "m0"])
    frame[frame["model"] == "m0"].to_csv(tmp_path / "one.csv", index=False)
    fails(tmp_path / "one.csv", tmp_path, capsys, "one model only", "two sizes")


def test_out_that_is_a_file_or_unwritable_fails_before_analysis(tmp_path, capsys, monkeypatch):
    family().to_csv(tmp_path / "f.csv", index=False)
    (tmp_path / "afile").write_text("x")
    calls = []
    monkeypatch.setattr("mirage_utils.checking.check", lambda *a, **k: calls.append(1))
    code, err = run(tmp_path / "f.csv", tmp_path / "afile", capsys)
    assert code == 2 and "is a file" in err and "--out" in err
    code, err = run(tmp_path / "f.csv", tmp_path / "afile" / "sub", capsys)
    assert code == 2 and "cannot be created" in err
    code, err = run(tmp_path / "f.csv", Path("/proc/no/such/place"), capsys)
    assert code == 2 and "not writable" in err
    assert not calls  # the analysis never ran
    if os.geteuid() != 0:  # root writes anywhere; the read-only file system above covers it
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        assert unwritable(locked) is not None


@pytest.mark.parametrize("name", ["$x$ scores.csv", "a$b.csv"])
def test_dollar_in_file_or_metric_names_is_text_not_math(name, tmp_path, capsys):
    family(n=10).to_csv(tmp_path / name, index=False)
    code, err = run(tmp_path / name, tmp_path / "r", capsys)
    assert code == 0, err
    agg = pd.DataFrame(
        {"model": list("abc"), "params": [1e6, 1e7, 1e8], "metric": "acc$v2 $", "value": [0.1, 0.5, 0.9], "n": 50}
    )
    agg.to_csv(tmp_path / "agg.csv", index=False)
    code, err = run(tmp_path / "agg.csv", tmp_path / "r2", capsys)
    assert code == 0, err
    assert (tmp_path / "r2" / "report.html").is_file() and (tmp_path / "r2" / "report.json").is_file()


# --- silently wrong: numbers equal in every format -----------------------------------------------------------------


def exact_match(result: dict) -> list[float]:
    return [round(r["exact_match"], 9) for r in result["table"]]


def test_numbers_score_the_same_in_every_format(tmp_path):
    base = family()
    numeric = base.assign(target=base["target"].astype(float), output=base["output"].astype(float))
    numeric.to_json(tmp_path / "n.jsonl", orient="records", lines=True)
    numeric.to_parquet(tmp_path / "n.parquet")
    numeric.to_csv(tmp_path / "n.csv", index=False)  # "1948.0" as text
    base.assign(target=base["target"].astype(int)).to_parquet(tmp_path / "i.parquet")
    json.dump(numeric.to_dict(orient="records"), (tmp_path / "n.json").open("w"), indent=2)
    full = base.assign(output=base["output"].map(lambda s: "".join(chr(ord(c) + 0xFEE0) for c in s)))
    full.to_csv(tmp_path / "f.csv", index=False)
    expected = exact_match(check(base))
    assert expected[-1] > 0.5  # the largest model does answer
    for name in ("n.jsonl", "n.parquet", "n.csv", "i.parquet", "n.json", "f.csv"):
        assert exact_match(check(read_table(tmp_path / name))) == expected, name


def test_rewritten_answers_are_counted_not_silent():
    base = family(n=10)
    v = validate(base.assign(output=base["output"] + ".0"))
    assert v.excluded == {"answers rewritten to one form (full-width digits, 1948.0 as 1948; kept)": len(base)}


# --- delimiters, JSON documents, lm-eval, column names -------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_is_found(sep, tmp_path):
    family().to_csv(tmp_path / "d.txt", index=False, sep=sep)
    table = read_table(tmp_path / "d.txt")
    assert list(table.columns) == list(family().columns)
    assert exact_match(check(table)) == exact_match(check(family()))


def test_pretty_printed_json_documents(tmp_path, capsys):
    frame = family(n=10)
    (tmp_path / "rows.json").write_text(json.dumps(frame.to_dict(orient="records"), indent=2))
    (tmp_path / "cols.json").write_text(frame.to_json(indent=2))
    (tmp_path / "keyed.json").write_text(json.dumps({"rows": frame.to_dict(orient="records")}, indent=2))
    for name in ("rows.json", "cols.json", "keyed.json"):
        assert len(read_table(tmp_path / name)) == len(frame), name
    (tmp_path / "broken.json").write_text('{\n  "model": "a",\n  "params": ,\n}')
    fails(tmp_path / "broken.json", tmp_path, capsys, "line 3")
    lines = frame.to_json(orient="records", lines=True).splitlines()
    lines[3] = lines[3][:-5]
    (tmp_path / "bad.jsonl").write_text("\n".join(lines))
    fails(tmp_path / "bad.jsonl", tmp_path, capsys, "line 4", "JSON")


def test_lm_eval_results_file_is_recognised(tmp_path, capsys, monkeypatch):
    doc = {
        "results": {"piqa": {"acc": 0.6, "acc_stderr": 0.01}},
        "versions": {"piqa": 0},
        "config": {"model_args": "pretrained=EleutherAI/pythia-70m", "num_fewshot": 0},
    }
    (tmp_path / "results.json").write_text(json.dumps(doc, indent=2))
    fake = types.ModuleType("fake_lmeval")
    seen = []

    def read_results(path):
        seen.append(Path(path))
        return types.SimpleNamespace(frame=pd.DataFrame({"task": ["piqa"], "value": [0.6]}), notes=["nominal sizes"])

    fake.read_results = read_results  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_lmeval", fake)
    monkeypatch.setattr("mirage_utils.checking.reading.LMEVAL_MODULE", "fake_lmeval")
    table = read_table(tmp_path / "results.json")  # routed to the lm-eval reader
    assert seen == [tmp_path / "results.json"] and list(table["task"]) == ["piqa"]
    assert table.attrs["notes"] == ["read as an lm-evaluation-harness results file", "nominal sizes"]
    monkeypatch.setattr("mirage_utils.checking.reading.LMEVAL_MODULE", "mirage_utils.checking.no_such_module")
    with pytest.raises(SchemaError, match="lm-evaluation-harness results file"):
        read_table(tmp_path / "results.json")


@pytest.mark.parametrize(("rename", "hint"), [("Model", "'Model'"), (" model ", "' model '"), ("modle", "'modle'")])
def test_did_you_mean_for_column_names(rename, hint, tmp_path, capsys):
    family().rename(columns={"model": rename}).to_csv(tmp_path / "c.csv", index=False)
    fails(tmp_path / "c.csv", tmp_path, capsys, "did you mean 'model'", hint)


def test_layout_hint_names_the_closest_missing_column():
    with pytest.raises(SchemaError, match="did you mean 'output'"):
        validate(family().rename(columns={"output": "Output"}))


# --- the report pair ------------------------------------------------------------------------------------------------


def test_report_pair_is_replaced_together_or_not_at_all(tmp_path, monkeypatch):
    out = tmp_path / "r"
    first = check(family(n=10))
    write_report(first, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    second = check(family(n=10, seed=1))

    def broken(*args, **kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(report_module, "figure_png", broken)
    with pytest.raises(RuntimeError):
        write_report(second, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched, no temporary files left
    real_replace = os.replace
    moved = []

    def replace_then_fail(src, dst):
        if str(dst).endswith("report.html") and str(src).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        moved.append(dst)
        return real_replace(src, dst)

    monkeypatch.undo()
    monkeypatch.setattr(report_module.os, "replace", replace_then_fail)
    with pytest.raises(OSError):
        write_report(second, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.undo()
    write_report(second, out)
    assert json.loads((out / "report.json").read_text())["table"] != json.loads(before["report.json"])["table"]


def test_failed_run_says_the_previous_report_is_old(tmp_path, capsys):
    family(n=10).to_csv(tmp_path / "f.csv", index=False)
    code, _ = run(tmp_path / "f.csv", tmp_path / "r", capsys)
    assert code == 0
    family(n=10).drop(columns="target").to_csv(tmp_path / "f.csv", index=False)
    code, err = run(tmp_path / "f.csv", tmp_path / "r", capsys)
    assert code == 2 and "from an earlier run" in err


def test_internal_errors_say_so_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    family(n=10).to_csv(tmp_path / "f.csv", index=False)

    def bug(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr("mirage_utils.checking.check", bug)
    code, err = run(tmp_path / "f.csv", tmp_path / "r", capsys)
    assert code == 2 and "internal error, please report" in err and "KeyError" in err and "Traceback" not in err
    monkeypatch.setenv("MIRAGE_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["check", str(tmp_path / "f.csv"), "--quiet", "--out", str(tmp_path / "r")])
