"""`python -m mirage_utils check FILE --forecast-to SIZE` (mirage_utils.checking.forecasting): on the paper's math
model the per-token route is trusted and forecasts a held-out larger size while the direct line is not; a genuine
step is trusted by nothing; counterfactuals that break each claim; few sizes, interpolation and a failing forecaster
never crash; multiple choice, aggregates and real lm-eval results (Pythia) get a forecast section; the CLI end to
end."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mirage_utils import forecast as fc
from mirage_utils import scaling
from mirage_utils.__main__ import main
from mirage_utils.checking import forecasting as cf
from mirage_utils.checking import lmeval
from mirage_utils.checking.report import to_html, to_json

SIZES = np.logspace(7, 12, 11)
LENGTH = 5
C, ALPHA = 6.1e8, -0.5  # exact match p**5 crosses 1/2 near 10**10.5 parameters


def math_generations(
    sizes: np.ndarray = SIZES, n: int = 300, seed: int = 0, p_of: Any = None, logprobs: bool = False
) -> pd.DataFrame:
    """Generations of the paper's math model: each of the target's 5 digits right with the per-token probability
    ``p_of(size)`` (default the power law), the model's probability of the target tokens given beside."""
    gen = np.random.default_rng(seed)
    p_of = p_of or (lambda s: float(scaling.per_token_probability(s, C, ALPHA)))
    rows = []
    for size in sizes:
        p = p_of(size)
        targets = gen.integers(0, 10, (n, LENGTH))
        right = gen.random((n, LENGTH)) < p
        outputs = np.where(right, targets, (targets + 1) % 10)
        for i in range(n):
            row = {
                "model": f"m{size:.2e}",
                "params": size,
                "example_id": i,
                "target": "".join(map(str, targets[i])),
                "output": "".join(map(str, outputs[i])),
            }
            if logprobs:
                row["token_logprobs"] = " ".join([f"{np.log(p):.6f}"] * LENGTH)
            else:
                row["token_probability"] = p
            rows.append(row)
    return pd.DataFrame(rows)


def truth(size: float) -> float:
    return float(scaling.per_token_probability(size, C, ALPHA)) ** LENGTH


def entry(result: dict[str, Any], metric: str, task: str | None = None) -> dict[str, Any]:
    return next(e for e in result["forecast"]["metrics"] if e["metric"] == metric and e["task"] == task)


def row(e: dict[str, Any], forecaster: str) -> dict[str, Any]:
    return next(r for r in e["forecasters"] if r["forecaster"] == forecaster)


# --- the math model: the route is trusted and right; the direct line is not -----------------------------------


@pytest.fixture(scope="module")
def math_result() -> dict[str, Any]:
    """Fit on the ten smaller sizes, forecast the 11th (held out)."""
    return cf.check_and_forecast(math_generations(SIZES[:-1]), float(SIZES[-1]))


def test_route_is_trusted_and_forecasts_the_held_out_size(math_result: dict[str, Any]) -> None:
    em = entry(math_result, "exact_match")
    route = row(em, "per-token route (token probability)")
    assert route["status"] == "trusted", route
    assert em["trusted"] and em["forecaster"].startswith("per-token route")
    assert abs(em["forecast"] - truth(SIZES[-1])) < 0.03
    assert abs(route["forecast"] - truth(SIZES[-1])) < 0.03
    line = row(em, "direct linear")
    assert line["status"] == "not trusted" and line["median scaled error"] > cf.MAX_MEDIAN_SCALED_ERROR
    # edit distance through the route too
    ted = entry(math_result, "token_edit_distance")
    assert row(ted, "per-token route (token probability)")["status"] == "trusted"
    assert abs(ted["forecast"] - LENGTH * (1 - truth(SIZES[-1]) ** (1 / LENGTH))) < 0.1


def test_section_carries_every_number_and_one_line_per_metric(math_result: dict[str, Any]) -> None:
    section = math_result["forecast"]
    assert section["size"] == SIZES[-1] and section["scale"] == "params" and not section["interpolation"]
    assert section["rule"] == cf.RULE and "10%" in section["rule"]
    for e in section["metrics"]:
        assert e["backtest"] == "ran" and e["sizes"] == 10
        for r in e["forecasters"]:
            assert r["status"] in ("trusted", "not trusted")
            for key in ("forecast", "lower", "upper", "interval", "median abs error", "coverage", "trusted"):
                assert key in r, key
            assert r["lower"] <= r["forecast"] + 1e-9 <= r["upper"] + 2e-9
        assert sum(line.startswith(f"Forecast, {e['label']} at") for line in math_result["summary"]) == 1
    assert json.loads(to_json(math_result))["forecast"]["metrics"][0]["metric"] == "exact_match"
    page = to_html(math_result, "family.csv")
    assert page.count('<img alt="exact_match: observed points') == 1 and "Rule: each forecaster is trusted" in page


