"""Arithmetic tasks, the GPT model, and the training/evaluation pipeline (smoke config end to end)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mirage_utils import evaluation
from mirage_utils.__main__ import main as cli
from mirage_utils.models.gpt import GPT, GPTConfig, generate
from mirage_utils.seeding import rng
from mirage_utils.tasks import arithmetic as ar
from mirage_utils.training import arithmetic as tr


def test_encode_decode_roundtrip_and_rejects_unknown_characters():
    text = "^12*34=408\n"
    assert ar.decode(ar.encode(text)) == text
    with pytest.raises(ValueError, match="not in the arithmetic vocabulary"):
        ar.encode("12 x 3")


@pytest.mark.parametrize("name", sorted(ar.TASKS))
def test_train_and_test_pairs_never_overlap(name):
    task = ar.get_task(name)
    gen = rng(0)
    a_tr, b_tr = ar.sample_pairs(task, 5000, gen, "train", 7, 0.5)
    a_te, b_te = ar.all_test_pairs(task, 7, 0.5, 5000, gen)
    assert not set(zip(a_tr.tolist(), b_tr.tolist())) & set(zip(a_te.tolist(), b_te.tolist()))
    assert ar.is_test_pair(a_te, b_te, 7, 0.5).all() and not ar.is_test_pair(a_tr, b_tr, 7, 0.5).any()
    assert a_te.min() >= task.low and a_te.max() <= task.high


def test_split_fraction_and_determinism():
    grid = np.arange(100)
    a, b = np.repeat(grid, 100), np.tile(grid, 100)
    frac = ar.is_test_pair(a, b, 1, 0.3).mean()
    assert 0.27 < frac < 0.33
    assert np.array_equal(ar.is_test_pair(a, b, 1, 0.3), ar.is_test_pair(a, b, 1, 0.3))
    assert not np.array_equal(ar.is_test_pair(a, b, 1, 0.3), ar.is_test_pair(a, b, 2, 0.3))


def test_prompt_format_and_answer_mask():
    task = ar.get_task("multiplication")
    p = ar.prompts(task, np.array([13]), np.array([87]), np.array([[12, 57]]), np.array([[34, 21]]))
    assert p == ["^12*34=408\n57*21=1197\n13*87="]
    ids = ar.pack(["^1*2=2\n3*4=12\n"])
    mask = ar.answer_mask(ids)
    # positions whose next token is an answer digit or the EOS after it: '=' -> '2', '2' -> '\n', ...
    assert ar.decode(ids[0, 1:][mask[0, :-1]]) == "2\n12\n"


def test_model_is_causal_and_counts_parameters():
    torch.manual_seed(0)
    model = GPT(GPTConfig(16, 32, 2, 32, 4)).eval()
    x = torch.randint(0, 16, (2, 10))
    y = x.clone()
    y[:, 6:] = (y[:, 6:] + 1) % 16
    assert torch.allclose(model(x)[:, :6], model(y)[:, :6], atol=1e-6)  # the future cannot leak into the past
    d, layers = 32, 2  # per block: 12 d^2 weights + 9 d biases + 4 d LayerNorm; plus the final LayerNorm
    assert model.n_params() == layers * (12 * d * d + 13 * d) + 2 * d
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(16, 32, 1, 30, 4)


def test_cached_generation_equals_full_recomputation():
    torch.manual_seed(1)
    model = GPT(GPTConfig(16, 40, 2, 32, 2)).eval()
    prompt = torch.randint(0, 16, (3, 12))
    fast = generate(model, prompt, 5, stop_id=99)
    seq = prompt
    for _ in range(5):
        seq = torch.cat([seq, model(seq)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(fast, seq[:, 12:])
    sampled = generate(model, prompt, 5, stop_id=99, temperature=1.0, n_samples=4, generator=torch.Generator().manual_seed(0))
    assert sampled.shape == (12, 5)


def test_lr_schedule_and_checkpoint_steps():
    assert tr.lr_at(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert tr.lr_at(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert tr.lr_at(100, 100, 1.0, 10) == pytest.approx(0.1)
    steps = tr.checkpoint_steps(1000, 5)
    assert steps[0] == 1 and steps[-1] == 1000 and steps == sorted(set(steps))


def test_pass_until_estimate_math():
    per = pd.DataFrame({"g": ["x"] * 3, "samples": [4, 10, 6], "solved": [True, False, True]})
    est = evaluation.pass_until_estimate(per, ["g"])
    assert est["pass_rate"].iloc[0] == pytest.approx(2 / 20)
    assert est["pass_low"].iloc[0] < 0.1 < est["pass_high"].iloc[0]


def test_score_outputs_on_a_reader_file():
    df = pd.read_csv("tests/fixtures/other_family_outputs.csv", dtype={"target": str, "output": str})
    scored = evaluation.score_outputs(df)
    assert scored["exact_match"].tolist() == (scored["target"] == scored["output"]).tolist()
    summary = evaluation.summarise_outputs(scored)
    assert set(summary.columns) >= {"model", "params", "target_length", "n", "exact_match", "ted", "em_low", "em_high"}
    with pytest.raises(ValueError, match="lacks columns"):
        evaluation.score_outputs(df.drop(columns=["params"]))


def test_smoke_config_end_to_end(tmp_path):
    """`python -m mirage_utils arithmetic run --smoke` writes every artifact with the documented schema."""
    assert cli(["arithmetic", "run", "--smoke", "--out", str(tmp_path), "--quiet", "--no-checkpoints"]) == 0
    for name in tr.ARTIFACT_FILES:
        assert (tmp_path / name).exists(), name
    cfg = json.loads((tmp_path / "config.json").read_text())
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert set(metrics.columns) >= {"model", "task", "target_length", "n", "exact_match", "em_low", "em_high", "ted",
                                    "token_prob", "cross_entropy"}
    assert set(metrics["model"]) == {m["name"] for m in cfg["models"]}
    assert metrics["token_prob"].between(0, 1).all() and (metrics["cross_entropy"] > 0).all()
    outputs = pd.read_parquet(tmp_path / "outputs.parquet")
    assert set(outputs.columns) >= {"model", "task", "a", "b", "target", "output", "exact_match", "ted", "token_prob"}
    models = pd.read_csv(tmp_path / "models.csv")
    assert (models["tokens_per_second"] > 0).all() and models["n_params"].is_monotonic_increasing
    # same seed, same tables
    again = tmp_path / "again"
    assert cli(["arithmetic", "run", "--smoke", "--out", str(again), "--quiet", "--no-checkpoints"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again / "metrics.csv"), metrics)
    # saved fp16 weights reload and re-evaluate
    assert cli(["arithmetic", "evaluate", "--smoke", "--out", str(again), "--quiet"]) == 0


@pytest.mark.parametrize("name", sorted(ar.REDEFINITIONS))
def test_redefined_tasks(name):
    d = ar.redefined_test_set(name, 50, rng(0), 7, 0.5)
    meaning = ar.REDEFINITIONS[name][1]
    a, b = d["a"], d["b"]
    expected = {"+": a + b, "-": a - b, "*": a * b}[meaning]
    assert d["target"] == [str(v) for v in expected]
    assert all(int(t) >= 0 for t in d["target"])
    assert ar.is_test_pair(a, b, 7, 0.5).all() or meaning == "-"  # subtraction swaps operands so that a >= b
    for prompt in d["prompt"]:
        shots = prompt[1:].split(ar.EOS)[:2]
        for shot in shots:
            lhs, answer = shot.split("=")
            x, y = (int(v) for v in lhs.replace("*", "+").split("+"))
            assert int(answer) == {"+": x + y, "-": x - y, "*": x * y}[meaning]


def test_params_tokens_regression_recovers_an_interaction():
    from mirage_utils import scaling

    gen = rng(1)
    params, tokens = np.meshgrid(np.logspace(3, 6, 5), np.logspace(4, 7, 6))
    lp, lt = np.log10(params.ravel()), np.log10(tokens.ravel())
    y = 0.1 * lp + 0.2 * lt - 0.05 * lp * lt + gen.normal(0, 0.01, lp.size)
    fit = scaling.params_tokens_regression(pd.DataFrame({"n_params": params.ravel(), "tokens": tokens.ravel(), "y": y}), "y")
    assert fit.loc["log_params:log_tokens", "coef"] == pytest.approx(-0.05, abs=0.01)
    assert fit.loc["log_params:log_tokens", "p"] < 1e-6
    with pytest.raises(ValueError, match="columns"):
        scaling.params_tokens_regression(pd.DataFrame({"y": y}), "y")


def test_checkpoint_evaluation_smoke(tmp_path):
    cfg = tr.FamilyConfig.from_dict(json.loads(open("configs/arithmetic_smoke.json").read()))
    tr.run_family(cfg, tmp_path / "art", "cpu", tmp_path / "ckpt", progress=False)
    table = tr.evaluate_checkpoints(cfg, tmp_path / "ckpt", n_per_task=5, progress=False)
    assert set(table["task"]) == set(ar.REDEFINITIONS)
    assert table.groupby("model")["step"].nunique().min() >= 2
    assert table["prior_match"].between(0, 1).all()
    with pytest.raises(FileNotFoundError):
        tr.evaluate_checkpoints(cfg, tmp_path / "nowhere", progress=False)
