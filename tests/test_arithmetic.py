"""The arithmetic subpackage: tasks and split, the GPT, the recipe, scoring, shards and merge (smoke config)."""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils import metrics
from mirage_utils.__main__ import main as cli
from mirage_utils.arithmetic import evaluate as ev
from mirage_utils.arithmetic import rescore, shards
from mirage_utils.arithmetic import task as ar
from mirage_utils.arithmetic import train as tr
from mirage_utils.arithmetic.model import GPT, GPTConfig, generate, line_positions
from mirage_utils.seeding import rng


def test_encode_decode_roundtrip_and_rejects_unknown_characters():
    text = "^12*34=804\n"
    assert ar.decode(ar.encode(text)) == text
    with pytest.raises(ValueError, match="not in the arithmetic vocabulary"):
        ar.encode("12 x 3")
    with pytest.raises(ValueError, match="not in the arithmetic vocabulary"):
        ar.pack(["1-2"])


@pytest.mark.parametrize("name", sorted(ar.TASKS))
def test_train_and_test_pairs_never_overlap_even_commuted(name):
    task = ar.get_task(name)
    gen = rng(0)
    a_tr, b_tr = ar.sample_pairs(task, 5000, gen, "train", 7, 0.5)
    a_te, b_te = ar.split_pairs(task, "test", 7, 0.5, 5000, gen)
    unordered = lambda a, b: set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()))
    assert not unordered(a_tr, b_tr) & unordered(a_te, b_te)
    assert ar.is_test_pair(a_te, b_te, 7, 0.5).all() and not ar.is_test_pair(a_tr, b_tr, 7, 0.5).any()
    assert a_te.min() >= task.low and a_te.max() <= task.high


def test_split_is_on_the_unordered_pair_and_has_the_asked_fraction():
    grid = np.arange(100)
    a, b = np.repeat(grid, 100), np.tile(grid, 100)
    assert np.array_equal(ar.is_test_pair(a, b, 1, 0.3), ar.is_test_pair(b, a, 1, 0.3))
    assert 0.27 < ar.is_test_pair(a, b, 1, 0.3).mean() < 0.33
    assert not np.array_equal(ar.is_test_pair(a, b, 1, 0.3), ar.is_test_pair(a, b, 2, 0.3))
    with pytest.raises(ValueError, match="strictly between"):
        ar.is_test_pair(a, b, 1, 1.0)


def test_paper_task_uses_two_digit_operands():
    task = ar.get_task("multiplication_2digit")
    a, b = ar.split_pairs(task, "test", 12345, 0.5, None, rng(0))
    assert a.min() >= 10 and b.min() >= 10 and a.max() <= 99
    assert set(len(str(v)) for v in task.answer(a, b)) == {3, 4}


def test_mixed_length_operands_cover_every_length():
    a, b = ar.sample_pairs(ar.get_task("addition_1to4digit"), 4000, rng(0), "train", 1, 0.5)
    counts = np.bincount([len(str(v)) for v in a])[1:]
    assert len(counts) == 4 and counts.min() > 800


@given(st.integers(0, 10**6), st.integers(0, 10**6))
@settings(max_examples=50, deadline=None)
def test_reversal_leaves_exact_match_and_edit_distance_unchanged(x, y):
    t, o = str(x), str(y)
    assert (ar.written(t, True) == ar.written(o, True)) == (t == o)
    rev = metrics.token_edit_distances([ar.written(t, True)], [ar.written(o, True)])[0]
    assert rev == metrics.token_edit_distances([t], [o])[0]
    assert ar.written(ar.written(t, True), True) == t


def test_prompt_format_answer_mask_and_reversed_answers():
    p = ar.few_shot_prompts("*", "*", np.array([13]), np.array([87]), np.array([[12, 57]]), np.array([[34, 21]]), True)
    assert p == ["^12*34=804\n57*21=7911\n13*87="]
    p = ar.few_shot_prompts(
        "*",
        "*",
        np.array([13]),
        np.array([87]),
        np.array([[12, 57]]),
        np.array([[34, 21]]),
        True,
        reverse_operands=True,
    )
    assert p == ["^21*43=804\n75*12=7911\n31*78="]
    p = ar.few_shot_prompts("*", "*", np.array([13]), np.array([87]), np.array([[12, 57]]), np.array([[34, 21]]), False)
    assert p == ["^12*34=408\n57*21=1197\n13*87="]
    ids = ar.pack(["^1*2=2\n3*4=21\n"])
    mask = ar.answer_mask(ids)
    assert ar.decode(ids[0, 1:][mask[0, :-1]]) == "2\n21\n"


