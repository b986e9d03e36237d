"""Few-shot integer arithmetic as character tokens: the tasks, the train/test split and the training documents.

A prompt holds two solved examples and a query, one per line (``^12*34=804\\n57*21=7911\\n13*87=``). With
``reverse=True`` (the family's recipe) every answer is written least-significant digit first, the order in which
carries are computed; reversal is a bijection on digit strings and edit distance is invariant under reversing both
strings, so exact match and token edit distance are the same whichever order the model writes. Scores are always
reported on answers in the usual order. Train and test are split on the *unordered* pair {a, b}, so a test problem's
commuted twin is never trained on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import SupportsInt, cast

import numpy as np
from numpy.typing import NDArray

from .._validation import positive_int

PAD, BOS, EOS = "_", "^", "\n"
VOCAB: tuple[str, ...] = (PAD, BOS, EOS, "=", "+", "*", *"0123456789")
TOKEN_ID = {ch: i for i, ch in enumerate(VOCAB)}
PAD_ID, BOS_ID, EOS_ID, EQ_ID = TOKEN_ID[PAD], TOKEN_ID[BOS], TOKEN_ID[EOS], TOKEN_ID["="]
N_SHOTS = 2
_LUT = np.full(256, -1, dtype=np.int64)
for _ch, _i in TOKEN_ID.items():
    _LUT[ord(_ch)] = _i


@dataclass(frozen=True)
class ArithmeticTask:
    """An operator symbol and the inclusive operand range of its problems."""

    name: str
    op: str  # "*" or "+"
    low: int
    high: int
    mixed_lengths: bool = False  # draw each operand's digit count uniformly first (a curriculum of lengths)

    def answer(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
        return apply(self.op, a, b)

    @property
    def n_problems(self) -> int:
        return (self.high - self.low + 1) ** 2


TASKS: dict[str, ArithmeticTask] = {
    "addition_4digit": ArithmeticTask("addition_4digit", "+", 1000, 9999),
    "multiplication_2digit": ArithmeticTask("multiplication_2digit", "*", 10, 99),  # the paper's task
    "multiplication_0_99": ArithmeticTask("multiplication_0_99", "*", 0, 99),  # answer lengths 1-4: a length study
    # training only: sums of 1- to 4-digit operands, each length equally often (4-digit sums are a quarter of
    # a quarter of them); the shorter sums teach the digit-sum table that 4-digit addition is built from
    "addition_1to4digit": ArithmeticTask("addition_1to4digit", "+", 0, 9999, mixed_lengths=True),
}
# Training draws problems from these; multiplication_2digit's problems are a subset of multiplication_0_99's.
TRAIN_TASKS = ("addition_4digit", "addition_1to4digit", "multiplication_0_99")
EVAL_TASKS = ("addition_4digit", "multiplication_2digit", "multiplication_0_99")

# Redefined operators: a document may give '*' or '+' another meaning, shown by its solved examples.
# '-' is the absolute difference, so every answer is a non-negative integer.
MEANINGS: dict[str, tuple[str, ...]] = {"*": ("+", "-"), "+": ("-",)}
REDEFINITIONS: dict[str, tuple[str, str]] = {  # test name: (task whose operator and operands are used, meaning)
    "times_as_plus": ("multiplication_2digit", "+"),
    "times_as_minus": ("multiplication_2digit", "-"),
    "plus_as_minus": ("addition_4digit", "-"),
    "times_control": ("multiplication_2digit", "*"),
    "plus_control": ("addition_4digit", "+"),
}


def get_task(name: str) -> ArithmeticTask:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name]


def apply(op: str, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
    """The result of meaning ``op`` ('+', '*', or '-' = absolute difference) on operand arrays."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if op == "+":
        return a + b
    if op == "*":
        return a * b
    if op == "-":
        return cast(NDArray[np.int64], np.abs(a - b))
    raise ValueError(f"unknown meaning {op!r}; known: '+', '*', '-'")


