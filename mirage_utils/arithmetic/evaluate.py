"""Scoring the arithmetic family: greedy answers, teacher-forced digit probabilities, PassUntil and option scores.

Per problem we record the greedy answer (scored by exact match and token edit distance, always in the usual digit
order) and, with the correct answer fed in, the probability the model gives each correct digit: the smooth
quantity underneath both metrics.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch
from numpy.typing import NDArray

from .. import metrics
from . import task as ar
from .model import GPT, generate


def build_test_set(
    task: ar.ArithmeticTask,
    split: str,
    gen: np.random.Generator,
    split_seed: int,
    test_fraction: float,
    max_pairs: int | None,
    reverse: bool,
    reverse_operands: bool = False,
) -> pd.DataFrame:
    """Problems of one side of the split with 2-shot prompts (shots always from the training side)."""
    a, b = ar.split_pairs(task, split, split_seed, test_fraction, max_pairs, gen)
    sa, sb = ar.sample_pairs(task, ar.N_SHOTS * len(a), gen, "train", split_seed, test_fraction)
    prompts = ar.few_shot_prompts(
        task.op, task.op, a, b, sa.reshape(-1, ar.N_SHOTS), sb.reshape(-1, ar.N_SHOTS), reverse, reverse_operands
    )
    target = [str(v) for v in task.answer(a, b).tolist()]
    return pd.DataFrame(
        {
            "task": task.name,
            "split": split,
            "a": a,
            "b": b,
            "prompt": prompts,
            "target": target,
            "target_length": [len(t) for t in target],
        }
    )


def _groups(tests: pd.DataFrame, batch_size: int) -> Iterator[tuple[NDArray[np.intp], int]]:
    """Row indices of ``tests`` in batches that share prompt length and answer length."""
    keys = tests["prompt"].str.len().to_numpy() * 100 + tests["target_length"].to_numpy()
    for key in np.unique(keys):
        idx_all = np.flatnonzero(keys == key)
        for start in range(0, len(idx_all), batch_size):
            yield idx_all[start : start + batch_size], int(key % 100)


@torch.no_grad()
def score_problems(
    model: GPT, tests: pd.DataFrame, reverse: bool, device: str = "cpu", batch_size: int = 2048
) -> pd.DataFrame:
    """Greedy answer, exact match, TED and teacher-forced digit probabilities for every row of ``tests``."""
    model.eval()
    keep = [c for c in ("task", "split", "a", "b", "target", "target_length") if c in tests.columns]
    out = tests[keep].copy()
    outputs = [""] * len(tests)
    prob_mean = np.zeros(len(tests))
    logp_sum = np.zeros(len(tests))
    max_new = int(tests["target_length"].max()) + 2
    prompts_all, targets_all = tests["prompt"].tolist(), tests["target"].tolist()
    for idx, L in _groups(tests, batch_size):
        prompts = ar.pack([prompts_all[i] for i in idx])
        prompt_t = torch.from_numpy(prompts).to(device)
        gen_ids = generate(model, prompt_t, max_new, stop_id=ar.EOS_ID).cpu().numpy()
        for j, row in zip(idx, gen_ids):
            outputs[j] = ar.written(ar.decode(row).split(ar.EOS, 1)[0], reverse)
        full = ar.pack([prompts_all[i] + ar.written(targets_all[i], reverse) + ar.EOS for i in idx])
        full_t = torch.from_numpy(full).to(device)
        logprobs = torch.log_softmax(model(full_t[:, :-1]).float(), dim=-1)
        first = prompts.shape[1] - 1  # position whose next token is the first answer digit
        pos = torch.arange(first, first + L, device=device)
        tgt = full_t[:, first + 1 : first + 1 + L]
        lp = logprobs[:, pos, :].gather(2, tgt[:, :, None]).squeeze(2).cpu().numpy()
        prob_mean[idx] = np.exp(lp).mean(axis=1)
        logp_sum[idx] = lp.sum(axis=1)
    out["output"] = outputs
    out["exact_match"] = out["output"] == out["target"]
    out["ted"] = metrics.token_edit_distances(out["target"].tolist(), out["output"].tolist())
    out["token_prob"] = prob_mean  # mean over the answer's digits of p(correct digit | correct prefix)
    out["log_prob"] = logp_sum  # log p(whole correct answer), digits only
    return out


def summarise(scored: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: n, exact match, mean TED, mean token probability, per-digit cross-entropy, and chance level."""
    g = scored.groupby(by, sort=True)
    summary = g.agg(
        n=("exact_match", "size"),
        n_correct=("exact_match", "sum"),
        exact_match=("exact_match", "mean"),
        ted=("ted", "mean"),
        token_prob=("token_prob", "mean"),
        sum_log_prob=("log_prob", "sum"),
        n_tokens=("target_length", "sum"),
    ).reset_index()
    summary["cross_entropy"] = -summary["sum_log_prob"] / summary["n_tokens"]
    if "target_length" in summary.columns:
        summary["chance"] = ar.chance_exact_match(summary["target_length"].to_numpy())
    return summary.drop(columns=["sum_log_prob"])


