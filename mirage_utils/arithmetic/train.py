"""One documented recipe for the arithmetic family, run one (size, seed) shard at a time.

Every size sees the same number of tokens, drawn from the same mixture of documents (4-digit addition,
multiplication with operands 0-99, and documents in which ``*`` or ``+`` is redefined in context); the seed sets
both the initialisation and the data order. AdamW, linear warm-up, cosine decay to 10% of the peak learning rate;
the loss covers answer tokens only. At log-spaced steps the shard scores the redefined-operator tests (Chapter 6)
and, if asked, saves a checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from tqdm import tqdm  # console bars: tqdm.auto warns in kernels without ipywidgets

from ..seeding import rng
from . import task as ar

# re-exported: the recipe's public names
from .config import FamilyConfig as FamilyConfig
from .config import ModelSpec as ModelSpec
from .config import n_params as n_params
from .model import GPT, GPTConfig, flops_per_token


def _kinds() -> dict[str, tuple[str, tuple[str, ...] | None]]:
    """Document kinds of the mixture: name -> (task, meanings or None for the usual meaning)."""
    kinds: dict[str, tuple[str, tuple[str, ...] | None]] = {t: (t, None) for t in ar.TRAIN_TASKS}
    for t in ("addition_4digit", "multiplication_0_99"):
        op = ar.get_task(t).op
        kinds[f"redefined{op}"] = (t, ar.MEANINGS[op])
    return kinds


def training_batches(cfg: FamilyConfig, seed: int) -> list[np.ndarray]:
    """The seed's token stream: every document kind of the mix, shuffled together, as (batch, width) uint8
    matrices, each padded only to its own longest document."""
    gen = rng(seed)
    docs: list[str] = []
    redefined = [k for k in _kinds() if k.startswith("redefined")]
    for _kind, (task_name, meanings) in _kinds().items():
        share = cfg.mix.get(task_name, 0.0) if meanings is None else cfg.mix["redefined"] / len(redefined)
        if share <= 0:
            continue
        task = ar.get_task(task_name)
        pilot = ar.training_documents(
            task,
            256,
            rng(seed + 10_000),
            cfg.split_seed,
            cfg.test_fraction,
            cfg.reverse,
            meanings,
            cfg.reverse_operands,
        )
        n_docs = max(cfg.batch_size, int(round(share * cfg.train_tokens / np.mean([len(d) for d in pilot]))))
        docs += ar.training_documents(
            task, n_docs, gen, cfg.split_seed, cfg.test_fraction, cfg.reverse, meanings, cfg.reverse_operands
        )
    order = gen.permutation(len(docs))
    batches = []
    for i in range(0, len(order), cfg.batch_size):
        ids = ar.pack([docs[j] for j in order[i : i + cfg.batch_size]]).astype(np.uint8)
        if ids.shape[1] > cfg.block_size + 1:
            raise ValueError(f"documents of {ids.shape[1]} tokens exceed block_size {cfg.block_size}")
        batches.append(ids)
    return batches


def lr_at(step: int, total: int, peak: float, warmup: int, min_ratio: float = 0.1) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def checkpoint_steps(total: int, n: int) -> list[int]:
    """Log-spaced step numbers (1 ... total) at which to evaluate/save; always includes the last step."""
    steps = np.unique(np.round(np.logspace(0, math.log10(max(total, 1)), n)).astype(int))
    return sorted({int(s) for s in steps if 1 <= s <= total} | {total})


def build_model(spec: ModelSpec, cfg: FamilyConfig, seed: int) -> GPT:
    torch.manual_seed(seed)
    breaks = (ar.BOS_ID, ar.EOS_ID) if cfg.positions == "line" else ()
    digits = tuple(ar.TOKEN_ID[d] for d in "0123456789") if cfg.abacus else ()
    return GPT(
        GPTConfig(
            len(ar.VOCAB),
            cfg.block_size,
            spec.n_layer,
            spec.d_model,
            spec.n_head,
            breaks,
            rotary=cfg.positions == "rotary",
            digit_ids=digits,
        )
    )


def configure_device(device: str) -> None:
    """TF32 matmuls on CUDA (the family trains in fp32 otherwise); nothing to do on the CPU."""
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast(device: str) -> contextlib.AbstractContextManager[None]:
    """bfloat16 autocast for the forward pass on CUDA; full float32 on the CPU (where it would not pay)."""
    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_shard(
    spec: ModelSpec,
    cfg: FamilyConfig,
    seed: int,
    device: str = "cpu",
    checkpoint_dir: Path | None = None,
    on_checkpoint: Callable[[GPT, int, int], None] | None = None,
    progress: bool = True,
) -> tuple[GPT, pd.DataFrame, dict[str, Any]]:
    """Train one (size, seed); returns the model, its loss log and a summary row.

    ``on_checkpoint(model, step, tokens)`` runs at every log-spaced step (the model in eval mode, then back).
    """
    configure_device(device)
    batches = training_batches(cfg, seed)
    model = build_model(spec, cfg, seed).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=spec.lr,
        betas=(0.9, 0.95),
    )
    total = len(batches)
    saves = set(checkpoint_steps(total, cfg.n_checkpoints))
    rows, tokens_seen, positions, flops, window = [], 0, 0, 0.0, []
    if on_checkpoint is not None:
        on_checkpoint(model.eval(), 0, 0)  # the random initialisation
    start, eval_seconds = time.perf_counter(), 0.0
    bar = tqdm(range(total), desc=f"train {spec.name} seed {seed}", disable=not progress, mininterval=5)
    model.train()
    for step in bar:
        batch_np = batches[step]
        batch = torch.from_numpy(batch_np.astype(np.int64)).to(device)
        mask = torch.from_numpy(ar.answer_mask(batch_np)[:, :-1]).to(device)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, spec.lr, cfg.warmup_steps)
        with autocast(device):
            logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits[mask].float(), batch[:, 1:][mask])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens_seen += int((batch_np[:, :-1] != ar.PAD_ID).sum())
        width = batch_np.shape[1] - 1
        positions += batch_np.shape[0] * width
        flops += batch_np.shape[0] * width * flops_per_token(model, width)
        window.append(loss.item())
        done = step + 1
        if done in saves or done % 100 == 0:
            rows.append(
                {
                    "model": spec.name,
                    "seed": seed,
                    "step": done,
                    "tokens": tokens_seen,
                    "loss": float(np.mean(window)),
                    "lr": opt.param_groups[0]["lr"],
                    "seconds": time.perf_counter() - start - eval_seconds,
                }
            )
            window = []
            bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}")
        if done in saves:
            if checkpoint_dir is not None:
                checkpoint_dir.mkdir(parents=True, exist_ok=True)
                torch.save(
                    {"step": done, "tokens": tokens_seen, "state_dict": model.state_dict()},
                    checkpoint_dir / f"step_{done:06d}.pt",
                )
            if on_checkpoint is not None:
                t0 = time.perf_counter()
                on_checkpoint(model.eval(), done, tokens_seen)
                model.train()
                eval_seconds += time.perf_counter() - t0
    seconds = time.perf_counter() - start - eval_seconds
    summary = {
        "model": spec.name,
        "seed": seed,
        "n_layer": spec.n_layer,
        "d_model": spec.d_model,
        "n_head": spec.n_head,
        "lr": spec.lr,
        "n_params": model.n_params(),
        "n_params_total": model.n_params(False),
        "steps": total,
        "train_tokens": tokens_seen,
        "train_seconds": seconds,
        "tokens_per_second": positions / seconds,
        "flops_per_second": flops / seconds,
        "final_loss": rows[-1]["loss"],
        "device": device,
        "torch_threads": torch.get_num_threads(),
    }
    return model.eval(), pd.DataFrame(rows), summary
