"""Converters from evaluation harnesses' outputs to the ``check`` input: lm-evaluation-harness samples, BIG-bench."""

import gzip
import json
from pathlib import Path

import pytest

from mirage_utils import bigbench
from mirage_utils.checking import SchemaError, check, validate
from mirage_utils.checking.harness import from_bigbench, from_lm_eval

FIXTURE = Path(__file__).parent / "fixtures" / "bigbench"


def _write(path: Path, rows: list[dict], gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def _generation(doc_id: int, target: str, answer: str, context: str = "Q: 2+2? A:") -> dict:
    return {
        "doc_id": doc_id,
        "doc": {"question": "..."},
        "target": target,
        "arguments": [[context, {"until": ["\n"]}]],
        "resps": [[f" {answer}\n"]],
        "filtered_resps": [answer],
        "filter": "none",
        "exact_match": float(answer == target),
    }


def test_generation_samples_become_the_generations_layout(tmp_path):
    small = _write(tmp_path / "small.jsonl", [_generation(i, str(10 + i), "7") for i in range(5)])
    big = _write(tmp_path / "big.jsonl.gz", [_generation(i, str(10 + i), str(10 + i)) for i in range(5)], gz=True)
    frame = from_lm_eval({"s": small, "b": big}, {"s": 1e6, "b": 1e9})
    assert list(frame.columns) == ["model", "params", "example_id", "target", "output", "prompt"]
    assert validate(frame).layout == "generations"
    by_model = frame.assign(em=frame["target"] == frame["output"]).groupby("model")["em"].mean()
    assert by_model["b"] == 1.0 and by_model["s"] == 0.0


def test_answers_printed_in_the_prompt_are_excluded(tmp_path):
    rows = [
        _generation(0, "12", "12", context="3*4 = 12\nQ: 2*6? A:"),
        _generation(1, "28", "28", "41*70 = 2870\nQ:"),
        _generation(2, "True", "True", "Is 2 even? True\nIs 4 even?"),  # words in a prompt are not copies
    ]
    path = _write(tmp_path / "m.jsonl", rows)
    frame = from_lm_eval({"m": path, "m2": path}, {"m": 1e6, "m2": 1e7})  # validation needs two models
    v = validate(frame)
    assert v.excluded == {"answer printed in the prompt (a copy would score)": 2}  # "28" is not a word in "2870"
    assert list(v.frame["target"]) == ["28", "True"] * 2


def test_multiple_choice_samples_become_option_logprobs(tmp_path):
    def mc(doc_id, lps, gold):
        return {"doc_id": doc_id, "target": gold, "filtered_resps": [[lp, False] for lp in lps], "acc": 0.0}

    paths = {
        f"m{k}": _write(tmp_path / f"m{k}.jsonl", [mc(i, [-1.0, -1.0 - k, -2.0], i % 3) for i in range(6)])
        for k in range(3)
    }
    frame = from_lm_eval(paths, {"m0": 1e6, "m1": 1e7, "m2": 1e8})
    assert validate(frame).layout == "multiple_choice"
    assert frame.loc[0, "option_logprobs"] == [-1.0, -1.0, -2.0] and frame.loc[0, "correct_option"] == 0
    result = check(frame)
    assert result["layout"] == "multiple_choice" and len(result["models"]) == 3


def test_several_filters_need_a_choice(tmp_path):
    rows = [_generation(0, "4", "4") | {"filter": "strict-match"}, _generation(0, "4", "5") | {"filter": "flexible"}]
    path = _write(tmp_path / "m.jsonl", rows)
    with pytest.raises(SchemaError, match="several filters"):
        from_lm_eval({"m": path}, {"m": 1e6})
    frame = from_lm_eval({"m": path}, {"m": 1e6}, filter_name="flexible")
    assert list(frame["output"]) == ["5"]
    with pytest.raises(SchemaError, match="filters present"):
        from_lm_eval({"m": path}, {"m": 1e6}, filter_name="other")


def test_lm_eval_errors_name_the_file_and_sample(tmp_path):
    bad = _write(tmp_path / "bad.jsonl", [{"doc_id": 0, "target": "1"}])
    with pytest.raises(SchemaError, match=r"bad.jsonl, sample 0: no 'filtered_resps'"):
        from_lm_eval({"m": bad}, {"m": 1e6})
    with pytest.raises(ValueError, match="no parameter count"):
        from_lm_eval({"m": bad}, {})
    with pytest.raises(SchemaError, match="no such file"):
        from_lm_eval({"m": tmp_path / "absent.jsonl"}, {"m": 1e6})
    mc_text_target = _write(tmp_path / "t.jsonl", [{"doc_id": 0, "target": "Paris", "filtered_resps": [[-1.0, True]]}])
    with pytest.raises(SchemaError, match="gold option's index"):
        from_lm_eval({"m": mc_text_target}, {"m": 1e6})


def test_bigbench_results_become_the_aggregates_layout():
    results = bigbench.load_results_dir(FIXTURE)
    frame = from_bigbench(results, "toy_task", n_examples=100)
    assert validate(frame).layout == "aggregates"
    assert sorted(set(frame["model"])) == ["125m", "2m", "8b"]  # one family: the sparse model is left out
    assert len(frame) == 6  # two metrics per model
    assert set(frame["metric"]) == {"multiple_choice_grade", "calibration_multiple_choice_brier_score"}
    result = check(frame)
    assert result["diagnosis"]["discrete"] == "multiple_choice_grade"
    with pytest.raises(ValueError, match="no BIG-bench results"):
        from_bigbench(results, "toy_task", n_examples=100, shots=5)
    with pytest.raises(ValueError, match="n_examples"):
        from_bigbench(results, "toy_task", n_examples=0)


def test_newer_lm_eval_strings_and_seeded_runs(tmp_path):
    # lm-eval >= 0.4.3 logs loglikelihood responses as strings and arguments as a dict
    def mc(doc_id, lps, gold):
        return {
            "doc_id": doc_id,
            "target": gold,
            "arguments": {"gen_args_0": {"arg_0": "Q?", "arg_1": " a"}},
            "filtered_resps": [[str(lp), "False"] for lp in lps],
        }

    paths = {
        (f"m{k}", seed): _write(
            tmp_path / f"m{k}_{seed}.jsonl", [mc(i, [-1.0, -1.0 - k - seed, -2.0], 0) for i in range(4)]
        )
        for k in range(3)
        for seed in (0, 1)
    }
    frame = from_lm_eval(paths, {"m0": 1e6, "m1": 1e7, "m2": 1e8})
    assert frame.loc[0, "option_logprobs"] == [-1.0, -1.0, -2.0]
    assert sorted(frame["seed"].unique()) == [0, 1] and check(frame)["uncertainty"].startswith("seeds")
    with pytest.raises(ValueError, match="every run as"):
        from_lm_eval({("m0", 0): paths[("m0", 0)], "m1": paths[("m1", 0)]}, {"m0": 1e6, "m1": 1e7})
