"""Layers the evaluation networks share, named as their released checkpoints name them."""

from __future__ import annotations

import torch
from torch import nn


class Mlp(nn.Module):
    """timm's ViT MLP (`fc1`, GELU, `fc2`), as PaSST, ImageBind and Synchformer each define it."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))