def test_lengths_come_from_token_logprobs_when_given() -> None:
    frame = math_generations(SIZES[:-1], n=100, logprobs=True)
    frame["target"] = frame["target"].str[:3]  # characters now disagree with the five log-probabilities
    frame["output"] = frame["output"].str[:3]
    e = entry(cf.check_and_forecast(frame, 1e12), "exact_match")
    assert "L = 5 (token_logprobs)" in row(e, "per-token route (token probability)")["route"]


# --- a genuine step: nothing is trusted -------------------------------------------------------------------------


def step_generations(n: int = 300) -> pd.DataFrame:
    """Per-token probability flat at 0.3 below 10**10.5 parameters and 0.995 from there on (the 4 largest of 11
    sizes): a step in the per-token quantity itself, which no forecaster can see coming from below."""
    return math_generations(p_of=lambda s: 0.995 if s >= 10**10.4 else 0.3, n=n)


def test_a_genuine_step_is_trusted_by_nothing() -> None:
    result = cf.check_and_forecast(step_generations(), 1e13)
    for e in result["forecast"]["metrics"]:
        assert not e["trusted"] and e["forecast"] is None, e["summary"]
        assert all(r["status"] == "not trusted" for r in e["forecasters"])
        assert "none can be relied on" in e["summary"]


# --- counterfactuals: each claim can fail -------------------------------------------------------------------------


def test_counterfactual_route_fed_the_wrong_sizes_per_token_probability_is_not_trusted() -> None:
    """The route's trust rests on the per-token probability rising smoothly with size: the same outputs with each
    size given another size's per-token probability (sizes reversed) lose it."""
    frame = math_generations(SIZES[:-1])
    by_size = frame.groupby("params")["token_probability"].first()
    swapped = dict(zip(by_size.index, by_size.to_numpy()[::-1]))
    frame["token_probability"] = frame["params"].map(swapped)
    e = entry(cf.check_and_forecast(frame, float(SIZES[-1])), "exact_match")
    assert row(e, "per-token route (token probability)")["status"] == "not trusted"


def test_counterfactual_a_smooth_metric_makes_the_direct_line_trusted() -> None:
    """The direct line fails on the math model because exact match bends; on a family whose exact match rises as a
    straight line in log size the same rule trusts it (so 'not trusted' is a finding, not a constant)."""

    def line(size: float) -> float:  # p**5 a straight line in log10 size
        return float((0.1 + 0.08 * (np.log10(size) - 7)) ** (1 / LENGTH))

    e = entry(cf.check_and_forecast(math_generations(SIZES[:-1], p_of=line, n=600), 1e12), "exact_match")
    assert row(e, "direct linear")["status"] == "trusted", row(e, "direct linear")


