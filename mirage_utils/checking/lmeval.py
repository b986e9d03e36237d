"""Read lm-evaluation-harness *results* files (the aggregate scores, not ``--log_samples``) into the aggregate layout
of ``python -m mirage_utils check``: one row per model x run x checkpoint x task x metric.

Two layouts are recognised, told apart by their keys:

* **0.3** (``results`` / ``versions`` / ``config``): ``{"results": {task: {"acc": 0.41, "acc_stderr": 0.01}},
  "config": {"model_args": "pretrained=EleutherAI/pythia-v1.1-410m,revision=step3000", "num_fewshot": 0}}``;
* **0.4** (``results`` / ``configs`` / ``n-samples``): metric keys carry the filter (``"acc,none"``,
  ``"acc_stderr,none"``), ``"n-samples": {task: {"original": N, "effective": N}}``, ``"n-shot": {task: k}``,
  ``"higher_is_better": {task: {metric: bool}}``, and ``config.model_args`` is a string or a dict.

Columns of the table (:data:`COLUMNS`) and where each comes from:

* ``model``: the ``pretrained=`` model (organisation prefix dropped), with a run tag removed (below);
* ``params``: from ``sizes`` (a mapping or ``--sizes FILE.csv`` with columns ``model,params``; looked up by the
  name with and without organisation and run tag) or else the **nominal** size in the model's name (``70m``,
  ``1.4b``, ``12b``: the marketing label, not a parameter count; the notes say so);
* ``step``: from ``revision=stepN`` (NaN when the file does not name a checkpoint);
* ``run``: the training run, a replicate of the same size. In this order: a ``runs`` mapping (model name -> run);
  else, for a directory whose sub-folders each hold two or more model sizes, the sub-folder (one directory per run);
  else a run tag at the end of the model name (:data:`RUN_TAGS`: Pythia's ``-deduped`` models are its second
  run, trained on the deduplicated Pile; the others are run ``"standard"``). Precision tags (``-bf16``, ``-fp16``)
  are dropped from the name: Pythia's 1B standard run is published as ``pythia-1b-bf16``;
* ``task``, ``metric`` (the filter kept unless it is ``none``: ``exact_match,strict-match``), ``value``,
  ``stderr`` (NaN when absent or ``"N/A"``), ``shots`` (``num_fewshot`` / ``n-shot``);
* ``n``: the examples behind the score: ``n-samples`` ``effective`` when the file has it; else, for a proportion,
  recovered from its standard error as lm-eval computes it (sample standard error of 0/1 scores):
  ``n = p (1 - p) / se**2 + 1``, kept only when it is within 1e-3 of a whole number and ``p n`` is too; other
  metrics of the same task and file (a perplexity) take the task's n. When a score sits at 0 or 1 (standard error
  0) the task's n from the other files is used if they all agree. Otherwise NaN, and the notes count the rows.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .schema import SchemaError, base_name

COLUMNS = ("model", "params", "step", "run", "task", "metric", "value", "stderr", "n", "shots", "file")
# model-name suffix -> run label: a second training run of the same sizes (replicates of each size)
RUN_TAGS = {"deduped": "deduped"}
DEFAULT_RUN = "standard"
# suffixes that label how one model was stored, not a different model
IGNORED_TAGS = ("bf16", "fp16", "fp32")
# proportions whose n can be recovered from the standard error
PROPORTIONS = {"acc", "acc_norm", "exact_match", "em", "accuracy", "multiple_choice_grade", "pct_stereotype"}
MULTIPLIERS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)([kmbt])(?![a-z0-9])", re.IGNORECASE)
_STEP = re.compile(r"^(?:global_)?step[_-]?(\d+)$")


@dataclass
class LmEvalResults:
    """The table (:data:`COLUMNS`), how many files it came from, and notes for the report (nominal sizes, rows
    whose n could not be recovered, files skipped)."""

    frame: pd.DataFrame
    files: int
    notes: list[str] = field(default_factory=list)


def is_results(obj: object) -> bool:
    """Is a parsed JSON document an lm-eval results file (0.3 or 0.4)?"""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("results"), dict)
        and any(k in obj for k in ("versions", "config", "configs", "n-samples"))
    )


def is_results_file(path: str | Path) -> bool:
    """Is ``path`` a JSON file holding an lm-eval results document? (False for anything unreadable.)"""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        return is_results(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def find_files(spec: str | Path) -> tuple[list[Path], Path | None]:
    """The JSON files a file, a directory (searched recursively) or a glob pattern names, sorted; the second item is
    the directory when ``spec`` is one (for one-directory-per-run). Raises :class:`SchemaError` when none exist."""
    text = str(spec)
    path = Path(text)
    if path.is_file():
        return [path], None
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise SchemaError(f"{path}: a directory with no .json files (lm-eval writes results_<date>.json)")
        return files, path
    if _has_glob(text):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise SchemaError(f"{text}: the pattern matches no file")
        return files, None
    raise SchemaError(f"{text}: no such file or directory")


def parse_model_args(args: object) -> dict[str, str]:
    """``model_args`` as a dict: lm-eval writes ``"pretrained=org/name,revision=step3000"`` or a dict."""
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    out: dict[str, str] = {}
    for part in str(args or "").split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def model_name(doc: Mapping[str, Any]) -> str | None:
    """The evaluated model's name: ``pretrained=`` (or ``model=``/``path=``) in ``model_args``, else the file's
    ``model_name``; organisation and folders dropped (``EleutherAI/pythia-410m`` -> ``pythia-410m``)."""
    args = parse_model_args(_dict(doc.get("config")).get("model_args"))
    name = args.get("pretrained") or args.get("model") or args.get("path") or doc.get("model_name")
    if not name:
        return None
    return str(name).rstrip("/").split("/")[-1]


def step_of(doc: Mapping[str, Any]) -> float:
    """The checkpoint from ``revision=stepN`` (Hugging Face branches of Pythia and others); NaN when absent."""
    match = _STEP.match(parse_model_args(_dict(doc.get("config")).get("model_args")).get("revision", "").strip())
    return float(match.group(1)) if match else float("nan")


def nominal_size(name: str) -> tuple[str, float] | None:
    """The size label in a model's name and its value (``pythia-v1.1-1.4b-deduped`` -> ("1.4b", 1.4e9)); the last
    label wins; None when there is none. A label is marketing, not a parameter count."""
    found = _SIZE.findall(name)
    if not found:
        return None
    number, unit = found[-1]
    return f"{number}{unit.lower()}", float(number) * MULTIPLIERS[unit.lower()]


def split_run(name: str) -> tuple[str, str | None]:
    """(name without its run and precision tags, the run the tag names or None): ``pythia-410m-deduped`` ->
    ("pythia-410m", "deduped"); ``pythia-1b-bf16`` -> ("pythia-1b", None)."""
    run = None
    changed = True
    while changed:
        changed = False
        for tag, label in [*RUN_TAGS.items(), *((t, None) for t in IGNORED_TAGS)]:
            for sep in ("-", "_", "."):
                if name.lower().endswith(sep + tag):
                    name, changed = name[: -len(sep + tag)], True
                    run = label if label is not None else run
    return name, run


def _stderr_key(metric: str) -> str:
    name, sep, filt = metric.partition(",")
    return f"{name}_stderr{sep}{filt}"


def _number(value: object) -> float:
    if isinstance(value, bool) or value is None:
        return float("nan")
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return out if np.isfinite(out) else float("nan")


def recover_n(p: float, se: float, tol: float = 1e-3) -> float:
    """The number of examples behind a proportion ``p`` with lm-eval's sample standard error ``se``:
    ``n = p (1 - p) / se**2 + 1``, when that and ``p n`` lie within ``tol`` of whole numbers; NaN otherwise."""
    if not (np.isfinite(p) and np.isfinite(se)) or se <= 0 or not 0 < p < 1:
        return float("nan")
    raw = p * (1 - p) / se**2 + 1
    n = round(raw)
    if n < 2 or abs(raw - n) > tol or abs(p * n - round(p * n)) > tol:
        return float("nan")
    return float(n)


def _shots(doc: Mapping[str, Any], task: str) -> float:
    n_shot = doc.get("n-shot")
    if isinstance(n_shot, dict) and task in n_shot:
        return _number(n_shot[task])
    configs = doc.get("configs")
    if isinstance(configs, dict) and isinstance(configs.get(task), dict) and "num_fewshot" in configs[task]:
        return _number(configs[task]["num_fewshot"])
    config = doc.get("config")
    if isinstance(config, dict) and "num_fewshot" in config:
        return _number(config["num_fewshot"])
    return float("nan")


def _n_samples(doc: Mapping[str, Any], task: str) -> float:
    entry = doc.get("n-samples", {}).get(task) if isinstance(doc.get("n-samples"), dict) else None
    if isinstance(entry, dict):
        return _number(entry.get("effective", entry.get("original")))
    return float("nan")


def document_rows(doc: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """One row per task x metric of one results document (model, run and size are resolved later)."""
    if not is_results(doc):
        raise SchemaError(f"{where}: not an lm-evaluation-harness results file (no 'results' with 'config'/'configs')")
    name = model_name(doc)
    if name is None:
        raise SchemaError(f"{where}: the file does not name its model (no pretrained= in config.model_args)")
    step = step_of(doc)
    direction = _dict(doc.get("higher_is_better"))
    rows = []
    for task, scores in doc["results"].items():
        if not isinstance(scores, dict):
            continue
        shots, n_file = _shots(doc, str(task)), _n_samples(doc, str(task))
        task_rows: list[dict[str, Any]] = []
        for key, raw in scores.items():
            key = str(key)
            if key == "alias" or "_stderr" in key or isinstance(raw, (bool, str, dict, list)) or raw is None:
                continue
            value = _number(raw)
            if np.isnan(value):
                continue
            stderr = _number(scores.get(_stderr_key(key)))
            metric = key[: -len(",none")] if key.endswith(",none") else key
            n = n_file
            if np.isnan(n) and base_name(metric) in PROPORTIONS:
                n = recover_n(value, stderr)
            better = _dict(direction.get(task)).get(base_name(metric))
            task_rows.append(
                {
                    "model": name,
                    "step": step,
                    "task": str(task),
                    "metric": metric,
                    "value": value,
                    "stderr": stderr,
                    "n": n,
                    "shots": shots,
                    "file": where,
                    "higher_is_better": better if isinstance(better, bool) else None,
                }
            )
        known = {float(r["n"]) for r in task_rows if not np.isnan(float(r["n"]))}
        if len(known) == 1:  # one test set per task and file: a perplexity rests on the accuracy's examples
            for r in task_rows:
                r["n"] = next(iter(known))
        rows.extend(task_rows)
    return rows


def read_sizes(path: str | Path) -> dict[str, float]:
    """``--sizes FILE.csv``: columns ``model`` and ``params`` (positive numbers), one row per model."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: cannot read the sizes file ({exc})") from exc
    if not {"model", "params"} <= set(table.columns):
        raise SchemaError(f"{path}: the sizes file needs columns 'model' and 'params', has {list(table.columns)}")
    params = pd.to_numeric(table["params"], errors="coerce")
    bad = ~(params > 0) | ~np.isfinite(params)
    if bad.any():
        raise SchemaError(f"{path}, row {int(np.flatnonzero(bad)[0])}: 'params' must be a positive number")
    return dict(zip(table["model"].astype(str).str.strip(), params.astype(float)))


