"""LEGACY (serves the 2025 family's artifacts until the rebuilt family of ``mirage_utils.arithmetic`` replaces them):
few-shot integer arithmetic as character-level token sequences (Sec. 3 of the paper).

A prompt holds two solved examples and a query, one per line, e.g. ``^12*34=408\n57*21=1197\n13*87=``; the model
must continue with the answer digits and an end-of-line. Two tasks, as in the paper: multiplication (operands 0-99,
the same range as the InstructGPT outputs we re-score; the 2-digit x 2-digit subset is the paper's task) and
addition of two 4-digit integers. Every (a, b) pair belongs to exactly one of train/test, by a seeded hash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .._validation import positive_int

# One vocabulary and one tokenizer for both families.
from ..arithmetic.task import (BOS, BOS_ID, EOS, EOS_ID, PAD, PAD_ID, TOKEN_ID, VOCAB,  # noqa: E402,F401
                               answer_mask, decode, encode, pack)


@dataclass(frozen=True)
class ArithmeticTask:
    """An operation and the operand range of its problems."""

    name: str
    op: str  # "*" or "+"
    low: int
    high: int  # inclusive

    def answer(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
        return a * b if self.op == "*" else a + b

    @property
    def n_problems(self) -> int:
        return (self.high - self.low + 1) ** 2

    @property
    def max_answer_digits(self) -> int:
        return len(str(int(self.answer(np.array(self.high), np.array(self.high)))))


TASKS: dict[str, ArithmeticTask] = {
    "multiplication": ArithmeticTask("multiplication", "*", 0, 99),
    "addition_4digit": ArithmeticTask("addition_4digit", "+", 1000, 9999),
}
N_SHOTS = 2


def get_task(name: str) -> ArithmeticTask:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name]


def is_test_pair(a: NDArray[np.int64], b: NDArray[np.int64], split_seed: int, test_fraction: float) -> NDArray[np.bool_]:
    """Deterministic train/test membership of each (a, b): a seeded integer hash, no Python loop."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    x = (np.asarray(a, dtype=np.uint64) * np.uint64(1_000_003) + np.asarray(b, dtype=np.uint64)) ^ np.uint64(split_seed)
    x = (x ^ (x >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)  # splitmix-style mixing, wraps mod 2**64
    x = x ^ (x >> np.uint64(33))
    return (x % np.uint64(1_000_000)).astype(np.float64) < test_fraction * 1_000_000


def sample_pairs(task: ArithmeticTask, n: int, rng: np.random.Generator, split: str, split_seed: int,
                 test_fraction: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``n`` operand pairs from one side of the split (rejection sampling, vectorised)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    want_test = split == "test"
    a_out, b_out, have = [], [], 0
    while have < n:
        a = rng.integers(task.low, task.high + 1, size=2 * (n - have) + 16)
        b = rng.integers(task.low, task.high + 1, size=a.size)
        keep = is_test_pair(a, b, split_seed, test_fraction) == want_test
        a_out.append(a[keep])
        b_out.append(b[keep])
        have += int(keep.sum())
    return np.concatenate(a_out)[:n], np.concatenate(b_out)[:n]


def all_test_pairs(task: ArithmeticTask, split_seed: int, test_fraction: float,
                   max_pairs: int | None, rng: np.random.Generator) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The test side of the split: every test pair when there are few, else ``max_pairs`` drawn without replacement."""
    if task.n_problems <= 2_000_000:
        grid = np.arange(task.low, task.high + 1)
        a, b = np.repeat(grid, grid.size), np.tile(grid, grid.size)
        keep = is_test_pair(a, b, split_seed, test_fraction)
        a, b = a[keep], b[keep]
        if max_pairs is not None and a.size > max_pairs:
            idx = np.sort(rng.choice(a.size, size=max_pairs, replace=False))
            a, b = a[idx], b[idx]
        return a, b
    return sample_pairs(task, positive_int(max_pairs or 100_000, "max_pairs"), rng, "test", split_seed, test_fraction)


def example_line(task: ArithmeticTask, a: int, b: int, with_answer: bool = True) -> str:
    line = f"{a}{task.op}{b}="
    return f"{line}{int(task.answer(np.array(a), np.array(b)))}{EOS}" if with_answer else line


def prompts(task: ArithmeticTask, a: NDArray[np.int64], b: NDArray[np.int64], shots_a: NDArray[np.int64],
            shots_b: NDArray[np.int64]) -> list[str]:
    """2-shot prompts: BOS, two solved examples (shots_* of shape (n, 2)), then the unanswered query."""
    out = []
    for i in range(len(a)):
        solved = "".join(example_line(task, int(shots_a[i, k]), int(shots_b[i, k])) for k in range(N_SHOTS))
        out.append(BOS + solved + example_line(task, int(a[i]), int(b[i]), with_answer=False))
    return out


def targets(task: ArithmeticTask, a: NDArray[np.int64], b: NDArray[np.int64]) -> list[str]:
    """Answer strings (digits only; the model must also emit EOS after them)."""
    return [str(int(x)) for x in task.answer(np.asarray(a), np.asarray(b))]


def training_sequences(task: ArithmeticTask, n_sequences: int, rng: np.random.Generator, split_seed: int,
                       test_fraction: float) -> list[str]:
    """Training documents: BOS and three solved train-split examples (the third plays the query)."""
    a, b = sample_pairs(task, 3 * n_sequences, rng, "train", split_seed, test_fraction)
    a, b = a.reshape(n_sequences, 3), b.reshape(n_sequences, 3)
    answers = task.answer(a, b)
    return [BOS + "".join(f"{a[i, k]}{task.op}{b[i, k]}={answers[i, k]}{EOS}" for k in range(3))
            for i in range(n_sequences)]


# --- Redefined operators (in the spirit of REDEFINE-MATH, McKenzie et al. 2022) --------------------------------
# The in-context examples give an operator a meaning other than the one training taught; following the context
# means answering with the redefined result. Controls keep the standard meaning in the same format.

REDEFINITIONS: dict[str, tuple[str, str]] = {
    # name: (task whose format and operands are used, meaning shown in context)
    "times_as_plus": ("multiplication", "+"),
    "plus_as_minus": ("addition_4digit", "-"),
    "times_control": ("multiplication", "*"),
    "plus_control": ("addition_4digit", "+"),
}


def _apply(op: str, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
    return {"+": a + b, "-": a - b, "*": a * b}[op]


def redefined_test_set(name: str, n: int, rng: np.random.Generator, split_seed: int, test_fraction: float
                       ) -> dict[str, object]:
    """Held-out problems whose 2 shots and query use the operator with the meaning given by ``REDEFINITIONS``.

    Returns columns for :func:`evaluation.score_problems` (prompt, target = the in-context answer) plus the answer
    the trained meaning would give (``prior_target``). Subtraction uses a >= b so that no answer is negative.
    """
    if name not in REDEFINITIONS:
        raise ValueError(f"unknown redefinition {name!r}; known: {sorted(REDEFINITIONS)}")
    task_name, meaning = REDEFINITIONS[name]
    task = get_task(task_name)
    a, b = sample_pairs(task, n, rng, "test", split_seed, test_fraction)
    sa, sb = sample_pairs(task, N_SHOTS * n, rng, "train", split_seed, test_fraction)
    sa, sb = sa.reshape(n, N_SHOTS), sb.reshape(n, N_SHOTS)
    if meaning == "-":
        a, b = np.maximum(a, b), np.minimum(a, b)
        sa, sb = np.maximum(sa, sb), np.minimum(sa, sb)
    shot_answers = _apply(meaning, sa, sb)
    prompts_ = [BOS + "".join(f"{sa[i, k]}{task.op}{sb[i, k]}={shot_answers[i, k]}{EOS}" for k in range(N_SHOTS))
                + f"{a[i]}{task.op}{b[i]}=" for i in range(n)]
    target = [str(int(v)) for v in _apply(meaning, a, b)]
    prior = [str(int(v)) for v in task.answer(a, b)]
    return {"task": name, "a": a, "b": b, "prompt": prompts_, "target": target, "prior_target": prior,
            "target_length": [len(t) for t in target]}
