"""Train and score the three vision families of the paper's Sec. 5 / App. B, one (family, size, seed) shard at a time.

Each shard writes its run record (JSON) and its per-example outcomes (Parquet: predicted labels or squared errors) to
``<artifacts>/shards``; :func:`merge` joins them into one wide table per family, so any metric (subset accuracy for
any k, Reconstruction_c for any c, accuracy by context) is computed afterwards from the same runs. Shards run in any
order or on any machine (``python -m mirage_utils vision shard``); the recipe is in the config saved beside them.
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
from ..seeding import fill_platform, platform_record, rng, torch_generator
from . import data as im
from . import fewshot, omniglot_like
from .models import LeNet, ShallowAutoencoder, n_params
from .omniglot_like import CharacterImages

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
    seq_way: int = 5  # characters per episode
    seq_items: int = 15  # (image, label) items per episode
    seq_test_episodes: int = 1000
    seq_batch: int = 32
    ae_val: int = 4000  # validation patches, cut from the training photos, for early stopping
    ae_patience: int = 6  # epochs without a better validation error before stopping
    ae_batch: int = 256
    batch_size: int = 128
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
    params: int,
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
        "params": params,
        "steps": steps,
        "final_train_loss": loss,
        "train_seconds": round(seconds, 2),
        "dataset": dataset,
    }


def autoencoder_data(cfg: VisionConfig) -> tuple[im.ImageSplit, im.ImageSplit, im.ImageSplit]:
    """(train, validation, test) patches: validation is the last ``ae_val`` of the training photos' patches."""
    train, test = im.natural_patches(cfg.ae_train + cfg.ae_val, cfg.ae_test)
    fit = im.ImageSplit(train.x[: cfg.ae_train], train.y[: cfg.ae_train], train.name)
    val = im.ImageSplit(train.x[cfg.ae_train :], train.y[cfg.ae_train :], train.name)
    return _limit(fit, cfg.train_limit), _limit(val, cfg.test_limit), _limit(test, cfg.test_limit)


