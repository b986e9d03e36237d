"""Turn common evaluation harnesses' outputs into the input of ``python -m mirage_utils check``.

* lm-evaluation-harness (``--log_samples``): one ``samples_<task>_<date>.jsonl`` per model. A generation task gives
  ``doc_id``, ``target`` and ``filtered_resps`` (the filtered answer, ``["42"]``); a multiple-choice (loglikelihood)
  task gives ``target`` (the gold option's index) and ``filtered_resps`` with one ``[log-probability, is_greedy]``
  pair per option. Tasks with several filters log one row per filter: name the one to score.
* BIG-bench (``scores_<model>.json``, read by :func:`mirage_utils.bigbench.load_results_dir`): aggregate scores per
  model; the files do not record how many examples a score rests on, so the caller gives it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .schema import SchemaError


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SchemaError(f"{path}, line {i}: not JSON ({exc.msg})") from exc
    if not rows:
        raise SchemaError(f"{path}: no samples")
    return rows


def _prompt(sample: dict[str, Any]) -> str | None:
    """The context of the first request (lm-eval logs ``arguments`` as a list of [context, ...] or a dict)."""
    args = sample.get("arguments")
    first = args[0] if isinstance(args, list) and args else None
    if isinstance(args, dict) and args:
        inner = next(iter(args.values()))
        first = list(inner.values()) if isinstance(inner, dict) else inner
    if isinstance(first, (list, tuple)) and first and isinstance(first[0], str):
        return first[0]
    return None


def _as_float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _is_option_pair(value: object) -> bool:
    """A loglikelihood response: [log-probability, is_greedy], as numbers (lm-eval < 0.4.3) or strings
    (["-1.25", "False"], lm-eval >= 0.4.3)."""
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and not isinstance(value[0], (list, tuple))
        and _as_float(value[0]) is not None
        and str(value[1]) in ("True", "False", "true", "false", "0", "1")
    )


def _sample_row(sample: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("doc_id", "target", "filtered_resps"):
        if key not in sample:
            raise SchemaError(f"{where}: no {key!r} (not an lm-evaluation-harness sample; run it with --log_samples)")
    resps = sample["filtered_resps"]
    if isinstance(resps, list) and resps and all(_is_option_pair(r) for r in resps):
        target = sample["target"]
        try:
            gold = int(target)
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"{where}: a multiple-choice sample needs the gold option's index as target, got {target!r}"
            ) from exc
        return {
            "example_id": sample["doc_id"],
            "option_logprobs": [float(r[0]) for r in resps],
            "correct_option": gold,
        }
    answer = resps
    while isinstance(answer, list):
        if len(answer) != 1:
            raise SchemaError(f"{where}: expected one filtered answer, got {len(answer)} ({resps!r})")
        answer = answer[0]
    target = sample["target"]
    if isinstance(target, list):
        target = target[0] if target else ""
    row = {"example_id": sample["doc_id"], "target": str(target), "output": str(answer)}
    prompt = _prompt(sample)
    if prompt is not None:
        row["prompt"] = prompt
    return row


def from_lm_eval(
    samples: Mapping[str | tuple[str, int], str | Path],
    params: Mapping[str, float],
    filter_name: str | None = None,
) -> pd.DataFrame:
    """One table in the ``check`` layout from lm-evaluation-harness per-sample logs.

    ``samples`` maps each model's name, or a (model, seed) pair for runs that differ only in seed, to its
    ``samples_*.jsonl`` (or ``.jsonl.gz``) for one task; ``params`` maps model names to parameter counts. With
    several filters in a file, ``filter_name`` picks one (an error lists them otherwise). The prompt (first
    request's context) is kept, so numbers printed in it are excluded by ``check``.

    What it cannot do for you: ``target`` is compared with the filtered answer as text, so a task whose target is a
    worked solution (gsm8k) or a list of accepted answers (only the first is kept) needs a target prepared the way
    the harness's own metric reads it.
    """
    if not samples:
        raise ValueError("no sample files given")
    keyed = {(k if isinstance(k, tuple) else (k, None)): v for k, v in samples.items()}
    missing = sorted({m for m, _ in keyed} - set(params))
    if missing:
        raise ValueError(f"no parameter count for models {missing}")
    seeded = {seed is not None for _, seed in keyed}
    if len(seeded) > 1:
        raise ValueError("give every run as (model, seed) or none")
    frames = []
    for (model, seed), path in keyed.items():
        path = Path(path)
        if not path.is_file():
            raise SchemaError(f"{path}: no such file")
        rows = _read_jsonl(path)
        filters = sorted({str(r.get("filter", "none")) for r in rows})
        if filter_name is not None:
            rows = [r for r in rows if str(r.get("filter", "none")) == filter_name]
            if not rows:
                raise SchemaError(f"{path}: no samples with filter {filter_name!r}; filters present: {filters}")
        elif len(filters) > 1:
            raise SchemaError(f"{path}: samples under several filters {filters}; pass filter_name to pick one")
        table = pd.DataFrame([_sample_row(r, f"{path}, sample {i}") for i, r in enumerate(rows)])
        table.insert(0, "model", model)
        table.insert(1, "params", float(params[model]))
        if seed is not None:
            table.insert(2, "seed", int(seed))
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def from_bigbench(
    results: pd.DataFrame,
    task: str,
    n_examples: int,
    family: str = "BIG-G T=0",
    shots: int = 0,
    subtask: str | None = None,
    metrics: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """The aggregates layout for one task x family x shots x subtask of BIG-bench results (the long table of
    :func:`mirage_utils.bigbench.load_results_dir`); ``params`` are non-embedding parameters as BIG-bench's scaling
    plots use. ``subtask`` None means the whole task (BIG-bench describes it by the task's name). ``n_examples`` is the
    task's example count, which the results files do not record."""
    if n_examples < 1:
        raise ValueError("n_examples must be >= 1")
    sel = results[
        (results["task"] == task)
        & (results["model_family"] == family)
        & (results["shots"] == shots)
        & (results["subtask"].fillna("") == (task if subtask is None else subtask))
    ]
    if metrics is not None:
        sel = sel[sel["metric"].isin(metrics)]
    if sel.empty:
        raise ValueError(
            f"no BIG-bench results for task {task!r}, family {family!r}, {shots} shots, subtask {subtask!r}"
        )
    out = sel.rename(columns={"model_name": "model", "non_embedding_params": "params"})[
        ["model", "params", "metric", "value"]
    ].copy()
    out["n"] = int(n_examples)
    return out.reset_index(drop=True)
