"""In-context few-shot episodes and transformer: sampler invariants, causality of the query tokens, input checks."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mirage_utils.vision import fewshot as fs  # noqa: E402
from mirage_utils.vision.omniglot_like import CharacterImages  # noqa: E402


def fake_split(n_chars: int, exemplars: int = 20, first: int = 0, seed: int = 0) -> CharacterImages:
    """Random 28x28 images: ``n_chars`` characters (ids first..first+n_chars-1) of ``exemplars`` each."""
    gen = np.random.default_rng(seed)
    char = np.repeat(np.arange(first, first + n_chars), exemplars).astype(np.int64)
    return CharacterImages(
        images=gen.integers(0, 256, (char.size, 28, 28), dtype=np.uint8),
        character=char,
        alphabet=(char // 5).astype(np.int64),
        exemplar=np.tile(np.arange(exemplars), n_chars).astype(np.int64),
        character_names=tuple(f"c{i}" for i in range(first + n_chars)),
        alphabet_names=tuple(f"a{i}" for i in range(first + n_chars)),
        name="fake",
        split="background" if first == 0 else "evaluation",
    )


@pytest.mark.parametrize("balanced", [False, True])
def test_episodes_have_episode_specific_labels_and_correct_counts(balanced: bool) -> None:
    data = fake_split(30)
    ep = fs.sample_episodes(data, 200, n_way=5, n_items=15, seed=3, balanced=balanced)
    assert ep.index.shape == ep.label.shape == ep.earlier.shape == ep.seen_labels.shape == (200, 15)
    chars = data.character[ep.index]
    first_label_of_char0 = []
    for e in range(200):
        assert len(set(ep.index[e])) == 15  # distinct exemplars
        pairs = set(zip(chars[e], ep.label[e]))
        assert len({c for c, _ in pairs}) == len(pairs) == len({y for _, y in pairs})  # label <-> character bijection
        assert set(ep.label[e]) <= set(range(5)) and len(set(chars[e])) <= 5
        if balanced:
            assert sorted(np.bincount(ep.label[e], minlength=5)) == [3] * 5
        for t in range(15):
            assert ep.earlier[e, t] == np.sum(ep.label[e, :t] == ep.label[e, t])
            assert ep.seen_labels[e, t] == len(set(ep.label[e, :t]))
        first_label_of_char0.append(dict(pairs).get(chars[e, 0]))
    assert len(set(first_label_of_char0)) == 5  # labels are not tied to characters across episodes


def test_episodes_are_seeded_and_stay_in_their_split() -> None:
    test = fake_split(12, first=100)
    a, b = fs.sample_episodes(test, 50, seed=1), fs.sample_episodes(test, 50, seed=1)
    assert np.array_equal(a.index, b.index) and np.array_equal(a.label, b.label)
    assert not np.array_equal(a.index, fs.sample_episodes(test, 50, seed=2).index)
    assert set(test.character[a.index].ravel()) <= set(range(100, 112))


def test_query_never_sees_its_own_answer() -> None:
    torch.manual_seed(0)
    model = fs.InContextClassifier(n_way=5, d_model=16, n_layer=2, n_head=2, max_items=6).eval()
    images, labels = torch.rand(3, 6, 1, 28, 28), torch.randint(0, 5, (3, 6))
    changed = labels.clone()
    changed[:, 2] = (labels[:, 2] + 1) % 5
    with torch.no_grad():
        before, after = model(images, labels), model(images, changed)
    assert torch.allclose(before[:, :3], after[:, :3], atol=1e-6)  # queries up to and including t=2 unaffected
    assert not torch.allclose(before[:, 3:], after[:, 3:], atol=1e-4)  # later queries may use the answer


def test_bad_inputs_raise_value_error() -> None:
    data = fake_split(6, exemplars=4)
    with pytest.raises(ValueError, match="n_way"):
        fs.sample_episodes(data, 10, n_way=7)
    with pytest.raises(ValueError, match="exemplars"):
        fs.sample_episodes(data, 10, n_way=5, n_items=15)
    with pytest.raises(ValueError, match="divisible"):
        fs.sample_episodes(fake_split(6), 10, n_way=5, n_items=12, balanced=True)
    with pytest.raises(ValueError, match="n_episodes"):
        fs.sample_episodes(data, 0)
    with pytest.raises(ValueError, match="divisible"):
        fs.InContextClassifier(5, 10, 1, 3, 15)
    model = fs.InContextClassifier(5, 8, 1, 1, 4)
    with pytest.raises(ValueError, match="expected images"):
        model(torch.rand(2, 5, 1, 28, 28), torch.zeros(2, 5, dtype=torch.long))
    train = fake_split(10)
    with pytest.raises(ValueError, match="share characters"):
        fs.train_run(train, train, 8, 1, 1, seed=0, steps=10, lr=1e-3)
    with pytest.raises(ValueError, match="lr"):
        fs.train_run(train, fake_split(10, first=10), 8, 1, 1, seed=0, steps=10, lr=0.0)


def test_train_run_end_to_end() -> None:
    torch.set_num_threads(1)
    train, test = fake_split(10), fake_split(8, first=10, seed=1)
    record, per_query = fs.train_run(
        train, test, 8, 1, 1, seed=0, steps=10, lr=1e-3, batch=4, n_items=6, test_episodes=20, train_eval_episodes=10
    )
    assert tuple(per_query.columns) == fs.QUERY_COLUMNS and len(per_query) == 20 * 6
    assert per_query["p_true"].between(0, 1).all()
    assert record["params"] == sum(p.numel() for p in fs.InContextClassifier(5, 8, 1, 1, 6).parameters())
    assert len(record["loss_curve"]) == 10 and np.isfinite(record["final_loss"])
    for key in ("train_seconds", "train_acc_context", "test_acc_context", "test_acc_earlier0", "test_acc_earlier1"):
        assert key in record
    again, _ = fs.train_run(
        train, test, 8, 1, 1, seed=0, steps=10, lr=1e-3, batch=4, n_items=6, test_episodes=20, train_eval_episodes=10
    )
    assert again["loss_curve"] == record["loss_curve"]  # seeded