@torch.no_grad()
def pass_until(
    model: GPT,
    tests: pd.DataFrame,
    max_samples: int,
    generator: torch.Generator,
    reverse: bool,
    round_size: int = 32,
    device: str = "cpu",
) -> pd.DataFrame:
    """PassUntil (Hu et al. 2023): sample at temperature 1 until the first correct answer or ``max_samples``.

    Problems sharing a prompt length are sampled together, ``round_size`` samples each per round, and drop out at
    their first success. Returns per problem the samples drawn and whether one was correct; the pooled pass rate
    is (problems solved) / (samples drawn), the maximum-likelihood estimate for censored geometric waiting times.
    """
    drawn = np.zeros(len(tests), dtype=np.int64)
    solved = np.zeros(len(tests), dtype=bool)
    max_new = int(tests["target_length"].max()) + 2
    lengths = tests["prompt"].str.len().to_numpy()
    targets = tests["target"].to_numpy()
    for length in np.unique(lengths):
        group = np.flatnonzero(lengths == length)
        prompts = torch.from_numpy(ar.pack(tests["prompt"].iloc[group].tolist())).to(device)
        while True:
            active = np.flatnonzero(~solved[group] & (drawn[group] < max_samples))
            if active.size == 0:
                break
            k = int(min(round_size, max_samples - drawn[group][active].min()))
            samples = (
                generate(
                    model,
                    prompts[torch.from_numpy(active).to(device)],
                    max_new,
                    ar.EOS_ID,
                    temperature=1.0,
                    n_samples=k,
                    generator=generator,
                )
                .cpu()
                .numpy()
                .reshape(active.size, k, max_new)
            )
            for row, problem in enumerate(group[active]):
                answers = [ar.written(ar.decode(s).split(ar.EOS, 1)[0], reverse) for s in samples[row]]
                hit = next((j for j, ans in enumerate(answers) if ans == targets[problem]), None)
                budget = max_samples - drawn[problem]
                if hit is not None and hit < budget:
                    drawn[problem] += hit + 1
                    solved[problem] = True
                else:
                    drawn[problem] += min(k, budget)
    return pd.DataFrame(
        {
            "task": tests["task"].to_numpy(),
            "target_length": tests["target_length"].to_numpy(),
            "samples": drawn,
            "solved": solved,
        }
    )


def pass_until_estimate(per_problem: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Pooled PassUntil pass rate per group with an exact Poisson-style 95% interval, and the chance level."""
    from scipy import stats

    g = (
        per_problem.groupby(by, sort=True)
        .agg(problems=("solved", "size"), solved=("solved", "sum"), samples=("samples", "sum"))
        .reset_index()
    )
    g["pass_rate"] = g["solved"] / g["samples"]
    g["pass_low"] = (stats.chi2.ppf(0.025, 2 * g["solved"]) / (2 * g["samples"])).fillna(0.0)
    g["pass_high"] = stats.chi2.ppf(0.975, 2 * (g["solved"] + 1)) / (2 * g["samples"])
    g["chance"] = ar.chance_exact_match(g["target_length"].to_numpy())
    return g


@torch.no_grad()
def option_log_probs(
    model: GPT, prompts: list[str], options: list[list[str]], reverse: bool, device: str = "cpu", batch_size: int = 4096
) -> list[np.ndarray]:
    """log p(option written in the model's digit order, then end of line | prompt) for each prompt's options.

    An option containing a character outside the model's vocabulary (e.g. 'banana') cannot be generated: its
    log-probability is exactly -inf. Returns one array per prompt, aligned with its options.
    """
    if len(prompts) != len(options):
        raise ValueError("prompts and options differ in length")
    model.eval()
    out = [np.full(len(opts), -np.inf) for opts in options]
    jobs = [
        (i, j, p, ar.written(o, reverse))
        for i, (p, opts) in enumerate(zip(prompts, options))
        for j, o in enumerate(opts)
        if o and all(ch in ar.TOKEN_ID for ch in o)
    ]
    for plen, olen in sorted({(len(p), len(o)) for _, _, p, o in jobs}):
        group = [job for job in jobs if len(job[2]) == plen and len(job[3]) == olen]
        for start in range(0, len(group), batch_size):
            chunk = group[start : start + batch_size]
            ids = torch.from_numpy(ar.pack([p + o + ar.EOS for _, _, p, o in chunk])).to(device)
            logprobs = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)
            pos = torch.arange(plen - 1, plen + olen, device=device)  # predicts option tokens and the EOS
            lp = logprobs[:, pos, :].gather(2, ids[:, plen : plen + olen + 1, None]).squeeze(2).sum(1).cpu().numpy()
            for (i, j, _, _), value in zip(chunk, lp):
                out[i][j] = value
    return out
