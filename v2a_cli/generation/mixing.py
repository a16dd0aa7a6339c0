"""Arithmetic in CLAP space: unit vectors, weighted means, paths between two conditions.

Pure functions on tensors (no model): `compose` mixes sources with `weighted_mean`, `--sources detect`
mixes a picture's sources the same way, `interpolate` walks `interpolation_path`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from v2a_cli.errors import V2AError

# Below this norm a mixed point has no direction (opposite endpoints): there is no path to walk.
_DEGENERATE_NORM = 1e-6


def unit(vector: torch.Tensor) -> torch.Tensor:
    """L2-normalise, but return an already unit-length vector untouched (so it stays bit-exact)."""
    vector = vector.float()
    norm = float(vector.norm())
    if abs(norm - 1.0) <= 1e-6:
        return vector
    if norm < _DEGENERATE_NORM:
        raise V2AError("cannot normalise a zero embedding; the sources cancel out, choose other sources or weights")
    return vector / norm


def _lerp_weights(a: torch.Tensor, b: torch.Tensor, fractions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return 1.0 - fractions, fractions


def _slerp_weights(a: torch.Tensor, b: torch.Tensor, fractions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cosine = float(torch.clamp(torch.dot(a, b), -1.0, 1.0))
    angle = math.acos(cosine)
    if math.sin(angle) < 1e-6:  # same direction (or opposite: no unique great circle, caught below)
        return _lerp_weights(a, b, fractions)
    sine = math.sin(angle)
    return torch.sin((1.0 - fractions) * angle) / sine, torch.sin(fractions * angle) / sine


# How the two endpoints are weighted along the path: straight line or great circle.
PATHS = {"linear": _lerp_weights, "slerp": _slerp_weights}


def interpolation_path(start: torch.Tensor, end: torch.Tensor, steps: int, *, slerp: bool = False) -> torch.Tensor:
    """[steps, D] unit vectors from `start` to `end` (both included, bit-exact for unit inputs).

    Linear: normalise((1-t)·a + t·b) for t = 0, 1/(steps-1), ..., 1 (points on the great circle, but
    not evenly spaced in angle). Slerp: evenly spaced in angle along the great circle.
    """
    if steps < 2:
        raise V2AError(f"--steps {steps}: an interpolation needs at least 2 points (the two ends)")
    a, b = unit(start.reshape(-1)), unit(end.reshape(-1))
    if a.shape != b.shape:
        raise ValueError(f"endpoints differ in size: {tuple(a.shape)} vs {tuple(b.shape)}")
    fractions = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    weight_a, weight_b = PATHS["slerp" if slerp else "linear"](a.double(), b.double(), fractions)
    points = weight_a[:, None] * a.double()[None] + weight_b[:, None] * b.double()[None]
    norms = points.norm(dim=-1, keepdim=True)
    if bool((norms < _DEGENERATE_NORM).any()):
        raise V2AError("the two endpoints point in opposite directions in CLAP space; no path between them is defined")
    path = (points / norms).float()
    path[0], path[-1] = a, b
    return path


def weighted_mean(embeddings: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """normalise(Σ wᵢ·eᵢ / Σ wᵢ); a single source comes back bit-exact."""
    total = sum(weights)
    if not math.isfinite(total):  # huge weights (1e308 + 1e308 = inf) are relative all the same
        top = max(weights)
        weights = [w / top for w in weights]
        total = sum(weights)
    shares = torch.tensor([w / total for w in weights], dtype=torch.float32)
    return unit((shares[:, None] * embeddings).sum(dim=0))