def chance_exact_match(target_length: int | NDArray[np.int64]) -> NDArray[np.float64]:
    """Exact match of a uniform guess among the L-digit numbers (9 x 10^(L-1) of them; 10 for L = 1)."""
    L = np.asarray(target_length, dtype=np.float64)
    if np.any(L < 1):
        raise ValueError("target_length must be >= 1")
    return np.where(L == 1, 0.1, 1.0 / (9.0 * 10.0 ** (L - 1)))


def near_miss_options(answer: str, n_options: int, rng: np.random.Generator) -> tuple[list[str], int]:
    """Options for a multiple-choice question whose distractors differ from ``answer`` only in its middle digits.

    Each distractor keeps the answer's length, first digit and last digit and redraws the digits in between
    uniformly (distinct, never the answer), so neither the size of the answer nor its units digit (the first digit
    of a product these models learn) tells the options apart. Returns the options (the answer at a random place)
    and its index.
    """
    positive_int(n_options, "n_options")
    if not answer.isdigit() or len(answer) < 3 or answer[0] == "0":
        raise ValueError(f"answer must be a number of at least 3 digits (it needs a middle digit), got {answer!r}")
    n_middle = len(answer) - 2
    if n_options < 2 or n_options > 10**n_middle:
        raise ValueError(f"n_options must lie in [2, {10**n_middle}] for a {len(answer)}-digit answer, got {n_options}")
    middles = {answer[1:-1]}
    while len(middles) < n_options:
        middles.add("".join(map(str, rng.integers(0, 10, n_middle))))
    options = [answer[0] + m + answer[-1] for m in sorted(middles - {answer[1:-1]})]
    correct = int(rng.integers(0, n_options))
    options.insert(correct, answer)
    return options, correct


def units_digit_options(answer: str, n_options: int, rng: np.random.Generator) -> tuple[list[str], int]:
    """Options for a multiple-choice question whose distractors differ from ``answer`` only in its units digit.

    Everything a model reads before the last digit is the same in every option, so the question measures the one
    digit alone: a model that has not learned it is at chance (1 / ``n_options``). Returns the options (the answer
    at a random place) and its index.
    """
    positive_int(n_options, "n_options")
    if not answer.isdigit():
        raise ValueError(f"answer must be a non-negative integer, got {answer!r}")
    if not 2 <= n_options <= 10:
        raise ValueError(f"n_options must lie in [2, 10] (ten possible units digits), got {n_options}")
    others = [d for d in "0123456789" if d != answer[-1]]
    picked = sorted(rng.choice(others, size=n_options - 1, replace=False).tolist())
    options = [answer[:-1] + d for d in picked]
    correct = int(rng.integers(0, n_options))
    options.insert(correct, answer)
    return options, correct


def encode(text: str) -> list[int]:
    """Characters to token ids (ValueError on a character outside the vocabulary)."""
    try:
        return [TOKEN_ID[ch] for ch in text]
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the arithmetic vocabulary {VOCAB}") from exc


def decode(ids: Iterable[SupportsInt]) -> str:
    return "".join(VOCAB[int(i)] for i in ids)


def written(answer: str, reverse: bool) -> str:
    """An answer as the model writes it (reversed or not); the same call turns a written answer back."""
    return answer[::-1] if reverse else answer