def _runs_by_directory(files: Iterable[Path], root: Path, names: Mapping[Path, str]) -> dict[Path, str] | None:
    """Sub-folder of ``root`` per file when there are two or more sub-folders and each holds two or more model
    sizes (a whole family per folder: one folder per run); else None."""
    folders: dict[str, set[str]] = {}
    where: dict[Path, str] = {}
    for f in files:
        parts = f.relative_to(root).parts
        if len(parts) < 2:
            return None
        where[f] = parts[0]
        size = nominal_size(names[f])
        folders.setdefault(parts[0], set()).add(size[0] if size else names[f])
    if len(folders) < 2 or any(len(sizes) < 2 for sizes in folders.values()):
        return None
    return where


def read_results(
    spec: str | Path | Iterable[str | Path],
    sizes: Mapping[str, float] | None = None,
    runs: Mapping[str, str] | None = None,
) -> LmEvalResults:
    """Read lm-eval results files (a file, a directory searched recursively, a glob, or a list of them) into the
    aggregate layout (:data:`COLUMNS`; see the module docstring for every column). JSON files in a directory that
    are not results files are skipped and counted in the notes; an unreadable or malformed file named directly is
    a :class:`SchemaError`."""
    specs = [spec] if isinstance(spec, (str, Path)) else list(spec)
    if not specs:
        raise ValueError("no results files given")
    files: list[Path] = []
    root: Path | None = None
    for s in specs:
        found, directory = find_files(s)
        files += found
        root = directory if len(specs) == 1 else None
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    names: dict[Path, str] = {}
    skipped = 0
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            if root is not None:
                skipped += 1
                continue
            raise SchemaError(f"{f}: not readable as JSON ({exc})") from exc
        if root is not None and not is_results(doc):
            skipped += 1
            continue
        file_rows = document_rows(doc, str(f))
        if file_rows:
            names[f] = str(file_rows[0]["model"])
        rows += file_rows
    if skipped:
        notes.append(f"{skipped} JSON files in {root} are not lm-eval results files (skipped)")
    if not rows:
        raise SchemaError(f"{spec}: no scores in the results files")
    frame = pd.DataFrame(rows)
    by_folder = _runs_by_directory(names, root, names) if root is not None and runs is None else None
    frame = _assign_runs(frame, runs, by_folder)
    frame = _assign_sizes(frame, sizes, notes)
    frame = _fill_task_n(frame, notes)
    keys = ["model", "run", "step", "shots", "task", "metric"]
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        first = frame[dup].iloc[0]
        same = frame[keys].astype(str).eq(first[keys].astype(str)).all(axis=1)
        files = sorted(set(frame.loc[dup & same, "file"]))
        raise SchemaError(
            f"{files[0]} and {files[1] if len(files) > 1 else 'itself'} both score {first['model']!r} (run "
            f"{first['run']!r}, step {first['step']:g}) on {first['task']!r} {first['metric']!r}: keep one results "
            "file per model and checkpoint (or name the runs with --runs)"
        )
    if frame["higher_is_better"].isna().all():
        frame = frame.drop(columns="higher_is_better")
    if by_folder is not None:
        notes.append(f"runs: one sub-folder of {root} per run ({', '.join(sorted(set(by_folder.values())))})")
    ordered = [c for c in COLUMNS if c in frame.columns] + [c for c in frame.columns if c not in COLUMNS]
    return LmEvalResults(frame[ordered].reset_index(drop=True), len(files) - skipped, notes)


