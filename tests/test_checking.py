"""`python -m mirage_utils check`: schema errors name column and row, known cases get the expected verdicts, the
JSON round-trips, and the HTML report opens offline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mirage_utils import check as top_level_check
from mirage_utils import scaling
from mirage_utils.checking import SchemaError, check, read_table, validate
from mirage_utils.checking.report import to_json, write_report

SIZES = np.logspace(7, 12, 9)


def _generations(kind: str, n: int = 300, length: int = 5, seed: int = 0) -> pd.DataFrame:
    """Outputs of a made-up family: 'mirage' errs digit by digit with the math model's per-token probability (smooth
    per token, sharp in exact match); 'step' is random below 1e10 parameters and perfect above (sharp in both)."""
    gen = np.random.default_rng(seed)
    rows = []
    for size in SIZES:
        p = float(scaling.per_token_probability(size, 1e10, -0.3))
        for i in range(n):
            target = "".join(gen.choice(list("0123456789"), length))
            if kind == "mirage":
                output = "".join(c if gen.random() < p else str((int(c) + 1) % 10) for c in target)
            else:
                output = target if size > 1e10 else "".join(gen.choice(list("0123456789"), length))
            rows.append({"model": f"m{size:.0e}", "params": size, "example_id": i, "target": target, "output": output})
    return pd.DataFrame(rows)


def test_a_known_mirage_is_metric_induced_and_a_real_step_persists():
    mirage = check(_generations("mirage"))
    step = check(_generations("step"))
    assert mirage["diagnosis"]["by continuous metric"]["token_edit_distance"]["verdict"] == "metric-induced"
    assert step["diagnosis"]["by continuous metric"]["token_edit_distance"]["verdict"] == "persists"
    # both sharpness measures, with the window they were computed on
    s = mirage["sharpness"]["exact_match"]
    assert s["window"] == {
        "smallest": 1e7,
        "largest": 1e12,
        "sizes": 9,
        "decades": pytest.approx(5.0),
        "straight line, emergence_score": pytest.approx(8.0),  # nine evenly spaced sizes: k - 1
    }
    assert s["steepest_rise_ratio"] > mirage["sharpness"]["token_edit_distance"]["steepest_rise_ratio"]
    assert step["sharpness"]["exact_match"]["emergence_score"] is None  # infinite: over half the steps flat
    assert any("metric-induced" in line for line in mirage["summary"])
    # on uneven sizes a line's Eq. 1 is not k - 1, and the summary gives the value on the sizes used
    uneven = _generations("mirage", n=50)
    uneven = uneven[uneven["params"] != uneven["params"].unique()[1]]
    line = check(uneven)["sharpness"]["exact_match"]["window"]["straight line, emergence_score"]
    assert line != pytest.approx(7.0)


def test_seeds_are_the_unit_when_every_model_has_two():
    both = pd.concat([_generations("mirage", n=100, seed=s).assign(seed=s) for s in (1, 2, 3)])
    result = check(both)
    assert result["uncertainty"].startswith("seeds as the unit")
    assert all(r["seeds"] == 3 for r in result["table"])


def test_json_round_trips_and_report_has_no_network_or_script(tmp_path):
    result = check(_generations("mirage", n=50))
    json_path, html_path = write_report(result, tmp_path, source="made-up.csv")
    assert json.loads(json_path.read_text()) == json.loads(to_json(result))
    page = html_path.read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "data:image/png;base64," in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_report_opens_in_headless_chromium_without_errors_or_requests(tmp_path):
    from playwright.sync_api import sync_playwright

    _, html_path = write_report(check(_generations("step", n=50)), tmp_path)
    requests, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(html_path.as_uri(), wait_until="load")
        loaded = page.eval_on_selector_all("img", "els => els.every(i => i.complete && i.naturalWidth > 0)")
        browser.close()
    assert loaded and not errors
    assert all(u.startswith(("file:", "data:")) for u in requests), requests


def test_multiple_choice_layout_scores_grade_and_brier_with_chance():
    gen = np.random.default_rng(0)
    rows = []
    for size in SIZES:
        sharpness = np.log10(size) - 9.0  # the correct option's logit rises smoothly with log size
        for i in range(200):
            logits = gen.normal(0, 1, 4)
            logits[2] += sharpness
            rows.append(
                {
                    "model": f"m{size:.0e}",
                    "params": size,
                    "example_id": i,
                    "option_logprobs": json.dumps(list(logits - np.log(np.exp(logits).sum()))),
                    "correct_option": 2,
                }
            )
    result = check(pd.DataFrame(rows))
    assert set(result["metrics"]) == {"multiple_choice_grade", "brier_score"}
    assert result["table"][0]["chance (uniform guess)"] == pytest.approx(0.25)
    assert result["table"][-1]["multiple_choice_grade"] > 0.9


def test_aggregates_with_seeds_run_the_mirage_test_and_without_say_why_not():
    rows = []
    for seed in (0, 1, 2):
        for size, em, ted in zip(SIZES[:5], [0.0, 0.0, 0.01, 0.3, 0.9], [4.0, 3.0, 2.0, 1.0, 0.2]):
            rows.append(
                {
                    "model": f"m{size:.0e}",
                    "params": size,
                    "seed": seed,
                    "metric": "exact_match",
                    "value": em + 0.001 * seed,
                    "n": 500,
                }
            )
            rows.append(
                {
                    "model": f"m{size:.0e}",
                    "params": size,
                    "seed": seed,
                    "metric": "edit_distance",
                    "value": ted + 0.01 * seed,
                    "n": 500,
                }
            )
    frame = pd.DataFrame(rows)
    with_seeds = check(frame)
    assert with_seeds["diagnosis"]["by continuous metric"]["edit_distance"]["verdict"] == "metric-induced"
    one_seed = check(frame[frame["seed"] == 0].drop(columns="seed"))
    assert one_seed["diagnosis"]["note"] and "seeds" in one_seed["diagnosis"]["note"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns="params"), "scale column"),
        (lambda f: f.drop(columns="output"), "cannot tell the layout"),
        (lambda f: f.assign(params=f["params"].where(f.index != 7, -1.0)), "column 'params', row 7"),
        (lambda f: f.assign(params=f["params"].where(f.index != 3, 5.0)), "has more than one value"),
        (lambda f: pd.concat([f, f.iloc[[4]]]), "repeats an example"),
    ],
)
def test_schema_errors_name_the_column_and_the_row(mutate, message):
    with pytest.raises(SchemaError, match=message):
        validate(mutate(_generations("mirage", n=20)))


def test_exclusions_are_reported_never_silent():
    frame = _generations("mirage", n=20)
    frame["prompt"] = "Q: ? A:"
    frame.loc[0, "prompt"] = f"Example: {frame.loc[0, 'target']}. Q: ? A:"
    frame.loc[1, "target"] = None
    frame.loc[2, "output"] = None
    v = validate(frame)
    assert v.excluded == {
        "no target": 1,
        "no output (scored as an empty answer, kept)": 1,
        "answer printed in the prompt (a copy would score)": 1,
    }
    assert len(v.frame) == len(frame) - 2


def test_bad_lists_and_indices_are_errors():
    frame = pd.DataFrame(
        {"model": ["a"], "params": [1e6], "example_id": [0], "option_logprobs": ["[-1, oops]"], "correct_option": [0]}
    )
    with pytest.raises(SchemaError, match="'option_logprobs', row 0"):
        validate(frame)
    with pytest.raises(SchemaError, match="correct_option"):
        validate(frame.assign(option_logprobs="-1 -2", correct_option=2))


def test_cli_writes_a_report_and_exits_2_on_a_malformed_file(tmp_path):
    good, bad = tmp_path / "family.csv", tmp_path / "bad.csv"
    _generations("step", n=30).to_csv(good, index=False)
    _generations("step", n=30).drop(columns="target").to_csv(bad, index=False)
    ok = subprocess.run(
        [sys.executable, "-m", "mirage_utils", "check", str(good), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "r" / "report.json").is_file()
    fail = subprocess.run([sys.executable, "-m", "mirage_utils", "check", str(bad)], capture_output=True, text=True)
    assert fail.returncode == 2 and "layout" in fail.stderr
    assert read_table(good).shape == (9 * 30, 5)


def test_top_level_function_is_the_same_check():
    frame = _generations("mirage", n=20)
    assert top_level_check(frame)["summary"] == check(frame)["summary"]


def test_token_probability_is_a_third_metric_from_logprobs_or_given_directly():
    frame = _generations("mirage", n=40)
    p = np.repeat([float(scaling.per_token_probability(s, 1e10, -0.3)) for s in SIZES], 40)
    direct = check(frame.assign(token_probability=p))
    from_logs = check(frame.assign(token_logprobs=[json.dumps([float(np.log(v))] * 5) for v in p]))
    assert direct["table"][0]["token_probability"] == pytest.approx(from_logs["table"][0]["token_probability"])
    assert set(direct["diagnosis"]["by continuous metric"]) == {"token_edit_distance", "token_probability"}
    with pytest.raises(SchemaError, match="'token_probability', row 0"):
        validate(frame.assign(token_probability=np.where(np.arange(len(frame)) == 0, 1.5, 0.5)))


def test_review_cases_give_clear_errors_or_right_numbers():
    base = _generations("mirage", n=40)
    # numbers read as numbers: 3674 and 3674.0 are the same answer
    numeric = base.assign(target=pd.to_numeric(base["target"]), output=pd.to_numeric(base["output"], errors="coerce"))
    numeric["output"] = numeric["output"].astype(float)
    assert check(numeric)["table"][-1]["exact_match"] == check(base)["table"][-1]["exact_match"]
    # the confidence level reaches the intervals
    wide, narrow = check(base, 0.99)["table"][-1], check(base, 0.5)["table"][-1]
    assert wide["exact_match hi"] - wide["exact_match lo"] > narrow["exact_match hi"] - narrow["exact_match lo"]
    # seeds for some models only would pool seeds silently
    partial = pd.concat([base.assign(seed=0), base[base["params"] > base["params"].min()].assign(seed=1)])
    with pytest.raises(SchemaError, match="one seed, others several"):
        validate(partial)
    # two models at one size; a model with a single example
    with pytest.raises(SchemaError, match="same value"):
        validate(base.assign(params=base["params"].where(base["params"] != base["params"].max(), base["params"].min())))
    one = base[(base["params"] != base["params"].max()) | (base["example_id"] == base["example_id"].iloc[0])]
    with pytest.raises(SchemaError, match="single example"):
        validate(one)


def test_review_cases_multiple_choice_and_aggregates():
    mc = pd.DataFrame(
        {
            "model": "m",
            "params": 1e6,
            "example_id": [0, 1],
            "option_logprobs": ["[0.5, 0.5]", "[-1, -2]"],
            "correct_option": 0,
        }
    )
    with pytest.raises(SchemaError, match="got probabilities"):
        validate(mc)
    with pytest.raises(SchemaError, match="probability 0"):
        validate(mc.assign(option_logprobs=[[-np.inf, -np.inf], [-1.0, -2.0]]))
    agg = pd.DataFrame(
        {
            "model": ["a", "b", "c"] * 2,
            "params": [1e6, 1e7, 1e8] * 2,
            "metric": ["acc"] * 3 + ["perplexity"] * 3,
            "value": [25.0, 30.0, 80.0, 30.0, 20.0, 10.0],
            "n": 100,
        }
    )
    with pytest.raises(SchemaError, match="divide percentages by 100"):
        validate(agg)
    ok = agg.assign(value=[0.25, 0.30, 0.80, 30.0, 20.0, 10.0])
    result = check(ok)
    assert result["metrics"]["perplexity"]["higher is better"] is False
    missing = pd.concat([ok, pd.DataFrame([{"model": "a", "params": 1e6, "metric": "bleu", "value": 3.0, "n": 100}])])
    assert "metric 'bleu': scored for 1 of 3 models, left out" in validate(missing).excluded