def is_test_pair(
    a: NDArray[np.int64], b: NDArray[np.int64], split_seed: int, test_fraction: float
) -> NDArray[np.bool_]:
    """Test membership of the unordered pair {a, b}: a seeded integer hash of (min, max), no Python loop."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    a, b = np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    x = (lo * np.uint64(1_000_003) + hi) ^ np.uint64(split_seed)
    x = (x ^ (x >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)  # splitmix-style mixing, wraps mod 2**64
    x = x ^ (x >> np.uint64(33))
    return (x % np.uint64(1_000_000)).astype(np.float64) < test_fraction * 1_000_000


def sample_pairs(
    task: ArithmeticTask, n: int, rng: np.random.Generator, split: str, split_seed: int, test_fraction: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``n`` operand pairs from one side of the split (rejection sampling, vectorised)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    want_test = split == "test"
    a_out, b_out, have = [], [], 0
    while have < n:
        if task.mixed_lengths:
            a, b = (_mixed_length_operands(task, 2 * (n - have) + 16, rng) for _ in range(2))
        else:
            a = rng.integers(task.low, task.high + 1, size=2 * (n - have) + 16)
            b = rng.integers(task.low, task.high + 1, size=a.size)
        keep = is_test_pair(a, b, split_seed, test_fraction) == want_test
        a_out.append(a[keep])
        b_out.append(b[keep])
        have += int(keep.sum())
    return np.concatenate(a_out)[:n], np.concatenate(b_out)[:n]


def _mixed_length_operands(task: ArithmeticTask, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Operands whose digit count is uniform on 1..len(str(high)), then uniform among numbers of that length."""
    digits = rng.integers(1, len(str(task.high)) + 1, size=n)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return low + (rng.random(n) * (10**digits - low)).astype(np.int64)