def test_chance_levels():
    assert ar.chance_exact_match(1) == pytest.approx(0.1)
    assert ar.chance_exact_match(np.array([2, 4]))[1] == pytest.approx(1 / 9000)
    with pytest.raises(ValueError):
        ar.chance_exact_match(0)


@settings(max_examples=60, deadline=None)
@given(st.integers(100, 99_999), st.integers(2, 10), st.integers(0, 2**31))
def test_near_miss_options_differ_only_in_the_middle_digits(answer, n_options, seed):
    answer = str(answer)
    n_options = min(n_options, 10 ** (len(answer) - 2))
    options, correct = ar.near_miss_options(answer, n_options, rng(seed))
    assert len(options) == len(set(options)) == n_options and options[correct] == answer
    for o in options:
        assert len(o) == len(answer) and o[0] == answer[0] and o[-1] == answer[-1]
    assert ar.near_miss_options(answer, n_options, rng(seed)) == (options, correct)  # seeded


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 99_999), st.integers(2, 10), st.integers(0, 2**31))
def test_units_digit_options_differ_only_in_the_last_digit(answer, n_options, seed):
    answer = str(answer)
    options, correct = ar.units_digit_options(answer, n_options, rng(seed))
    assert len(options) == len(set(options)) == n_options and options[correct] == answer
    assert all(len(o) == len(answer) and o[:-1] == answer[:-1] for o in options)
    assert ar.units_digit_options(answer, n_options, rng(seed)) == (options, correct)  # seeded
    for bad, k in [("4x", 3), ("42", 11), ("42", 1)]:
        with pytest.raises(ValueError):
            ar.units_digit_options(bad, k, rng(0))


def test_near_miss_options_reject_what_has_no_middle():
    for bad, k in [("42", 3), ("1x3", 3), ("123", 11), ("123", 1)]:
        with pytest.raises(ValueError):
            ar.near_miss_options(bad, k, rng(0))


def test_training_documents_and_redefinitions_are_right():
    docs = ar.training_documents(ar.get_task("multiplication_0_99"), 200, rng(3), 5, 0.5, True, ("+", "-"))
    for doc in docs:
        lines = doc[1:].strip("\n").split("\n")
        meanings = set()
        for line in lines:
            lhs, ans = line.split("=")
            x, y = map(int, lhs.split("*"))
            value = int(ar.written(ans, True))
            meanings |= {m for m in "+-" if value == ar.apply(m, np.array(x), np.array(y))}
        assert meanings  # one meaning explains every line of the document
    cfg = tr.FamilyConfig.load("configs/arithmetic_smoke.json")
    batches = tr.training_batches(cfg, 0)
    kinds = {("+" in ar.decode(b[0])) for b in batches}
    assert kinds == {True, False}


@pytest.mark.parametrize("name", sorted(ar.REDEFINITIONS))
def test_redefined_test_sets(name):
    d = ar.redefined_test_set(name, 50, rng(0), 7, 0.5, True)
    meaning = ar.REDEFINITIONS[name][1]
    assert d["target"] == [str(v) for v in ar.apply(meaning, d["a"], d["b"])]
    assert ar.is_test_pair(d["a"], d["b"], 7, 0.5).all()
    for prompt in d["prompt"]:
        for shot in prompt[1:].split(ar.EOS)[:2]:
            lhs, answer = shot.split("=")
            x, y = (int(v) for v in lhs.replace("*", "+").split("+"))
            assert int(ar.written(answer, True)) == ar.apply(meaning, np.array(x), np.array(y))


