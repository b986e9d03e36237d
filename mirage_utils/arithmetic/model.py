"""The arithmetic family's model: a decoder-only transformer (GPT), pre-norm, causal ``scaled_dot_product_attention``.

Sizes are set by ``n_layer``, ``d_model`` and ``n_head``; parameter counts are reported without the token and
position embeddings ("non-embedding", the convention of Kaplan et al. 2020), because that is the scale the paper's
scaling plots use.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, cast

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    block_size: int
    n_layer: int
    d_model: int
    n_head: int
    line_break_ids: tuple[int, ...] = ()  # learned positions restart after these tokens; () = from the start
    rotary: bool = False  # rotary position embeddings (relative offsets) instead of learned absolute positions
    digit_ids: tuple[int, ...] = ()  # Abacus embeddings (McLeish et al. 2024) of these tokens' place in their number
    max_digits: int = 12

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "d_model", "n_head"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head})")
        if self.rotary and (self.d_model // self.n_head) % 2:
            raise ValueError(f"rotary embeddings need an even head dimension, got {self.d_model // self.n_head}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def line_positions(ids: torch.Tensor, line_break_ids: tuple[int, ...]) -> torch.Tensor:
    """Position of each token within its line: 0 at the sequence start and after every line-break token."""
    t = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
    starts = torch.zeros_like(ids, dtype=torch.bool)
    starts[:, 0] = True
    for token in line_break_ids:
        starts[:, 1:] |= ids[:, :-1] == token
    return t - torch.where(starts, t, torch.zeros_like(t)).cummax(dim=1).values


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(), nn.Linear(4 * cfg.d_model, cfg.d_model)
        )

    def forward(
        self,
        x: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None = None,
        rotation: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Returns the block output and this layer's (keys, values), extended by ``cache`` when one is given;
        ``rotation`` = (cos, sin) of each position rotates queries and keys (rotary embeddings)."""
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))
        if rotation is not None:
            q, k = _rotate(q, *rotation), _rotate(k, *rotation)
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        if cache is not None and t > 1:
            raise ValueError("with a cache, feed one new token at a time")
        # one new token attends to everything before it: no mask needed; a whole prompt needs the causal mask
        att = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None)
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x)), (k, v)


