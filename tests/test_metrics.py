"""Property and unit tests for mirage_utils.metrics."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mirage_utils import metrics

tokens = st.lists(st.integers(min_value=0, max_value=4), max_size=12)
texts = st.text(alphabet="0123456789+-=", max_size=12)


@given(tokens)
def test_ted_identity(a):
    assert metrics.token_edit_distance(a, a) == 0


@given(tokens, tokens)
def test_ted_symmetry_and_zero_iff_equal(a, b):
    d = metrics.token_edit_distance(a, b)
    assert d == metrics.token_edit_distance(b, a)
    assert (d == 0) == (a == b)


@given(tokens, tokens, tokens)
def test_ted_triangle_inequality(a, b, c):
    ab = metrics.token_edit_distance(a, b)
    bc = metrics.token_edit_distance(b, c)
    ac = metrics.token_edit_distance(a, c)
    assert ac <= ab + bc


@given(tokens, tokens)
def test_ted_bounds_and_matches_reference_dp(a, b):
    d = metrics.token_edit_distance(a, b)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert d == metrics.token_edit_distance_reference(a, b)


@given(texts, texts)
def test_exact_match_implies_zero_ted_on_strings(a, b):
    assert metrics.exact_match(a, b) == (metrics.token_edit_distance(a, b) == 0)
    if metrics.exact_match(a, b):
        assert metrics.token_edit_distance(a, b) == 0


@given(st.lists(st.tuples(tokens, tokens), max_size=20))
def test_batch_equals_scalar(pairs):
    targets = [a for a, _ in pairs]
    preds = [b for _, b in pairs]
    batch = metrics.token_edit_distances(targets, preds)
    assert batch.dtype == np.int64 and batch.shape == (len(pairs),)
    assert batch.tolist() == [metrics.token_edit_distance(a, b) for a, b in pairs]
    assert metrics.exact_matches(targets, preds).tolist() == [a == b for a, b in pairs]


def test_ted_known_values_and_token_types():
    assert metrics.token_edit_distance("1234", "1243") == 2
    assert metrics.token_edit_distance("1234", "123") == 1
    assert metrics.token_edit_distance(["12", "34"], ["12", "35"]) == 1  # multi-character tokens
    assert metrics.token_edit_distance(np.array([1, 2, 3]), [1, 3]) == 1
    assert metrics.token_edit_distances(np.array(["ab", "c"]), ["ab", "d"]).tolist() == [0, 1]


@pytest.mark.parametrize("bad", [3, None, 1.5, np.zeros((2, 2))])
def test_ted_rejects_non_sequences(bad):
    with pytest.raises(ValueError):
        metrics.token_edit_distance(bad, [1])


def test_batch_rejects_mismatch_and_bare_strings():
    with pytest.raises(ValueError, match="differ in length"):
        metrics.token_edit_distances(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="list of sequences"):
        metrics.token_edit_distances("abc", "abd")


prob_rows = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 6)), elements=st.floats(0.0, 1.0))


@given(prob_rows, st.data())
def test_brier_and_mcg_ranges(raw, data):
    assume(np.all(raw.sum(axis=1) > 1e-3))
    probs = raw / raw.sum(axis=1, keepdims=True)
    k = probs.shape[1]
    idx = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=len(probs), max_size=len(probs))))
    brier = metrics.brier_score(probs, idx, per_example=True)
    assert np.all(brier >= 0) and np.all(brier <= 2 / k + 1e-12)
    mcg = metrics.multiple_choice_grade(probs, idx, per_example=True)
    assert set(np.unique(mcg)) <= {0.0, 1.0}
    assert 0.0 <= metrics.multiple_choice_grade(probs, idx) <= 1.0


def test_brier_and_mcg_known_values():
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]])
    assert metrics.multiple_choice_grade(probs, [0, 2]) == 0.5
    expected = np.mean([((0.7 - 1) ** 2 + 0.2**2 + 0.1**2) / 3, (0.2**2 + 0.5**2 + (0.3 - 1) ** 2) / 3])
    assert metrics.brier_score(probs, [0, 2]) == pytest.approx(expected)
    assert metrics.brier_score([0, 0, 1.0], 2) == 0.0  # perfect
    assert metrics.brier_score([0, 1.0, 0], 2) == pytest.approx(2 / 3)  # confidently wrong: 2/K
    assert metrics.multiple_choice_grade([0.25] * 4, 0) == 1.0  # ties go to the lowest index


def test_normalise_log_probs_is_softmax():
    lp = np.log(np.array([[1.0, 3.0], [2.0, 2.0]]))
    assert np.allclose(metrics.normalise_log_probs(lp), [[0.25, 0.75], [0.5, 0.5]])
    assert np.allclose(metrics.normalise_log_probs([-1000.0, -1000.0]), [0.5, 0.5])  # no underflow
    with pytest.raises(ValueError):
        metrics.normalise_log_probs([np.nan, 0.0])
    with pytest.raises(ValueError):
        metrics.normalise_log_probs([-np.inf, -np.inf])


@pytest.mark.parametrize(
    "probs, idx, match",
    [
        ([0.5, np.nan], 0, "finite"),
        ([0.6, 0.6], 0, "sum to 1"),
        ([-0.1, 1.1], 0, "non-negative"),
        ([[0.5, 0.5]], [0, 1], "one entry per example"),
        ([0.5, 0.5], 2, r"\[0, 1\]"),
        ([0.5, 0.5], 0.0, "integer"),
        ([1.0], 0, "n_options >= 2"),
    ],
)
def test_brier_rejects_bad_input(probs, idx, match):
    with pytest.raises(ValueError, match=match):
        metrics.brier_score(probs, idx)


def test_subset_accuracy():
    correct = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1], [0, 0, 0]])
    assert metrics.subset_accuracy(correct) == 0.5
    assert metrics.subset_accuracy(correct.ravel(), k=3) == 0.5
    assert metrics.subset_accuracy([True, True, False, True], k=1) == 0.75
    for bad, k in [([1, 2], None), ([1, 0, 1], 2), (np.ones((0, 3)), None), ([1, 1], 0)]:
        with pytest.raises(ValueError):
            metrics.subset_accuracy(bad, k=k)


@given(
    arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 5)), elements=st.floats(-5, 5)), st.floats(0.01, 50)
)
def test_reconstruction_c_matches_definition_and_is_monotone_in_c(x, c):
    noise = np.linspace(-1, 1, x.size).reshape(x.shape)
    x_hat = x + noise
    value = metrics.reconstruction_c(x, x_hat, c)
    assert value == np.mean(((x - x_hat) ** 2).sum(axis=1) < c)
    assert metrics.reconstruction_c(x, x_hat, c * 2) >= value
    assert metrics.reconstruction_c(x, x, c) == 1.0


def test_reconstruction_c_rejects_bad_input():
    with pytest.raises(ValueError, match="> 0"):
        metrics.reconstruction_c([[1.0]], [[1.0]], -1)
    with pytest.raises(ValueError, match="same non-empty shape"):
        metrics.reconstruction_c([[1.0, 2.0]], [[1.0]], 1)
    with pytest.raises(ValueError, match="finite"):
        metrics.reconstruction_c([[np.nan]], [[1.0]], 1)


@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 30), max_size=6), st.lists(st.integers(0, 30), max_size=6)),
        min_size=1,
        max_size=15,
    )
)
def test_padded_matrix_path_equals_list_path(pairs):
    def pad(seqs):
        out = np.full((len(seqs), 6), -1)
        for i, s in enumerate(seqs):
            out[i, : len(s)] = s
        return out

    targets = [a for a, _ in pairs]
    preds = [b for _, b in pairs]
    expected = [metrics.token_edit_distance_reference(a, b) for a, b in pairs]
    assert metrics.token_edit_distances_padded(pad(targets), pad(preds)).tolist() == expected


def test_padded_matrix_rejects_bad_input():
    ok = np.array([[1, 2, -1]])
    with pytest.raises(ValueError, match="padding must come after"):
        metrics.token_edit_distances_padded(np.array([[1, -1, 2]]), ok)
    with pytest.raises(ValueError, match="2-D integer"):
        metrics.token_edit_distances_padded(np.array([1.0, 2.0]), ok)
    with pytest.raises(ValueError, match="tokens must lie"):
        metrics.token_edit_distances_padded(np.array([[-5, 1, -1]]), ok)
    with pytest.raises(ValueError, match="differ in length"):
        metrics.token_edit_distances_padded(np.vstack([ok, ok]), ok)
    with pytest.raises(ValueError, match="token_edit_distances_padded"):
        metrics.token_edit_distances(np.array([[1, 2]]), np.array([[1, 2]]))


def test_bigbench_rouge_takes_the_best_single_reference_and_reports_f():
    # The paper's example with its own roles (c is the model's output, r1 and r2 references): BIG-bench keeps the best
    # reference's F-measure, LCS 3 of 5 = 0.6, and never stitches the two references into the union LCS of length 4
    c, r1, r2 = "w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8", "w1 w3 w8 w9 w5"
    assert metrics.bigbench_rouge_lsum([r1, r2], c) == pytest.approx(0.6)
    assert metrics.bigbench_rouge_lsum([r1, r2], c) < metrics.rouge_l(c, [r1, r2])["recall"]  # 0.8, the union
    # K attempts written as K sentences are stitched, but F-measure pays for their length: 2 / (K + 1)
    for k in (1, 2, 3):
        assert metrics.bigbench_rouge_lsum(r1, " . ".join([r1] * k)) == pytest.approx(2 / (k + 1))
    # rouge-score's default tokenizer (lowercase, alphanumerics only), as T5 and BIG-bench use it
    assert metrics.bigbench_rouge_lsum("A+B", "a b") == pytest.approx(1.0)
    for refs, resp in [([], "x"), ([""], "x"), ("x", 3)]:
        with pytest.raises(ValueError):
            metrics.bigbench_rouge_lsum(refs, resp)
