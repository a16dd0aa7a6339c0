"""The building blocks of SSV2A's networks, written for v2a from a reading of its paper and code.

Parameter names and module order follow SSV2A's released checkpoints (`ssv2a.pth`), so their state
dicts load strictly: e.g. an MLP is one `nn.Sequential` named `model` whose indices count the
LayerNorm, Dropout and activation modules too. Dropout is part of the layout only (inference runs in
eval mode). Inputs may carry extra leading dimensions; every block works on the last one.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def draw_noise(shape: Sequence[int], draws: int, generator: torch.Generator | None,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """[draws, *shape] standard normal noise, one draw after another from `generator` (the order and
    calls SSV2A's sampling makes, so the same seed gives the same noise)."""
    return torch.stack([torch.empty(tuple(shape), device=device).normal_(generator=generator)
                        for _ in range(draws)])


def mean_of_draws(mu: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The mean of the draws mu + exp(log_var / 2) * noise[k], summed in draw order as SSV2A does.
    `noise` is [draws, ..., *mu.shape] (extra dims in the middle batch several sample sets at once)."""
    std = torch.exp(0.5 * log_var)
    total = torch.zeros(noise.shape[1:], dtype=mu.dtype, device=mu.device)
    for eps in noise:
        total = total + (eps * std + mu) / len(noise)
    return total


def averaged_sample(mu: torch.Tensor, log_var: torch.Tensor, draws: int,
                    generator: torch.Generator | None) -> torch.Tensor:
    """The mean of `draws` Gaussian draws (noise from `generator`)."""
    return mean_of_draws(mu, log_var, draw_noise(mu.shape, draws, generator, mu.device))


class SinusoidalPositions(nn.Module):
    """Fixed sine/cosine table over `resolution` positions, added to or concatenated with the tokens.

    SSV2A's frequencies use log(2 * resolution) where the Transformer paper uses log(10000).
    """

    def __init__(self, dim: int, resolution: int = 1024, inject: str = "cat"):
        super().__init__()
        self.inject = inject
        position = torch.arange(resolution, dtype=torch.float).unsqueeze(1)
        rate = torch.exp(torch.arange(0, dim, 2).float() * (-math.log(2 * resolution) / dim))
        table = torch.zeros(resolution, dim)
        table[:, 0::2] = torch.sin(position * rate)
        table[:, 1::2] = torch.cos(position * rate)
        self.register_buffer("pe", table.unsqueeze(1))  # [resolution, 1, dim], the checkpoint's layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = self.pe[: x.shape[1], 0, :].expand(x.shape[0], -1, -1)
        return x + table if self.inject == "add" else torch.cat([x, table], dim=-1)


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    return x.view(x.shape[0], x.shape[1], heads, -1)


def _linear_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Efficient attention: softmax over each head's features of queries and keys, then
    q · (kᵀ v) summed over the sequence. [B, T, H, d] -> [B, T, H*d]."""
    query = F.softmax(query, dim=-1)
    key = F.softmax(key, dim=-1)
    context = torch.einsum("bnhd,bnhl->bhdl", key, value)
    out = torch.einsum("bnhd,bhdl->bnhl", query, context)
    return out.reshape(out.shape[0], out.shape[1], -1)


class EfficientSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.nhead = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)
        self.highway = nn.Linear(dim, dim)  # the residual path is a learned projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = self.norm(x)
        attended = _linear_attention(_heads(self.query(normed), self.nhead), _heads(self.key(normed), self.nhead),
                                     _heads(self.value(normed), self.nhead))
        return self.highway(x) + attended


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.activation = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.linear2(self.dropout(self.activation(self.linear1(self.norm(x)))))


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, hidden: int, heads: int, dropout: float):
        super().__init__()
        self.esa = EfficientSelfAttention(dim, heads, dropout)
        self.ffn = FeedForward(dim, hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.esa(x))


