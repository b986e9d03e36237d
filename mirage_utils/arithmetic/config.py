"""The family's configuration (sizes, seeds, token budget, data mix, evaluation sizes): torch-free, so artifact
readers and the CLI can load it without the training extra."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import task as ar


@dataclass(frozen=True)
class ModelSpec:
    name: str
    n_layer: int
    d_model: int
    n_head: int
    lr: float


@dataclass(frozen=True)
class FamilyConfig:
    """Everything that defines the family's artifacts; saved next to them."""

    name: str
    models: tuple[ModelSpec, ...]
    train_tokens: int
    batch_size: int
    seeds: tuple[int, ...] = (0, 1, 2)
    mix: dict[str, float] = field(
        default_factory=lambda: {"addition_4digit": 0.45, "multiplication_0_99": 0.35, "redefined": 0.2}
    )
    reverse: bool = True  # answers written least-significant digit first
    reverse_operands: bool = False  # operands too (an ablation)
    positions: str = "absolute"  # "absolute" (learned), "line" (learned, restart each line), "rotary" (relative)
    abacus: bool = False  # Abacus embeddings: each digit's place within its number (McLeish et al. 2024)
    split_seed: int = 12345
    test_fraction: float = 0.5
    block_size: int = 64
    warmup_steps: int = 100
    weight_decay: float = 0.1
    n_checkpoints: int = 12
    eval_seed: int = 777  # test sets, shots and sampling: the same for every shard
    eval_max_pairs: int = 10_000  # held-out 4-digit additions (multiplication: every held-out pair)
    train_eval_pairs: int = 2_000  # per task, from the training side: is the task learned at all?
    redefined_per_task: int = 200  # per redefined-operator test, at every checkpoint
    pass_until_problems: int = 50  # per task x answer length
    pass_until_max_samples: int = 256
    near_miss_options: int = 5  # multiple choice with purpose-made distractors (as many numbers as BIG-bench offers)
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("a family needs at least one model")
        if abs(sum(self.mix.values()) - 1) > 1e-9 or set(self.mix) - {*ar.TRAIN_TASKS, "redefined"}:
            raise ValueError(f"mix must give shares of {[*ar.TRAIN_TASKS, 'redefined']} that sum to 1, got {self.mix}")
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        if self.positions not in ("rotary", "line", "absolute"):
            raise ValueError(f"positions must be 'rotary', 'line' or 'absolute', got {self.positions!r}")

    @staticmethod
    def from_dict(d: dict[str, Any]) -> FamilyConfig:
        d = dict(d)
        d["models"] = tuple(ModelSpec(**m) for m in d["models"])
        d["seeds"] = tuple(d.get("seeds", FamilyConfig.seeds))
        return FamilyConfig(**d)

    @staticmethod
    def load(path: Path | str) -> FamilyConfig:
        return FamilyConfig.from_dict(json.loads(Path(path).read_text()))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["models"] = [asdict(m) for m in self.models]
        out["seeds"] = list(self.seeds)
        return out

    def spec(self, name: str) -> ModelSpec:
        for s in self.models:
            if s.name == name:
                return s
        raise ValueError(f"no model {name!r} in config {self.name!r}; known: {[s.name for s in self.models]}")


def n_params(spec: ModelSpec, cfg: FamilyConfig) -> int:
    """Non-embedding parameters of a size (without building it)."""
    d = spec.d_model
    return spec.n_layer * (12 * d * d + 13 * d) + 2 * d