def digit_places(ids: torch.Tensor, digit_ids: tuple[int, ...]) -> torch.Tensor:
    """1, 2, 3, ... for the consecutive digit tokens of each number (written least-significant digit first, this is
    the digit's place value), 0 for every other token."""
    is_digit = torch.isin(ids, torch.tensor(digit_ids, device=ids.device))
    t = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
    last_non_digit = torch.where(is_digit, torch.full_like(t, -1), t).cummax(dim=1).values
    return torch.where(is_digit, t - last_non_digit, torch.zeros_like(t))


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding (Su et al. 2021) of (batch, head, time, dim) by per-position angles (batch, 1, time, dim/2)."""
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


def rotary_angles(positions: torch.Tensor, head_dim: int, base: float = 10_000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin) of shape (batch, 1, time, head_dim/2) for integer positions (batch, time)."""
    freqs = base ** (-torch.arange(0, head_dim // 2, device=positions.device, dtype=torch.float32) * 2 / head_dim)
    angles = positions[:, None, :, None].float() * freqs
    return angles.cos(), angles.sin()


class GPT(nn.Module):
    """Token + learned position embeddings, ``n_layer`` blocks, final LayerNorm, tied output head."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = None if cfg.rotary else nn.Embedding(cfg.block_size, cfg.d_model)
        self.abacus = nn.Embedding(cfg.max_digits + 1, cfg.d_model) if cfg.digit_ids else None
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, time, vocab)."""
        return self.forward_cached(ids, None)[0]

    def positions(self, ids: torch.Tensor) -> torch.Tensor:
        """Position ids of a whole sequence (absolute, or within each line when ``line_break_ids`` is set)."""
        if self.cfg.line_break_ids and not self.cfg.rotary:
            return line_positions(ids, self.cfg.line_break_ids)
        return torch.arange(ids.shape[1], device=ids.device).expand_as(ids)

    def forward_cached(
        self,
        ids: torch.Tensor,
        cache: list[tuple[torch.Tensor, torch.Tensor]] | None,
        positions: torch.Tensor | None = None,
        places: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Logits for ``ids`` continuing the sequence summarised by ``cache`` (None: start), and the new cache.

        ``positions`` (and, with Abacus embeddings, ``places``), of the same shape as ``ids``, are required with a
        cache; without one they are computed from ``ids``.
        """
        past = 0 if cache is None else cache[0][0].shape[2]
        t = ids.shape[1]
        if past + t > self.cfg.block_size:
            raise ValueError(f"sequence of {past + t} tokens exceeds block_size {self.cfg.block_size}")
        if positions is None:
            if cache is not None:
                raise ValueError("pass positions when continuing from a cache")
            positions = self.positions(ids)
        if self.cfg.rotary:
            x, rotation = self.tok(ids), rotary_angles(positions, self.cfg.d_model // self.cfg.n_head)
        else:
            x, rotation = self.tok(ids) + cast(nn.Embedding, self.pos)(positions), None  # pos is set unless rotary
        if self.abacus is not None:
            if places is None:
                if cache is not None:
                    raise ValueError("pass places when continuing from a cache")
                places = digit_places(ids, self.cfg.digit_ids)
            x = x + self.abacus(places.clamp(max=self.cfg.max_digits))
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if cache is None else cache[i], rotation)
            new_cache.append(kv)
        return self.ln_f(x) @ self.tok.weight.T, new_cache

    def n_params(self, non_embedding: bool = True) -> int:
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= sum(e.weight.numel() for e in (self.tok, self.pos, self.abacus) if e is not None)
        return total


def flops_per_token(model: GPT, seq_len: int) -> float:
    """Training FLOPs per token: 6 N (weights, forward + backward) + 12 n_layer T d (attention scores)."""
    cfg = model.cfg
    return 6.0 * model.n_params(non_embedding=True) + 12.0 * cfg.n_layer * seq_len * cfg.d_model


@torch.no_grad()
def generate(
    model: GPT,
    prompt: torch.Tensor,
    max_new_tokens: int,
    stop_id: int,
    temperature: float = 0.0,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue equal-length prompts (B, T) by up to ``max_new_tokens``, with a KV cache.

    ``temperature == 0``: greedy. Otherwise ``n_samples`` samples per prompt (rows repeat each prompt in turn).
    Returns (B * n_samples, max_new_tokens) token ids; after ``stop_id`` a row repeats ``stop_id``.
    """
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    model.eval()
    pos = model.positions(prompt)
    places = digit_places(prompt, model.cfg.digit_ids) if model.cfg.digit_ids else None
    logits, cache = model.forward_cached(prompt, None, pos, places)
    pos, place = pos[:, -1:], None if places is None else places[:, -1:]
    if n_samples > 1:
        cache = [(k.repeat_interleave(n_samples, 0), v.repeat_interleave(n_samples, 0)) for k, v in cache]
        logits = logits.repeat_interleave(n_samples, 0)
        pos = pos.repeat_interleave(n_samples, 0)
        place = None if place is None else place.repeat_interleave(n_samples, 0)
    last = logits[:, -1, :]
    done = torch.zeros(last.shape[0], dtype=torch.bool, device=prompt.device)
    out = []
    for step in range(max_new_tokens):
        if temperature == 0:
            nxt = last.argmax(dim=-1)
        else:
            probs = torch.softmax(last / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        nxt = torch.where(done, torch.full_like(nxt, stop_id), nxt)
        out.append(nxt)
        done |= nxt == stop_id
        if bool(done.all()) or step == max_new_tokens - 1:
            break
        pos = pos + 1
        if model.cfg.line_break_ids and not model.cfg.rotary:  # the token after a line break starts a new line
            breaks = torch.tensor(model.cfg.line_break_ids, device=nxt.device)
            pos = torch.where(torch.isin(nxt, breaks)[:, None], torch.zeros_like(pos), pos)
        if place is not None:
            digits = torch.tensor(model.cfg.digit_ids, device=nxt.device)
            place = torch.where(torch.isin(nxt, digits)[:, None], place + 1, torch.zeros_like(place))
        logits, cache = model.forward_cached(nxt[:, None], cache, pos, place)
        last = logits[:, -1, :]
    result = torch.stack(out, dim=1)
    if result.shape[1] < max_new_tokens:
        pad = torch.full(
            (result.shape[0], max_new_tokens - result.shape[1]), stop_id, dtype=result.dtype, device=result.device
        )
        result = torch.cat([result, pad], dim=1)
    return result
