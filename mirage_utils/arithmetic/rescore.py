"""Re-scoring any model family's arithmetic answers (no torch needed): exact match, token edit distance, and
exclusion of problems whose answer is printed in the prompt (a model that copies a few-shot example is not doing
arithmetic)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import metrics, resolution
from .task import chance_exact_match

OUTPUT_COLUMNS = ("model", "params", "target", "output")


def prompt_numbers(prompt: str) -> set[str]:
    """Every integer written in a prompt (the few-shot examples' operands and answers)."""
    return set(re.findall(r"\d+", prompt))


def score_outputs(outputs: pd.DataFrame, prompt: str | None = None) -> pd.DataFrame:
    """Score a table with columns model, params, target, output (strings), one row per model and problem.

    Adds exact_match, ted (characters as tokens), target_length, chance and ``in_prompt``: the target is one of
    the numbers printed in ``prompt`` (the shared few-shot prefix), so a copy would score. Filter those rows out
    before drawing conclusions (:func:`exclude_prompt_answers` does and reports how many).
    """
    missing = [c for c in OUTPUT_COLUMNS if c not in outputs.columns]
    if missing:
        raise ValueError(f"outputs table lacks columns {missing}; needs {list(OUTPUT_COLUMNS)}")
    df = outputs.copy()
    params = pd.to_numeric(df["params"], errors="coerce")
    if params.isna().any() or (params <= 0).any():
        bad = int(np.flatnonzero(params.isna() | (params <= 0))[0])
        raise ValueError(f"params must be a positive number for every row (row {bad}: {df['params'].iloc[bad]!r})")
    df["params"] = params
    df["target"] = df["target"].astype(str)
    df["output"] = df["output"].fillna("").astype(str)
    if (df["target"].str.len() == 0).any():
        raise ValueError("every target must be a non-empty string")
    df["target_length"] = df["target"].str.len()
    df["exact_match"] = df["output"] == df["target"]
    df["ted"] = metrics.token_edit_distances(df["target"].tolist(), df["output"].tolist())
    df["chance"] = chance_exact_match(df["target_length"].to_numpy())
    numbers = prompt_numbers(prompt) if prompt else set()
    df["in_prompt"] = df["target"].isin(numbers)
    df["copies_prompt"] = df["output"].isin(numbers)
    return df


def exclude_prompt_answers(scored: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop problems whose answer is printed in the prompt; returns the rest and the counts (per model: problems
    dropped, how many of them the model got right, and how many kept answers copy a prompt number)."""
    kept = scored[~scored["in_prompt"]]
    dropped = scored[scored["in_prompt"]]
    report = {
        "problems dropped per model": int(dropped.groupby("model").size().max()) if len(dropped) else 0,
        "correct answers dropped (all models)": int(dropped["exact_match"].sum()),
        "kept outputs that copy a prompt number (all models)": int(kept["copies_prompt"].sum()),
    }
    return kept, report


def summarise_outputs(scored: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Exact match (with a 95% Wilson interval over problems), mean TED and chance per model and target length."""
    by = by or ["model", "params", "target_length"]
    g = (
        scored.groupby(by, sort=True)
        .agg(
            n=("exact_match", "size"),
            n_correct=("exact_match", "sum"),
            exact_match=("exact_match", "mean"),
            ted=("ted", "mean"),
        )
        .reset_index()
    )
    g["em_low"], g["em_high"] = resolution.binomial_ci(g["n_correct"].to_numpy(), g["n"].to_numpy())
    if "target_length" in g.columns:
        g["chance"] = chance_exact_match(g["target_length"].to_numpy())
    return g


def resolved_above_chance(curves: pd.DataFrame) -> pd.Series:
    """Claim check per row of :func:`summarise_outputs`: the 95% Wilson lower bound of exact match exceeds the
    chance level of the answer's length (a hit or two at chance level is not "above zero" in any useful sense)."""
    missing = [c for c in ("em_low", "chance") if c not in curves.columns]
    if missing:
        raise ValueError(f"curves lack columns {missing} (use summarise_outputs)")
    return curves["em_low"] > curves["chance"]
