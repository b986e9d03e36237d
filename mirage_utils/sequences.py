"""Simulated model outputs for App. A: targets corrupted token by token with stated error rates.

The process (our explicit version of the paper's "per-token error probability"): at each target position the token
is deleted with probability ``deletion``; otherwise it is replaced by a uniformly chosen *different* token with
probability ``substitution``; after each position a random token is inserted with probability ``insertion``.
Outputs are padded integer matrices (``PAD`` = -1), ready for :func:`metrics.token_edit_distances_padded`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import positive_int, probability

PAD = -1


@dataclass(frozen=True)
class Corrupted:
    """Predictions plus the cost of the edit script that produced them (an upper bound on the edit distance)."""

    predictions: NDArray[np.int64]  # (n, 2L), left-aligned tokens, PAD after
    substitutions: NDArray[np.int64]  # per item
    insertions: NDArray[np.int64]
    deletions: NDArray[np.int64]

    @property
    def script_cost(self) -> NDArray[np.int64]:
        return self.substitutions + self.insertions + self.deletions


def sample_targets(n_items: int, length: int, vocab_size: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """``n_items`` random targets of ``length`` tokens drawn uniformly from ``vocab_size`` tokens."""
    n, L, v = positive_int(n_items, "n_items"), positive_int(length, "length"), positive_int(vocab_size, "vocab_size")
    return rng.integers(0, v, size=(n, L))


def corrupt(
    targets: NDArray[np.integer],
    rng: np.random.Generator,
    substitution: float,
    insertion: float = 0.0,
    deletion: float = 0.0,
    vocab_size: int | None = None,
) -> Corrupted:
    """Apply the error process above to every row of ``targets`` (shape (n, L), tokens in [0, vocab_size))."""
    t = np.asarray(targets)
    if t.ndim != 2 or not np.issubdtype(t.dtype, np.integer) or np.any(t < 0):
        raise ValueError("targets must be a 2-D array of non-negative integer tokens")
    v = positive_int(vocab_size if vocab_size is not None else int(t.max()) + 1, "vocab_size")
    if v < 2 or np.any(t >= v):
        raise ValueError("vocab_size must be >= 2 and larger than every target token")
    sub, ins, dele = (
        float(probability(x, name))
        for x, name in ((substitution, "substitution"), (insertion, "insertion"), (deletion, "deletion"))
    )
    n, L = t.shape
    deleted = rng.random((n, L)) < dele
    substituted = ~deleted & (rng.random((n, L)) < sub)
    inserted = rng.random((n, L)) < ins
    # a different token: shift by 1..v-1 modulo v
    replaced = np.where(substituted, (t + rng.integers(1, v, size=(n, L))) % v, t)
    kept = np.where(deleted, PAD, replaced)
    extra = np.where(inserted, rng.integers(0, v, size=(n, L)), PAD)
    slots = np.stack([kept, extra], axis=2).reshape(n, 2 * L)  # position l, then what is inserted after it
    order = np.argsort(slots == PAD, axis=1, kind="stable")  # left-align real tokens, keep their order
    return Corrupted(
        predictions=np.take_along_axis(slots, order, axis=1).astype(np.int64),
        substitutions=substituted.sum(axis=1),
        insertions=inserted.sum(axis=1),
        deletions=deleted.sum(axis=1),
    )


def exact_match_padded(targets: NDArray[np.integer], predictions: NDArray[np.integer]) -> NDArray[np.bool_]:
    """Exact match between unpadded targets (n, L) and padded predictions (n, M >= L)."""
    t, p = np.asarray(targets), np.asarray(predictions)
    if t.ndim != 2 or p.ndim != 2 or p.shape[0] != t.shape[0] or p.shape[1] < t.shape[1]:
        raise ValueError(f"need targets (n, L) and predictions (n, M >= L), got {t.shape} and {p.shape}")
    L = t.shape[1]
    same: NDArray[np.bool_] = np.all(p[:, :L] == t, axis=1)
    return same & (np.all(p[:, L:] == PAD, axis=1) if p.shape[1] > L else True)


def stitching_table(
    error_rates: Sequence[float],
    attempts: Sequence[int],
    *,
    n_items: int = 300,
    length: int = 20,
    vocab_size: int = 1000,
    em_length: int = 5,
    seed: int = 2026,
) -> pd.DataFrame:
    """Monte Carlo of ROUGE-L-Sum stitching (App. A.4): ``K`` independent attempts at each of ``n_items`` references.

    Each reference has ``length`` uniform tokens; each attempt substitutes every token with probability ``eps``.
    One row per ``(K, eps)``: mean union-LCS recall of the ``K`` attempts (as sentences of one output) and its SE, the
    mean F-measure BIG-bench reports (``metrics.bigbench_rouge_lsum``, sentences joined by ``" . "``) and its SE, the
    formulas ``1 - eps**K`` and ``2 (1 - eps**K) / (K + 1)``, and the exact match of the first attempt's first
    ``em_length`` tokens.
    """
    from . import metrics, scaling
    from .seeding import rng

    gen = rng(seed)
    n, L, v = positive_int(n_items, "n_items"), positive_int(length, "length"), positive_int(vocab_size, "vocab_size")
    refs = sample_targets(n, L, v, gen)
    ref_text = [" ".join(map(str, ref)) for ref in refs]
    rows = []
    for k in (positive_int(a, "attempts") for a in attempts):
        for eps in error_rates:
            tries = corrupt(np.repeat(refs, k, axis=0), gen, substitution=eps, vocab_size=v).predictions
            sentences = [
                [" ".join(str(tok) for tok in row if tok >= 0) for row in tries[i * k : (i + 1) * k]] for i in range(n)
            ]
            recall = np.array([metrics.rouge_l(ref_text[i], sentences[i])["recall"] for i in range(n)])
            f_bb = np.array([metrics.bigbench_rouge_lsum(ref_text[i], " . ".join(sentences[i])) for i in range(n)])
            em = np.all(tries[::k, :em_length] == refs[:, :em_length], axis=1)
            rows.append(
                {
                    "K": k,
                    "ε": eps,
                    "p": 1 - eps,
                    "recall": recall.mean(),
                    "SE": recall.std(ddof=1) / np.sqrt(n),
                    "1 - ε^K": 1 - eps**k,
                    "F (BIG-bench)": f_bb.mean(),
                    "SE F": f_bb.std(ddof=1) / np.sqrt(n),
                    "2(1 - ε^K)/(K+1)": float(scaling.rouge_lsum_f_from_p(1 - eps, k)),
                    f"exact match (L={em_length})": em.mean(),
                }
            )
    return pd.DataFrame(rows)
