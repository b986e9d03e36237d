"""The three vision families of the paper's Sec. 5 / App. B: LeNet, a shallow autoencoder, and a causal transformer
that classifies sequences of (image, label) pairs. Each is sized by a few integers so a family is a list of them."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters (the x axis of every vision figure)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class LeNet(nn.Module):
    """LeNet-5 layout (two 5x5 conv + pool stages, three dense layers) with every width a free parameter.

    ``widths = (6, 16, 120, 84)`` is the classic network; the family shrinks and grows all four together.
    """

    def __init__(self, widths: tuple[int, int, int, int], n_classes: int = 10) -> None:
        super().__init__()
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"widths must be four positive integers (conv1, conv2, fc1, fc2), got {widths}")
        c1, c2, f1, f2 = widths
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(c2 * 25, f1), nn.ReLU(), nn.Linear(f1, f2), nn.ReLU(), nn.Linear(f2, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.head(self.features(x)))


class ShallowAutoencoder(nn.Module):
    """One hidden (bottleneck) layer with a nonlinearity, sigmoid output in [0, 1]: the paper's Fig. 7 family."""

    def __init__(self, n_inputs: int, bottleneck: int) -> None:
        super().__init__()
        if n_inputs < 1 or bottleneck < 1:
            raise ValueError("n_inputs and bottleneck must be positive")
        self.encode = nn.Sequential(nn.Flatten(), nn.Linear(n_inputs, bottleneck), nn.GELU())
        self.decode = nn.Sequential(nn.Linear(bottleneck, n_inputs), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.decode(self.encode(x)).view_as(x))


class SequenceClassifier(nn.Module):
    """Images embedded by a small conv net, interleaved with label embeddings, read by a causal transformer.

    Input: images (B, L, 1, 28, 28) and labels (B, L). Token 2i is image i, token 2i+1 its label; the logits at every
    image token predict that image's label, so the model may use all earlier (image, label) pairs but never the answer.
    """

    def __init__(self, n_classes: int, d_model: int, n_layer: int, n_head: int, max_len: int = 5) -> None:
        super().__init__()
        if d_model % n_head or min(d_model, n_layer, n_head, n_classes, max_len) < 1:
            raise ValueError("need positive sizes with d_model divisible by n_head")
        c = max(4, d_model // 2)
        self.embed_image = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1),
            nn.GELU(),
            nn.AdaptiveAvgPool2d(3),
            nn.Flatten(),
            nn.Linear(9 * c, d_model),
        )
        self.embed_label = nn.Embedding(n_classes, d_model)
        self.position = nn.Parameter(torch.zeros(2 * max_len, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, n_head, 4 * d_model, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, n_classes)
        self.max_len = max_len

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        b, length = labels.shape
        if length > self.max_len or images.shape[:2] != (b, length):
            raise ValueError(f"expected images (B, L<= {self.max_len}, ...) matching labels, got {tuple(images.shape)}")
        img = self.embed_image(images.flatten(0, 1)).view(b, length, -1)
        tokens = torch.stack([img, self.embed_label(labels)], dim=2).flatten(1, 2) + self.position[: 2 * length]
        mask = nn.Transformer.generate_square_subsequent_mask(2 * length, device=tokens.device)
        hidden = self.norm(self.blocks(tokens, mask=mask, is_causal=True))
        return cast(torch.Tensor, self.out(hidden[:, 0::2]))  # (B, L, n_classes): predictions at the image tokens
