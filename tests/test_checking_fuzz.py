"""Fuzz `python -m mirage_utils check` (in-process): malformed tables in every format, and junk bytes, either give a
report (exit 0) or exit 2 with one line on standard error that is the check's own message, never a traceback and
never "internal error". Hypothesis generates the damage: dropped and renamed columns, NaN and infinities, mixed
types, duplicated rows, ragged lines, wrong delimiters and encodings, Parquet under a .csv name."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mirage_utils.__main__ import main

FORMATS = ("csv", "semicolon", "tab", "latin1", "jsonl", "json", "parquet", "parquet-as-csv", "gzip-csv")
ODD_VALUES = (
    None,
    np.nan,
    np.inf,
    -np.inf,
    "",
    " ",
    "nan",
    "inf",
    "-1",
    "0",
    "1e400",
    "１２",
    "$x$",
    "a,b",
    'quo"te',
    "line\nbreak",
    "ü",
    True,
    [1, 2],
    {"k": 1},
    10**30,
    -5,
)
# a fixed, fast draw in the test run; MIRAGE_FUZZ_EXAMPLES=500 explores new random inputs (minutes)
EXPLORE = int(os.environ.get("MIRAGE_FUZZ_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=EXPLORE or 40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=not EXPLORE
)


def layout_frame(layout: str, models: int, examples: int) -> pd.DataFrame:
    """A small valid table of ``layout``."""
    rows = []
    for i in range(models):
        for e in range(examples):
            row: dict[str, object] = {"model": f"m{i}", "params": 10.0 ** (6 + i)}
            if layout == "generations":
                row |= {"example_id": e, "target": str(1000 + e), "output": str(1000 + e + (e + i) % 2)}
                row |= {"prompt": f"Q: {e} plus a thousand? A:", "token_logprobs": f"[-{0.1 * (e + 1):.2f}, -0.5]"}
            elif layout == "multiple_choice":
                row |= {"example_id": e, "option_logprobs": "[-0.5, -1.5, -2.0]", "correct_option": e % 3}
            else:
                row |= {"metric": ["acc", "perplexity"][e % 2], "value": [0.3 + 0.1 * i, 20.0 - i][e % 2], "n": 100}
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.drop_duplicates(["model", "metric"]) if layout == "aggregates" else frame


@st.composite
def damaged_tables(draw: st.DrawFn) -> pd.DataFrame:
    layout = draw(st.sampled_from(["generations", "multiple_choice", "aggregates"]))
    frame = layout_frame(layout, draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    for extra in draw(st.sets(st.sampled_from(["seed", "run", "task", "stderr", "step", "shots", "flops"]))):
        # optional columns: replicates, several tasks or checkpoints, a stated error, a second scale
        if extra == "flops":
            frame["flops"] = frame["params"] * 6e3
        elif extra == "stderr":
            frame["stderr"] = 0.01
        else:
            frame = pd.concat(
                [frame.assign(**{extra: label}) for label in (["a", "b"] if extra in ("run", "task") else [0, 1])],
                ignore_index=True,
            )
    frame = frame.astype(object)
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["drop", "rename", "cell", "column", "duplicate", "shuffle"]))
        columns = list(frame.columns)
        if action == "drop" and columns:
            frame = frame.drop(columns=draw(st.sampled_from(columns)))
        elif action == "rename" and columns:
            old = draw(st.sampled_from(columns))
            new = draw(st.sampled_from([old.upper(), f" {old}", old.title(), old[:-1], "x"]))
            if new not in frame.columns:
                frame = frame.rename(columns={old: new})
        elif action == "cell" and len(frame) and columns:
            row = draw(st.integers(0, len(frame) - 1))
            frame.iat[row, draw(st.integers(0, len(columns) - 1))] = draw(st.sampled_from(ODD_VALUES))
        elif action == "column" and columns:
            value = draw(st.sampled_from(ODD_VALUES[:17]))
            frame[draw(st.sampled_from(columns))] = pd.Series([value] * len(frame), index=frame.index, dtype=object)
        elif action == "duplicate" and len(frame):
            frame = pd.concat([frame, frame.iloc[[draw(st.integers(0, len(frame) - 1))]]], ignore_index=True)
        elif action == "shuffle":
            frame = frame.sample(frac=1.0, random_state=draw(st.integers(0, 9))).reset_index(drop=True)
    return frame


def write(frame: pd.DataFrame, fmt: str, folder: Path) -> Path:
    """``frame`` in format ``fmt`` (Parquet falls back to JSON Lines for columns Arrow cannot type)."""
    if fmt in ("parquet", "parquet-as-csv"):
        path = folder / ("t.parquet" if fmt == "parquet" else "t.csv")
        try:
            frame.to_parquet(path)
            return path
        except Exception:  # mixed types: Arrow refuses to write them, so no reader would ever see this file
            fmt = "jsonl"
    if fmt == "jsonl":
        path = folder / "t.jsonl"
        path.write_text(frame.to_json(orient="records", lines=True, default_handler=str))
    elif fmt == "json":
        path = folder / "t.json"
        path.write_text(frame.to_json(orient="records", indent=2, default_handler=str))
    else:
        sep = {"semicolon": ";", "tab": "\t"}.get(fmt, ",")
        text = frame.to_csv(index=False, sep=sep)
        path = folder / ("t.tsv" if fmt == "tab" else "t.csv")
        if fmt == "latin1":
            path.write_bytes(text.encode("latin-1", errors="replace"))
        elif fmt == "gzip-csv":
            path = folder / "t.csv.gz"
            path.write_bytes(gzip.compress(text.encode("utf-8")))
        else:
            path.write_text(text)
    return path


def run_cli(path: Path, out: Path) -> tuple[int, str]:
    err, std = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        try:
            code = main(["check", str(path), "--quiet", "--out", str(out)])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return code, err.getvalue()


def assert_clean(code: int, err: str, out: Path) -> None:
    event(f"exit {code}: {err.split(': ', 2)[-1][:40] if code else 'report'}")  # --hypothesis-show-statistics
    assert "Traceback" not in err, err
    if code == 0:
        assert (out / "report.json").is_file() and (out / "report.html").is_file()
        return
    assert code == 2, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("check: ") and len(lines[0]) > len("check: x: "), err
    assert "internal error" not in err, err


@SETTINGS
@given(damaged_tables(), st.sampled_from(FORMATS))
def test_damaged_tables_exit_0_or_2_with_one_line(frame, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(frame, fmt, Path(tmp))
        code, err = run_cli(path, Path(tmp) / "report")
        assert_clean(code, err, Path(tmp) / "report")


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda b: b"PAR1" + b),
        st.binary(max_size=200).map(lambda b: b"\x1f\x8b" + b),
        st.binary(max_size=200).map(lambda b: b"\xff\xfe" + b),
        st.text(max_size=200).map(lambda t: t.encode("utf-8")),
        st.text(alphabet='{}[]":,0123456789 \nabcmodel', max_size=200).map(str.encode),
        st.text(alphabet=',;\t\n"0123456789.eE-modelparamsxd', max_size=300).map(str.encode),
    ),
    st.sampled_from(["t.csv", "t.json", "t.jsonl", "t.parquet", "t.txt", "t"]),
)
def test_junk_bytes_exit_2_with_one_line(data, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        code, err = run_cli(path, Path(tmp) / "report")
        assert_clean(code, err, Path(tmp) / "report")


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.sampled_from(FORMATS), st.integers(2, 4), st.integers(2, 4))
def test_valid_tables_give_a_report_in_every_format(fmt, models, examples):
    """The undamaged tables pass in every format (the fuzz is not passing by refusing everything)."""
    frame = layout_frame("generations", models, examples)
    with tempfile.TemporaryDirectory() as tmp:
        path = write(frame, fmt, Path(tmp))
        code, err = run_cli(path, Path(tmp) / "report")
        assert code == 0, err