class TransformerEncoder(nn.Module):
    """A stack of efficient-attention layers; the FFN is `exp_rate` times as wide as the tokens."""

    def __init__(self, num_layers: int = 3, embed_dim: int = 512, nhead: int = 8, dropout: float = 0.2,
                 exp_rate: int = 1):
        super().__init__()
        self.encoder = nn.Sequential(*[EncoderLayer(embed_dim, embed_dim * exp_rate, nhead, dropout)
                                       for _ in range(num_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    @classmethod
    def from_config(cls, cfg: dict) -> "TransformerEncoder":
        return cls(num_layers=cfg.get("num_layers", 3), embed_dim=cfg.get("embed_dim", 512),
                   nhead=cfg.get("nhead", 8), dropout=cfg.get("dropout", 0.2), exp_rate=cfg.get("exp_rate", 1))


class LinearProjection(nn.Module):
    """y = A x + b with a scalar bias b; `solve` is its least-squares inverse (pseudo-inverse of A)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.A = nn.Parameter(torch.zeros(out_dim, in_dim))
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.A.t() + self.b

    def solve(self, y: torch.Tensor) -> torch.Tensor:
        u, s, vh = torch.linalg.svd(self.A, full_matrices=False)
        inverse = vh.t() @ torch.diag(1.0 / s) @ u.t()
        return (y - self.b) @ inverse.t()


class Residual(nn.Module):
    """proj(x) + block(x)."""

    def __init__(self, block: nn.Module, proj: nn.Module):
        super().__init__()
        self.mod = block
        self.proj = proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) + self.mod(x)


def _dense(in_dim: int, out_dim: int, dropout: float) -> list[nn.Module]:
    return [nn.Linear(in_dim, out_dim), nn.LayerNorm(out_dim)] + ([nn.Dropout(dropout)] if dropout else [])


class MLP(nn.Module):
    """Linear -> LayerNorm -> (Dropout) -> GELU per step of `layers`; with `resnet`, pairs of steps
    are wrapped in a residual block (Linear, LN, (Dropout), GELU, Linear, LN, (Dropout)) + GELU."""

    def __init__(self, layers: Sequence[int], resnet: bool = False, dropout: float = 0.1, **_: object):
        super().__init__()
        layers = list(layers)
        modules: list[nn.Module] = []
        start = 0
        if resnet and len(layers) > 2:
            for pair in range((len(layers) - 1) // 2):
                a, b, c = layers[2 * pair], layers[2 * pair + 1], layers[2 * pair + 2]
                block = nn.Sequential(*_dense(a, b, dropout), nn.GELU(), *_dense(b, c, dropout))
                modules += [Residual(block, nn.Linear(a, c)), nn.GELU()]
                start = 2 * pair + 2
        for i in range(start, len(layers) - 1):
            modules += _dense(layers[i], layers[i + 1], dropout) + [nn.GELU()]
        self.model = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    @classmethod
    def from_config(cls, cfg: dict, layers: Sequence[int] | None = None) -> "MLP":
        return cls(layers if layers is not None else cfg["layers"], resnet=cfg.get("resnet", False),
                   dropout=cfg.get("dropout", 0.1))


class MixtureOfExperts(nn.Module):
    """Expert MLPs mixed by per-input weights. With `diverse_experts`, experts come in groups of
    increasing depth (hidden layers [:1], [:2], ...), the last group taking the remainder."""

    def __init__(self, cfg: dict, experts: int, diverse: bool):
        super().__init__()
        layers = list(cfg["layers"])
        if diverse:
            hidden = layers[1:-1]
            mlps = []
            for i in range(len(hidden)):
                count = experts // len(hidden)
                if i == len(hidden) - 1:
                    count = experts - i * count
                mlps += [MLP.from_config(cfg, [layers[0]] + hidden[:i] + [layers[-1]]) for _ in range(count)]
        else:
            mlps = [MLP.from_config(cfg) for _ in range(experts)]
        self.experts = nn.ModuleList(mlps)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        outputs = torch.stack([expert(x) for expert in self.experts], dim=-2)  # [..., experts, out]
        return torch.einsum("...ij,...i->...j", outputs, weights)