def test_counterfactual_a_looser_rule_would_trust_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no limit on the farthest forecasts and a lax median limit the step's direct sigmoid passes: the default
    rule is what refuses it."""
    monkeypatch.setattr(cf, "MAX_MEDIAN_SCALED_ERROR", 1.0)
    monkeypatch.setattr(cf, "MAX_FARTHEST_SCALED_ERROR", 10.0)
    monkeypatch.setattr(cf, "MIN_COVERAGE", 0.0)
    result = cf.check_and_forecast(step_generations(n=100), 1e11)
    assert any(e["trusted"] for e in result["forecast"]["metrics"])


# --- few sizes, interpolation, failures ----------------------------------------------------------------------------


def test_three_sizes_cannot_backtest_but_still_forecast_untrusted() -> None:
    result = cf.check_and_forecast(math_generations(SIZES[[4, 6, 8]], n=60), 1e13)
    e = entry(result, "exact_match")
    assert e["backtest"].startswith("cannot backtest: need at least 4 sizes")
    assert not e["trusted"] and all(
        r["status"] == "not trusted" and r["forecast"] is not None for r in e["forecasters"]
    )
    assert any("cannot backtest: need at least 4 sizes" in line for line in result["summary"])


def test_two_sizes_say_so_without_a_traceback() -> None:
    result = cf.check_and_forecast(math_generations(SIZES[[4, 8]], n=30), 1e13)
    e = entry(result, "exact_match")
    assert all(r["status"] == "failed" for r in e["forecasters"])
    assert "no forecaster could be fitted" in e["summary"]


def test_a_size_inside_the_family_is_an_interpolation_and_says_so() -> None:
    result = cf.check_and_forecast(math_generations(SIZES[:-1], n=60), 1e9)
    section = result["forecast"]
    assert section["interpolation"] and "interpolation" in section["where"]
    assert "interpolation" in result["summary"][-len(section["metrics"]) - 1 - len(section["notes"])]


def test_far_beyond_the_backtest_reach_is_noted() -> None:
    section = cf.check_and_forecast(math_generations(SIZES[:-1], n=60), 1e16)["forecast"]
    assert any("further than any backtest reached" in n for n in section["notes"])


def test_a_failing_forecaster_is_marked_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, train: pd.DataFrame) -> fc.Fitted:
        raise RuntimeError("boom")

    monkeypatch.setattr(fc.DirectSigmoid, "fit", broken)
    e = entry(cf.check_and_forecast(math_generations(SIZES[:-1], n=60), 1e12), "exact_match")
    failed = row(e, "direct sigmoid")
    assert failed["status"] == "failed" and "boom" in failed["error"]
    assert row(e, "per-token route (token probability)")["status"] == "trusted"


def test_a_flat_curve_is_forecast_flat_but_not_trusted() -> None:
    """Every answer wrong at every size: each forecaster backtests without error, yet a flat record cannot tell a
    flat future from a jump still to come, so nothing is trusted."""
    frame = math_generations(SIZES[:-1], n=60, p_of=lambda s: 0.0)
    e = entry(cf.check_and_forecast(frame, 1e13), "exact_match")
    line = row(e, "direct linear")
    assert line["median abs error"] == 0 and line["forecast"] == pytest.approx(0.0)
    assert not e["trusted"] and "cannot be told from a missed jump" in line["why not trusted"]


def test_forecast_outside_the_possible_range_is_not_trusted() -> None:
    e = entry(cf.check_and_forecast(math_generations(SIZES[:-1], n=60), 1e16), "exact_match")
    line = row(e, "direct linear")
    assert line["forecast"] > 1 and not line["trusted"] and "possible range" in line["why not trusted"]


@pytest.mark.parametrize(
    ("text", "value"), [("1e9", 1e9), ("1.4b", 1.4e9), ("70B", 7e10), (" 2.5e3m ", 2.5e9), ("336k", 3.36e5)]
)
def test_parse_size(text: str, value: float) -> None:
    assert cf.parse_size(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "1.4q", "-5", "0", "nan", "inf", "b", "1e999", "1..2"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        cf.parse_size(text)


# --- other layouts ----------------------------------------------------------------------------------------------


def test_multiple_choice_forecasts_the_grade_directly_and_through_p_correct() -> None:
    gen = np.random.default_rng(1)
    rows = []
    for size in SIZES:
        margin = 3.0 * (size / 1e7) ** 0.25 - 3.0  # the correct option's log-odds grows smoothly with size
        for i in range(200):
            lp = gen.normal(-3.0, 1.0, 4)
            lp[0] = -3.0 + margin + gen.normal(0, 1.0)
            lp = lp - np.log(np.exp(lp).sum()) - 0.5
            rows.append({"model": f"m{size:.0e}", "params": size, "example_id": i,
                         "option_logprobs": json.dumps(lp.tolist()), "correct_option": 0})  # fmt: skip
    result = cf.check_and_forecast(pd.DataFrame(rows), 1e13)
    grade = entry(result, "multiple_choice_grade")
    names = {r["forecaster"] for r in grade["forecasters"]}
    assert names == {
        "direct linear",
        "direct sigmoid",
        "log p(correct) as the loss axis",
        "renormalised log p(correct) as the loss axis",
    }
    assert grade["chance"] == pytest.approx(0.25)
    assert entry(result, "brier_score")["higher is better"] is False


def test_aggregates_with_seeds_forecast_each_metric_and_accuracy_through_perplexity() -> None:
    gen = np.random.default_rng(2)
    rows = []
    for seed in (0, 1, 2):
        for size in SIZES:
            ce = (size / 1e6) ** -0.15 * np.exp(gen.normal(0, 0.01))
            key = {"model": f"m{size:.0e}", "params": size, "seed": seed, "n": 1000}
            acc = 1 / (1 + np.exp(12 * (ce - 0.3)))  # a sigmoid of the cross-entropy, as the loss axis assumes
            rows += [{**key, "metric": "acc", "value": acc}, {**key, "metric": "ppl", "value": np.exp(ce)}]
    result = cf.check_and_forecast(pd.DataFrame(rows), 1e13)
    acc, ppl = entry(result, "acc"), entry(result, "ppl")
    assert {r["forecaster"] for r in acc["forecasters"]} == {
        "direct linear",
        "direct sigmoid",
        "log ppl as the loss axis",
    }
    assert acc["replicates"].startswith("3 replicates") and "seed t interval" in acc["forecasters"][0]["interval"]
    assert ppl["scale"] == "log" and ppl["higher is better"] is False
    assert row(ppl, "power law in log-perplexity")["status"] == "trusted"
    assert row(acc, "log ppl as the loss axis")["status"] == "trusted"


ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "third_party" / "pythia" / "evals.tar.xz"
PYTHIA = ("70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b")


@pytest.fixture(scope="module")
def pythia_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Final-checkpoint zero-shot results of both Pythia runs, every size, LAMBADA and PIQA only."""
    if not ARCHIVE.is_file():
        pytest.skip("the vendored Pythia archive is absent")
    root = tmp_path_factory.mktemp("pythia-forecast")
    wanted = {}
    for size in PYTHIA:
        for deduped in (False, True):
            folder = "pythia-1b-bf16" if size == "1b" and not deduped else f"pythia-{size}" + ("-deduped" * deduped)
            wanted[f"evals/pythia-v1/{folder}/zero-shot/{folder.removeprefix('pythia-')}_step143000.json"] = folder
    with tarfile.open(ARCHIVE) as tar:
        for member in tar:
            if member.name in wanted:
                doc = json.load(tar.extractfile(member))  # type: ignore[arg-type]
                doc["results"] = {t: v for t, v in doc["results"].items() if t in ("lambada_openai", "piqa")}
                target = root / wanted.pop(member.name)
                target.mkdir()
                (target / Path(member.name).name).write_text(json.dumps(doc))
    assert not wanted
    return root


