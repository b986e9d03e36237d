"""The App. A error process and the ROUGE-L helper."""

import numpy as np
import pytest

from mirage_utils import metrics, sequences
from mirage_utils.seeding import rng


def test_corrupt_counts_and_bounds():
    gen = rng(0)
    t = sequences.sample_targets(2000, 8, 50, gen)
    out = sequences.corrupt(t, gen, substitution=0.2, insertion=0.1, deletion=0.1, vocab_size=50)
    lengths = (out.predictions != sequences.PAD).sum(axis=1)
    assert np.array_equal(lengths, 8 - out.deletions + out.insertions)
    ted = metrics.token_edit_distances_padded(t, out.predictions)
    assert np.all(ted <= out.script_cost)  # Levenshtein is the cheapest script
    assert np.all(ted >= np.abs(out.insertions - out.deletions))  # at least the length difference
    # padding only trails real tokens
    is_pad = out.predictions == sequences.PAD
    assert not np.any(is_pad[:, :-1] & ~is_pad[:, 1:])


def test_no_errors_means_exact_copies_and_substitutions_always_change_the_token():
    gen = rng(1)
    t = sequences.sample_targets(100, 5, 3, gen)
    clean = sequences.corrupt(t, gen, substitution=0.0, vocab_size=3)
    assert sequences.exact_match_padded(t, clean.predictions).all()
    allsub = sequences.corrupt(t, gen, substitution=1.0, vocab_size=3)
    assert np.all(allsub.predictions[:, :5] != t) and np.all(allsub.substitutions == 5)


def test_seeded():
    a = sequences.corrupt(np.zeros((10, 4), dtype=int), rng(3), 0.5, 0.2, 0.2, vocab_size=5)
    b = sequences.corrupt(np.zeros((10, 4), dtype=int), rng(3), 0.5, 0.2, 0.2, vocab_size=5)
    assert np.array_equal(a.predictions, b.predictions)


@pytest.mark.parametrize(
    "kwargs",
    [dict(substitution=1.5), dict(substitution=0.1, insertion=-0.1), dict(substitution=0.1, vocab_size=1)],
)
def test_corrupt_rejects_bad_rates(kwargs):
    with pytest.raises(ValueError):
        sequences.corrupt(np.zeros((2, 3), dtype=int), rng(0), **kwargs)


def test_exact_match_padded_requires_trailing_padding():
    t = np.array([[1, 2]])
    assert sequences.exact_match_padded(t, np.array([[1, 2, -1]])).tolist() == [True]
    assert sequences.exact_match_padded(t, np.array([[1, 2, 3]])).tolist() == [False]
    with pytest.raises(ValueError):
        sequences.exact_match_padded(t, np.array([[1]]))


def test_rouge_l_union_lcs_example_and_validation():
    res = metrics.rouge_l("w1 w2 w3 w4 w5", ["w1 w3 w8 w9 w5", "w1 w2 w6 w7 w8"])
    assert res["lcs_hits"] == 4 and res["recall"] == pytest.approx(0.8) and res["precision"] == pytest.approx(0.4)
    plain = metrics.rouge_l("w1 w2 w3 w4 w5", ["w1 w3 w8 w9 w5", "w1 w2 w6 w7 w8"], summary_level=False)
    assert plain["lcs_hits"] == 3
    # tokens are compared verbatim: case and symbols matter
    assert metrics.rouge_l("A+B", "a+b")["recall"] == 0.0
    assert metrics.rouge_l([[1, 2, 3]], [[1, 2, 3]])["fmeasure"] == 1.0
    with pytest.raises(ValueError):
        metrics.rouge_l("", "x")
    with pytest.raises(ValueError):
        metrics.rouge_l([3.5], "x")


def test_stitching_table_matches_the_formulas_at_the_ends():
    table = sequences.stitching_table([0.0, 1.0], [1, 2], n_items=5, length=6, vocab_size=1000, seed=0)
    assert list(table["K"]) == [1, 1, 2, 2] and len(table.columns) == 10
    perfect = table[table["ε"] == 0.0].set_index("K")
    assert perfect["recall"].tolist() == [1.0, 1.0] and perfect["exact match (L=5)"].tolist() == [1.0, 1.0]
    assert perfect["F (BIG-bench)"].to_numpy() == pytest.approx([1.0, 2 / 3])  # two copies: precision 1/2
    assert table.loc[table["ε"] == 1.0, "recall"].max() <= 0.2  # only chance matches remain
    with pytest.raises(ValueError):
        sequences.stitching_table([0.1], [0], n_items=2)
