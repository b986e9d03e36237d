"""Vision models (mirage_utils.vision.models), the outcome helpers (.outcomes), and the pipeline end to end
(.train, smoke config)."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils.__main__ import main as cli
from mirage_utils.metrics import subset_accuracy
from mirage_utils.seeding import rng
from mirage_utils.vision import outcomes
from mirage_utils.vision import train as tv
from mirage_utils.vision.models import LeNet, ShallowAutoencoder, n_params


def test_lenet5_has_the_classic_parameter_count():
    assert n_params(LeNet((6, 16, 120, 84))) == 61706
    assert LeNet((1, 1, 2, 2))(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    with pytest.raises(ValueError):
        LeNet((6, 16, 120))


def test_autoencoder_output_in_unit_interval():
    out = ShallowAutoencoder(3 * 32 * 32, 4)(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 3, 32, 32) and out.min() >= 0 and out.max() <= 1


def test_autoencoder_centres_inputs_and_starts_at_the_mean_image():
    mean = torch.full((3 * 32 * 32,), 0.3)
    model = ShallowAutoencoder(3 * 32 * 32, 4, mean=mean)
    torch.nn.init.zeros_(model.decode[0].weight)  # no code reaches the output: only the bias is left
    out = model(torch.rand(2, 3, 32, 32))
    torch.testing.assert_close(out, torch.full_like(out, 0.3))
    with pytest.raises(ValueError, match="mean has"):
        ShallowAutoencoder(12, 2, mean=torch.zeros(5))


def _subset_accuracy_via_metrics(correct, k, seed=0):
    """Cross-check of outcomes.subset_outcomes through metrics.subset_accuracy, on the same seeded permutation."""
    order = rng(seed).permutation(correct.shape[0])
    usable = (correct.shape[0] // k) * k
    return float(np.mean([subset_accuracy(correct[order[:usable], j], k) for j in range(correct.shape[1])]))


def _toy_predictions():
    label = np.array([0, 1, 2, 3, 4, 5], dtype=np.int8)
    return pd.DataFrame(
        {
            "label": label,
            "lenet-0_s0": [0, 1, 9, 9, 4, 5],
            "lenet-0_s1": label,
            "lenet-1_s0": label,
            "lenet-1_s1": label,
        }
    )


def test_correct_by_size_and_subset_outcomes():
    correct = outcomes.correct_by_size(_toy_predictions(), "lenet")
    assert correct[0].shape == (6, 2) and correct[0][:, 0].sum() == 4 and correct[1].all()
    out = outcomes.subset_outcomes(correct[0], 2, seed=0)
    assert out.shape == (6,) and set(out) <= {0.0, 1.0}
    # Same permutation and grouping as metrics.subset_accuracy.
    assert out.mean() == pytest.approx(_subset_accuracy_via_metrics(correct[0], 2, seed=0))
    assert outcomes.subset_outcomes(correct[1], 3).all()
    with pytest.raises(ValueError):
        outcomes.subset_outcomes(correct[0], 7)
    with pytest.raises(ValueError, match="no run columns"):
        outcomes.run_columns(_toy_predictions(), "sequence")


def _episodes():
    # two episodes of 4 queries; the first query of each has no earlier exemplar
    return pd.DataFrame(
        {
            "episode": [0] * 4 + [1] * 4,
            "position": [0, 1, 2, 3] * 2,
            "earlier": [0, 1, 1, 2, 0, 0, 1, 1],
            "label": [1, 2, 3, 4, 5, 6, 7, 8],
            "sequence-0_s0": [9, 2, 0, 4, 9, 9, 7, 8],
            "sequence-0_s1": [1, 2, 3, 4, 5, 6, 7, 0],
        }
    )


def test_episode_subset_outcomes_use_the_first_answerable_queries():
    out = outcomes.episode_subset_outcomes(_episodes(), 1)[0]
    assert out.tolist() == [[1.0, 1.0], [1.0, 1.0]]  # rows: episodes, columns: seeds; first queries skipped
    assert outcomes.episode_subset_outcomes(_episodes(), 2)[0].tolist() == [[0.0, 1.0], [1.0, 0.0]]
    with pytest.raises(ValueError, match="between 1 and 2"):
        outcomes.episode_subset_outcomes(_episodes(), 3)


def test_accuracy_by_context_and_the_rise_check_can_fail():
    acc = outcomes.accuracy_by_context(_episodes(), cap=2)
    assert list(acc.columns) == ["size_index", "seed", "0", "1", "2+", "context"]
    assert acc.loc[1, "context"] == pytest.approx(4 / 5)
    later_seeds = outcomes.accuracy_by_context(
        _episodes().rename(columns={"sequence-0_s0": "sequence-0_s3", "sequence-0_s1": "sequence-0_s7"}), cap=2
    )
    assert later_seeds["seed"].tolist() == [3, 7]  # the run's seed, not its position
    with pytest.raises(ValueError, match="one value per query"):
        outcomes.context_accuracy([True, False], [0])
    rising = pd.DataFrame(
        {"size_index": [0] * 3 + [1] * 3, "seed": [0, 1, 2] * 2, "1": [0.5, 0.52, 0.51, 0.21, 0.2, 0.19]}
    ).assign(**{"2": lambda d: d["1"] + [0.2, 0.21, 0.2, 0.0, 0.01, -0.01], "3+": lambda d: d["2"] + 0.05})
    verdict = outcomes.rises_with_context(rising, chance=0.2)
    assert verdict.tolist() == [True, False]  # a model that ignores its context (flat, at chance) fails
    flat_above_chance = rising.assign(**{"2": rising["1"], "3+": rising["1"]})
    assert not outcomes.rises_with_context(flat_above_chance, chance=0.2).any()
    with pytest.raises(ValueError):
        outcomes.rises_with_context(rising[["size_index", "seed", "1"]], chance=0.2)


def test_within_optimum_fails_an_undertrained_family():
    pca = np.array([0.03, 0.01, 0.004])
    assert outcomes.within_optimum(pca * [1.05, 0.98, 1.09], pca).all()
    assert outcomes.within_optimum(pca * [1.05, 1.5, 2.4], pca).tolist() == [True, False, False]
    with pytest.raises(ValueError):
        outcomes.within_optimum([1.0], [0.0])


def test_by_run_outcomes_keep_the_seed_axis_and_pool_to_the_same_values():
    correct = np.random.default_rng(1).random((12, 3)) < 0.7
    grouped = outcomes.subset_outcomes(correct, 3, by_run=True)
    assert grouped.shape == (4, 3)
    assert np.array_equal(grouped.T.ravel(), outcomes.subset_outcomes(correct, 3))


def test_seed_curve_uses_runs_as_replicates_not_examples():
    # Two sizes, 1,000 examples, 3 runs: runs disagree a lot at size 0, agree at size 1.
    spread = np.column_stack([np.full(1000, p) for p in (0.1, 0.4, 0.7)])
    tight = np.column_stack([np.full(1000, p) for p in (0.5, 0.5, 0.5)])
    curve = outcomes.seed_curve({0: spread, 1: tight})
    assert curve.mean.tolist() == pytest.approx([0.4, 0.5])
    assert curve.hi[0] - curve.lo[0] > 0.5  # t interval over 3 seeds, not over 3,000 pooled examples
    assert curve.hi[1] == curve.lo[1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least 2 runs"):
        outcomes.seed_curve({0: spread[:, :1]})


def test_monotone_within_noise_flags_a_real_drop():
    good = pd.DataFrame({"size_index": [0, 0, 1, 1, 2, 2], "accuracy": [0.5, 0.52, 0.6, 0.61, 0.7, 0.72]})
    assert outcomes.monotone_within_noise(good, "accuracy")["ok"].all()
    bad = good.assign(accuracy=[0.5, 0.52, 0.9, 0.91, 0.6, 0.61])
    assert not outcomes.monotone_within_noise(bad, "accuracy")["ok"].iloc[1]


@pytest.mark.slow
def test_vision_smoke_config_end_to_end(tmp_path):
    """`python -m mirage_utils vision run --smoke` writes every table; the same seed gives the same tables."""
    assert cli(["vision", "run", "--smoke", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert cli(["vision", "run", "--smoke", "--out", str(tmp_path / "b"), "--quiet", "--family", "lenet"]) == 0
    art = tv.load_artifacts(tmp_path / "a")
    cfg = tv.VisionConfig.load(tmp_path / "a" / "config.json")
    assert len(art["runs_lenet"]) == len(cfg.lenet_widths) * len(cfg.seeds)
    assert art["lenet"].shape == (cfg.test_limit, 1 + len(cfg.lenet_widths) * len(cfg.seeds))
    assert (
        art["autoencoder"].shape[0] == min(cfg.ae_test, cfg.test_limit) and (art["autoencoder"].to_numpy() >= 0).all()
    )
    assert len(art["sequence"]) == cfg.seq_test_episodes * cfg.seq_items
    assert {"episode", "position", "earlier", "label"} <= set(art["sequence"].columns)
    assert "Omniglot" in art["runs_sequence"]["dataset"].iloc[0]
    assert art["runs_autoencoder"]["epochs"].ge(1).all() and "val_curve" in art["runs_autoencoder"]
    again = pd.read_parquet(tmp_path / "b" / "lenet_predictions.parquet")
    pd.testing.assert_frame_equal(again, art["lenet"])
    with pytest.raises(FileNotFoundError, match="vision run"):
        tv.load_artifacts(tmp_path / "b")


@pytest.mark.slow
def test_vision_shards_merge_to_the_same_tables_in_any_order(tmp_path):
    """One shard at a time through the CLI, merged, equals the same shards' table; a missing shard is named."""
    out = tmp_path / "s"
    for index in (1, 0):
        assert (
            cli(
                [
                    "vision",
                    "shard",
                    "--smoke",
                    "--family",
                    "lenet",
                    "--size",
                    str(index),
                    "--seed",
                    "0",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
    assert cli(["vision", "merge", "--smoke", "--family", "lenet", "--out", str(out)]) == 0
    merged = pd.read_parquet(out / "lenet_predictions.parquet")
    assert list(merged.columns) == ["label", "lenet-0_s0", "lenet-1_s0"]
    runs = pd.read_csv(out / "runs_lenet.csv")
    assert (runs["platform_cpu"] != "unknown").all() and runs["platform_torch"].str.startswith("2.").all()
    (out / "shards" / "lenet-1_s0.json").unlink()
    with pytest.raises(FileNotFoundError, match="lenet-1_s0"):
        tv.merge(_smoke(), out / "shards", out, ("lenet",))
    with pytest.raises(ValueError, match="sizes 0..1"):
        tv.run_shard(_smoke(), "lenet", 5, 0, out / "shards")


def _smoke():
    from mirage_utils.__main__ import VISION_SMOKE_CONFIG

    return tv.VisionConfig.load(VISION_SMOKE_CONFIG)


def test_independent_subset_prediction_averages_per_seed_powers():
    table = pd.DataFrame({"size_index": [0, 0, 1, 1], "accuracy": [0.1, 0.9, 0.5, 0.5]})
    pred = outcomes.independent_subset_prediction(table, 2)
    np.testing.assert_allclose(pred, [(0.01 + 0.81) / 2, 0.25])
    with pytest.raises(ValueError):
        outcomes.independent_subset_prediction(table, 0)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 60), st.integers(1, 3), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_subset_outcomes_properties(n, runs, k, seed):
    correct = np.random.default_rng(seed).random((n, runs)) < 0.7
    if k > n:
        with pytest.raises(ValueError):
            outcomes.subset_outcomes(correct, k)
        return
    out = outcomes.subset_outcomes(correct, k, seed=seed)
    assert out.shape == ((n // k) * runs,)
    assert out.mean() == pytest.approx(_subset_accuracy_via_metrics(correct, k, seed=seed))
    if k == 1:
        assert out.mean() == pytest.approx(correct.mean())
    assert outcomes.subset_outcomes(np.ones_like(correct), k).all()


def test_class_groups_reveal_clustered_errors_and_random_groups_do_not():
    labels = np.repeat(np.arange(10), 100)
    gen = np.random.default_rng(0)
    clustered = np.column_stack([labels != 3, labels != 7, labels != 3]).astype(bool)  # a run misses one whole class
    scattered = gen.random((1000, 3)) >= 0.1  # the same 10% error rate, spread at random
    k = 5
    for correct, expect in ((clustered, True), (scattered, False)):
        acc = correct.mean(axis=0)  # two identical "sizes": a curve needs at least two points
        table = pd.DataFrame({"size_index": [0] * 3 + [1] * 3, "seed": [0, 1, 2] * 2, "accuracy": [*acc, *acc]})
        pred = outcomes.independent_subset_prediction(table, k)
        grouped = outcomes.class_subset_outcomes(correct, labels, k)
        by_class = outcomes.seed_curve({0: grouped, 1: grouped})
        assert bool(outcomes.beats_independence(by_class, pred)[0]) is expect
        randomly = outcomes.subset_outcomes(correct, k, by_run=True)
        by_random = outcomes.seed_curve({0: randomly, 1: randomly})
        assert by_random.mean[0] == pytest.approx(pred[0], abs=0.06)  # random groups match acc^k either way
    assert outcomes.class_subset_outcomes(clustered, labels, k).shape == (200, 3)
    with pytest.raises(ValueError):
        outcomes.class_subset_outcomes(clustered, labels[:10], k)


def test_threshold_table_is_each_runs_share_strictly_below_c():
    table = pd.DataFrame(
        {
            "autoencoder-0_s0": [0.1, 0.2, 0.3, 0.4],
            "autoencoder-0_s1": [0.1, 0.1, 0.1, 0.1],
            "autoencoder-1_s0": [0.01, 0.02, 0.03, 0.5],
        }
    )
    runs = pd.DataFrame({"size_index": [0, 1], "params": [10.0, 100.0]})
    out = outcomes.threshold_table(table, "autoencoder", runs, [0.1, 0.25])
    assert len(out) == 3 * 2
    got = out.set_index(["params", "seed", "c"])["share_below"]
    assert got[(10.0, 0, 0.1)] == 0 and got[(10.0, 0, 0.25)] == 0.5  # 0.1 is not below 0.1
    assert got[(10.0, 1, 0.25)] == 1 and got[(100.0, 0, 0.1)] == 0.75
    assert out.set_index(["params", "seed"])["mean_error"].loc[(10.0, 0)].iloc[0] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="positive"):
        outcomes.threshold_table(table, "autoencoder", runs, [0.0, 0.1])


def test_pca_errors_is_the_best_linear_reconstruction():
    gen = rng(0)
    basis = gen.standard_normal((2, 6))
    train = gen.standard_normal((200, 2)) @ basis + 0.01 * gen.standard_normal((200, 6))
    test = gen.standard_normal((50, 2)) @ basis
    err = outcomes.pca_errors(train, test, [1, 2, 6])
    assert err[6].max() < 1e-20 and err[2].mean() < 1e-3 < err[1].mean()  # rank 2 spans the data, rank 1 does not
    assert (np.diff([err[k].mean() for k in (1, 2, 6)]) <= 0).all()  # more components never hurt
    with pytest.raises(ValueError, match="ranks"):
        outcomes.pca_errors(train, test, [7])


def test_family_curves_and_sharpness_by_seed_on_the_committed_artifacts():
    from mirage_utils.vision import outcomes as o
    from mirage_utils.vision import train as t

    curves = o.family_curves(t.load_artifacts(), ks=(1, 5), cs=(0.004, 0.024), lengths=(1, 5))
    assert curves.lenet_subset[5].mean.shape == curves.lenet_params.shape
    assert (curves.lenet_subset[5].mean <= curves.lenet_subset[1].mean + 1e-12).all()
    table = o.sharpness_by_seed(curves)
    assert set(table["seed"]) == {"0", "1", "2", "mean"}
    assert set(table["family"]) == {"LeNet", "autoencoder, c = 0.004", "autoencoder, c = 0.024", "sequence transformer"}


def test_run_means_and_threshold_span():
    import numpy as np
    import pandas as pd

    from mirage_utils.vision import outcomes as o

    m = o.run_means({1: np.array([[1.0, 0.0], [1.0, 1.0]]), 0: np.zeros((3, 2))})
    assert m.tolist() == [[0.0, 0.0], [1.0, 0.5]]
    t = pd.DataFrame({"c": [1, 1, 2, 2], "params": [10, 20, 10, 20], "share_below": [0.1, 0.9, 0.5, 1.0]})
    span = o.threshold_span(t)
    assert span.loc[1, "rise"] == pytest.approx(0.8) and span.loc[2, "smallest"] == 0.5


def test_pca_mean_errors_matches_pca_errors():
    import numpy as np

    from mirage_utils.vision import outcomes as o

    gen = np.random.default_rng(0)
    train, test = gen.normal(size=(200, 12)), gen.normal(size=(30, 12))
    slow = o.pca_errors(train, test, [1, 4, 12])
    fast = o.pca_mean_errors(train, test, [1, 4, 12])
    assert np.allclose(fast, [slow[k].mean() for k in (1, 4, 12)])
    assert fast[-1] == pytest.approx(0.0, abs=1e-12)