def test_lm_eval_results_forecast_each_task_with_runs_as_replicates(pythia_dir: Path) -> None:
    read = lmeval.read_results(pythia_dir)
    result = cf.check_and_forecast(read.frame, 7e10)
    section = result["forecast"]
    assert {(e["task"], e["metric"]) for e in section["metrics"]} >= {
        ("lambada_openai", "acc"),
        ("lambada_openai", "ppl"),
        ("piqa", "acc"),
    }
    lam = entry(result, "acc", "lambada_openai")
    assert lam["sizes"] == 8 and lam["replicates"] == "2 replicates (runs)" and lam["chance"] is None
    assert "run t interval (2 runs, 95%)" in lam["forecasters"][0]["interval"]
    assert "log ppl as the loss axis" in {r["forecaster"] for r in lam["forecasters"]}
    assert entry(result, "acc", "piqa")["chance"] == 0.5
    assert len(section["metrics"][0]["forecasters"][0]["cutoffs"]) == 5  # 410m to 6.9b
    assert any(line.startswith("Forecast, lambada_openai: acc at 7e+10") for line in result["summary"])
    # A rate's interval never reaches past its possible range, even where a fit's spread would (PIQA's line at 70b).
    for e in section["metrics"]:
        if e["metric"] == "acc":
            for r in e["forecasters"]:
                assert r.get("lower") is None or 0.0 <= r["lower"] <= r["upper"] <= 1.0, (e["task"], r["forecaster"])


# --- the command line, in process ---------------------------------------------------------------------------------


def test_cli_writes_the_forecast_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "family.csv"
    math_generations(SIZES[:-1], n=60).to_csv(table, index=False)
    out = tmp_path / "report"
    assert main(["check", str(table), "--forecast-to", "1e12", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Forecast at params = 1e+12" in printed and "Forecast, exact match at 1e+12" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["forecast"]["size"] == 1e12 and len(report["forecast"]["metrics"]) == 3
    assert "Forecast at params = 1e+12" in (out / "report.html").read_text()


@pytest.mark.parametrize("value", ["1.4q", "-1e9", "zero"])
def test_cli_malformed_forecast_to_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    table = tmp_path / "family.csv"
    math_generations(SIZES[:5], n=10).to_csv(table, index=False)
    assert main(["check", str(table), f"--forecast-to={value}", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a size" in err and "1.4b" in err
    assert not (tmp_path / "r").exists()


def test_cli_without_forecast_to_has_no_section(tmp_path: Path) -> None:
    table = tmp_path / "family.csv"
    math_generations(SIZES[:5], n=10).to_csv(table, index=False)
    assert main(["check", str(table), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert "forecast" not in json.loads((tmp_path / "r" / "report.json").read_text())


def test_reader_text_with_dollars_is_drawn_as_written() -> None:
    """Task and metric names are the reader's text, never mathtext: an unpaired '$' must not break the figure."""
    rows = [
        {"model": f"m{s:.0e}", "params": s, "task": "$x$ task", "metric": m, "value": v, "n": 100}
        for s in SIZES
        for m, v in (("acc", 0.2 + 0.05 * np.log10(s / 1e7)), ("score$\\nope$", np.log10(s)))
    ]
    result = cf.check_and_forecast(pd.DataFrame(rows), 1e13)
    page = to_html(result, "odd$name.csv")
    assert page.count('alt="$x$ task: acc: observed points') == 1 and "score$\\nope$" in page
