"""LEGACY (the 2025 family, until the rebuilt family of ``mirage_utils.arithmetic`` replaces it): one documented
recipe for the whole arithmetic GPT family.

Every size sees the same token stream (same seed, same order) for the same number of tokens (the Pythia rule: a
fixed dataset, growing models), with AdamW, linear warm-up and cosine decay to 10% of the peak learning rate. The
loss covers answer tokens only (digits after '=' and the end-of-line). Checkpoints are saved at log-spaced steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from tqdm import tqdm  # console bars: tqdm.auto warns in kernels without ipywidgets

from ..arithmetic.model import GPT, GPTConfig, flops_per_token
from ..arithmetic.train import checkpoint_steps, lr_at
from ..seeding import rng, torch_generator
from ..tasks import arithmetic as ar


@dataclass(frozen=True)
class ModelSpec:
    name: str
    n_layer: int
    d_model: int
    n_head: int
    lr: float


@dataclass(frozen=True)
class FamilyConfig:
    """Everything that defines an artifact; saved next to it."""

    name: str
    models: tuple[ModelSpec, ...]
    train_tokens: int
    batch_size: int
    tasks: tuple[str, ...] = ("multiplication", "addition_4digit")
    seed: int = 0
    split_seed: int = 12345
    test_fraction: float = 0.5
    block_size: int = 64
    warmup_steps: int = 50
    weight_decay: float = 0.1
    n_checkpoints: int = 8
    eval_max_pairs: int = 40_000  # per task, drawn from the test side (multiplication has fewer: all are used)
    pass_until_problems: int = 100  # per model x task x target length
    pass_until_max_samples: int = 512
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @staticmethod
    def from_dict(d: dict) -> "FamilyConfig":
        d = dict(d)
        d["models"] = tuple(ModelSpec(**m) for m in d["models"])
        d["tasks"] = tuple(d.get("tasks", FamilyConfig.tasks))
        return FamilyConfig(**d)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["models"] = [asdict(m) for m in self.models]
        out["tasks"] = list(self.tasks)
        return out


def training_stream(cfg: FamilyConfig) -> np.ndarray:
    """The shared training data: token matrix (n_sequences, width), tasks interleaved, seeded, ~train_tokens tokens."""
    gen = rng(cfg.seed)
    texts: list[str] = []
    per_task_tokens = cfg.train_tokens / len(cfg.tasks)
    for name in cfg.tasks:
        task = ar.get_task(name)
        approx_len = 1 + 3 * (2 * len(str(task.high)) + 2 + task.max_answer_digits)
        n = max(1, int(math.ceil(per_task_tokens / approx_len)))
        texts += ar.training_sequences(task, n, gen, cfg.split_seed, cfg.test_fraction)
    ids = ar.pack(texts)
    if ids.shape[1] > cfg.block_size + 1:
        raise ValueError(f"training sequences of {ids.shape[1]} tokens exceed block_size {cfg.block_size}")
    return ids[gen.permutation(len(ids))]


def build_model(spec: ModelSpec, cfg: FamilyConfig, seed: int) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(len(ar.VOCAB), cfg.block_size, spec.n_layer, spec.d_model, spec.n_head))


def train_one(spec: ModelSpec, cfg: FamilyConfig, stream: np.ndarray, device: str,
              checkpoint_dir: Path | None, progress: bool = True) -> tuple[GPT, pd.DataFrame, dict]:
    """Train one size on the shared stream; returns the model, its loss log and a summary row."""
    model = build_model(spec, cfg, cfg.seed).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=spec.lr, betas=(0.9, 0.95))
    data = torch.from_numpy(stream)
    mask = torch.from_numpy(ar.answer_mask(stream))
    total = int(math.ceil(len(data) / cfg.batch_size))
    saves = set(checkpoint_steps(total, cfg.n_checkpoints))
    fpt = flops_per_token(model, data.shape[1] - 1)
    rows, tokens_seen, window = [], 0, []
    start = time.perf_counter()
    bar = tqdm(range(total), desc=f"train {spec.name}", disable=not progress, mininterval=5)
    model.train()
    for step in bar:
        batch = data[step * cfg.batch_size:(step + 1) * cfg.batch_size].to(device)
        m = mask[step * cfg.batch_size:(step + 1) * cfg.batch_size, :-1].to(device)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, spec.lr, cfg.warmup_steps)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits[m], batch[:, 1:][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens_seen += int((batch[:, :-1] != ar.PAD_ID).sum())
        window.append(loss.item())
        done = step + 1
        if done in saves or done % 50 == 0:
            rows.append({"model": spec.name, "step": done, "tokens": tokens_seen, "loss": float(np.mean(window)),
                         "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - start})
            window = []
            bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}")
        if checkpoint_dir is not None and done in saves:
            checkpoint_dir.mkdir(parents=True, exist_ok=True)
            torch.save({"step": done, "tokens": tokens_seen, "state_dict": model.state_dict()},
                       checkpoint_dir / f"step_{done:06d}.pt")
    seconds = time.perf_counter() - start
    trained_tokens = int(data.shape[0] * (data.shape[1] - 1))  # positions processed, padding included
    summary = {"model": spec.name, "n_layer": spec.n_layer, "d_model": spec.d_model, "n_head": spec.n_head,
               "lr": spec.lr, "n_params": model.n_params(), "n_params_total": model.n_params(False),
               "steps": total, "train_tokens": tokens_seen, "train_seconds": seconds,
               "tokens_per_second": trained_tokens / seconds, "flops_per_second": trained_tokens * fpt / seconds,
               "final_loss": rows[-1]["loss"]}
    return model.eval(), pd.DataFrame(rows), summary


ARTIFACT_FILES = ("config.json", "models.csv", "training_log.csv", "metrics.csv", "outputs.parquet",
                  "pass_until.csv")


def evaluate_family(cfg: FamilyConfig, models: dict[str, GPT], device: str, progress: bool = True
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score every model on the held-out problems; returns (per-problem outputs, summaries, PassUntil estimates)."""
    from .. import evaluation

    gen = rng(cfg.seed + 1)
    tests = pd.concat([evaluation.build_test_set(ar.get_task(t), gen, cfg.split_seed, cfg.test_fraction,
                                                 cfg.eval_max_pairs) for t in cfg.tasks], ignore_index=True)
    # PassUntil subsample: the first problems of each task x length (the test set is already in random order)
    pu_tests = tests.groupby(["task", "target_length"], sort=True).head(cfg.pass_until_problems)
    scored, pass_rows = [], []
    for name, model in tqdm(models.items(), desc="evaluate", disable=not progress):
        model.to(device)
        s = evaluation.score_problems(model, tests, device)
        s.insert(0, "model", name)
        scored.append(s)
        if cfg.pass_until_problems > 0:
            pu = evaluation.pass_until(model, pu_tests.reset_index(drop=True), cfg.pass_until_max_samples,
                                       torch_generator(cfg.seed + 2), device=device)
            pu.insert(0, "model", name)
            pass_rows.append(pu)
    outputs = pd.concat(scored, ignore_index=True)
    summary = evaluation.summarise(outputs, ["model", "task", "target_length"])
    pass_table = (evaluation.pass_until_estimate(pd.concat(pass_rows, ignore_index=True),
                                                 ["model", "task", "target_length"])
                  if pass_rows else pd.DataFrame())
    return outputs, summary, pass_table


