"""Read and validate a reader's own evaluation results for ``python -m mirage_utils check``.

Three layouts are accepted, told apart by their columns (every layout also needs ``model`` and a scale column,
``params`` and/or ``flops``, constant per model; ``seed`` is optional and makes seeds the unit):

* **generations**: one row per model x example: ``example_id``, ``target``, ``output``; optional ``prompt`` (answers
  printed in it are excluded and counted) and either ``token_logprobs`` (the model's log-probability of each target
  token, a JSON list or space-separated numbers) or ``token_probability`` (their geometric mean, in [0, 1]);
* **multiple choice**: ``example_id``, ``option_logprobs`` (one log-probability per option, JSON list or
  space-separated) and ``correct_option`` (0-based index);
* **aggregates**: ``metric``, ``value`` and ``n`` (the number of examples behind each score).

Errors name the column and the first offending row; rows that cannot be scored are excluded and reported with the
reason, never dropped silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SCALES = ("params", "flops")
# discrete metrics: a share of examples scored 0 or 1, so an aggregate of one lies in [0, 1]
DISCRETE_NAMES = {"exact_match", "exact_str_match", "accuracy", "multiple_choice_grade", "acc", "acc_norm", "em"}


def base_name(metric: object) -> str:
    """A metric's name without lm-evaluation-harness's filter suffix ("exact_match,strict-match" -> "exact_match")."""
    return str(metric).split(",")[0].strip()


LAYOUTS: dict[str, tuple[str, ...]] = {
    "generations": ("example_id", "target", "output"),
    "multiple_choice": ("example_id", "option_logprobs", "correct_option"),
    "aggregates": ("metric", "value", "n"),
}


class SchemaError(ValueError):
    """The input does not follow the documented layout; the message names the column and the row."""


@dataclass
class Validated:
    """A validated table, its layout, its scale column, and what was excluded (reason -> row count)."""

    frame: pd.DataFrame
    layout: str
    scale: str
    excluded: dict[str, int] = field(default_factory=dict)


def read_table(path: str | Path) -> pd.DataFrame:
    """CSV, Parquet or JSON Lines, by file extension (``.csv``, ``.parquet``/``.pq``, ``.jsonl``/``.json``)."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"target": str, "output": str})
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".json"):
        return pd.read_json(path, lines=True, dtype={"target": str, "output": str})
    raise SchemaError(f"{path}: unknown extension {suffix!r}; use .csv, .parquet or .jsonl")


def _row(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> str:
    first = frame.index[np.asarray(mask, dtype=bool)][0]
    return f"row {first} (0-based; first of {int(np.sum(mask))})"


def _layout(frame: pd.DataFrame) -> str:
    found = [name for name, cols in LAYOUTS.items() if set(cols) <= set(frame.columns)]
    if len(found) != 1:
        wanted = "; ".join(f"{name}: {', '.join(cols)}" for name, cols in LAYOUTS.items())
        raise SchemaError(
            f"cannot tell the layout from the columns {sorted(map(str, frame.columns))}: need exactly one of "
            f"[{wanted}] (besides model and params/flops)"
        )
    return found[0]


def _numbers(value: object) -> list[float]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [float(v) for v in value]
    text = str(value).strip()
    parsed = json.loads(text) if text.startswith("[") else text.split()
    return [float(v) for v in parsed]


def _parse_lists(frame: pd.DataFrame, column: str) -> pd.Series:
    out = []
    for index, value in frame[column].items():
        try:
            numbers = _numbers(value)
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"column {column!r}, row {index}: not a list of numbers ({value!r})") from exc
        if not numbers or any(np.isnan(numbers)):
            raise SchemaError(f"column {column!r}, row {index}: needs at least one number and no NaN")
        out.append(numbers)
    return pd.Series(out, index=frame.index, dtype=object)


