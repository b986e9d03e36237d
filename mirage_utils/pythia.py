"""Pythia's public evaluation results (EleutherAI, Apache-2.0) as tidy tables, read from the vendored archive.

Pythia is an open family of eight sizes, each trained twice on the same data order (the Pile and the deduplicated
Pile), with checkpoints saved along training: the family Michaelov & Bergen used for inverse scaling over training.
``data/third_party/pythia/`` holds the results folder of the Pythia repository as shipped (``evals.tar.xz``), its
file-by-file ``MANIFEST.sha256`` and the models' training configs (``models/*.yml``). The archive is read in memory,
never unpacked; every member is checked against the manifest before it is parsed, so a corrupted or edited file
names itself.

Sizes are computed from the configs, not taken from the names: GPT-NeoX with untied embeddings has
``n_layers * (12 d^2 + 13 d) + 2 d`` non-embedding parameters and ``2 * V * d`` embedding parameters (input and
output), where ``V`` is the vocabulary padded to a multiple of 128 times the model-parallel size (50,304; 50,432 for
6.9B; 50,688 for 12B). For an accuracy, lm-eval's standard error is the sample one, ``sqrt(p (1 - p) / (n - 1))``,
so the test-set size is recovered as ``n = p (1 - p) / se^2 + 1``; it must come out integral.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from functools import cache

import numpy as np
import pandas as pd

from . import data

SIZES = ("70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b")
RUNS = ("standard", "deduped")
TOKENS_PER_STEP = 2_097_152  # 1,024 sequences x 2,048 tokens (Pythia README); 143,000 steps = 299.9B tokens
PADDED_VOCAB = 50_304  # the 20B tokenizer's 50,277 tokens padded to a multiple of 128 (one model-parallel rank)
TOKENIZER_VOCAB = 50_277
VOCAB_MULTIPLE = 128  # GPT-NeoX's make-vocab-size-divisible-by; times the model-parallel size
# The term-frequency arithmetic study used the v0 deduplicated models, named by an older size convention.
V0_NAMES = {"125m": "160m", "350m": "410m", "800m": "1b", "1.3b": "1.4b", "2.7b": "2.8b", "6.7b": "6.9b", "13b": "12b"}
ACCURACY_METRICS = ("acc", "acc_norm")
_MAIN_FOLDERS = {"zero-shot": 0, "five-shot": 5}


def non_embedding_params(n_layers: int, d_model: int) -> int:
    """GPT-NeoX non-embedding parameters: per layer attention (4 d^2 + 4 d) + MLP (8 d^2 + 5 d) + two layer norms
    (4 d), plus the final layer norm (2 d)."""
    if n_layers < 1 or d_model < 1:
        raise ValueError(f"n_layers and d_model must be positive, got {n_layers}, {d_model}")
    return n_layers * (12 * d_model**2 + 13 * d_model) + 2 * d_model


def padded_vocab(model_parallel: int = 1) -> int:
    """GPT-NeoX pads the vocabulary to a multiple of ``128 * model-parallel size``: 50,304 for one rank, 50,432 for
    two (6.9B), 50,688 for four (12B)."""
    if model_parallel < 1:
        raise ValueError(f"model_parallel must be positive, got {model_parallel}")
    multiple = VOCAB_MULTIPLE * model_parallel
    return -(-TOKENIZER_VOCAB // multiple) * multiple


def total_params(n_layers: int, d_model: int, vocab: int = PADDED_VOCAB) -> int:
    """Non-embedding parameters plus untied input and output embeddings (``2 * vocab * d``)."""
    return non_embedding_params(n_layers, d_model) + 2 * vocab * d_model


def _config_value(text: str, key: str, where: str) -> int:
    found = re.search(rf'"{re.escape(key)}"\s*:\s*(\d+)', text)
    if found is None:
        raise data.DataFileError(f"{where}: no {key!r} in the training config")
    return int(found.group(1))


def _layers(text: str, where: str) -> int:
    """Layer count of a config. ``attention-config`` lists one attention type per layer (``[[["flash"], N]]``); where
    it disagrees with ``num-layers`` the config is inconsistent. One shipped config is: ``pythia-12b-deduped.yml``
    says 40 layers and 36 heads, its attention config 36 layers, and the standard 12B run (same architecture, per the
    Pythia paper's Table 1: 36 layers, 40 heads) says 36 and 40. The attention config's count is used and the
    disagreement is reported by :func:`config_errata`."""
    declared = _config_value(text, "num-layers", where)
    found = re.search(r'"attention-config"\s*:\s*\[\[\[[^]]*\]\s*,\s*(\d+)\s*\]\]', text)
    return int(found.group(1)) if found else declared


@cache
def config_errata() -> tuple[str, ...]:
    """Configs whose ``num-layers`` disagrees with their own attention config (one line each)."""
    notes = []
    for size in SIZES:
        for suffix in ("", "-deduped"):
            key = f"pythia/models/pythia-{size}{suffix}"
            text = data.path(key).read_text(encoding="utf-8")
            declared, used = _config_value(text, "num-layers", key), _layers(text, key)
            if declared != used:
                notes.append(f"pythia-{size}{suffix}.yml: num-layers {declared}, attention config {used} (used)")
    return tuple(notes)


@cache
def model_sizes() -> pd.DataFrame:
    """One row per size: size (nominal name), n_layers, d_model, vocab (padded), params (non-embedding), params_total.

    Read from ``models/pythia-<size>.yml``; the deduplicated run's config must give the same architecture.
    """
    rows = []
    for size in SIZES:
        arch = []
        for suffix in ("", "-deduped"):
            key = f"pythia/models/pythia-{size}{suffix}"
            text = data.path(key).read_text(encoding="utf-8")
            arch.append(
                (
                    _layers(text, key),
                    _config_value(text, "hidden-size", key),
                    _config_value(text, "model-parallel-size", key),
                )
            )
        if arch[0] != arch[1]:
            raise data.DataFileError(f"pythia-{size}: standard and deduped configs differ ({arch[0]} vs {arch[1]})")
        layers, d, parallel = arch[0]
        vocab = padded_vocab(parallel)
        rows.append((size, layers, d, vocab, non_embedding_params(layers, d), total_params(layers, d, vocab)))
    return pd.DataFrame(rows, columns=["size", "n_layers", "d_model", "vocab", "params", "params_total"])


@cache
def _manifest() -> dict[str, str]:
    lines = data.path("pythia/manifest").read_text(encoding="utf-8").splitlines()
    out = {}
    for line in lines:
        digest, name = line.split(maxsplit=1)
        out[name.strip()] = digest
    return out


@cache
def _members() -> dict[str, bytes]:
    """Every regular file of the archive by its repository path, each checked against the manifest."""
    manifest = _manifest()
    archive = data.path("pythia/evals")
    out: dict[str, bytes] = {}
    with tarfile.open(archive, mode="r:xz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            handle = tar.extractfile(member)
            if handle is None:  # pragma: no cover - regular files always have a handle
                continue
            content = handle.read()
            expected = manifest.get(member.name)
            actual = hashlib.sha256(content).hexdigest()
            if expected != actual:
                raise data.DataFileError(
                    f"{archive}:{member.name} does not match MANIFEST.sha256 ({actual[:12]} vs "
                    f"{(expected or 'absent')[:12]}); copy the archive again from ../shared/data/pythia-evals"
                )
            out[member.name] = content
    missing = set(manifest) - set(out)
    if missing:
        raise data.DataFileError(f"{archive}: {len(missing)} manifest files missing, e.g. {sorted(missing)[0]}")
    return out


def recover_n(value: pd.Series, stderr: pd.Series) -> pd.Series:
    """Test-set size from an accuracy and lm-eval's sample standard error: ``p (1 - p) / se^2 + 1`` (NaN where
    ``se`` is 0, i.e. p is 0 or 1)."""
    p = value.astype(float)
    se = stderr.astype(float).where(stderr.astype(float) > 0)
    return p * (1 - p) / se**2 + 1


_FILE = re.compile(
    r"^evals/pythia-v1/pythia-(?P<size>[0-9.]+[mb])(?P<run>-deduped|-bf16)?/(?P<folder>[a-z-]+)/"
    r"[^/]*_step(?P<step>\d+)\.json$"
)


@cache
def _evals() -> pd.DataFrame:
    rows = []
    for name, content in _members().items():
        found = _FILE.match(name)
        if found is None or found.group("folder") not in _MAIN_FOLDERS:
            continue  # v0 runs, batch-size ablations, the bias case study, the arithmetic CSVs
        run = "deduped" if found.group("run") == "-deduped" else "standard"
        payload = json.loads(content)
        step = int(found.group("step"))
        shots = _MAIN_FOLDERS[found.group("folder")]
        if payload["config"].get("num_fewshot") != shots:
            raise data.DataFileError(f"{name}: num_fewshot {payload['config'].get('num_fewshot')} != folder {shots}")
        for task, metrics in payload["results"].items():
            for metric, value in metrics.items():
                if metric.endswith("_stderr"):
                    continue
                stderr = metrics.get(f"{metric}_stderr", np.nan)
                rows.append((found.group("size"), run, step, shots, task, metric, float(value), float(stderr)))
    out = pd.DataFrame(rows, columns=["size", "run", "step", "shots", "task", "metric", "value", "stderr"])
    out = out.merge(model_sizes()[["size", "params", "params_total"]], on="size", how="left", validate="many_to_one")
    out["model"] = "pythia-" + out["size"] + np.where(out["run"] == "deduped", "-deduped", "")
    out["tokens"] = out["step"] * TOKENS_PER_STEP
    out["suite"] = "v1"
    out["n"] = _test_set_sizes(out)
    out["size"] = pd.Categorical(out["size"], categories=list(SIZES), ordered=True)
    columns = [
        "model",
        "run",
        "size",
        "params",
        "params_total",
        "step",
        "tokens",
        "shots",
        "task",
        "metric",
        "value",
        "stderr",
        "n",
        "suite",
    ]
    return out[columns].sort_values(["task", "metric", "shots", "run", "size", "step"], ignore_index=True)


def _test_set_sizes(frame: pd.DataFrame) -> pd.Series:
    """n per row: recovered from every accuracy's stderr, checked integral and constant per task, then given to
    every metric of the task (perplexity included: same examples)."""
    acc = frame["metric"].isin(ACCURACY_METRICS)
    raw = recover_n(frame.loc[acc, "value"], frame.loc[acc, "stderr"]).dropna()
    rounded = raw.round()
    off = (raw - rounded).abs() > 0.02
    if off.any():
        first = frame.loc[off[off].index[0]]
        raise data.DataFileError(
            f"non-integral test-set size {raw[off].iloc[0]:.3f} for {first['task']} "
            f"(pythia-{first['size']}, step {first['step']})"
        )
    per_task = rounded.groupby(frame.loc[rounded.index, "task"]).agg(["min", "max"])
    varying = per_task[per_task["min"] != per_task["max"]]
    if len(varying):
        raise data.DataFileError(f"test-set size varies within task {varying.index[0]}: {varying.iloc[0].tolist()}")
    return frame["task"].map(per_task["min"]).astype(float)


def pythia_evals() -> pd.DataFrame:
    """Pythia v1's lm-eval results, one row per model x step x shots x task x metric.

    Columns: model (``pythia-410m`` or ``pythia-410m-deduped``), run (``standard``: the Pile; ``deduped``: the
    deduplicated Pile; two related training runs per size, not seeds), size (nominal, ordered), params
    (non-embedding) and params_total (from the configs), step, tokens, shots (0: 27 checkpoints x 87 tasks; 5: 15
    checkpoints x 65 tasks), task, metric (``acc``, ``acc_norm``, ``ppl`` for LAMBADA's final-word perplexity, lower
    is better), value, stderr, n (test-set size, recovered from the accuracies' standard errors), suite (``v1``).
    The standard 1B model is the repository's ``pythia-1b-bf16`` folder. The two 2.8B runs report identical values at
    every step up to 1,000 and on most values to step 43,000 (PROVENANCE.md): treat them as one replicate there
    (``real_families.coincident_sizes`` finds such sizes). Returns a copy.
    """
    return _evals().copy()


@cache
def _arithmetic() -> pd.DataFrame:
    frames = []
    for name, content in _members().items():
        if not (name.startswith("evals/csv/") and name.endswith(".csv")):
            continue
        frames.append(pd.read_csv(io.BytesIO(content)))
    raw = pd.concat(frames, ignore_index=True)
    parts = raw["task"].str.extract(r"^num_reasoning_arithmetic_(?P<operation>[a-z]+)_(?P<operand>\d+)$")
    if parts.isna().any().any():
        raise data.DataFileError(f"unexpected arithmetic task name {raw.loc[parts.isna().any(axis=1), 'task'].iloc[0]}")
    v0 = raw["model"].str.extract(r"pythia-(?P<v0>[0-9.]+[mb])-deduped$")["v0"]
    out = pd.DataFrame(
        {
            "model": "pythia-" + v0.map(V0_NAMES) + "-deduped",
            "size": v0.map(V0_NAMES),
            "v0_name": raw["model"],
            "checkpoint": raw["checkpoint"].astype(int),
            "operation": parts["operation"],
            "operand": parts["operand"].astype(int),
            "shots": raw["fewshot"].astype(int),
            "acc": raw["acc"].astype(float),
            "acc_stderr": raw["acc_stderr"].astype(float),
        }
    )
    if out["size"].isna().any():
        raise data.DataFileError(f"unknown v0 model {raw.loc[out['size'].isna(), 'model'].iloc[0]}")
    out = out.merge(model_sizes()[["size", "params", "params_total"]], on="size", how="left", validate="many_to_one")
    out["tokens"] = out["checkpoint"] * TOKENS_PER_STEP
    n = recover_n(out["acc"], out["acc_stderr"]).dropna().round()
    if set(n.unique()) != {50.0}:
        raise data.DataFileError(f"arithmetic problems per operand should be 50, found {sorted(set(n.unique()))}")
    out["n"] = 50
    correct = out["acc"] * out["n"]
    if (correct - correct.round()).abs().max() > 1e-6:
        raise data.DataFileError("arithmetic accuracies are not whole numbers of 50 problems")
    out["correct"] = correct.round().astype(int)
    out["size"] = pd.Categorical(out["size"], categories=list(SIZES), ordered=True)
    return out.sort_values(["operation", "shots", "size", "checkpoint", "operand"], ignore_index=True)


def pythia_arithmetic() -> pd.DataFrame:
    """Real arithmetic by Pythia (v0, deduplicated runs): exact-match accuracy per first operand.

    Columns: model (v1 name), size, v0_name (as in the files), params, params_total, checkpoint (step), tokens,
    operation (``addition``/``multiplication``), operand (first operand x = 0..99), shots (0, 2, 4, 8, 16), acc,
    acc_stderr, n (50 problems per operand), correct. Returns a copy.
    """
    return _arithmetic().copy()
