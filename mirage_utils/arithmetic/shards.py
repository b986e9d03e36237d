"""Shards and artifacts: train and evaluate one (size, seed), then merge the shards into the family's tables.

Each shard is independent (``python -m mirage_utils arithmetic shard --model M --seed S --out DIR``), so any
scheduler (a SLURM job array, GNU parallel, xargs -P) can fan the sweep out; ``merge`` checks that every
(size, seed) of the config is present and writes the committed tables. The tables hold evaluation results only;
weights and log-spaced checkpoints stay under ``data/checkpoints/`` (not committed).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data import REPO_ROOT
from ..seeding import fill_platform, platform_record, rng, torch_generator
from . import task as ar
from .config import FamilyConfig, ModelSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from .model import GPT

ARTIFACT_ROOT = REPO_ROOT / "data" / "artifacts" / "arithmetic"
CHECKPOINT_ROOT = REPO_ROOT / "data" / "checkpoints" / "arithmetic"
RETRAIN_ENV = "MIRAGE_RETRAIN"
SHARD_FILES = (
    "summary.json",
    "training_log.csv",
    "outputs.parquet",
    "pass_until.csv",
    "checkpoint_eval.csv",
    "multiple_choice.parquet",
)
ARTIFACT_FILES = (
    "config.json",
    "models.csv",
    "training_log.csv",
    "outputs.parquet",
    "metrics.csv",
    "pass_until.csv",
    "checkpoint_eval.csv",
    "multiple_choice.parquet",
)
BIGBENCH_TASKS = {
    "bigbench/2_digit_multiplication": "multiplication_2digit",
    "bigbench/4_digit_addition": "addition_4digit",
}


def shard_name(model: str, seed: int) -> str:
    return f"{model}__seed{seed}"


def evaluation_sets(cfg: FamilyConfig) -> dict[str, pd.DataFrame]:
    """The problems every shard is scored on (same for all sizes and seeds: drawn from ``cfg.eval_seed``)."""
    from .evaluate import build_test_set

    gen = rng(cfg.eval_seed)
    parts: list[pd.DataFrame] = []
    for task in map(ar.get_task, ar.EVAL_TASKS):
        max_test = cfg.eval_max_pairs if task.n_problems > 2_000_000 else None
        for split, n in (("test", max_test), ("train", cfg.train_eval_pairs)):
            parts.append(
                build_test_set(
                    task, split, gen, cfg.split_seed, cfg.test_fraction, n, cfg.reverse, cfg.reverse_operands
                )
            )
    tests = pd.concat(parts, ignore_index=True)
    held_out = tests[tests["split"] == "test"]
    pass_until = held_out.groupby(["task", "target_length"], sort=True).head(cfg.pass_until_problems)
    redefined = pd.concat(
        [
            pd.DataFrame(
                ar.redefined_test_set(
                    name,
                    cfg.redefined_per_task,
                    gen,
                    cfg.split_seed,
                    cfg.test_fraction,
                    cfg.reverse,
                    cfg.reverse_operands,
                )
            )
            for name in ar.REDEFINITIONS
        ],
        ignore_index=True,
    )
    bigbench_rows = bigbench_questions(cfg, gen)
    near_miss = near_miss_questions(bigbench_rows, cfg.near_miss_options, rng(cfg.eval_seed + 1))
    units = near_miss_questions(
        bigbench_rows, cfg.near_miss_options, rng(cfg.eval_seed + 2), ar.units_digit_options, "units_digit"
    )
    return {
        "tests": tests,
        "pass_until": pass_until.reset_index(drop=True),
        "redefined": redefined,
        "multiple_choice": pd.concat([bigbench_rows, near_miss, units], ignore_index=True),
    }


def bigbench_questions(cfg: FamilyConfig, gen: np.random.Generator) -> pd.DataFrame:
    """BIG-bench's 2-digit multiplication and 4-digit addition questions whose operands are in our test split,
    rendered in the family's 2-shot format; one row per question and option."""
    from .. import bigbench

    rows = []
    for key, task_name in BIGBENCH_TASKS.items():
        task = ar.get_task(task_name)
        ex = bigbench.json_task_examples(key)
        ops = ex["input"].str.extract(r"What is (\d+) (?:times|plus) (\d+)\?").astype(int)
        a, b = ops[0].to_numpy(), ops[1].to_numpy()
        keep = ar.is_test_pair(a, b, cfg.split_seed, cfg.test_fraction)
        ex, a, b = ex[keep].reset_index(drop=True), a[keep], b[keep]
        sa, sb = ar.sample_pairs(task, ar.N_SHOTS * len(ex), gen, "train", cfg.split_seed, cfg.test_fraction)
        prompts = ar.few_shot_prompts(
            task.op,
            task.op,
            a,
            b,
            sa.reshape(-1, ar.N_SHOTS),
            sb.reshape(-1, ar.N_SHOTS),
            cfg.reverse,
            cfg.reverse_operands,
        )
        for q, (scores, prompt) in enumerate(zip(ex["target_scores"], prompts)):
            for j, (option, score) in enumerate(scores.items()):
                rows.append(
                    {
                        "task": task_name,
                        "option_set": "bigbench",
                        "question": q,
                        "prompt": prompt,
                        "option_index": j,
                        "option": option,
                        "correct": score == 1.0,
                    }
                )
    return pd.DataFrame(rows)