def _as_text(column: pd.Series) -> pd.Series:
    """Targets and outputs as text; numbers read as numbers (Parquet, JSON) are written as integers where whole, so
    that 3674 and 3674.0 are the same answer."""
    if not pd.api.types.is_numeric_dtype(column):
        return column.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))

    def fmt(v: float) -> str | None:
        if pd.isna(v):
            return None
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    return column.map(fmt)


def _printed(target: str, prompt: str) -> bool:
    """Is ``target`` a number printed in ``prompt`` as a whole word (so "28" is not found inside "2870")? Only
    numeric answers are checked: a solved example's number is a copy that can score, while words and option letters
    ("True", "(A)") appear in prompts for other reasons."""
    if not re.fullmatch(r"-?\d+(\.\d+)?", target):
        return False
    return re.search(rf"(?<![\w.]){re.escape(target)}(?![\w]|\.\d)", prompt) is not None


def validate(frame: pd.DataFrame) -> Validated:
    """Check ``frame`` against its layout; returns the rows to score (a copy) and the excluded counts by reason."""
    if "model" not in frame.columns:
        raise SchemaError("missing column 'model' (the name of each model)")
    scales = [s for s in SCALES if s in frame.columns]
    if not scales:
        raise SchemaError("missing a scale column: 'params' (parameters) and/or 'flops' (training compute)")
    layout = _layout(frame)
    df = frame.copy()
    if df["model"].isna().any():
        raise SchemaError(f"column 'model', {_row(df, df['model'].isna())}: empty model name")
    df["model"] = df["model"].astype(str)
    for scale in scales:
        values = pd.to_numeric(df[scale], errors="coerce")
        bad = values.isna() | ~(values > 0)
        if bad.any():
            raise SchemaError(
                f"column {scale!r}, {_row(df, bad)}: must be a positive number, got {df[scale][bad].iloc[0]}"
            )
        df[scale] = values.astype(float)
        varying = df.groupby("model")[scale].nunique()
        if (varying > 1).any():
            raise SchemaError(f"column {scale!r}: model {varying[varying > 1].index[0]!r} has more than one value")
        per_model = df.groupby("model")[scale].first()
        shared = per_model[per_model.duplicated(keep=False)]
        if not shared.empty:
            raise SchemaError(
                f"column {scale!r}: models {sorted(shared.index)[:2]} have the same value {shared.iloc[0]:g}; a "
                "scaling curve needs one model per size (merge or drop the duplicates)"
            )
    if "seed" in df.columns:
        n_seeds = df.groupby("model")["seed"].nunique()
        if (n_seeds >= 2).any() and (n_seeds < 2).any():
            raise SchemaError(
                f"column 'seed': models {sorted(n_seeds[n_seeds < 2].index)[:3]} have one seed, others several; give "
                "every model at least two seeds (seeds are then the unit) or leave the column out"
            )
    if "seed" in df.columns and df["seed"].isna().any():
        raise SchemaError(f"column 'seed', {_row(df, df['seed'].isna())}: empty seed (leave the column out if none)")
    excluded: dict[str, int] = {}
    keys = ["model", *(["seed"] if "seed" in df.columns else [])]
    if layout == "aggregates":
        for column in ("value", "n"):
            df[column] = pd.to_numeric(df[column], errors="coerce")
            if df[column].isna().any():
                raise SchemaError(f"column {column!r}, {_row(df, df[column].isna())}: not a number")
        bad_n = ~(df["n"] >= 1) | (df["n"] != np.round(df["n"]))
        if bad_n.any():
            raise SchemaError(f"column 'n', {_row(df, bad_n)}: must be a whole number of examples >= 1")
        dup = df.duplicated([*keys, "metric"], keep=False)
        if dup.any():
            raise SchemaError(f"columns {[*keys, 'metric']}: {_row(df, dup)} repeats a model x metric score")
        df["metric"] = df["metric"].astype(str)
        rate = df["metric"].map(lambda m: base_name(m) in DISCRETE_NAMES)
        outside = rate & ((df["value"] < 0) | (df["value"] > 1))
        if outside.any():
            raise SchemaError(
                f"column 'value', {_row(df, outside)}: {df.loc[outside, 'metric'].iloc[0]!r} is a rate and must lie "
                "in [0, 1] (divide percentages by 100)"
            )
        models = df["model"].nunique()
        per_metric = df.groupby("metric")["model"].nunique()
        for metric, count in per_metric[per_metric < models].items():
            excluded[f"metric {metric!r}: scored for {count} of {models} models, left out"] = int(
                (df["metric"] == metric).sum()
            )
            df = df[df["metric"] != metric]
        if df.empty:
            raise SchemaError("no metric is scored for every model")
        return Validated(df, layout, scales[0], excluded)
    dup = df.duplicated([*keys, "example_id"], keep=False)
    if dup.any():
        raise SchemaError(f"columns {[*keys, 'example_id']}: {_row(df, dup)} repeats an example for one model")
    if layout == "generations":
        df["target"] = _as_text(df["target"])
        missing_target = df["target"].isna() | (df["target"].astype(str).str.len() == 0)
        if missing_target.any():
            excluded["no target"] = int(missing_target.sum())
            df = df[~missing_target]
        df["target"] = df["target"].astype(str)
        df["output"] = _as_text(df["output"])
        empty_output = df["output"].isna()
        if empty_output.any():
            excluded["no output (scored as an empty answer, kept)"] = int(empty_output.sum())
        df["output"] = df["output"].fillna("").astype(str)
        if "prompt" in df.columns:
            printed = np.array(
                [_printed(t, str(p)) for t, p in zip(df["target"].str.strip(), df["prompt"].fillna(""))], dtype=bool
            )
            if printed.any():
                excluded["answer printed in the prompt (a copy would score)"] = int(printed.sum())
                df = df[~printed]
        if "token_probability" in df.columns:
            p = pd.to_numeric(df["token_probability"], errors="coerce")
            bad = p.isna() | (p < 0) | (p > 1)
            if bad.any():
                raise SchemaError(f"column 'token_probability', {_row(df, bad)}: must be a probability in [0, 1]")
            df["token_probability"] = p.astype(float)
        if "token_logprobs" in df.columns:
            df["token_logprobs"] = _parse_lists(df, "token_logprobs")
            positive = df["token_logprobs"].map(lambda v: any(x > 0 for x in v))
            if positive.any():
                raise SchemaError(f"column 'token_logprobs', {_row(df, positive)}: log-probabilities must be <= 0")
    else:
        df["option_logprobs"] = _parse_lists(df, "option_logprobs")
        positive = df["option_logprobs"].map(lambda v: any(x > 0 for x in v))
        if positive.any():
            raise SchemaError(
                f"column 'option_logprobs', {_row(df, positive)}: log-probabilities must be <= 0 (got probabilities?)"
            )
        impossible = df["option_logprobs"].map(lambda v: not any(np.isfinite(v)))
        if impossible.any():
            raise SchemaError(f"column 'option_logprobs', {_row(df, impossible)}: every option has probability 0")
        k = df["option_logprobs"].map(len)
        correct = pd.to_numeric(df["correct_option"], errors="coerce")
        bad = correct.isna() | (correct != np.round(correct)) | (correct < 0) | (correct >= k)
        if bad.any():
            raise SchemaError(
                f"column 'correct_option', {_row(df, bad)}: must be a 0-based index of one of the options"
            )
        df["correct_option"] = correct.astype(int)
    if df.empty:
        raise SchemaError(f"no rows left to score after exclusions {excluded}")
    counts = df.groupby("model")["example_id"].nunique()
    if (counts < 2).any():
        raise SchemaError(
            f"column 'example_id': model {counts[counts < 2].index[0]!r} has a single example; a rate needs at "
            "least two"
        )
    return Validated(df, layout, scales[0], excluded)
