"""Walking through CLAP space between two sounds (paper, "Latent Space Interpolation", Fig. 6).

    from v2a_cli.generation.interpolate import interpolate, crossfade_concat
    waves = interpolate(pipe, "frog.wav", "flute.jpg", 5, GenerateOptions(steps=25, scheduler="dpm"))

An endpoint is anything `Pipeline.condition` takes: an audio file (CLAP audio tower), an image or
video (CLIP -> mapper) or `text:...` (CLAP text tower). The path between the two conditions is a
straight line (default) or a great circle (`slerp=True`), every point re-normalised to unit length.
Every step is generated with the same seed, so the same initial noise: the change between
neighbouring steps comes from the condition alone, and the end steps equal `generate` of the ends.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from v2a_cli.errors import V2AError
from v2a_cli.generation.pipeline import GenerateOptions, Pipeline, ProgressCallback

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


@torch.inference_mode()
def interpolation_conditions(pipeline: Pipeline, start_source: str | Path, end_source: str | Path, steps: int,
                             options: GenerateOptions, *, slerp: bool = False) -> torch.Tensor:
    """[steps, 512] conditions. The ends are exactly what `generate` conditions on (seed = options.seed)."""
    if steps < 2:
        raise V2AError(f"--steps {steps}: an interpolation needs at least 2 points (the two ends)")
    ends = []
    for source in (start_source, end_source):
        condition = pipeline.condition(source, options, seed=options.seed)
        ends.append(pipeline.with_prompt(condition.embedding, options))
    return interpolation_path(ends[0], ends[1], steps, slerp=slerp)


@torch.inference_mode()
def interpolate(pipeline: Pipeline, start_source: str | Path, end_source: str | Path, steps: int,
                options: GenerateOptions = GenerateOptions(), *, slerp: bool = False,
                progress: ProgressCallback | None = None) -> list[np.ndarray]:
    """`steps` waveforms walking from the start's sound to the end's (options.variations is not used)."""
    options = pipeline.settle(options.validate())
    conditions = interpolation_conditions(pipeline, start_source, end_source, steps, options, slerp=slerp)
    return pipeline.synthesize_batched(conditions, [options.seed] * steps, options, progress)  # same noise


def crossfade_concat(waves: Sequence[np.ndarray], sample_rate: int, crossfade_seconds: float = 0.1) -> np.ndarray:
    """Join waveforms, overlapping neighbours by an equal-power crossfade.

    Equal power (cos/sin curves, gains² summing to 1) keeps the loudness steady across the join for
    unrelated sounds, which neighbouring steps mostly are; a linear fade dips ~3 dB in the middle.
    The fade is shortened to the shortest waveform if needed. Length = sum(lengths) - (n-1)·fade.
    """
    if not waves:
        raise ValueError("nothing to concatenate")
    if crossfade_seconds < 0:
        raise V2AError(f"--crossfade {crossfade_seconds}: must be zero or positive")
    waves = [np.asarray(w, dtype=np.float32).reshape(-1) for w in waves]
    fade = min(int(round(crossfade_seconds * sample_rate)), *(len(w) for w in waves))
    total = sum(len(w) for w in waves) - (len(waves) - 1) * fade
    out = np.zeros(total, dtype=np.float32)
    angles = (np.arange(fade, dtype=np.float64) + 0.5) / max(fade, 1) * (np.pi / 2)
    fade_in, fade_out = np.sin(angles).astype(np.float32), np.cos(angles).astype(np.float32)
    position = 0
    for index, wave in enumerate(waves):
        wave = wave.copy()
        if fade and index > 0:
            wave[:fade] *= fade_in
        if fade and index < len(waves) - 1:
            wave[len(wave) - fade:] *= fade_out
        out[position:position + len(wave)] += wave
        position += len(wave) - fade
    return out


def step_file_names(steps: int) -> list[str]:
    """00.wav, 01.wav, ... zero-padded so that they sort in order (at least two digits)."""
    width = max(2, len(str(steps - 1)))
    return [f"{index:0{width}d}.wav" for index in range(steps)]
