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

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from .errors import SchemaError
from .normalise import NumberLists, canonical_texts, canonicalise, number_lists, printed_in_prompt
from .reading import read_table

__all__ = ["DISCRETE_NAMES", "LAYOUTS", "SCALES", "SchemaError", "Validated", "base_name", "read_table", "validate"]

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


@dataclass
class Validated:
    """A validated table, its layout, its scale column, and what was excluded (reason -> row count)."""

    frame: pd.DataFrame
    layout: str
    scale: str
    excluded: dict[str, int] = field(default_factory=dict)


def _row(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> str:
    """The first offending row by its label (0-based data row of the file), with its file line where known."""
    first = frame.index[np.asarray(mask, dtype=bool)][0]
    where = f"row {first} (0-based; first of {int(np.sum(mask))})"
    first_line = frame.attrs.get("first_line")
    if isinstance(first_line, int) and isinstance(first, (int, np.integer)):
        where += f", line {first_line + int(first)} of the file"
    return where


def _normal(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def did_you_mean(wanted: str, columns: object) -> str:
    """A hint for a missing column: a case or space variant of ``wanted`` in ``columns``, else a close spelling."""
    names = [str(c) for c in columns]  # type: ignore[attr-defined]
    for name in names:
        if _normal(name) == wanted:
            return f"; the file has {name!r}: did you mean {wanted!r}? (column names are exact: rename it)"
    match = process.extractOne(wanted, names, scorer=fuzz.ratio, score_cutoff=75)
    if match is not None:
        return f"; did you mean {wanted!r} for the column {match[0]!r}? (rename it)"
    return ""


def _layout(frame: pd.DataFrame) -> str:
    columns = set(frame.columns)
    found = [name for name, cols in LAYOUTS.items() if set(cols) <= columns]
    if len(found) == 1:
        return found[0]
    wanted = "; ".join(f"{name}: {', '.join(cols)}" for name, cols in LAYOUTS.items())
    hint = ""
    if not found:
        normal = {_normal(c) for c in frame.columns}
        closest = max(LAYOUTS, key=lambda k: sum(c in normal for c in LAYOUTS[k]))
        missing = [c for c in LAYOUTS[closest] if c not in columns]
        hints = [h for h in (did_you_mean(c, frame.columns) for c in missing) if h]
        hint = f" (closest: {closest}, missing {missing}{hints[0] if hints else ''})"
    names = sorted(map(str, frame.columns))
    shown = names if len(names) <= 12 else [*names[:12], f"... {len(names) - 12} more"]
    raise SchemaError(
        f"cannot tell the layout from the columns {shown}: need exactly one of [{wanted}] (besides model and "
        f"params/flops){hint}"
    )


def _not_a_number(values: pd.Series, mask: pd.Series | np.ndarray) -> str:
    """What the first bad value is, with a hint for a decimal comma."""
    value = values[np.asarray(mask, dtype=bool)].iloc[0]
    value = value.item() if isinstance(value, np.generic) else value
    hint = " (decimal comma? write 0.5, not 0,5)" if isinstance(value, str) and "," in value else ""
    return f"got {value!r}{hint}"


def _canonical_keys(df: pd.DataFrame, column: str) -> None:
    """Identifiers (model, seed, example_id) that mix types or hold lists: one canonical text each, so that 1, 1.0
    and "1" are one identifier and sorting never meets a str beside an int."""
    if df[column].isna().any():
        raise SchemaError(f"column {column!r}, {_row(df, df[column].isna())}: empty {column}")
    if not pd.api.types.is_numeric_dtype(df[column]) or column == "model":
        df[column] = canonical_texts(df[column])
        empty = df[column] == ""
        if empty.any():
            raise SchemaError(f"column {column!r}, {_row(df, empty)}: empty {column}")


def _lists(df: pd.DataFrame, column: str, what: str) -> NumberLists:
    """A column of number lists, vectorised; the first unreadable, empty or NaN row is named."""
    lists = number_lists(df[column])
    if lists is None:  # find and name the first row that does not parse
        parsed = _parse_lists(df, column)
        lists = NumberLists(
            np.asarray([x for row in parsed for x in row], dtype=float),
            np.concatenate([[0], np.cumsum([len(row) for row in parsed])]).astype(np.int64),
        )
    empty = lists.lengths == 0
    if empty.any():
        raise SchemaError(f"column {column!r}, {_row(df, empty)}: needs at least one {what}")
    nan_rows = NumberLists(np.isnan(lists.values).astype(float), lists.offsets).reduce(np.maximum, 0.0) > 0
    if nan_rows.any():
        raise SchemaError(f"column {column!r}, {_row(df, nan_rows)}: NaN where a {what} should be")
    positive = lists.reduce(np.maximum, -np.inf) > 0
    if positive.any():
        raise SchemaError(
            f"column {column!r}, {_row(df, positive)}: log-probabilities must be <= 0 (got probabilities?)"
        )
    return lists


def _validate_generations(df: pd.DataFrame, excluded: dict[str, int]) -> pd.DataFrame:
    # object columns of Python str: the metrics iterate them (an Arrow-backed column would box every value again)
    (targets, rewritten_targets), (outputs, rewritten_outputs) = canonicalise(df["target"]), canonicalise(df["output"])
    rewritten = rewritten_targets + rewritten_outputs
    if rewritten:
        excluded["answers rewritten to one form (full-width digits, 1948.0 as 1948; kept)"] = rewritten
    df["target"], df["output"] = targets, outputs
    missing_target = (df["target"].isna() | (df["target"] == "")).to_numpy(dtype=bool)
    if missing_target.any():
        excluded["no target"] = int(missing_target.sum())
    empty_output = df["output"].isna() & ~missing_target
    if empty_output.any():
        excluded["no output (scored as an empty answer, kept)"] = int(empty_output.sum())
    df["output"] = df["output"].where(df["output"].notna(), "")
    drop = missing_target
    if "prompt" in df.columns:
        printed = printed_in_prompt(df["target"], df["prompt"]) & ~missing_target
        if printed.any():
            excluded["answer printed in the prompt (a copy would score)"] = int(printed.sum())
            drop = drop | printed
    if drop.any():
        df = df[~drop].copy()  # one filter for every exclusion; a frame of its own (pandas 2 warns otherwise)
    if "token_probability" in df.columns:
        p = pd.to_numeric(df["token_probability"], errors="coerce")
        bad = p.isna() | (p < 0) | (p > 1)
        if bad.any():
            raise SchemaError(
                f"column 'token_probability', {_row(df, bad)}: must be a probability in [0, 1], "
                f"{_not_a_number(df['token_probability'], bad)}"
            )
        df["token_probability"] = p.astype(float)
    if "token_logprobs" in df.columns:
        # the geometric mean of the target tokens' probabilities, computed here once for all rows (no row lists)
        lists = _lists(df, "token_logprobs", "log-probability per target token")
        df["token_probability"] = np.exp(lists.mean())
        df = df.drop(columns="token_logprobs")
    return df


def _validate_multiple_choice(df: pd.DataFrame) -> pd.DataFrame:
    lists = _lists(df, "option_logprobs", "log-probability per option")
    impossible = lists.reduce(np.maximum, -np.inf) == -np.inf
    if impossible.any():
        raise SchemaError(f"column 'option_logprobs', {_row(df, impossible)}: every option has probability 0")
    df["option_logprobs"] = pd.Series(lists.to_lists(), index=df.index, dtype=object)
    k = lists.lengths
    correct = pd.to_numeric(df["correct_option"], errors="coerce")
    bad = correct.isna() | (correct != np.round(correct)) | (correct < 0) | (correct >= k)
    if bad.any():
        raise SchemaError(
            f"column 'correct_option', {_row(df, bad)}: must be a 0-based index of one of the options, "
            f"{_not_a_number(df['correct_option'], bad)}"
        )
    df["correct_option"] = correct.astype(int)
    return df


def _validate_aggregates(df: pd.DataFrame, keys: list[str], excluded: dict[str, int]) -> pd.DataFrame:
    for column in ("value", "n"):
        numbers = pd.to_numeric(df[column], errors="coerce")
        if numbers.isna().any():
            raise SchemaError(
                f"column {column!r}, {_row(df, numbers.isna())}: not a number, "
                f"{_not_a_number(df[column], numbers.isna())}"
            )
        infinite = ~np.isfinite(numbers.to_numpy(dtype=float))
        if infinite.any():
            raise SchemaError(
                f"column {column!r}, {_row(df, infinite)}: {numbers[infinite].iloc[0]} is not a finite number; "
                "drop the row or give a finite score"
            )
        df[column] = numbers
    bad_n = ~(df["n"] >= 1) | (df["n"] != np.round(df["n"]))
    if bad_n.any():
        raise SchemaError(f"column 'n', {_row(df, bad_n)}: must be a whole number of examples >= 1")
    df["metric"] = canonical_texts(df["metric"]).fillna("").astype(str)
    dup = df.duplicated([*keys, "metric"], keep=False)
    if dup.any():
        raise SchemaError(
            f"columns {[*keys, 'metric']}: {_row(df, dup)} repeats a model x metric score (several tasks or "
            "checkpoints? give one table per task, or a 'task' column)"
        )
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
    return df


def _validate_scales(df: pd.DataFrame, scales: list[str]) -> None:
    for scale in scales:
        values = pd.to_numeric(df[scale], errors="coerce")
        bad = values.isna() | ~(values > 0) | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            raise SchemaError(
                f"column {scale!r}, {_row(df, bad)}: must be a positive finite number, {_not_a_number(df[scale], bad)}"
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


def validate(frame: pd.DataFrame) -> Validated:
    """Check ``frame`` against its layout; returns the rows to score (a copy) and the excluded counts by reason.
    Every problem is a :class:`SchemaError` naming the column, the first offending row and a fix."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise SchemaError("no rows")
    if "model" not in frame.columns:
        raise SchemaError("missing column 'model' (the name of each model)" + did_you_mean("model", frame.columns))
    scales = [s for s in SCALES if s in frame.columns]
    if not scales:
        hint = did_you_mean("params", frame.columns) or did_you_mean("flops", frame.columns)
        raise SchemaError("missing a scale column: 'params' (parameters) and/or 'flops' (training compute)" + hint)
    layout = _layout(frame)
    df = frame.copy()
    _canonical_keys(df, "model")
    _validate_scales(df, scales)
    if "seed" in df.columns:
        _canonical_keys(df, "seed")
        n_seeds = df.groupby("model")["seed"].nunique()
        if (n_seeds >= 2).any() and (n_seeds < 2).any():
            raise SchemaError(
                f"column 'seed': models {sorted(n_seeds[n_seeds < 2].index)[:3]} have one seed, others several; give "
                "every model at least two seeds (seeds are then the unit) or leave the column out"
            )
    excluded: dict[str, int] = {}
    keys = ["model", *(["seed"] if "seed" in df.columns else [])]
    if layout == "aggregates":
        df = _validate_aggregates(df, keys, excluded)
    else:
        _canonical_keys(df, "example_id")
        dup = df.duplicated([*keys, "example_id"], keep=False)
        if dup.any():
            raise SchemaError(f"columns {[*keys, 'example_id']}: {_row(df, dup)} repeats an example for one model")
        if layout == "generations":
            df = _validate_generations(df, excluded)
        else:
            df = _validate_multiple_choice(df)
        if df.empty:
            raise SchemaError(f"no rows left to score after exclusions {excluded}")
        counts = df.groupby("model")["example_id"].nunique()
        if (counts < 2).any():
            raise SchemaError(
                f"column 'example_id': model {counts[counts < 2].index[0]!r} has a single example; a rate needs at "
                "least two"
            )
    models = sorted(df["model"].unique())
    if len(models) < 2:
        raise SchemaError(
            f"one model only ({models[0]!r}): a scaling curve needs at least two sizes, and three to measure "
            "sharpness; add the other models' rows"
        )
    return Validated(df, layout, scales[0], excluded)


def _numbers(value: object) -> list[float]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [float(v) for v in value]
    text = str(value).strip()
    parsed = json.loads(text) if text.startswith("[") else text.split()
    return [float(v) for v in parsed]


def _parse_lists(frame: pd.DataFrame, column: str) -> list[list[float]]:
    """The slow reference parse, row by row: used only to name the first row the vectorised parse rejects."""
    out = []
    for index, value in frame[column].items():
        try:
            numbers = _numbers(value)
        except (ValueError, TypeError, RecursionError) as exc:
            raise SchemaError(f"column {column!r}, row {index}: not a list of numbers ({str(value)[:60]!r})") from exc
        out.append(numbers)
    return out