def split_pairs(
    task: ArithmeticTask,
    split: str,
    split_seed: int,
    test_fraction: float,
    max_pairs: int | None,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Ordered pairs of one side of the split: all of them when there are few, else ``max_pairs`` distinct ones."""
    want_test = split == "test"
    if task.n_problems <= 2_000_000:
        grid = np.arange(task.low, task.high + 1)
        a, b = np.repeat(grid, grid.size), np.tile(grid, grid.size)
        keep = is_test_pair(a, b, split_seed, test_fraction) == want_test
        a, b = a[keep], b[keep]
        if max_pairs is not None and a.size > max_pairs:
            idx = np.sort(rng.choice(a.size, size=max_pairs, replace=False))
            a, b = a[idx], b[idx]
        return a, b
    n = positive_int(max_pairs or 100_000, "max_pairs")
    a, b = sample_pairs(task, 2 * n, rng, split, split_seed, test_fraction)
    _, first = np.unique(a * (task.high + 1) + b, return_index=True)
    keep = np.sort(rng.permutation(first)[:n])
    return a[keep], b[keep]


def problem_lines(
    op: str,
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    answers: NDArray[np.int64] | None,
    reverse: bool,
    reverse_operands: bool = False,
) -> list[str]:
    """``a<op>b=`` lines, solved (answer, then EOS) when ``answers`` is given; answers (and, with
    ``reverse_operands``, operands) written least-significant digit first when ``reverse``."""
    r = reverse and reverse_operands
    ops = [f"{written(str(x), r)}{op}{written(str(y), r)}=" for x, y in zip(a.tolist(), b.tolist())]
    if answers is None:
        return ops
    return [f"{q}{written(str(v), reverse)}{EOS}" for q, v in zip(ops, answers.tolist())]


def few_shot_prompts(
    op: str,
    meaning: str,
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    shots_a: NDArray[np.int64],
    shots_b: NDArray[np.int64],
    reverse: bool,
    reverse_operands: bool = False,
) -> list[str]:
    """BOS, ``N_SHOTS`` solved examples under ``meaning`` (shots_* of shape (n, N_SHOTS)), then the open query."""
    solved = [
        problem_lines(
            op, shots_a[:, k], shots_b[:, k], apply(meaning, shots_a[:, k], shots_b[:, k]), reverse, reverse_operands
        )
        for k in range(shots_a.shape[1])
    ]
    queries = problem_lines(op, a, b, None, reverse, reverse_operands)
    return [BOS + "".join(s[i] for s in solved) + queries[i] for i in range(len(queries))]


def pack(texts: list[str], length: int | None = None) -> NDArray[np.int64]:
    """Token ids of ``texts`` right-padded with PAD to a common length (vectorised through a byte lookup table)."""
    if not texts:
        raise ValueError("pack needs at least one text")
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    width = int(length or lengths.max())
    if lengths.max() > width:
        raise ValueError(f"text of {int(lengths.max())} tokens does not fit in {width}")
    flat = _LUT[np.frombuffer("".join(texts).encode("ascii", errors="replace"), dtype=np.uint8)]
    if (flat < 0).any():
        bad = next(ch for t in texts for ch in t if ch not in TOKEN_ID)
        raise ValueError(f"character {bad!r} is not in the arithmetic vocabulary {VOCAB}")
    out = np.full((len(texts), width), PAD_ID, dtype=np.int64)
    rows = np.repeat(np.arange(len(texts)), lengths)
    cols = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, cols] = flat
    return out


def answer_mask(ids: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Positions whose *next* token is part of an answer (digits after '=' and the EOS): where the loss applies."""
    mask = np.zeros(ids.shape, dtype=bool)
    in_answer = np.zeros(ids.shape[0], dtype=bool)
    for j in range(ids.shape[1] - 1):
        in_answer = np.where(ids[:, j] == EQ_ID, True, np.where(ids[:, j] == EOS_ID, False, in_answer))
        mask[:, j] = in_answer & (ids[:, j + 1] != PAD_ID)
    return mask


def training_documents(
    task: ArithmeticTask,
    n_docs: int,
    rng: np.random.Generator,
    split_seed: int,
    test_fraction: float,
    reverse: bool,
    meanings: tuple[str, ...] | None = None,
    reverse_operands: bool = False,
) -> list[str]:
    """Documents of BOS and three solved train-split problems of ``task``.

    With ``meanings``, each document draws one meaning from them and applies it to all three problems (a
    redefined operator that only the document's own examples reveal); without, the operator's usual meaning.
    """
    n = positive_int(n_docs, "n_docs")
    a, b = sample_pairs(task, 3 * n, rng, "train", split_seed, test_fraction)
    a, b = a.reshape(n, 3), b.reshape(n, 3)
    if meanings is None:
        answers = task.answer(a, b)
    else:
        which = rng.integers(0, len(meanings), size=n)
        answers = np.zeros_like(a)
        for k, meaning in enumerate(meanings):
            answers[which == k] = apply(meaning, a[which == k], b[which == k])
    lines = [problem_lines(task.op, a[:, k], b[:, k], answers[:, k], reverse, reverse_operands) for k in range(3)]
    return [BOS + lines[0][i] + lines[1][i] + lines[2][i] for i in range(n)]


def redefined_test_set(
    name: str,
    n: int,
    rng: np.random.Generator,
    split_seed: int,
    test_fraction: float,
    reverse: bool,
    reverse_operands: bool = False,
) -> dict[str, object]:
    """Held-out problems whose two shots and query give an operator the meaning ``REDEFINITIONS[name]`` names.

    Returns columns for ``evaluate.score_problems`` (target = the in-context answer) plus ``prior_target``, the
    answer the operator's usual meaning would give.
    """
    if name not in REDEFINITIONS:
        raise ValueError(f"unknown redefinition {name!r}; known: {sorted(REDEFINITIONS)}")
    task_name, meaning = REDEFINITIONS[name]
    task = get_task(task_name)
    a, b = sample_pairs(task, n, rng, "test", split_seed, test_fraction)
    sa, sb = sample_pairs(task, N_SHOTS * n, rng, "train", split_seed, test_fraction)
    prompts = few_shot_prompts(
        task.op, meaning, a, b, sa.reshape(n, N_SHOTS), sb.reshape(n, N_SHOTS), reverse, reverse_operands
    )
    target = [str(v) for v in apply(meaning, a, b).tolist()]
    return {
        "task": name,
        "a": a,
        "b": b,
        "prompt": prompts,
        "target": target,
        "prior_target": [str(v) for v in task.answer(a, b).tolist()],
        "target_length": [len(t) for t in target],
    }