def _assign_runs(
    frame: pd.DataFrame, runs: Mapping[str, str] | None, by_folder: dict[Path, str] | None
) -> pd.DataFrame:
    raw = frame["model"].astype(str)
    stripped = raw.map(lambda m: split_run(m)[0])
    if runs is not None:
        run = pd.Series([runs.get(r, runs.get(m)) for r, m in zip(raw, stripped)], index=frame.index, dtype=object)
        if run.isna().any():
            raise SchemaError(f"the runs mapping names no run for models {sorted(set(raw[run.isna()]))[:5]}")
    elif by_folder is not None:
        run = frame["file"].map(lambda f: by_folder.get(Path(f)))
    else:
        run = raw.map(lambda m: split_run(m)[1] or DEFAULT_RUN)
    frame = frame.assign(model=stripped, run=run.astype(str), raw_model=raw)
    return frame


def _assign_sizes(frame: pd.DataFrame, sizes: Mapping[str, float] | None, notes: list[str]) -> pd.DataFrame:
    params = []
    nominal: set[str] = set()
    for raw, model in zip(frame["raw_model"], frame["model"]):
        given = None if sizes is None else sizes.get(raw, sizes.get(model))
        if given is not None:
            params.append(float(given))
            continue
        found = nominal_size(model)
        if found is None:
            where = "in the sizes file" if sizes is not None else "(pass --sizes FILE.csv with columns model,params)"
            raise SchemaError(f"model {raw!r}: no size in its name and none given {where}")
        nominal.add(model)
        params.append(found[1])
    if nominal:
        notes.append(
            f"params of {len(nominal)} models are the nominal sizes in their names (e.g. {sorted(nominal)[0]}), not "
            "parameter counts; pass --sizes FILE.csv (columns model,params) for counts"
        )
    frame = frame.assign(params=params)
    # one curve point per size: names that differ only by a dropped tag, in different runs, are one model
    per_size = frame.groupby("params")["model"].unique()
    for size, models in per_size.items():
        if len(models) > 1:
            runs_of = {m: set(frame.loc[frame["model"] == m, "run"]) for m in models}
            shared = set.intersection(*runs_of.values())
            if shared:
                raise SchemaError(
                    f"models {sorted(models)[:3]} have the same size {size:g} in run {sorted(shared)[0]!r}: a curve "
                    "needs one model per size and run (pass --runs FILE.csv with columns model,run, or --sizes)"
                )
            keep = min(models, key=len)
            notes.append(f"{', '.join(sorted(models))}: the same size in different runs, read as {keep!r}")
            frame.loc[frame["params"] == size, "model"] = keep
    return frame