def run_family(cfg: FamilyConfig, out_dir: Path, device: str = "cpu", checkpoint_root: Path | None = None,
               progress: bool = True) -> dict[str, Path]:
    """Train every size, evaluate, and write the artifact tables (plus fp16 weights) to ``out_dir``."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    stream = training_stream(cfg)
    models, logs, summaries = {}, [], []
    for spec in cfg.models:
        ckpt = None if checkpoint_root is None else checkpoint_root / cfg.name / spec.name
        model, log, summary = train_one(spec, cfg, stream, device, ckpt, progress)
        models[spec.name] = model.cpu()
        logs.append(log)
        summaries.append(summary)
        weights = out_dir / "weights"
        weights.mkdir(exist_ok=True)
        torch.save({k: v.half() for k, v in model.state_dict().items()}, weights / f"{spec.name}.pt")
    outputs, summary, pass_table = evaluate_family(cfg, models, "cpu", progress)
    meta = {**cfg.to_dict(), "torch_version": torch.__version__, "train_device": device,
            "training_stream_sequences": int(stream.shape[0]), "training_stream_width": int(stream.shape[1])}
    (out_dir / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    pd.DataFrame(summaries).to_csv(out_dir / "models.csv", index=False)
    pd.concat(logs, ignore_index=True).to_csv(out_dir / "training_log.csv", index=False)
    summary.to_csv(out_dir / "metrics.csv", index=False)
    outputs.to_parquet(out_dir / "outputs.parquet", index=False, compression="zstd")
    pass_table.to_csv(out_dir / "pass_until.csv", index=False)
    return {name: out_dir / name for name in ARTIFACT_FILES}


def load_model(spec: ModelSpec, cfg: FamilyConfig, weights_path: Path) -> GPT:
    """Rebuild a trained model from its fp16 weights (stored in the artifact folder)."""
    model = build_model(spec, cfg, cfg.seed)
    state = torch.load(weights_path, map_location="cpu")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


RETRAIN_ENV = "MIRAGE_RETRAIN"


def load_artifacts(config_path: Path, out_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """The family's artifact tables; with ``MIRAGE_RETRAIN=1`` they are regenerated first (same config, same seeds).

    Raises FileNotFoundError naming the command to run when the artifacts are missing.
    """
    import json
    import os

    from ..data import REPO_ROOT

    cfg = FamilyConfig.from_dict(json.loads(Path(config_path).read_text()))
    out = out_dir or artifact_dir(cfg)
    if os.environ.get(RETRAIN_ENV) == "1":
        print(f"{RETRAIN_ENV}=1: retraining the family '{cfg.name}' into {out} (tens of minutes on a CPU)")
        run_family(cfg, out, "cuda" if torch.cuda.is_available() else "cpu",
                   REPO_ROOT / "data" / "checkpoints" / "arithmetic")
    missing = [f for f in ARTIFACT_FILES if not (out / f).exists()]
    if missing:
        raise FileNotFoundError(f"artifacts {missing} missing in {out}: run "
                                f"`python -m mirage_utils arithmetic run --config {config_path}`")
    tables = {"config": pd.DataFrame([json.loads((out / "config.json").read_text())])}
    for name in ARTIFACT_FILES[1:]:
        path = out / name
        tables[path.stem] = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    print(f"loaded artifacts from {out.relative_to(REPO_ROOT) if out.is_relative_to(REPO_ROOT) else out}"
          f" (config '{cfg.name}', torch {tables['config']['torch_version'].iloc[0]})")
    return tables


def artifact_dir(cfg: FamilyConfig) -> Path:
    from ..data import REPO_ROOT

    return REPO_ROOT / "data" / "artifacts" / "arithmetic" / cfg.name


def load_family(config_path: Path, out_dir: Path | None = None) -> tuple[FamilyConfig, dict[str, GPT]]:
    """The config and every trained size, rebuilt from the fp16 weights in the artifact folder."""
    import json

    cfg = FamilyConfig.from_dict(json.loads(Path(config_path).read_text()))
    weights = (out_dir or artifact_dir(cfg)) / "weights"
    return cfg, {s.name: load_model(s, cfg, weights / f"{s.name}.pt") for s in cfg.models}


def evaluate_checkpoints(cfg: FamilyConfig, checkpoint_root: Path, n_per_task: int = 300, device: str = "cpu",
                         progress: bool = True) -> pd.DataFrame:
    """Every saved checkpoint of every size on the redefined-operator tasks and their controls (one row per
    model x checkpoint x task): exact match and TED against the in-context answer, the probability of its digits,
    and how often the model gave the answer its training meaning would give instead."""
    from .. import evaluation

    gen = rng(cfg.seed + 3)
    tests = pd.concat([pd.DataFrame(ar.redefined_test_set(name, n_per_task, gen, cfg.split_seed, cfg.test_fraction))
                       for name in ar.REDEFINITIONS], ignore_index=True)
    rows = []
    ckpts = [(spec, path) for spec in cfg.models
             for path in sorted((checkpoint_root / cfg.name / spec.name).glob("step_*.pt"))]
    if not ckpts:
        raise FileNotFoundError(f"no checkpoints under {checkpoint_root / cfg.name}: run "
                                "`python -m mirage_utils arithmetic run` (it saves them) first")
    for spec, path in tqdm(ckpts, desc="checkpoints", disable=not progress):
        state = torch.load(path, map_location="cpu")
        model = build_model(spec, cfg, cfg.seed)
        model.load_state_dict(state["state_dict"])
        scored = evaluation.score_problems(model.to(device), tests, device)
        scored["prior_match"] = scored["output"].to_numpy() == tests["prior_target"].to_numpy()
        summary = evaluation.summarise(scored, ["task"])
        summary["prior_match"] = scored.groupby("task", sort=True)["prior_match"].mean().to_numpy()
        summary.insert(0, "model", spec.name)
        summary.insert(1, "n_params", model.n_params())
        summary.insert(2, "step", int(state["step"]))
        summary.insert(3, "tokens", int(state["tokens"]))
        rows.append(summary)
    return pd.concat(rows, ignore_index=True)


def load_checkpoint_eval(config_path: Path) -> pd.DataFrame:
    """The redefined-operator scores at every checkpoint; ``MIRAGE_RETRAIN=1`` recomputes them from the checkpoints
    (which ``run`` saves under data/checkpoints/) first."""
    import json
    import os

    from ..data import REPO_ROOT

    cfg = FamilyConfig.from_dict(json.loads(Path(config_path).read_text()))
    path = artifact_dir(cfg) / "checkpoint_eval.csv"
    if os.environ.get(RETRAIN_ENV) == "1":
        evaluate_checkpoints(cfg, REPO_ROOT / "data" / "checkpoints" / "arithmetic").to_csv(path, index=False)
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run `python -m mirage_utils arithmetic checkpoints --config "
                                f"{config_path}` (after `... arithmetic run`, which saves the checkpoints)")
    return pd.read_csv(path)
