"""Train and score the three vision families of the paper's Sec. 5 / App. B on the CPU, with fixed seeds.

Every run is (family, model size, seed). The artifact tables keep per-example outcomes (predicted labels, squared
errors) so that any metric (accuracy, subset accuracy for any k, Reconstruction_c for any c) is computed afterwards
from the same runs. Recipe: Adam, cosine decay, fixed batch size and data order per seed; documented in the config.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from tqdm import tqdm  # console bars: tqdm.auto warns in kernels without ipywidgets

from ..data import REPO_ROOT
from ..seeding import rng, torch_generator
from . import data as im
from .models import LeNet, SequenceClassifier, ShallowAutoencoder, n_params

ARTIFACTS = REPO_ROOT / "data" / "artifacts" / "vision"
FAMILIES = ("lenet", "autoencoder", "sequence")


@dataclass(frozen=True)
class VisionConfig:
    """Everything that defines the vision artifacts; saved next to them as config.json."""

    name: str
    seeds: tuple[int, ...]
    lenet_widths: tuple[tuple[int, int, int, int], ...]
    lenet_epochs: float
    lenet_lr: float
    ae_bottlenecks: tuple[int, ...]
    ae_epochs: float
    ae_lr: float
    ae_train: int
    ae_test: int
    seq_models: tuple[tuple[int, int, int], ...]  # (d_model, n_layer, n_head)
    seq_steps: int
    seq_lr: float
    seq_len: int = 5
    seq_test_sequences: int = 2000
    batch_size: int = 128
    seq_batch: int = 32
    train_limit: int | None = None  # use only the first n training images (smoke tests)
    test_limit: int | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> VisionConfig:
        d = dict(d)
        for key in ("seeds", "ae_bottlenecks"):
            d[key] = tuple(d[key])
        d["lenet_widths"] = tuple(tuple(w) for w in d["lenet_widths"])
        d["seq_models"] = tuple(tuple(m) for m in d["seq_models"])
        return VisionConfig(**d)

    @staticmethod
    def load(path: Path) -> VisionConfig:
        return VisionConfig.from_dict(json.loads(Path(path).read_text()))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_name(family: str, index: int, seed: int) -> str:
    """Column name of one run in the wide outcome tables, e.g. ``lenet-3_s1``."""
    return f"{family}-{index}_s{seed}"


def _cosine(opt: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )


def _batches(n: int, batch: int, steps: int, seed: int) -> list[np.ndarray]:
    """Index batches for ``steps`` steps: consecutive slices of fresh seeded permutations (epochs)."""
    out: list[np.ndarray]
    gen, out, order = rng(seed), [], np.empty(0, dtype=np.int64)
    while len(out) < steps:
        if order.size < batch:
            order = np.concatenate([order, gen.permutation(n)])
        out.append(order[:batch])
        order = order[batch:]
    return out


def _limit(split: im.ImageSplit, n: int | None) -> im.ImageSplit:
    return split if n is None else im.ImageSplit(split.x[:n], split.y[:n], split.name)


def _train(
    model: torch.nn.Module,
    loss_fn: Callable[[np.ndarray], torch.Tensor],
    n: int,
    batch: int,
    steps: int,
    lr: float,
    seed: int,
) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = _cosine(opt, steps)
    losses = []
    for idx in _batches(n, batch, steps, seed):
        loss = loss_fn(idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return float(np.mean(losses[-max(1, steps // 20) :]))


def _record(
    family: str,
    index: int,
    seed: int,
    size: str,
    model: torch.nn.Module,
    steps: int,
    loss: float,
    seconds: float,
    dataset: str,
) -> dict[str, Any]:
    return {
        "family": family,
        "model": f"{family}-{index}",
        "size_index": index,
        "size": size,
        "seed": seed,
        "params": n_params(model),
        "steps": steps,
        "final_train_loss": loss,
        "train_seconds": round(seconds, 2),
        "dataset": dataset,
    }


def run_lenet(cfg: VisionConfig, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every LeNet width x seed on MNIST; return (runs table, test predictions: one int8 column per run)."""
    train, test = (_limit(s, n) for s, n in zip(im.load_mnist(), (cfg.train_limit, cfg.test_limit)))
    xtr, ytr, xte = torch.from_numpy(train.x), torch.from_numpy(train.y), torch.from_numpy(test.x)
    steps = max(1, round(cfg.lenet_epochs * len(ytr) / cfg.batch_size))
    runs, preds = [], {"label": test.y.astype(np.int8)}
    jobs = [(i, w, s) for i, w in enumerate(cfg.lenet_widths) for s in cfg.seeds]
    for i, widths, seed in tqdm(jobs, desc="LeNet family", disable=not progress):
        torch.manual_seed(seed)
        model = LeNet(widths)
        t0 = time.perf_counter()
        loss = _train(
            model,
            lambda idx: F.cross_entropy(model(xtr[idx]), ytr[idx]),  # noqa: B023 (called in this iteration)
            len(ytr),
            cfg.batch_size,
            steps,
            cfg.lenet_lr,
            seed,
        )
        model.eval()
        with torch.no_grad():
            preds[run_name("lenet", i, seed)] = (
                torch.cat([model(b).argmax(1) for b in xte.split(1000)]).numpy().astype(np.int8)
            )
        runs.append(
            _record(
                "lenet", i, seed, "x".join(map(str, widths)), model, steps, loss, time.perf_counter() - t0, train.name
            )
        )
    return pd.DataFrame(runs), pd.DataFrame(preds)