def _fill_task_n(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """A score at 0 or 1 has standard error 0, so its n is not recoverable: take the task's n from the other files
    when they all agree (one test set)."""
    known = frame.dropna(subset=["n"]).groupby("task")["n"].unique()
    single = {task: float(ns[0]) for task, ns in known.items() if len(ns) == 1}
    missing = frame["n"].isna()
    fill = missing & frame["task"].isin(list(single))
    if fill.any():
        frame.loc[fill, "n"] = frame.loc[fill, "task"].map(single).astype(float)
        notes.append(f"n of {int(fill.sum())} scores (standard error 0) taken from the same task's other files")
    left = frame["n"].isna()
    if left.any():
        tasks = sorted(set(frame.loc[left, "task"]))
        notes.append(
            f"n unknown for {int(left.sum())} scores ({len(tasks)} tasks, e.g. {tasks[0]!r}): no n-samples and not "
            "recoverable from the standard error"
        )
    return frame.drop(columns="raw_model")


def is_input(spec: str | Path) -> bool:
    """Should ``check`` read ``spec`` as lm-eval results: a directory, a glob pattern, or a results JSON file?"""
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        return True
    if not path.exists() and _has_glob(text):
        return True
    return is_results_file(path)


def default_out(spec: str | Path) -> Path:
    """Where the report goes by default: ``<dir>-check`` beside a directory, ``<file>-check`` beside a file, and
    ``lm-eval-check`` in the folder a glob pattern starts from."""
    text = str(spec)
    path = Path(text)
    if not path.exists() and _has_glob(text):
        parts = path.parts
        first = next(i for i, p in enumerate(parts) if _has_glob(p))
        return (Path(*parts[:first]) if first else Path(".")) / "lm-eval-check"
    path = path.resolve() if path.is_dir() else path
    return path.parent / (path.stem + "-check")


def read_runs(path: str | Path) -> dict[str, str]:
    """``--runs FILE.csv``: columns ``model`` and ``run``, one row per model name as the results files give it."""
    try:
        table = pd.read_csv(path, dtype=str)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: cannot read the runs file ({exc})") from exc
    if not {"model", "run"} <= set(table.columns) or table[["model", "run"]].isna().any().any():
        raise SchemaError(f"{path}: the runs file needs columns 'model' and 'run', filled in every row")
    return dict(zip(table["model"].str.strip(), table["run"].str.strip()))
