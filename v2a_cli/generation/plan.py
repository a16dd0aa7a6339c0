"""The plan stage: a sound's timeline of generator windows, its seeds, its scene cuts (`docs/long-video.md`).

AudioLDM makes at most 10.24 s at a time. A longer sound is cut into windows no longer than that:
- inside a scene, consecutive windows share `overlap` seconds, joined by latent continuation
  ("continue") or an equal-power crossfade of independent windows ("crossfade");
- at a scene cut (found from the per-frame CLIP embeddings) the new scene's first window starts
  CUT_CROSSFADE_SECONDS before the cut, without continuation, and the two sounds swap in an
  equal-power crossfade that ends at the cut.
Windows are planned in latent frames (1/25 s for AudioLDM), so overlaps line up exactly in latents
and in samples. Window k of a sound with seed s draws its noise from `window_seed(s, k)`.

This module is pure planning (no model); `PlannedSound` is what the condition stage hands to the
sampler (sample.py): a timeline plus one CLAP condition per window and variation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch

if TYPE_CHECKING:
    from v2a_cli.generation.options import GenerateOptions

CUT_CROSSFADE_SECONDS = 0.2  # across a scene cut: a short equal-power crossfade, ending at the cut
MIN_SCENE_SECONDS = 1.0  # shot changes closer than this to the previous one (or to either end) are ignored
WINDOW_SEED_STRIDE = 1_000_003  # window k of a sound with seed s starts from noise seed s + k * stride
TIME_EPSILON = 1e-6

StepCounter = Callable[[int], None]  # called with the number of window-steps just done


@dataclass(frozen=True)
class Window:
    start: float  # seconds (time in the source): where this window's sound starts
    end: float  # seconds: where it ends
    scene: int  # 0-based scene this window belongs to
    frames_from: float  # its condition aggregates the frames sampled in [frames_from, frames_to)
    frames_to: float
    join: str  # how it joins the previous window: first | continue | crossfade | cut
    overlap: float  # seconds shared with the previous window (0 for the first)
    first_unit: int  # start in latent frames from the timeline's start
    units: int  # length in latent frames
    overlap_units: int  # `overlap` in latent frames

    def as_dict(self) -> dict:
        return {"start": round(self.start, 4), "end": round(self.end, 4), "scene": self.scene,
                "frames": [round(self.frames_from, 4), round(self.frames_to, 4)], "join": self.join,
                "overlap": round(self.overlap, 4)}


@dataclass(frozen=True)
class Timeline:
    start: float  # seconds (source time) covered: [start, end)
    end: float
    unit: float  # seconds per latent frame
    windows: tuple[Window, ...]
    cuts: tuple[float, ...] = ()  # scene cuts (source seconds) that the windows follow

    @property
    def length(self) -> float:
        return self.end - self.start


def window_seed(seed: int, index: int) -> int:
    """Noise seed of window `index` of a sound whose seed is `seed` (window 0 uses `seed` itself)."""
    return seed + index * WINDOW_SEED_STRIDE


def _split(first: int, last: int, max_units: int, overlap: int) -> list[tuple[int, int]]:
    """[first, last) latent frames -> balanced windows of at most max_units sharing `overlap` frames."""
    length = last - first
    if length <= max_units:
        return [(first, last)]
    count = math.ceil((length - overlap) / (max_units - overlap))
    step = math.ceil((length - overlap) / count)
    return [(first + k * step, min(first + k * step + step + overlap, last)) for k in range(count)]


def plan_timeline(start: float, end: float, *, unit: float, max_units: int, overlap: float, join: str,
                  cuts: Sequence[float] = ()) -> Timeline:
    """Windows covering [start, end) seconds: scene by scene, each scene split with `overlap` seconds."""
    total = max(1, math.ceil((end - start) / unit - 1e-9))
    overlap_units = min(int(round(overlap / unit)), max_units // 2)
    fade_units = max(1, int(round(CUT_CROSSFADE_SECONDS / unit)))
    cut_units = sorted({int(round((cut - start) / unit)) for cut in cuts})
    cut_units = [u for u in cut_units if fade_units < u < total - fade_units]
    bounds = [0, *cut_units, total]

    def seconds(units: int) -> float:
        return min(start + units * unit, end)

    windows: list[Window] = []
    for scene, (first, last) in enumerate(zip(bounds[:-1], bounds[1:])):
        audio_first = first - fade_units if scene > 0 else first
        for k, (a, b) in enumerate(_split(audio_first, last, max_units, overlap_units)):
            if not windows:
                kind, shared = "first", 0
            elif k == 0:
                kind, shared = "cut", fade_units
            else:
                kind, shared = join, overlap_units
            windows.append(Window(start=seconds(a), end=seconds(b), scene=scene,
                                  frames_from=seconds(first if k == 0 else a), frames_to=seconds(b), join=kind,
                                  overlap=shared * unit, first_unit=a, units=b - a, overlap_units=shared))
    return Timeline(start=start, end=end, unit=unit, windows=tuple(windows),
                    cuts=tuple(start + u * unit for u in cut_units))


def count_windows(seconds: float, options: "GenerateOptions") -> int:
    """Windows a sound of `seconds` takes with AudioLDM, without scene cuts (an estimate, e.g. for a
    progress total; it needs no model loaded)."""
    from v2a_cli.audioldm.generator import LATENT_RATE, MAX_DURATION  # constants only: no model is loaded

    if seconds <= 0:
        return 0
    unit = 1.0 / LATENT_RATE
    return len(plan_timeline(0.0, seconds, unit=unit, max_units=int(MAX_DURATION / unit + 1e-6),
                             overlap=options.timeline.overlap, join=options.timeline.join).windows)


def detect_cuts(times: torch.Tensor, embeddings: torch.Tensor, threshold: float, *,
                min_scene: float = MIN_SCENE_SECONDS) -> list[float]:
    """Shot changes: times of sampled frames whose CLIP embedding moved away from the previous frame's
    by a cosine distance above `threshold`. A change closer than `min_scene` seconds to the previous
    change, or to the first/last sampled frame, is dropped."""
    if len(embeddings) < 2:
        return []
    unit = torch.nn.functional.normalize(embeddings.float(), dim=-1)
    distance = 1.0 - (unit[1:] * unit[:-1]).sum(dim=-1)
    first, last = float(times[0]), float(times[-1])
    cuts: list[float] = []
    for index in torch.nonzero(distance > threshold).flatten().tolist():
        at = float(times[index + 1])
        if at - (cuts[-1] if cuts else first) >= min_scene - TIME_EPSILON and last - at >= min_scene - TIME_EPSILON:
            cuts.append(at)
    return cuts


def window_frames(times: torch.Tensor, window: Window) -> torch.Tensor:
    """Indices of the sampled frames that condition `window`: those in [frames_from, frames_to), or,
    when none falls inside (a very short window), the one nearest its middle."""
    inside = (times >= window.frames_from - TIME_EPSILON) & (times < window.frames_to - TIME_EPSILON)
    if inside.any():
        return torch.nonzero(inside).flatten()
    middle = (window.frames_from + window.frames_to) / 2
    return (times - middle).abs().argmin().reshape(1)


@dataclass
class Soundtrack:
    """One source's sound for each seed, with the plan that made it."""

    source: str
    kind: str  # image | video | audio | text
    timeline: Timeline
    seeds: list[int]  # one per variation
    waveforms: list[np.ndarray]  # one per seed: float32 mono, covering the timeline
    window_seeds: list[list[int]]  # [variation][window]
    explain: list[list[tuple[str, float]]] | None = None  # per window: the bridge's classes and weights
    choices: list[list[dict]] = field(default_factory=list)  # [variation][window]: best-of-N pick (--candidates)
    info: dict = field(default_factory=dict)  # e.g. the video's duration


