"""How model outputs are scored: the discontinuous/nonlinear metrics the paper blames, and their continuous partners.

A *token* is one element of a sequence: a character of a ``str`` or an item (int, str, ...) of a list or tuple.
Scalar functions score one pair; the plural/batch functions take lists (or arrays) of sequences and return arrays.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from ._validation import as_float_array, positive, positive_int

TokenSeq = str | Sequence[Hashable]

_SUM_TOLERANCE = 1e-6


def _as_tokens(seq: object, name: str) -> TokenSeq:
    if isinstance(seq, str):
        return seq
    if isinstance(seq, np.ndarray):
        if seq.ndim != 1:
            raise ValueError(f"{name} must be a 1-D token sequence, got shape {seq.shape}")
        return cast(list[Hashable], seq.tolist())
    if isinstance(seq, (list, tuple)):
        return seq
    raise ValueError(f"{name} must be a str, list, tuple or 1-D array of tokens, got {type(seq).__name__}")


def _as_pairs(targets: Sequence[TokenSeq], predictions: Sequence[TokenSeq]) -> tuple[list[TokenSeq], list[TokenSeq]]:
    if isinstance(targets, str) or isinstance(predictions, str):
        raise ValueError("batch functions take a list of sequences; use the scalar function for one pair")
    t = [_as_tokens(s, "targets[i]") for s in targets]
    p = [_as_tokens(s, "predictions[i]") for s in predictions]
    if len(t) != len(p):
        raise ValueError(f"targets and predictions differ in length ({len(t)} vs {len(p)})")
    return t, p


def exact_match(target: TokenSeq, prediction: TokenSeq) -> bool:
    """1/0 Exact String Match: every token equal and none missing or extra (no normalisation is applied)."""
    t, p = _as_tokens(target, "target"), _as_tokens(prediction, "prediction")
    return len(t) == len(p) and all(a == b for a, b in zip(t, p))


def exact_matches(targets: Sequence[TokenSeq], predictions: Sequence[TokenSeq]) -> NDArray[np.bool_]:
    """Exact match for many pairs (boolean array)."""
    t, p = _as_pairs(targets, predictions)
    return np.fromiter((exact_match(a, b) for a, b in zip(t, p)), dtype=bool, count=len(t))


def token_edit_distance(target: TokenSeq, prediction: TokenSeq) -> int:
    """Levenshtein distance over tokens: insertions + deletions + substitutions turning one into the other."""
    return int(Levenshtein.distance(_as_tokens(target, "target"), _as_tokens(prediction, "prediction")))


def token_edit_distances(
    targets: Sequence[TokenSeq], predictions: Sequence[TokenSeq], workers: int = -1
) -> NDArray[np.int64]:
    """Token edit distance for many pairs, computed in C++ by rapidfuzz (``workers=-1``: all cores).

    Each element is a ``str`` (characters are tokens) or a sequence of hashable tokens. Strings are the fastest
    input; for padded integer arrays from a tokenizer use :func:`token_edit_distances_padded`.
    """
    if isinstance(targets, str) or isinstance(predictions, str):
        raise ValueError("batch functions take a list of sequences; use the scalar function for one pair")
    if (
        isinstance(targets, np.ndarray)
        and targets.ndim == 2
        or isinstance(predictions, np.ndarray)
        and predictions.ndim == 2
    ):
        raise ValueError("2-D arrays are padded token matrices: use token_edit_distances_padded")
    if len(targets) != len(predictions):
        raise ValueError(f"targets and predictions differ in length ({len(targets)} vs {len(predictions)})")
    if len(targets) == 0:
        return np.zeros(0, dtype=np.int64)
    try:  # rapidfuzz checks every element in C++; no Python loop over 10^6 sequences here
        out = process.cpdist(targets, predictions, scorer=Levenshtein.distance, workers=workers, dtype=np.int64)
    except TypeError as exc:
        raise ValueError(f"every target and prediction must be a str or a sequence of hashable tokens ({exc})") from exc
    return np.asarray(out, dtype=np.int64)


def token_edit_distances_padded(
    targets: ArrayLike, predictions: ArrayLike, pad: int = -1, workers: int = -1
) -> NDArray[np.int64]:
    """Token edit distance between rows of two padded integer token matrices (``pad`` marks unused slots).

    Tokens must be integers in ``[0, 0x10FFFF)`` (vocabularies up to ~1.1M): each row becomes a string of code points
    without a Python loop, and rapidfuzz compares the strings. Padding may only trail real tokens.
    """
    rows = []
    for name, value in (("targets", targets), ("predictions", predictions)):
        arr = np.asarray(value)
        if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"{name} must be a 2-D integer array (n_pairs, max_len), got shape {arr.shape} {arr.dtype}"
            )
        is_pad = arr == pad
        if np.any(is_pad[:, :-1] & ~is_pad[:, 1:]):
            raise ValueError(f"{name}: padding must come after the tokens of a row")
        real = arr[~is_pad]
        if real.size and (real.min() < 0 or real.max() >= 0x10FFFF - 1):
            raise ValueError(f"{name}: tokens must lie in [0, {0x10FFFF - 2}]")
        code_points = np.where(is_pad, 0, arr.astype(np.int64) + 1).astype(np.uint32)  # 0 = NUL, dropped at the end
        rows.append(np.ascontiguousarray(code_points).view(f"<U{arr.shape[1]}").ravel().tolist())
    if len(rows[0]) != len(rows[1]):
        raise ValueError(f"targets and predictions differ in length ({len(rows[0])} vs {len(rows[1])})")
    return token_edit_distances(rows[0], rows[1], workers=workers)


def _check_choice_probs(probs: ArrayLike, target_index: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    p = as_float_array(probs, "probs")
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(
            f"probs must have shape (n_options,) or (n_examples, n_options) with n_options >= 2, got {p.shape}"
        )
    if np.any(p < 0):
        raise ValueError("probs must be non-negative")
    idx = np.asarray(target_index)
    if idx.ndim == 0:
        idx = np.full(p.shape[0], idx)
    if not np.issubdtype(idx.dtype, np.integer) or idx.dtype == bool:
        raise ValueError(f"target_index must be integer(s), got dtype {idx.dtype}")
    if idx.shape != (p.shape[0],):
        raise ValueError(f"target_index must have one entry per example ({p.shape[0]}), got shape {idx.shape}")
    if np.any((idx < 0) | (idx >= p.shape[1])):
        raise ValueError(f"target_index must lie in [0, {p.shape[1] - 1}]")
    return p, idx.astype(np.intp)


def multiple_choice_grade(
    probs: ArrayLike, target_index: ArrayLike, per_example: bool = False
) -> float | NDArray[np.float64]:
    """Multiple Choice Grade: 1 if the most probable option is the target, else 0; mean over examples.

    ``probs`` are non-negative option probabilities (normalisation is not needed: only the ranking counts; turn
    log-probabilities into probabilities with :func:`normalise_log_probs`). Ties go to the lowest index (NumPy
    ``argmax``), as in BIG-bench.
    """
    p, idx = _check_choice_probs(probs, target_index)
    grades = (np.argmax(p, axis=1) == idx).astype(np.float64)
    return grades if per_example else float(grades.mean())


def brier_score(probs: ArrayLike, target_index: ArrayLike, per_example: bool = False) -> float | NDArray[np.float64]:
    """Multi-class Brier score in BIG-bench's convention: mean over options of ``(p - t)**2``, mean over examples.

    Each row of ``probs`` must be a probability distribution over the options (sum 1 within 1e-6): use
    :func:`normalise_log_probs` on model log-probabilities first. Range [0, 2/K] per example, 0 is perfect.
    """
    p, idx = _check_choice_probs(probs, target_index)
    sums = p.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > _SUM_TOLERANCE):
        raise ValueError("each row of probs must sum to 1 (normalise model scores with normalise_log_probs)")
    onehot = np.zeros_like(p)
    onehot[np.arange(p.shape[0]), idx] = 1.0
    scores = ((p - onehot) ** 2).mean(axis=1)
    return scores if per_example else float(scores.mean())


def normalise_log_probs(log_probs: ArrayLike) -> NDArray[np.float64]:
    """Softmax over the last axis: turns per-option log-probabilities into option probabilities (BIG-bench)."""
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim == 0 or lp.shape[-1] < 1:
        raise ValueError("log_probs must have at least one option on the last axis")
    if np.any(np.isnan(lp)) or np.any(lp == np.inf):
        raise ValueError("log_probs must not contain NaN or +inf")
    if np.any(np.all(lp == -np.inf, axis=-1)):
        raise ValueError("every example needs at least one option with finite log-probability")
    shifted = lp - lp.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return cast(NDArray[np.float64], e / e.sum(axis=-1, keepdims=True))


def subset_accuracy(correct: ArrayLike, k: int | None = None) -> float:
    """Fraction of subsets in which *all* items are correct (App. B, Fig. 8: "classify all k images correctly").

    ``correct`` is a boolean/0-1 array of shape ``(n_subsets, k)``, or 1-D with ``k`` given (consecutive groups).
    """
    c = np.asarray(correct)
    if c.dtype != bool:
        c_f = as_float_array(c, "correct")
        if np.any((c_f != 0) & (c_f != 1)):
            raise ValueError("correct must contain only booleans or 0/1")
        c = c_f.astype(bool)
    if k is not None:
        k = positive_int(k, "k")
        if c.ndim != 1 or c.size % k:
            raise ValueError(f"with k given, correct must be 1-D with a length divisible by k={k}")
        c = c.reshape(-1, k)
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValueError(f"correct must have shape (n_subsets, k) with n_subsets >= 1, got {c.shape}")
    return float(c.all(axis=1).mean())


def reconstruction_c(x: ArrayLike, x_hat: ArrayLike, c: float) -> float:
    """Eq. 2 of Sec. 5: fraction of samples whose squared L2 reconstruction error is below ``c``."""
    xa, xh = as_float_array(x, "x"), as_float_array(x_hat, "x_hat")
    threshold = positive(c, "c")
    if threshold.ndim:
        raise ValueError("c must be a scalar")
    if xa.shape != xh.shape or xa.ndim < 1 or xa.shape[0] == 0:
        raise ValueError(f"x and x_hat must have the same non-empty shape (n, ...), got {xa.shape} and {xh.shape}")
    err = ((xa - xh) ** 2).reshape(xa.shape[0], -1).sum(axis=1)
    return float((err < threshold).mean())


def token_edit_distance_reference(target: TokenSeq, prediction: TokenSeq) -> int:
    """Textbook O(len^2) Levenshtein DP in pure Python: the oracle for tests and the baseline for benchmarks."""
    t, p = _as_tokens(target, "target"), _as_tokens(prediction, "prediction")
    previous = list(range(len(p) + 1))
    for i, a in enumerate(t, start=1):
        current = [i]
        for j, b in enumerate(p, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


class _WhitespaceTokenizer:
    """Tokens are whitespace-separated words, kept verbatim (rouge-score's default lowercases and drops symbols)."""

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return text.split()


def _as_summary(sentences: str | Sequence[str | Sequence[Hashable]], name: str) -> str:
    if isinstance(sentences, str):
        if not sentences.split():
            raise ValueError(f"{name} must contain at least one token")
        return sentences
    lines = []
    for sentence in sentences:
        if isinstance(sentence, str):
            lines.append(sentence)
        elif isinstance(sentence, (list, tuple, np.ndarray)):
            lines.append(" ".join(str(tok) for tok in sentence))
        else:
            raise ValueError(f"{name} must be a str or a list of sentences (str or token lists)")
    if not lines or not any(line.split() for line in lines):
        raise ValueError(f"{name} must contain at least one token")
    return "\n".join(lines)


def rouge_l(
    target: str | Sequence[str | Sequence[Hashable]],
    prediction: str | Sequence[str | Sequence[Hashable]],
    summary_level: bool = True,
) -> dict[str, float]:
    """ROUGE-L-Sum (``summary_level=True``, union LCS across sentences) or plain ROUGE-L, via Google's rouge-score.

    Sentences are lines (or list items); tokens are whitespace-separated and compared verbatim. Returns precision,
    recall, F-measure and ``lcs_hits`` (union-LCS length summed over target sentences = recall x target tokens).
    """
    from rouge_score import rouge_scorer

    kind = "rougeLsum" if summary_level else "rougeL"
    ref, cand = _as_summary(target, "target"), _as_summary(prediction, "prediction")
    score = rouge_scorer.RougeScorer([kind], tokenizer=_WhitespaceTokenizer()).score(ref, cand)[kind]
    n_ref = len(ref.split())
    return {
        "precision": score.precision,
        "recall": score.recall,
        "fmeasure": score.fmeasure,
        "lcs_hits": float(round(score.recall * n_ref)),
    }


def bigbench_rouge_lsum(references: str | Sequence[str], response: str) -> float:
    """ROUGE-L-Sum as BIG-bench scores one example: the F-measure against the *best single* reference (0-1).

    Mirrors ``bigbench.api.task_metrics.rouge_fn`` (via T5's ``rouge``): the max over references (no stitching across
    them), rouge-score's default tokenizer, and sentences split at ``" . "``. BIG-bench reports 100 x the mean over
    examples.
    """
    from rouge_score import rouge_scorer

    refs = [references] if isinstance(references, str) else list(references)
    if not refs or not all(isinstance(r, str) and r.strip() for r in refs):
        raise ValueError("references must be a non-empty str or a non-empty list of non-empty str")
    if not isinstance(response, str):
        raise ValueError(f"response must be a str, got {type(response).__name__}")
    scorer = rouge_scorer.RougeScorer(["rougeLsum"])
    prepared = response.replace(" . ", " .\n")
    return cast(float, max(scorer.score(r.replace(" . ", " .\n"), prepared)["rougeLsum"].fmeasure for r in refs))