def _mse(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([((model(b) - b) ** 2).flatten(1).mean(1) for b in x.split(1000)])


def autoencoder_run(
    cfg: VisionConfig, index: int, seed: int, device: str = "cpu"
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train one bottleneck to convergence: Adam with warmup and cosine decay over at most ``ae_epochs`` epochs,
    stopped after ``ae_patience`` epochs without a better validation error, the best epoch's weights kept.
    Returns (record, per-test-image mean squared error per pixel)."""
    train, val, test = autoencoder_data(cfg)
    hidden = cfg.ae_bottlenecks[index]
    xtr, xva, xte = (torch.from_numpy(s.x).to(device) for s in (train, val, test))
    torch.manual_seed(seed)
    model = ShallowAutoencoder(int(np.prod(xtr.shape[1:])), hidden, mean=xtr.mean(0)).to(device)
    per_epoch, epochs = max(1, len(xtr) // cfg.ae_batch), max(1, round(cfg.ae_epochs))
    total = epochs * per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=cfg.ae_lr)
    warm = max(1, total // 50)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    best, best_state, stale, curve = math.inf, dict(model.state_dict()), 0, []
    t0 = time.perf_counter()
    gen = torch_generator(seed)
    for _epoch in range(epochs):
        order, losses = torch.randperm(len(xtr), generator=gen).to(device), []
        for i in range(per_epoch):
            batch = xtr[order[i * cfg.ae_batch : (i + 1) * cfg.ae_batch]]
            loss = F.mse_loss(model(batch), batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        val_mse = float(_mse(model, xva).mean())
        curve.append((float(np.mean(losses)), val_mse))
        if val_mse < best:
            best, stale = val_mse, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= cfg.ae_patience:
                break
    seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    err = _mse(model, xte).cpu().numpy().astype(np.float32)
    record = _record(
        "autoencoder",
        index,
        seed,
        str(hidden),
        n_params(model),
        len(curve) * per_epoch,
        curve[-1][0],
        seconds,
        train.name,
    )
    record |= {
        "epochs": len(curve),
        "best_epoch": int(np.argmin([v for _, v in curve])) + 1,
        "val_mse": best,
        "train_curve": json.dumps([round(t, 6) for t, _ in curve]),
        "val_curve": json.dumps([round(v, 6) for _, v in curve]),
    }
    return record, pd.DataFrame({run_name("autoencoder", index, seed): err})


def sequence_data() -> tuple[CharacterImages, CharacterImages]:
    """(train, test) characters: Omniglot's background / evaluation alphabets, or the Omniglot-like substitute's."""
    return omniglot_like.load("background"), omniglot_like.load("evaluation")


def sequence_run(cfg: VisionConfig, index: int, seed: int, device: str = "cpu") -> tuple[dict[str, Any], pd.DataFrame]:
    """Train one in-context classifier on episodes of background characters and score it on fixed episodes of
    held-out (evaluation) characters. Returns (record, per-query table with this run's predicted label)."""
    train, test = sequence_data()
    d_model, n_layer, n_head = cfg.seq_models[index]
    rec, per_query = fewshot.train_run(
        train,
        test,
        d_model,
        n_layer,
        n_head,
        seed,
        cfg.seq_steps,
        cfg.seq_lr,
        cfg.seq_batch,
        n_way=cfg.seq_way,
        n_items=cfg.seq_items,
        test_episodes=cfg.seq_test_episodes,
        train_eval_episodes=max(1, cfg.seq_test_episodes // 2),
        device=device,
    )
    record = _record(
        "sequence",
        index,
        seed,
        f"d{d_model}-l{n_layer}",
        int(rec["params"]),
        cfg.seq_steps,
        rec["final_loss"],
        rec["train_seconds"],
        test.name,
    )
    record |= {k: v for k, v in rec.items() if k.startswith(("train_acc", "test_acc"))}
    record["train_curve"] = json.dumps([round(float(x), 5) for x in rec["loss_curve"]])
    table = per_query[["episode", "position", "earlier", "seen_labels", "label"]].astype(np.int16)
    table[run_name("sequence", index, seed)] = per_query["pred"].to_numpy().astype(np.int8)
    return record, table


def lenet_run(cfg: VisionConfig, index: int, seed: int, device: str = "cpu") -> tuple[dict[str, Any], pd.DataFrame]:
    """Train one LeNet width on MNIST; return (record, test predictions with the labels)."""
    train, test = (_limit(s, n) for s, n in zip(im.load_mnist(), (cfg.train_limit, cfg.test_limit)))
    xtr, ytr, xte = (torch.from_numpy(a).to(device) for a in (train.x, train.y, test.x))
    steps = max(1, round(cfg.lenet_epochs * len(ytr) / cfg.batch_size))
    widths = cfg.lenet_widths[index]
    torch.manual_seed(seed)
    model = LeNet(widths).to(device)
    t0 = time.perf_counter()
    loss = _train(
        model,
        lambda idx: F.cross_entropy(model(xtr[idx]), ytr[idx]),
        len(ytr),
        cfg.batch_size,
        steps,
        cfg.lenet_lr,
        seed,
    )
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(b).argmax(1) for b in xte.split(1000)]).cpu().numpy().astype(np.int8)
    record = _record(
        "lenet",
        index,
        seed,
        "x".join(map(str, widths)),
        n_params(model),
        steps,
        loss,
        time.perf_counter() - t0,
        train.name,
    )
    return record, pd.DataFrame({"label": test.y.astype(np.int8), run_name("lenet", index, seed): pred})


RUNNERS: dict[str, Callable[[VisionConfig, int, int, str], tuple[dict[str, Any], pd.DataFrame]]] = {
    "lenet": lenet_run,
    "autoencoder": autoencoder_run,
    "sequence": sequence_run,
}
OUTCOME_FILES = {
    "lenet": "lenet_predictions.parquet",
    "autoencoder": "autoencoder_errors.parquet",
    "sequence": "sequence_predictions.parquet",
}
#: Columns every shard of a family repeats (the examples), kept once in the merged table.
SHARED_COLUMNS = {
    "lenet": ("label",),
    "autoencoder": (),
    "sequence": ("episode", "position", "earlier", "seen_labels", "label"),
}


def sizes(cfg: VisionConfig, family: str) -> int:
    """How many sizes the config gives a family."""
    n = {"lenet": len(cfg.lenet_widths), "autoencoder": len(cfg.ae_bottlenecks), "sequence": len(cfg.seq_models)}
    if family not in n:
        raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")
    return n[family]


def shards(cfg: VisionConfig, families: tuple[str, ...] = FAMILIES) -> list[tuple[str, int, int]]:
    """Every (family, size index, seed) of the config, smallest sizes first."""
    return [(f, i, s) for f in families for i in range(sizes(cfg, f)) for s in cfg.seeds]


def run_shard(cfg: VisionConfig, family: str, index: int, seed: int, shard_dir: Path, device: str = "cpu") -> Path:
    """Train and score one (family, size, seed); write ``<run>.json`` and ``<run>.parquet`` into ``shard_dir``."""
    if not 0 <= index < sizes(cfg, family) or seed not in cfg.seeds:
        raise ValueError(f"{family} has sizes 0..{sizes(cfg, family) - 1} and seeds {cfg.seeds}; got {index}, {seed}")
    record, table = RUNNERS[family](cfg, index, seed, device)
    record.update(platform_record())
    shard_dir.mkdir(parents=True, exist_ok=True)
    name = run_name(family, index, seed)
    table.to_parquet(shard_dir / f"{name}.parquet", index=False, compression="zstd")
    (shard_dir / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    return shard_dir / f"{name}.json"


def merge(
    cfg: VisionConfig, shard_dir: Path, out_dir: Path, families: tuple[str, ...] = FAMILIES, partial: bool = False
) -> dict[str, Path]:
    """Join a family's shards into ``runs_<family>.csv`` and its wide outcome table (one column per run); the config
    that defines them is saved beside the tables as ``config.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    written: dict[str, Path] = {"config.json": out_dir / "config.json"}
    for family in families:
        names = [run_name(f, i, s) for f, i, s in shards(cfg, (family,))]
        have = [n for n in names if (shard_dir / f"{n}.json").is_file()]
        if not have or (len(have) < len(names) and not partial):
            missing = sorted(set(names) - set(have))
            raise FileNotFoundError(f"{len(missing)} {family} shards missing in {shard_dir}, e.g. {missing[:3]}")
        runs = fill_platform(pd.DataFrame([json.loads((shard_dir / f"{n}.json").read_text()) for n in have]))
        tables = [pd.read_parquet(shard_dir / f"{n}.parquet") for n in have]
        shared = list(SHARED_COLUMNS[family])
        for t in tables[1:]:
            if shared and not t[shared].equals(tables[0][shared]):
                raise ValueError(f"{family} shards disagree on the examples ({shared}): mixed configs?")
        wide = pd.concat([tables[0][shared], *(t.drop(columns=shared) for t in tables)], axis=1)
        runs.to_csv(out_dir / f"runs_{family}.csv", index=False)
        wide.to_parquet(out_dir / OUTCOME_FILES[family], index=False, compression="zstd")
        written[f"runs_{family}.csv"] = out_dir / f"runs_{family}.csv"
        written[OUTCOME_FILES[family]] = out_dir / OUTCOME_FILES[family]
    return written


def run_families(
    cfg: VisionConfig,
    out_dir: Path,
    families: tuple[str, ...] = FAMILIES,
    progress: bool = True,
    device: str = "cpu",
) -> dict[str, Path]:
    """Every shard of the chosen families not yet in ``out_dir/shards``, then :func:`merge`; saves the config."""
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; choose from {FAMILIES}")
    shard_dir = out_dir / "shards"
    todo = [j for j in shards(cfg, families) if not (shard_dir / f"{run_name(*j)}.json").is_file()]
    for family, index, seed in tqdm(todo, desc="vision shards", disable=not progress):
        run_shard(cfg, family, index, seed, shard_dir, device)
    return merge(cfg, shard_dir, out_dir, families)


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


PCA_FILE = "pca_optimum.csv"


def pca_optimum(cfg: VisionConfig) -> pd.DataFrame:
    """The known optimum of each autoencoder width: test mean squared error per pixel of the best rank-h linear
    reconstruction (PCA on the same training crops), one row per bottleneck h of the config."""
    from .outcomes import pca_mean_errors

    train, _, test = autoencoder_data(cfg)
    errors = pca_mean_errors(train.x, test.x, cfg.ae_bottlenecks)
    return pd.DataFrame({"bottleneck": list(cfg.ae_bottlenecks), "pca_test_mse": errors})


def write_pca_optimum(cfg: VisionConfig, out_dir: Path | None = None) -> Path:
    """Write :func:`pca_optimum` to ``<out_dir>/pca_optimum.csv`` (default: the config's artifact folder), the
    committed input of Chapter 4's competence line; the robustness page recomputes it and checks they agree."""
    path = Path(out_dir if out_dir is not None else ARTIFACTS / cfg.name) / PCA_FILE
    pca_optimum(cfg).to_csv(path, index=False, float_format="%.10g")
    return path