@dataclass
class PlannedSound:
    """One source read and planned, not yet generated: `synthesize_sounds` fills `track.waveforms`."""

    track: Soundtrack  # its timeline, seeds, explain, info; waveforms empty until synthesized
    conditions: torch.Tensor  # [V, W, 512]: the CLAP condition of every window for every seed


def continues(window: Window) -> bool:
    """Whether a window is generated from its predecessor's final latents (so never in its call)."""
    return window.join == "continue" and window.overlap_units > 0




def generator_timeline(generator, start: float, end: float, options: "GenerateOptions",
                       cuts: Sequence[float] = ()) -> Timeline:
    """`plan_timeline` in `generator`'s latent frames and window length, with the options' overlap and join."""
    unit = 1.0 / generator.latent_rate
    return plan_timeline(start, end, unit=unit, max_units=int(generator.max_duration / unit + 1e-6),
                         overlap=options.timeline.overlap, join=options.timeline.join, cuts=cuts)


def planned_sound(source: str, kind: str, timeline: Timeline, conditions: torch.Tensor, seeds: Sequence[int], *,
                  explain: list | None = None, info: dict | None = None) -> PlannedSound:
    """A sound ready for the sampler: conditions [V, W, 512] (or [V, 512]: the same for every window),
    window k of variation v seeded with window_seed(seeds[v], k)."""
    if conditions.dim() == 2:
        conditions = conditions[:, None].expand(-1, len(timeline.windows), -1)
    window_seeds = [[window_seed(seed, k) for k in range(len(timeline.windows))] for seed in seeds]
    track = Soundtrack(source=str(source), kind=kind, timeline=timeline, seeds=list(seeds), waveforms=[],
                       window_seeds=window_seeds, explain=explain, info=dict(info or {}),
                       choices=[[{} for _ in timeline.windows] for _ in seeds])
    return PlannedSound(track, conditions)
