"""The legacy arithmetic modules (tasks.arithmetic, training.arithmetic, evaluation) that serve the legacy family's
artifacts to chapters 2, 3, 6 and 7 until the rebuilt family (mirage_utils.arithmetic) replaces them."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mirage_utils import evaluation
from mirage_utils.seeding import rng
from mirage_utils.tasks import arithmetic as ar
from mirage_utils.training import arithmetic as tr


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


def test_legacy_pipeline_and_checkpoint_evaluation_smoke(tmp_path):
    cfg = tr.FamilyConfig.from_dict(json.loads(open("configs/arithmetic_legacy_smoke.json").read()))
    tr.run_family(cfg, tmp_path / "art", "cpu", tmp_path / "ckpt", progress=False)
    table = tr.evaluate_checkpoints(cfg, tmp_path / "ckpt", n_per_task=5, progress=False)
    assert set(table["task"]) == set(ar.REDEFINITIONS)
    assert table.groupby("model")["step"].nunique().min() >= 2
    assert table["prior_match"].between(0, 1).all()
    with pytest.raises(FileNotFoundError):
        tr.evaluate_checkpoints(cfg, tmp_path / "nowhere", progress=False)


def test_legacy_artifacts_load():
    art = tr.load_artifacts("configs/arithmetic_legacy.json")
    assert set(art) >= {"models", "metrics", "outputs", "pass_until"} and len(art["models"]) == 7
