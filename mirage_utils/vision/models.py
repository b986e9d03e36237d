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
    """One hidden (bottleneck) layer with a nonlinearity, sigmoid output in [0, 1]: the paper's Fig. 7 family.

    With ``mean`` (the training images' mean), inputs are centred before the encoder and the decoder's bias starts at
    the mean's logit, so an untrained model outputs the mean image: the usual conditioning, which lets Adam reach
    the linear optimum (PCA) instead of stalling above it."""

    def __init__(self, n_inputs: int, bottleneck: int, mean: torch.Tensor | None = None) -> None:
        super().__init__()
        if n_inputs < 1 or bottleneck < 1:
            raise ValueError("n_inputs and bottleneck must be positive")
        centre = torch.zeros(n_inputs) if mean is None else mean.detach().reshape(-1).float().cpu()
        if centre.numel() != n_inputs:
            raise ValueError(f"mean has {centre.numel()} values, expected {n_inputs}")
        self.register_buffer("centre", centre)
        out = nn.Linear(bottleneck, n_inputs)
        if mean is not None:
            with torch.no_grad():
                out.bias.copy_(torch.logit(centre.clamp(1e-3, 1 - 1e-3)))
        self.encode = nn.Sequential(nn.Linear(n_inputs, bottleneck), nn.GELU())
        self.decode = nn.Sequential(out, nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1) - cast(torch.Tensor, self.centre)
        return cast(torch.Tensor, self.decode(self.encode(flat)).view_as(x))