@pytest.mark.parametrize("rotary,breaks", [(False, ()), (False, (1, 2)), (True, ())])
def test_model_is_causal_and_cached_generation_matches(rotary, breaks):
    torch.manual_seed(1)
    model = GPT(GPTConfig(16, 40, 2, 32, 2, breaks, rotary)).eval()
    x = torch.randint(3, 16, (2, 10))
    y = x.clone()
    y[:, 6:] = (y[:, 6:] + 1) % 16
    assert torch.allclose(model(x)[:, :6], model(y)[:, :6], atol=1e-6)
    prompt = torch.randint(0, 16, (3, 12))
    fast = generate(model, prompt, 5, stop_id=99)
    seq = prompt
    for _ in range(5):
        seq = torch.cat([seq, model(seq)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(fast, seq[:, 12:])
    sampled = generate(
        model, prompt, 5, stop_id=99, temperature=1.0, n_samples=4, generator=torch.Generator().manual_seed(0)
    )
    assert sampled.shape == (12, 5)


def test_parameter_count_and_config_checks():
    d, layers = 32, 2
    for rotary in (False, True):
        model = GPT(GPTConfig(16, 32, layers, d, 4, rotary=rotary))
        assert model.n_params() == layers * (12 * d * d + 13 * d) + 2 * d
    cfg = tr.FamilyConfig.load("configs/arithmetic_smoke.json")
    assert tr.n_params(cfg.models[0], cfg) == tr.build_model(cfg.models[0], cfg, 0).n_params()
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(16, 32, 1, 30, 4)
    with pytest.raises(ValueError, match="even head"):
        GPTConfig(16, 32, 1, 12, 4, rotary=True)
    with pytest.raises(ValueError, match="mix"):
        tr.FamilyConfig("x", cfg.models, 100, 8, mix={"addition_4digit": 0.5})
    with pytest.raises(ValueError, match="positions"):
        tr.FamilyConfig("x", cfg.models, 100, 8, positions="sinusoidal")
    assert line_positions(torch.tensor([[1, 5, 6, 2, 7]]), (1, 2)).tolist() == [[0, 0, 1, 2, 0]]


def test_lr_schedule_and_checkpoint_steps():
    assert tr.lr_at(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert tr.lr_at(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert tr.lr_at(100, 100, 1.0, 10) == pytest.approx(0.1)
    steps = tr.checkpoint_steps(1000, 5)
    assert steps[0] == 1 and steps[-1] == 1000 and steps == sorted(set(steps))


def test_pass_until_estimate_math_and_chance():
    per = pd.DataFrame({"target_length": [3] * 3, "samples": [4, 10, 6], "solved": [True, False, True]})
    est = ev.pass_until_estimate(per, ["target_length"])
    assert est["pass_rate"].iloc[0] == pytest.approx(2 / 20)
    assert est["pass_low"].iloc[0] < 0.1 < est["pass_high"].iloc[0]
    assert est["chance"].iloc[0] == pytest.approx(1 / 900)


def test_rescore_reader_file_and_prompt_copies():
    df = pd.read_csv("tests/fixtures/other_family_outputs.csv", dtype={"target": str, "output": str})
    scored = rescore.score_outputs(df)
    assert scored["exact_match"].tolist() == (scored["target"] == scored["output"]).tolist()
    summary = rescore.summarise_outputs(scored)
    assert set(summary.columns) >= {"model", "params", "target_length", "n", "exact_match", "ted", "chance"}
    with pytest.raises(ValueError, match="lacks columns"):
        rescore.score_outputs(df.drop(columns=["params"]))
    bad = df.assign(params=df["params"].astype(object))
    bad.loc[2, "params"] = "big"
    with pytest.raises(ValueError, match="row 2"):
        rescore.score_outputs(bad)
    toy = pd.DataFrame({"model": "m", "params": 1.0, "target": ["2870", "408"], "output": ["2870", "2870"]})
    scored = rescore.score_outputs(toy, prompt="41 * 70 = 2870\n23 * 6 = 138\n")
    kept, report = rescore.exclude_prompt_answers(scored)
    assert kept["target"].tolist() == ["408"]
    assert report["correct answers dropped (all models)"] == 1
    assert report["kept outputs that copy a prompt number (all models)"] == 1


def test_resolved_above_chance_and_its_counterfactual():
    toy = pd.DataFrame({"model": "m", "params": 1.0, "target": ["123"] * 2000, "output": ["123"] * 20 + ["1"] * 1980})
    curves = rescore.summarise_outputs(rescore.score_outputs(toy))
    assert rescore.resolved_above_chance(curves).all()  # 1% against a chance level of 1/900
    at_chance = toy.assign(output=["123"] * 2 + ["1"] * 1998)  # 0.1%: a hit or two, as often as guessing
    assert not rescore.resolved_above_chance(rescore.summarise_outputs(rescore.score_outputs(at_chance))).any()
    with pytest.raises(ValueError, match="lack columns"):
        rescore.resolved_above_chance(curves.drop(columns="chance"))


def test_smoke_shards_merge_and_determinism(tmp_path, monkeypatch):
    """Shards fan out by (size, seed); merge refuses an incomplete set; same seed, same tables."""
    cfg = tr.FamilyConfig.load("configs/arithmetic_smoke.json")
    shard_dir = tmp_path / "shards"
    for spec in cfg.models:
        for seed in cfg.seeds:
            assert (
                cli(
                    [
                        "arithmetic",
                        "shard",
                        "--smoke",
                        "--model",
                        spec.name,
                        "--seed",
                        str(seed),
                        "--out",
                        str(shard_dir),
                        "--quiet",
                        "--no-checkpoints",
                    ]
                )
                == 0
            )
    assert cli(["arithmetic", "merge", "--smoke", "--shards", str(shard_dir), "--out", str(tmp_path / "art")]) == 0
    art = shards.load_artifacts("configs/arithmetic_smoke.json", tmp_path / "art")
    metrics_t = art["metrics"]
    assert set(metrics_t["split"]) == {"train", "test"}
    assert set(metrics_t["task"]) == set(ar.EVAL_TASKS)
    assert metrics_t.groupby(["model", "task", "split", "target_length"])["seed"].nunique().eq(2).all()
    assert metrics_t["token_prob"].between(0, 1).all() and (metrics_t["cross_entropy"] > 0).all()
    assert (metrics_t["chance"] > 0).all()
    ckpt = art["checkpoint_eval"]
    assert set(ckpt["task"]) == set(ar.REDEFINITIONS) and ckpt["step"].min() == 0
    assert ckpt.groupby(["model", "seed"])["step"].nunique().min() >= 3
    mc = art["multiple_choice"]
    assert mc.groupby(["model", "seed", "option_set", "task", "question"])["correct"].sum().eq(1).all()
    assert np.isneginf(mc.loc[mc["option"] == "banana", "log_prob"]).all()
    assert set(mc["option_set"]) == {"bigbench", "near_miss", "units_digit"}
    for own in ("near_miss", "units_digit"):
        near = mc[mc["option_set"] == own]
        assert near.groupby(["model", "seed", "task", "question"]).size().eq(cfg.near_miss_options).all()
    models = art["models"]
    assert len(models) == 4 and (models["tokens_per_second"] > 0).all()
    # every shard records where it ran (another CPU or BLAS gives another draw)
    assert models["platform_torch"].str.startswith("2.").all() and (models["platform_cpu"] != "unknown").all()
    # determinism: a shard rerun gives identical outputs
    again = tmp_path / "again"
    shards.run_shard(cfg, cfg.models[0].name, cfg.seeds[0], again, save_checkpoints=False, progress=False)
    name = shards.shard_name(cfg.models[0].name, cfg.seeds[0])
    pd.testing.assert_frame_equal(
        pd.read_parquet(again / name / "outputs.parquet"), pd.read_parquet(shard_dir / name / "outputs.parquet")
    )
    # the multiple-choice table can be recomputed from the saved weights, identically
    name1 = shards.shard_name(cfg.models[1].name, cfg.seeds[1])
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        shards.rescore_multiple_choice(cfg, cfg.models[1].name, cfg.seeds[1], shard_dir)  # --no-checkpoints
    monkeypatch.setattr(shards, "CHECKPOINT_ROOT", tmp_path / "ckpt")
    shards.run_shard(cfg, cfg.models[1].name, cfg.seeds[1], again, progress=False)
    before = pd.read_parquet(again / name1 / "multiple_choice.parquet")
    assert (
        cli(
            [
                "arithmetic",
                "rescore-mc",
                "--smoke",
                "--model",
                cfg.models[1].name,
                "--seed",
                str(cfg.seeds[1]),
                "--shards",
                str(again),
            ]
        )
        == 0
    )
    pd.testing.assert_frame_equal(pd.read_parquet(again / name1 / "multiple_choice.parquet"), before)
    # a shard scored before the near-miss options existed is named by merge
    old_mc = pd.read_parquet(shard_dir / name1 / "multiple_choice.parquet")
    old_mc[old_mc["option_set"] == "bigbench"].drop(columns="option_set").to_parquet(
        shard_dir / name1 / "multiple_choice.parquet"
    )
    with pytest.raises(FileNotFoundError, match="rescore-mc"):
        shards.merge(cfg, shard_dir, tmp_path / "art3")
    old_mc.to_parquet(shard_dir / name1 / "multiple_choice.parquet")
    # an incomplete set of shards is an error that names what is missing
    (shard_dir / name / "summary.json").unlink()
    with pytest.raises(FileNotFoundError, match=name):
        shards.merge(cfg, shard_dir, tmp_path / "art2")
    assert shards.missing_shards(cfg, shard_dir) == [name]
    shards.merge(cfg, shard_dir, tmp_path / "art2", partial=True)  # a look at a sweep in progress
    assert len(pd.read_csv(tmp_path / "art2" / "models.csv")) == 3
    with pytest.raises(ValueError, match="no model"):
        cfg.spec("nope")
    with pytest.raises(ValueError, match="seed"):
        shards.run_shard(cfg, cfg.models[0].name, 99, tmp_path)


def test_params_tokens_regression_recovers_an_interaction():
    from mirage_utils import scaling

    gen = rng(1)
    params, tokens = np.meshgrid(np.logspace(3, 6, 5), np.logspace(4, 7, 6))
    lp, lt = np.log10(params.ravel()), np.log10(tokens.ravel())
    y = 0.1 * lp + 0.2 * lt - 0.05 * lp * lt + gen.normal(0, 0.01, lp.size)
    fit = scaling.params_tokens_regression(
        pd.DataFrame({"n_params": params.ravel(), "tokens": tokens.ravel(), "y": y}), "y"
    )
    assert fit.loc["log_params:log_tokens", "coef"] == pytest.approx(-0.05, abs=0.01)
    with pytest.raises(ValueError, match="columns"):
        scaling.params_tokens_regression(pd.DataFrame({"y": y}), "y")


def test_how_to_run_slurm_array_covers_every_shard():
    import re
    from pathlib import Path

    cfg = tr.FamilyConfig.load("configs/arithmetic.json")
    text = (Path(__file__).parents[1] / "book" / "how_to_run.md").read_text()
    last = int(re.search(r"--array=0-(\d+)", text).group(1))
    assert last + 1 == len(cfg.models) * len(cfg.seeds)


def test_regen_check_on_the_smoke_config(tmp_path):
    """The regeneration check retrains its subset, compares it with the committed runs and swaps it in; on the same
    machine the retrained runs are bit-identical, so every difference is zero and no verdict changes."""
    runs = tmp_path / "runs"
    cfg = tr.FamilyConfig.load("configs/arithmetic_smoke.json")
    for spec in cfg.models:
        for seed in cfg.seeds:
            shards.run_shard(cfg, spec.name, seed, runs, save_checkpoints=False, progress=False)
    out = tmp_path / "regen"
    args = ["arithmetic", "regen-check", "--smoke", "--shards", str(runs), "--out", str(out), "--quiet"]
    assert cli(args) == 0
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["model"]) == {cfg.models[0].name} and set(table["seed"]) == set(cfg.seeds)
    assert table["identical"].all() and (table["difference"] == 0).all() and table["within"].all()
    assert not pd.read_csv(out / "verdicts.csv")["changed"].any()
    assert "2 of 2 reproduce the committed held-out outputs exactly" in (out / "report.md").read_text()
    assert pd.read_csv(out / "drift.csv")["first_step_apart"].isna().all()  # same machine: the logs never part
    swapped = shards.load_artifacts("configs/arithmetic_smoke.json", out / "family")
    assert len(swapped["models"]) == len(cfg.models) * len(cfg.seeds)


def test_regen_comparison_flags_a_run_outside_the_seed_spread(tmp_path):
    """Counterfactual: a retrained run whose outputs are all wrong is reported outside the family's variation."""
    from mirage_utils.arithmetic import regen

    runs = tmp_path / "runs"
    cfg = tr.FamilyConfig.load("configs/arithmetic_smoke.json")
    model = cfg.models[1].name
    for seed in cfg.seeds:
        shards.run_shard(cfg, model, seed, runs, save_checkpoints=False, progress=False)
    broken = tmp_path / "broken" / shards.shard_name(model, cfg.seeds[0])
    shutil.copytree(runs / shards.shard_name(model, cfg.seeds[0]), broken)
    outputs = pd.read_parquet(broken / "outputs.parquet")
    outputs["exact_match"], outputs["token_prob"] = False, 0.0
    outputs.to_parquet(broken / "outputs.parquet")
    table = regen.compare_runs(cfg, runs, broken.parent, ((model, cfg.seeds[0]),))
    prob = table[table["metric"] == "token_prob"]
    assert len(prob) and (prob["committed"] > 0.05).all() and not prob["within"].any()
    with pytest.raises(ValueError, match="seed 9"):
        regen.compare_runs(cfg, runs, broken.parent, ((model, 9),))
