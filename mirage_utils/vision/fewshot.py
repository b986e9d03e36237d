"""In-context few-shot classification of held-out characters (the paper's Sec. 5 Omniglot transformers): episodes of
images of N characters with episode-specific labels, so only the earlier (image, label) pairs in context can answer."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn import functional as F

from .._validation import positive_int
from ..seeding import rng
from .omniglot_like import CharacterImages
from .outcomes import context_accuracy

TEST_SEED = 7  # the fixed held-out episodes every model is scored on
TRAIN_EVAL_SEED = 8  # the fixed background episodes for train accuracy
QUERY_COLUMNS = ("episode", "position", "earlier", "seen_labels", "label", "pred", "p_true")


@dataclass(frozen=True)
class Episodes:
    """``index`` (E, T) rows into the images, ``label`` (E, T) episode-specific labels in 0..n_way-1 (a fresh random
    permutation per episode), ``earlier`` (E, T) exemplars of the same class before position t, ``seen_labels`` (E, T)
    distinct labels shown before position t."""

    index: NDArray[np.int64]
    label: NDArray[np.int64]
    earlier: NDArray[np.int64]
    seen_labels: NDArray[np.int64]


def sample_episodes(
    data: CharacterImages, n_episodes: int, n_way: int = 5, n_items: int = 15, seed: int = 0, balanced: bool = False
) -> Episodes:
    """``n_episodes`` episodes of ``n_items`` images of ``n_way`` distinct characters of ``data``, with labels given
    by a fresh random permutation per episode and distinct exemplars within an episode. Vectorised and seeded.

    The class of each item is drawn i.i.d. uniformly (default), so the labels seen so far say nothing about the next
    one and only matching images can answer; ``balanced=True`` instead shows every class ``n_items // n_way`` times
    in random order (whose label counts leak the answer: a class seen that often cannot come again)."""
    n_episodes, n_way, n_items = (
        positive_int(v, k) for v, k in ((n_episodes, "n_episodes"), (n_way, "n_way"), (n_items, "n_items"))
    )
    if balanced and n_items % n_way:
        raise ValueError(f"balanced episodes need n_items={n_items} divisible by n_way={n_way}")
    chars, inverse, counts = np.unique(data.character, return_inverse=True, return_counts=True)
    if chars.size < n_way:
        raise ValueError(f"need at least n_way={n_way} characters, {data.split!r} has {chars.size}")
    need = n_items // n_way if balanced else n_items
    if counts.min() < need:
        raise ValueError(f"every character needs >= {need} exemplars for these episodes, one has {counts.min()}")
    table = np.full((chars.size, counts.max()), -1, dtype=np.int64)  # row indices of each character's exemplars
    order = np.argsort(inverse, kind="stable")
    table[inverse[order], np.arange(order.size) - np.repeat(np.cumsum(counts) - counts, counts)] = order
    gen = rng(seed)
    picked = np.argpartition(gen.random((n_episodes, chars.size)), n_way - 1, axis=1)[:, :n_way]  # (E, N)
    keys = gen.random((n_episodes, n_way, table.shape[1]))
    keys[table[picked] < 0] = np.inf  # padding slots sort last
    exemplars = np.take_along_axis(table[picked], np.argsort(keys, axis=2), axis=2)  # (E, N, max) shuffled
    if balanced:
        slot = np.argsort(gen.random((n_episodes, n_items)), axis=1) % n_way  # class slot of each item
    else:
        slot = gen.integers(0, n_way, (n_episodes, n_items))
    onehot = slot[:, :, None] == np.arange(n_way)
    before = np.cumsum(onehot, axis=1) - onehot  # items of each class strictly before t
    earlier = np.take_along_axis(before, slot[:, :, None], 2)[:, :, 0]
    index = exemplars[np.arange(n_episodes)[:, None], slot, earlier]  # the k-th item of a class: its k-th exemplar
    label = np.take_along_axis(np.argsort(gen.random((n_episodes, n_way)), axis=1), slot, 1)
    return Episodes(index, label.astype(np.int64), earlier.astype(np.int64), (before > 0).sum(2).astype(np.int64))


class InContextClassifier(nn.Module):
    """Conv image embedder + pre-norm causal transformer reading, per item t, a query token (image + "unknown label")
    then an answer token (image + label). Logits at query t predict y_t from all earlier tokens, never y_t itself."""

    def __init__(
        self,
        n_way: int,
        d_model: int,
        n_layer: int,
        n_head: int,
        max_items: int,
        conv_width: int | None = None,
    ) -> None:
        super().__init__()
        for v, k in ((n_way, "n_way"), (d_model, "d_model"), (n_layer, "n_layer"), (n_head, "n_head")):
            positive_int(v, k)
        positive_int(max_items, "max_items")
        if d_model % n_head:
            raise ValueError(f"d_model={d_model} must be divisible by n_head={n_head}")
        c = positive_int(conv_width if conv_width is not None else max(4, d_model // 2), "conv_width")
        self.embed_image = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1),
            nn.GELU(),
            nn.AdaptiveAvgPool2d(3),
            nn.Flatten(),
            nn.Linear(9 * c, d_model),
            # across images: removes the direction all images share, so similar characters stand out (and unit scale
            # like the N(0, 1) label embeddings, so neither drowns the other)
            nn.BatchNorm1d(d_model),
        )
        self.embed_label = nn.Embedding(n_way + 1, d_model)  # index n_way = "unknown" (query tokens)
        self.position = nn.Parameter(0.02 * torch.randn(2 * max_items, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, n_head, 4 * d_model, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, n_way)
        self.n_way, self.max_items = n_way, max_items

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """images (B, T, 1, 28, 28), labels (B, T) -> logits (B, T, n_way) at the query tokens."""
        b, t = labels.shape
        if t > self.max_items or images.shape[:2] != (b, t):
            raise ValueError(
                f"expected images (B, T<={self.max_items}, 1, 28, 28) matching labels {tuple(labels.shape)}"
            )
        img = self.embed_image(images.flatten(0, 1)).view(b, t, -1)
        unknown = self.embed_label.weight[self.n_way].expand_as(img)
        tokens = torch.stack([img + unknown, img + self.embed_label(labels)], dim=2).flatten(1, 2)
        tokens = tokens + self.position[: 2 * t]
        mask = nn.Transformer.generate_square_subsequent_mask(2 * t, device=tokens.device)
        hidden = self.norm(self.blocks(tokens, mask=mask, is_causal=True))
        return cast(torch.Tensor, self.out(hidden[:, 0::2]))


def _schedule(step: int, steps: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


@torch.no_grad()
def evaluate(
    model: InContextClassifier, images: torch.Tensor, episodes: Episodes, chunk: int = 250, device: str = "cpu"
) -> pd.DataFrame:
    """One row per query of ``episodes`` (columns :data:`QUERY_COLUMNS`); ``images`` (n, 1, 28, 28) on ``device``."""
    model.eval()
    idx, lab = torch.from_numpy(episodes.index), torch.from_numpy(episodes.label)
    probs = torch.cat(
        [
            F.softmax(model(images[a.to(device)], b.to(device)), -1).cpu()
            for a, b in zip(idx.split(chunk), lab.split(chunk))
        ]
    )
    e, t = episodes.label.shape
    return pd.DataFrame(
        {
            "episode": np.repeat(np.arange(e), t).astype(np.int32),
            "position": np.tile(np.arange(t), e).astype(np.int8),
            "earlier": episodes.earlier.ravel().astype(np.int8),
            "seen_labels": episodes.seen_labels.ravel().astype(np.int8),
            "label": episodes.label.ravel().astype(np.int8),
            "pred": probs.argmax(-1).numpy().ravel().astype(np.int8),
            "p_true": probs.gather(-1, lab[..., None]).numpy().ravel().astype(np.float32),
        }
    )


def _accuracy(table: pd.DataFrame) -> dict[str, float]:
    by_count = context_accuracy(table["pred"] == table["label"], table["earlier"])
    return {
        f"acc_{'context' if k == 'context' else 'earlier' + k.replace('+', 'plus')}": v for k, v in by_count.items()
    }


def train_run(
    train: CharacterImages,
    test: CharacterImages,
    d_model: int,
    n_layer: int,
    n_head: int,
    seed: int,
    steps: int,
    lr: float,
    batch: int = 32,
    n_way: int = 5,
    n_items: int = 15,
    balanced: bool = False,
    conv_width: int | None = None,
    warmup: int | None = None,
    weight_decay: float = 0.0,
    loss_on_first: bool = False,
    test_episodes: int = 1000,
    train_eval_episodes: int = 500,
    curve_points: int = 10,
    device: str = "cpu",
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train one :class:`InContextClassifier` on episodes of ``train`` characters (fresh ones every step, seeded by
    ``seed``), then score it on fixed episodes of ``test`` (seed :data:`TEST_SEED`, the same for every model).

    Returns (run record, per-query table of the test episodes). The record holds the sizes, ``params`` (all
    parameters), ``train_seconds``, ``final_loss`` (mean of the last 10% of steps), ``loss_curve`` (mean loss per
    1/``curve_points`` of steps), and train/test accuracy: ``*_acc_context`` on queries with >= 1 earlier exemplar,
    ``*_acc_earlier{k}`` per number of earlier exemplars k.
    """
    for v, k in ((steps, "steps"), (batch, "batch"), (curve_points, "curve_points"), (test_episodes, "test_episodes")):
        positive_int(v, k)
    positive_int(train_eval_episodes, "train_eval_episodes")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if steps < curve_points:
        raise ValueError(f"steps={steps} must be >= curve_points={curve_points}")
    if set(np.unique(train.character)) & set(np.unique(test.character)):
        raise ValueError("train and test share characters: the test would not be held out")
    warm = max(1, steps // 20) if warmup is None else positive_int(warmup, "warmup")
    seeds = rng(seed).integers(0, 2**62, steps)  # one episode seed per step (and checks ``seed``)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = InContextClassifier(n_way, d_model, n_layer, n_head, n_items, conv_width).to(device)
    xtr = torch.from_numpy(train.x).to(device)
    xte = torch.from_numpy(test.x).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, steps, warm))
    losses = np.empty(steps)
    t0 = time.perf_counter()
    model.train()
    for step in range(steps):
        ep = sample_episodes(train, batch, n_way, n_items, int(seeds[step]), balanced)
        lab = torch.from_numpy(ep.label).to(device)
        logits = model(xtr[torch.from_numpy(ep.index).to(device)], lab)
        keep = torch.from_numpy(ep.earlier >= (0 if loss_on_first else 1)).to(device)
        loss = F.cross_entropy(logits[keep], lab[keep])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses[step] = loss.item()
    seconds = time.perf_counter() - t0
    per_query = evaluate(
        model, xte, sample_episodes(test, test_episodes, n_way, n_items, TEST_SEED, balanced), device=device
    )
    on_train = evaluate(
        model,
        xtr,
        sample_episodes(train, train_eval_episodes, n_way, n_items, TRAIN_EVAL_SEED, balanced),
        device=device,
    )
    record: dict[str, Any] = {
        "d_model": d_model,
        "n_layer": n_layer,
        "n_head": n_head,
        "conv_width": model.embed_image[0].out_channels,
        "seed": seed,
        "params": sum(p.numel() for p in model.parameters()),  # all of them (all are trained)
        "steps": steps,
        "lr": lr,
        "batch": batch,
        "n_way": n_way,
        "n_items": n_items,
        "balanced": balanced,
        "train_seconds": round(seconds, 2),
        "final_loss": float(losses[-max(1, steps // 10) :].mean()),
        "loss_curve": [float(c.mean()) for c in np.array_split(losses, curve_points)],
        "dataset": train.name,
    }
    record.update({f"train_{k}": v for k, v in _accuracy(on_train).items()})
    record.update({f"test_{k}": v for k, v in _accuracy(per_query).items()})
    return record, per_query
