"""LEGACY (the 2025 family; delegates to ``mirage_utils.arithmetic.evaluate`` and ``rescore``). Scoring the arithmetic family: greedy outputs, teacher-forced token probabilities, and PassUntil estimates.

Per problem we record the greedy answer (scored by exact match and token edit distance over digits) and, with the
correct answer fed in, the probability the model gives each correct digit: the smooth quantity underneath both
metrics. Summaries per model x task x target length carry Wilson intervals for exact match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import resolution
from .arithmetic import evaluate as _ev
from .arithmetic import rescore
from .arithmetic.model import GPT
from .tasks import arithmetic as ar


def _shots(task: ar.ArithmeticTask, n: int, gen: np.random.Generator, split_seed: int, test_fraction: float
           ) -> tuple[np.ndarray, np.ndarray]:
    a, b = ar.sample_pairs(task, ar.N_SHOTS * n, gen, "train", split_seed, test_fraction)
    return a.reshape(n, ar.N_SHOTS), b.reshape(n, ar.N_SHOTS)


def build_test_set(task: ar.ArithmeticTask, gen: np.random.Generator, split_seed: int, test_fraction: float,
                   max_pairs: int | None) -> pd.DataFrame:
    """Held-out problems with their 2-shot prompts (shots drawn from the train split): one row per problem."""
    a, b = ar.all_test_pairs(task, split_seed, test_fraction, max_pairs, gen)
    sa, sb = _shots(task, len(a), gen, split_seed, test_fraction)
    tg = ar.targets(task, a, b)
    return pd.DataFrame({"task": task.name, "a": a, "b": b, "prompt": ar.prompts(task, a, b, sa, sb), "target": tg,
                         "target_length": [len(t) for t in tg]})


def summarise(scored: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: n, exact match with a 95% Wilson interval, mean TED, mean token probability, per-token CE."""
    g = scored.groupby(by, sort=True)
    summary = g.agg(n=("exact_match", "size"), n_correct=("exact_match", "sum"), exact_match=("exact_match", "mean"),
                    ted=("ted", "mean"), token_prob=("token_prob", "mean"),
                    sum_log_prob=("log_prob", "sum"), n_tokens=("target_length", "sum"),
                    seq_prob=("log_prob", lambda s: float(np.exp(s).mean()))).reset_index()
    low, high = resolution.binomial_ci(summary["n_correct"].to_numpy(), summary["n"].to_numpy(), 0.95, "wilson")
    summary["em_low"], summary["em_high"] = low, high
    summary["cross_entropy"] = -summary["sum_log_prob"] / summary["n_tokens"]
    return summary.drop(columns=["sum_log_prob"])


def score_problems(model: GPT, tests: pd.DataFrame, device: str = "cpu", batch_size: int = 2048) -> pd.DataFrame:
    """Greedy output, exact match, TED and teacher-forced digit probabilities (answers in the usual order)."""
    return _ev.score_problems(model, tests, reverse=False, device=device, batch_size=batch_size)


def pass_until(model: GPT, tests: pd.DataFrame, max_samples: int, generator: torch.Generator,
               round_size: int = 32, device: str = "cpu") -> pd.DataFrame:
    """PassUntil (Hu et al. 2023) on the legacy family (answers in the usual order)."""
    return _ev.pass_until(model, tests, max_samples, generator, reverse=False, round_size=round_size, device=device)


def option_log_probs(model: GPT, prompts: list[str], options: list[list[str]], device: str = "cpu",
                     batch_size: int = 4096) -> list[np.ndarray]:
    """log p(option, then end of line | prompt) for each prompt's options (answers in the usual order)."""
    return _ev.option_log_probs(model, prompts, options, reverse=False, device=device, batch_size=batch_size)


pass_until_estimate = _ev.pass_until_estimate
score_outputs = rescore.score_outputs
summarise_outputs = rescore.summarise_outputs