def run_autoencoder(cfg: VisionConfig, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every bottleneck x seed on natural images; return (runs, per-test-image mean squared error per run)."""
    train, test = im.natural_patches(cfg.ae_train, cfg.ae_test)
    train, test = _limit(train, cfg.train_limit), _limit(test, cfg.test_limit)
    xtr, xte = torch.from_numpy(train.x), torch.from_numpy(test.x)
    steps = max(1, round(cfg.ae_epochs * len(xtr) / cfg.batch_size))
    runs, errors = [], {}
    jobs = [(i, h, s) for i, h in enumerate(cfg.ae_bottlenecks) for s in cfg.seeds]
    for i, hidden, seed in tqdm(jobs, desc="Autoencoder family", disable=not progress):
        torch.manual_seed(seed)
        model = ShallowAutoencoder(int(np.prod(xtr.shape[1:])), hidden)
        t0 = time.perf_counter()
        loss = _train(
            model,
            lambda idx: F.mse_loss(model(xtr[idx]), xtr[idx]),  # noqa: B023 (called in this iteration)
            len(xtr),
            cfg.batch_size,
            steps,
            cfg.ae_lr,
            seed,
        )
        with torch.no_grad():
            err = torch.cat([((model(b) - b) ** 2).flatten(1).mean(1) for b in xte.split(1000)])
        errors[run_name("autoencoder", i, seed)] = err.numpy().astype(np.float32)
        runs.append(
            _record("autoencoder", i, seed, str(hidden), model, steps, loss, time.perf_counter() - t0, train.name)
        )
    return pd.DataFrame(runs), pd.DataFrame(errors)


def sequence_batches(split: im.ImageSplit, n_sequences: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Index array (n_sequences, length) into ``split``: i.i.d. images, each test image used at most once if
    possible."""
    gen = rng(seed)
    n = len(split.y)
    idx = (
        gen.permutation(n)[: n_sequences * length]
        if n >= n_sequences * length
        else gen.integers(0, n, n_sequences * length)
    )
    idx = idx.reshape(n_sequences, length)
    return idx, split.y[idx]


def run_sequence(cfg: VisionConfig, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every transformer size x seed on (image, label) sequences; return (runs, predictions per test position)."""
    train, test = (_limit(s, n) for s, n in zip(im.sequence_classes(), (cfg.train_limit, cfg.test_limit)))
    n_classes = int(max(train.y.max(), test.y.max())) + 1
    xtr, ytr, xte = torch.from_numpy(train.x), torch.from_numpy(train.y), torch.from_numpy(test.x)
    test_idx, test_y = sequence_batches(test, cfg.seq_test_sequences, cfg.seq_len, seed=99)
    table = {
        "sequence": np.repeat(np.arange(len(test_idx)), cfg.seq_len),
        "position": np.tile(np.arange(1, cfg.seq_len + 1), len(test_idx)),
        "label": test_y.ravel().astype(np.int8),
    }
    runs = []
    jobs = [(i, m, s) for i, m in enumerate(cfg.seq_models) for s in cfg.seeds]
    for i, (d_model, n_layer, n_head), seed in tqdm(jobs, desc="Sequence transformer family", disable=not progress):
        torch.manual_seed(seed)
        model = SequenceClassifier(n_classes, d_model, n_layer, n_head, cfg.seq_len)
        gen = torch_generator(seed)

        def loss_fn(_: np.ndarray) -> torch.Tensor:  # used within this iteration only
            idx = torch.randint(0, len(ytr), (cfg.seq_batch, cfg.seq_len), generator=gen)  # noqa: B023
            logits = model(xtr[idx], ytr[idx])  # noqa: B023
            return F.cross_entropy(logits.flatten(0, 1), ytr[idx].flatten())

        t0 = time.perf_counter()
        loss = _train(model, loss_fn, len(ytr), cfg.seq_batch, cfg.seq_steps, cfg.seq_lr, seed)
        model.eval()
        with torch.no_grad():
            ti, ty = torch.from_numpy(test_idx), torch.from_numpy(test_y)
            pred = torch.cat([model(xte[a], b).argmax(-1) for a, b in zip(ti.split(250), ty.split(250))])
        table[run_name("sequence", i, seed)] = pred.numpy().ravel().astype(np.int8)
        runs.append(
            _record(
                "sequence",
                i,
                seed,
                f"d{d_model}-l{n_layer}",
                model,
                cfg.seq_steps,
                loss,
                time.perf_counter() - t0,
                train.name,
            )
        )
    return pd.DataFrame(runs), pd.DataFrame(table)


RUNNERS = {"lenet": run_lenet, "autoencoder": run_autoencoder, "sequence": run_sequence}
OUTCOME_FILES = {
    "lenet": "lenet_predictions.parquet",
    "autoencoder": "autoencoder_errors.parquet",
    "sequence": "sequence_predictions.parquet",
}


def run_families(
    cfg: VisionConfig, out_dir: Path, families: tuple[str, ...] = FAMILIES, progress: bool = True
) -> dict[str, Path]:
    """Train the chosen families and write ``runs_<family>.csv`` + the outcome table + ``config.json``."""
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; choose from {FAMILIES}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    written = {"config.json": out_dir / "config.json"}
    for family in families:
        runs, outcomes = RUNNERS[family](cfg, progress)
        runs.to_csv(out_dir / f"runs_{family}.csv", index=False)
        outcomes.to_parquet(out_dir / OUTCOME_FILES[family], index=False, compression="zstd")
        written[f"runs_{family}.csv"] = out_dir / f"runs_{family}.csv"
        written[OUTCOME_FILES[family]] = out_dir / OUTCOME_FILES[family]
    return written


def load_artifacts(out_dir: Path = ARTIFACTS / "family") -> dict[str, pd.DataFrame]:
    """Runs and outcome tables of every family, keyed ``runs_<family>`` and ``<family>``."""
    missing = [f for fam in FAMILIES for f in (f"runs_{fam}.csv", OUTCOME_FILES[fam]) if not (out_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"missing vision artifacts in {out_dir}: {missing}; regenerate with `python -m mirage_utils vision run`"
        )
    tables: dict[str, pd.DataFrame] = {}
    for fam in FAMILIES:
        tables[f"runs_{fam}"] = pd.read_csv(out_dir / f"runs_{fam}.csv")
        tables[fam] = pd.read_parquet(out_dir / OUTCOME_FILES[fam])
    return tables
