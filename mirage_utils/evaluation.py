"""Scoring the arithmetic family: greedy outputs, teacher-forced token probabilities, and PassUntil estimates.

Per problem we record the greedy answer (scored by exact match and token edit distance over digits) and, with the
correct answer fed in, the probability the model gives each correct digit: the smooth quantity underneath both
metrics. Summaries per model x task x target length carry Wilson intervals for exact match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import metrics, resolution
from .arithmetic.model import GPT, generate
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


@torch.no_grad()
def score_problems(model: GPT, tests: pd.DataFrame, device: str = "cpu", batch_size: int = 2048) -> pd.DataFrame:
    """Greedy output, exact match, TED and teacher-forced digit probabilities for every row of ``tests``."""
    model.eval()
    out = tests[["task", "a", "b", "target", "target_length"]].copy()
    outputs = [""] * len(tests)
    prob_mean = np.zeros(len(tests))
    logp_sum = np.zeros(len(tests))
    max_new = int(tests["target_length"].max()) + 2
    keys = tests["prompt"].str.len().to_numpy() * 100 + tests["target_length"].to_numpy()
    for key in np.unique(keys):
        idx_all = np.flatnonzero(keys == key)
        for start in range(0, len(idx_all), batch_size):
            idx = idx_all[start:start + batch_size]
            prompts = ar.pack(tests["prompt"].iloc[idx].tolist())
            prompt_t = torch.from_numpy(prompts).to(device)
            gen_ids = generate(model, prompt_t, max_new, stop_id=ar.EOS_ID).cpu().numpy()
            for j, row in zip(idx, gen_ids):
                text = ar.decode(row)
                outputs[j] = text.split(ar.EOS, 1)[0]
            L = int(key % 100)
            full = ar.pack([p + t + ar.EOS for p, t in zip(tests["prompt"].iloc[idx], tests["target"].iloc[idx])])
            full_t = torch.from_numpy(full).to(device)
            logprobs = torch.log_softmax(model(full_t[:, :-1]).float(), dim=-1)
            first = prompts.shape[1] - 1  # position whose next token is the first answer digit
            pos = torch.arange(first, first + L, device=device)
            tgt = full_t[:, first + 1:first + 1 + L]
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


@torch.no_grad()
def pass_until(model: GPT, tests: pd.DataFrame, max_samples: int, generator: torch.Generator,
               round_size: int = 32, device: str = "cpu") -> pd.DataFrame:
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
            samples = generate(model, prompts[active], max_new, ar.EOS_ID, temperature=1.0, n_samples=k,
                               generator=generator).cpu().numpy().reshape(active.size, k, max_new)
            for row, problem in enumerate(group[active]):
                answers = [ar.decode(s).split(ar.EOS, 1)[0] for s in samples[row]]
                hit = next((j for j, ans in enumerate(answers) if ans == targets[problem]), None)
                budget = max_samples - drawn[problem]
                if hit is not None and hit < budget:
                    drawn[problem] += hit + 1
                    solved[problem] = True
                else:
                    drawn[problem] += min(k, budget)
    return pd.DataFrame({"task": tests["task"].to_numpy(), "target_length": tests["target_length"].to_numpy(),
                         "samples": drawn, "solved": solved})


def pass_until_estimate(per_problem: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Pooled PassUntil pass rate per group with an exact Poisson-style 95% interval on successes/samples."""
    g = per_problem.groupby(by, sort=True).agg(problems=("solved", "size"), solved=("solved", "sum"),
                                               samples=("samples", "sum")).reset_index()
    g["pass_rate"] = g["solved"] / g["samples"]
    from scipy import stats

    g["pass_low"] = stats.chi2.ppf(0.025, 2 * g["solved"]) / (2 * g["samples"])
    g["pass_high"] = stats.chi2.ppf(0.975, 2 * (g["solved"] + 1)) / (2 * g["samples"])
    g["pass_low"] = g["pass_low"].fillna(0.0)
    return g


OUTPUT_COLUMNS = ("model", "params", "target", "output")


def score_outputs(outputs: pd.DataFrame) -> pd.DataFrame:
    """Score any model family's answers: a table with columns model, params, target, output (strings).

    Adds exact_match, ted (characters as tokens) and target_length per row; ``summarise`` then gives the curves.
    This is the entry point for readers bringing their own model outputs (documented in Chapter 2).
    """
    missing = [c for c in OUTPUT_COLUMNS if c not in outputs.columns]
    if missing:
        raise ValueError(f"outputs table lacks columns {missing}; needs {list(OUTPUT_COLUMNS)}")
    df = outputs.copy()
    if df["params"].isna().any() or (pd.to_numeric(df["params"], errors="coerce") <= 0).any():
        raise ValueError("params must be a positive number for every row")
    df["params"] = pd.to_numeric(df["params"])
    df["target"] = df["target"].astype(str)
    df["output"] = df["output"].fillna("").astype(str)
    if (df["target"].str.len() == 0).any():
        raise ValueError("every target must be a non-empty string")
    df["target_length"] = df["target"].str.len()
    df["exact_match"] = df["output"] == df["target"]
    df["ted"] = metrics.token_edit_distances(df["target"].tolist(), df["output"].tolist())
    return df


def summarise_outputs(scored: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Exact match (with Wilson 95% interval) and mean TED per model and target length, for scored outputs."""
    by = by or ["model", "params", "target_length"]
    g = scored.groupby(by, sort=True).agg(n=("exact_match", "size"), n_correct=("exact_match", "sum"),
                                          exact_match=("exact_match", "mean"), ted=("ted", "mean")).reset_index()
    g["em_low"], g["em_high"] = resolution.binomial_ci(g["n_correct"].to_numpy(), g["n"].to_numpy())
    return g


@torch.no_grad()
def option_log_probs(model: GPT, prompts: list[str], options: list[list[str]], device: str = "cpu",
                     batch_size: int = 4096) -> list[np.ndarray]:
    """log p(option, then end of line | prompt) for each prompt's options (multiple-choice scoring).

    An option containing a character outside the model's vocabulary (e.g. 'banana') cannot be generated: its
    log-probability is exactly -inf. Returns one array per prompt, aligned with its options.
    """
    if len(prompts) != len(options):
        raise ValueError("prompts and options differ in length")
    model.eval()
    out = [np.full(len(opts), -np.inf) for opts in options]
    jobs = []  # (prompt index, option index, prompt text, option text)
    for i, (prompt, opts) in enumerate(zip(prompts, options)):
        for j, opt in enumerate(opts):
            if opt and all(ch in ar.TOKEN_ID for ch in opt):
                jobs.append((i, j, prompt, opt))
    keys = sorted({(len(p), len(o)) for _, _, p, o in jobs})
    for plen, olen in keys:
        group = [job for job in jobs if len(job[2]) == plen and len(job[3]) == olen]
        for start in range(0, len(group), batch_size):
            chunk = group[start:start + batch_size]
            ids = torch.from_numpy(ar.pack([p + o + ar.EOS for _, _, p, o in chunk])).to(device)
            logprobs = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)
            pos = torch.arange(plen - 1, plen + olen, device=device)  # predicts option tokens and the EOS
            lp = logprobs[:, pos, :].gather(2, ids[:, plen:plen + olen + 1, None]).squeeze(2).sum(1).cpu().numpy()
            for (i, j, _, _), value in zip(chunk, lp):
                out[i][j] = value
    return out