def near_miss_questions(
    bigbench_rows: pd.DataFrame,
    n_options: int,
    gen: np.random.Generator,
    make_options: Callable[[str, int, np.random.Generator], tuple[list[str], int]] = ar.near_miss_options,
    option_set: str = "near_miss",
) -> pd.DataFrame:
    """The same questions and prompts as ``bigbench_rows``, with our own distractors instead of BIG-bench's: by
    default numbers that share the answer's length, first and last digit (``task.near_miss_options``, option set
    "near_miss"); ``task.units_digit_options`` gives option set "units_digit" (only the last digit differs)."""
    rows = []
    answers = bigbench_rows[bigbench_rows["correct"]].drop_duplicates(["task", "question"])
    for task_name, q, prompt, answer in answers[["task", "question", "prompt", "option"]].itertuples(index=False):
        options, correct = make_options(str(answer), n_options, gen)
        rows += [
            {
                "task": task_name,
                "option_set": option_set,
                "question": q,
                "prompt": prompt,
                "option_index": j,
                "option": option,
                "correct": j == correct,
            }
            for j, option in enumerate(options)
        ]
    return pd.DataFrame(rows)


def run_shard(
    cfg: FamilyConfig,
    model_name: str,
    seed: int,
    out_dir: Path,
    device: str = "cpu",
    save_checkpoints: bool = True,
    progress: bool = True,
) -> Path:
    """Train one (size, seed), score it, and write its tables to ``out_dir/<model>__seed<seed>/``."""
    from . import evaluate as ev
    from .train import train_shard

    spec = cfg.spec(model_name)
    if seed not in cfg.seeds:
        raise ValueError(f"seed {seed} is not among the config's seeds {list(cfg.seeds)}")
    shard_dir = Path(out_dir) / shard_name(model_name, seed)
    shard_dir.mkdir(parents=True, exist_ok=True)
    sets = evaluation_sets(cfg)
    ckpt_rows: list[pd.DataFrame] = []

    def on_checkpoint(model: GPT, step: int, tokens: int) -> None:
        scored = ev.score_problems(model, sets["redefined"], cfg.reverse, device)
        scored["prior_match"] = scored["output"].to_numpy() == sets["redefined"]["prior_target"].to_numpy()
        summary = ev.summarise(scored, ["task"])
        summary["prior_match"] = scored.groupby("task", sort=True)["prior_match"].mean().to_numpy()
        summary.insert(0, "step", step)
        summary.insert(1, "tokens", tokens)
        ckpt_rows.append(summary)

    ckpt_dir = CHECKPOINT_ROOT / cfg.name / shard_name(model_name, seed) if save_checkpoints else None
    model, log, summary = train_shard(spec, cfg, seed, device, ckpt_dir, on_checkpoint, progress)
    t0 = time.perf_counter()
    outputs = ev.score_problems(model, sets["tests"], cfg.reverse, device)
    pu = pd.DataFrame()
    if cfg.pass_until_problems > 0:
        pu = ev.pass_until(
            model,
            sets["pass_until"],
            cfg.pass_until_max_samples,
            torch_generator(cfg.eval_seed + seed),
            cfg.reverse,
            device=device,
        )
    mc_out = score_multiple_choice(model, sets["multiple_choice"], cfg.reverse, device)
    summary["eval_seconds"] = time.perf_counter() - t0
    summary.update(platform_record())
    for frame in (outputs, pu, mc_out, log):
        if "model" not in frame:
            frame.insert(0, "model", model_name)
        if "seed" not in frame:
            frame.insert(1, "seed", seed)
    ckpt = pd.concat(ckpt_rows, ignore_index=True)
    ckpt.insert(0, "model", model_name)
    ckpt.insert(1, "seed", seed)
    ckpt.insert(2, "n_params", summary["n_params"])
    outputs = outputs.drop(columns=["target"]).astype({"token_prob": np.float32, "log_prob": np.float32})
    shard_dir.mkdir(parents=True, exist_ok=True)  # again: a long shard must not lose its work to a moved folder
    (shard_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.to_csv(shard_dir / "training_log.csv", index=False)
    outputs.to_parquet(shard_dir / "outputs.parquet", index=False, compression="zstd")
    pu.to_csv(shard_dir / "pass_until.csv", index=False)
    ckpt.to_csv(shard_dir / "checkpoint_eval.csv", index=False)
    mc_out.to_parquet(shard_dir / "multiple_choice.parquet", index=False, compression="zstd")
    return shard_dir


def score_multiple_choice(model: GPT, mc: pd.DataFrame, reverse: bool, device: str = "cpu") -> pd.DataFrame:
    """Each option's log-probability (``evaluate.option_log_probs``) for a table of questions x options."""
    from . import evaluate as ev

    key = ["option_set", "task", "question"]
    firsts = mc.drop_duplicates(key)
    options = (
        mc.groupby(key, sort=False)["option"]
        .apply(list)
        .loc[list(firsts[key].itertuples(index=False, name=None))]
        .tolist()
    )
    lps = ev.option_log_probs(model, firsts["prompt"].tolist(), options, reverse, device)
    return mc.drop(columns="prompt").assign(log_prob=np.concatenate(lps).astype(np.float32))


def final_checkpoint(cfg: FamilyConfig, model_name: str, seed: int) -> Path:
    """The last log-spaced checkpoint a shard saved (its trained weights), or FileNotFoundError."""
    folder = CHECKPOINT_ROOT / cfg.name / shard_name(model_name, seed)
    saved = sorted(folder.glob("step_*.pt"))
    if not saved:
        raise FileNotFoundError(
            f"no checkpoint in {folder}: the shard was trained with --no-checkpoints or on "
            "another machine; retrain it with `python -m mirage_utils arithmetic shard`"
        )
    return saved[-1]


def rescore_multiple_choice(
    cfg: FamilyConfig, model_name: str, seed: int, shards_dir: Path, device: str = "cpu"
) -> Path:
    """Recompute a finished shard's multiple-choice table from its final checkpoint (for option sets added after
    it was trained); refuses a checkpoint that is not the end of training."""
    import torch

    from .train import build_model

    shard_dir = Path(shards_dir) / shard_name(model_name, seed)
    summary = json.loads((shard_dir / "summary.json").read_text())
    state = torch.load(final_checkpoint(cfg, model_name, seed), map_location=device)
    if state["step"] != summary["steps"]:
        raise ValueError(
            f"{model_name} seed {seed}: last checkpoint is step {state['step']}, training ran "
            f"{summary['steps']} steps (an interrupted run?)"
        )
    model = build_model(cfg.spec(model_name), cfg, seed).to(device)
    model.load_state_dict(state["state_dict"])
    mc = score_multiple_choice(model.eval(), evaluation_sets(cfg)["multiple_choice"], cfg.reverse, device)
    mc.insert(0, "model", model_name)
    mc.insert(1, "seed", seed)
    path = shard_dir / "multiple_choice.parquet"
    mc.to_parquet(path, index=False, compression="zstd")
    return path


def missing_shards(cfg: FamilyConfig, shards_dir: Path) -> list[str]:
    """Names of the config's (size, seed) shards that are absent or incomplete in ``shards_dir``."""
    return [
        shard_name(s.name, seed)
        for s in cfg.models
        for seed in cfg.seeds
        if not all((Path(shards_dir) / shard_name(s.name, seed) / f).exists() for f in SHARD_FILES)
    ]


def merge(cfg: FamilyConfig, shards_dir: Path, out_dir: Path, partial: bool = False) -> dict[str, Path]:
    """Concatenate every (size, seed) shard of ``cfg`` into the artifact tables; missing shards are an error
    unless ``partial`` (a look at a sweep in progress: the tables then cover only the shards that exist)."""
    from . import evaluate as ev

    shards_dir, out_dir = Path(shards_dir), Path(out_dir)
    wanted = [(s.name, seed) for s in cfg.models for seed in cfg.seeds]
    missing = missing_shards(cfg, shards_dir)
    if missing and not partial:
        raise FileNotFoundError(
            f"{len(missing)} of {len(wanted)} shards missing or incomplete in {shards_dir}: "
            f"{missing}; run `python -m mirage_utils arithmetic shard --model M --seed S` for each"
        )
    dirs = [shards_dir / shard_name(m, s) for m, s in wanted if shard_name(m, s) not in missing]
    if not dirs:
        raise FileNotFoundError(f"no finished shard in {shards_dir}")
    models = fill_platform(pd.DataFrame([json.loads((d / "summary.json").read_text()) for d in dirs]))
    params = models.drop_duplicates("model").set_index("model")["n_params"]

    def cat(name: str) -> pd.DataFrame:
        read = pd.read_parquet if name.endswith(".parquet") else pd.read_csv
        return pd.concat([read(d / name) for d in dirs], ignore_index=True)

    outputs = cat("outputs.parquet")
    metrics = ev.summarise(outputs, ["model", "seed", "task", "split", "target_length"])
    metrics.insert(1, "n_params", metrics["model"].map(params))
    pass_until = ev.pass_until_estimate(cat("pass_until.csv"), ["model", "seed", "task", "target_length"])
    pass_until.insert(1, "n_params", pass_until["model"].map(params))
    out_dir.mkdir(parents=True, exist_ok=True)
    import torch

    meta = {
        **cfg.to_dict(),
        "torch_version": torch.__version__,
        "devices": sorted(models["device"].unique().tolist()),
        "shards_missing": missing,
    }
    (out_dir / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    models.to_csv(out_dir / "models.csv", index=False)
    cat("training_log.csv").to_csv(out_dir / "training_log.csv", index=False)
    outputs.to_parquet(out_dir / "outputs.parquet", index=False, compression="zstd")
    metrics.to_csv(out_dir / "metrics.csv", index=False)
    pass_until.to_csv(out_dir / "pass_until.csv", index=False)
    cat("checkpoint_eval.csv").to_csv(out_dir / "checkpoint_eval.csv", index=False)
    mc = cat("multiple_choice.parquet")
    if "option_set" not in mc:
        mc.insert(2, "option_set", "bigbench")
    mc["option_set"] = mc["option_set"].fillna("bigbench")
    lacking = sorted(
        set(map(tuple, models[["model", "seed"]].to_numpy().tolist()))
        - set(
            map(tuple, mc.loc[mc["option_set"] == "near_miss", ["model", "seed"]].drop_duplicates().to_numpy().tolist())
        )
    )
    if lacking and not partial:
        raise FileNotFoundError(
            f"shards {lacking} have no near-miss multiple-choice options; run `python -m "
            "mirage_utils arithmetic rescore-mc --model M --seed S` for each (needs its weights)"
        )
    mc.to_parquet(out_dir / "multiple_choice.parquet", index=False, compression="zstd")
    return {name: out_dir / name for name in ARTIFACT_FILES}


def run_family(
    cfg: FamilyConfig, out_dir: Path, device: str = "cpu", save_checkpoints: bool = True, progress: bool = True
) -> dict[str, Path]:
    """Every shard in turn (skipping finished ones), then the merge: the one-command regeneration."""
    shards_dir = shards_root(cfg)
    for spec in cfg.models:
        for seed in cfg.seeds:
            if not all((shards_dir / shard_name(spec.name, seed) / f).exists() for f in SHARD_FILES):
                run_shard(cfg, spec.name, seed, shards_dir, device, save_checkpoints, progress)
    return merge(cfg, shards_dir, out_dir)


# Points the chapters at another copy of the family's tables (e.g. `arithmetic regen-check`'s swapped family).
FAMILY_DIR_ENV = "MIRAGE_FAMILY_ARTIFACTS"


def artifact_dir(cfg: FamilyConfig) -> Path:
    """The family's tables: ``data/artifacts/arithmetic/<name>``, or ``$MIRAGE_FAMILY_ARTIFACTS`` for the main
    family (config name ``family``) when that is set."""
    override = os.environ.get(FAMILY_DIR_ENV)
    if override and cfg.name == "family":
        return Path(override)
    return ARTIFACT_ROOT / cfg.name


def committed_draw(cfg: FamilyConfig) -> bool:
    """True when the chapters read the committed draw of the family (not a retrained or swapped-in one): claims
    about one draw's exact values hold only there, and are skipped elsewhere."""
    return artifact_dir(cfg) == ARTIFACT_ROOT / cfg.name and os.environ.get(RETRAIN_ENV) != "1"


def shards_root(cfg: FamilyConfig) -> Path:
    """Where finished shards' tables go by default (committed, so a sweep can span sessions and machines)."""
    return ARTIFACT_ROOT / cfg.name / "shards"


def load_artifacts(config_path: Path | str, out_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """The family's artifact tables; with ``MIRAGE_RETRAIN=1`` they are regenerated first (same config, seeds).

    Raises FileNotFoundError naming the command to run when the artifacts are missing.
    """
    cfg = FamilyConfig.load(config_path)
    out = Path(out_dir) if out_dir is not None else artifact_dir(cfg)
    if os.environ.get(RETRAIN_ENV) == "1":
        import torch  # only retraining needs it: reading the tables does not

        device = "cuda" if torch.cuda.is_available() else "cpu"
        print(
            f"{RETRAIN_ENV}=1: retraining the family '{cfg.name}' into {out} on {device} (about ten hours of one "
            "CPU core for the full family; see How to run)"
        )
        run_family(cfg, out, device)
    missing = [f for f in ARTIFACT_FILES if not (out / f).exists()]
    if missing:
        raise FileNotFoundError(
            f"artifacts {missing} missing in {out}: run `python -m mirage_utils arithmetic run --config {config_path}`"
        )
    tables = {"config": pd.DataFrame([json.loads((out / "config.json").read_text())])}
    for name in ARTIFACT_FILES[1:]:
        path = out / name
        tables[path.stem] = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return tables


__all__ = ["ModelSpec", "FamilyConfig", "run_shard", "merge", "run_family", "load_artifacts", "evaluation_sets"]
