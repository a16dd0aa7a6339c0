"""Sound for a whole timeline: windows, scene cuts, seamless joins (`docs/long-video.md`).

AudioLDM makes at most 10.24 s at a time. A longer sound is cut into windows no longer than that:
- inside a scene, consecutive windows share `overlap` seconds. With join "continue" a window is
  generated with its first `overlap` seconds held to the previous window's final latents (RePaint's
  scheme, see `AudioLDMGenerator.sample_latents`), so the sound carries on; the two nearly identical
  decodings of the overlap are then joined by a linear crossfade. With join "crossfade" windows are
  independent and joined by an equal-power crossfade over the overlap.
- at a scene cut (found from the per-frame CLIP embeddings) the new scene's first window starts
  CUT_CROSSFADE_SECONDS before the cut, without continuation, and the two sounds swap in an
  equal-power crossfade that ends at the cut.
Each window is conditioned on the frames sampled inside it (aggregated, then mapped), so the sound
follows what is on screen. Windows are planned in latent frames (1/25 s for AudioLDM), so overlaps
line up exactly in latents and in samples.

Memory is flat in the video's length: frames are decoded as a stream and only their embeddings are
kept; latents are decoded window by window; what grows is the output waveform itself (64 KB per
second of float32 audio) and 2 KB of embedding per sampled frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch

from v2a_cli.errors import InputError

if TYPE_CHECKING:
    from v2a_cli.generation.pipeline import GenerateOptions, Pipeline

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
    from v2a_cli.generation.audioldm import LATENT_RATE, MAX_DURATION

    if seconds <= 0:
        return 0
    unit = 1.0 / LATENT_RATE
    return len(plan_timeline(0.0, seconds, unit=unit, max_units=int(MAX_DURATION / unit + 1e-6),
                             overlap=options.overlap, join=options.join).windows)


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


def plan_source(pipeline: "Pipeline", source: str | Path, options: "GenerateOptions",
                seeds: Sequence[int]) -> tuple[Timeline, torch.Tensor, list | None, dict]:
    """Read one source: its timeline and the CLAP condition of every window for every seed ([V, W, 512])."""
    from v2a_cli.media.inputs import media_kind

    generator = pipeline.generator
    unit = 1.0 / generator.latent_rate
    max_units = int(generator.max_duration / unit + 1e-6)

    def timeline(start: float, end: float, cuts: Sequence[float] = ()) -> Timeline:
        return plan_timeline(start, end, unit=unit, max_units=max_units, overlap=options.overlap, join=options.join,
                             cuts=cuts)

    text = str(source)
    kind = "text" if text.startswith("text:") else media_kind(Path(source))
    if kind != "video":  # one condition for the whole sound, made as for a single clip
        conditions = pipeline.conditions(source, options, seeds)
        plan = timeline(0.0, options.duration)
        stacked = torch.stack([pipeline.with_prompt(c.embedding, options) for c in conditions])
        explain = None
        if kind == "image" and options.sources == "whole" and hasattr(pipeline.mapper, "explain"):
            explain = pipeline.explain(pipeline.clip_embedding(source, options)[None]) * len(plan.windows)
        info = {key: value for key, value in conditions[0].info.items()}
        return plan, stacked[:, None].expand(-1, len(plan.windows), -1), explain, info
    from v2a_cli.media.video import probe_video

    path = Path(source)
    duration = probe_video(path).duration
    start = options.start or 0.0
    end = min(options.end, duration) if options.end is not None else duration
    if start >= end:
        raise InputError(path, f"--start {start:g} s is at or past the video's end ({duration:.2f} s); "
                               "choose an earlier start")
    times, frames = pipeline.frame_embeddings(path, fps=options.fps, start=start, end=end)
    cuts = detect_cuts(times, frames, options.scene_threshold) if options.scenes == "auto" else []
    plan = timeline(start, end, cuts)
    info = {"kind": "video", "video_duration": duration, "frames": len(times)}
    declared = pipeline.mapper_settings()
    if declared.window_frames and getattr(pipeline.mapper, "has_aggregator", False):
        # the mapper's aggregator takes its own frames per window (SSV2A: 64 evenly spaced, 512x512)
        info["aggregator_frames"] = {"per_window": declared.window_frames,
                                     "size": list(declared.frame_size) if declared.frame_size else None}
    if options.sources == "detect" or getattr(pipeline.mapper, "has_aggregator", False):
        return plan, _sourced_windows(pipeline, path, plan, options, seeds, info), None, info
    clips = torch.stack([_aggregate(frames[window_frames(times, window)], options) for window in plan.windows])
    mapped = [_map_windows(pipeline, clips, seed, options) for seed in seeds]
    stacked = torch.stack([torch.stack([pipeline.with_prompt(row, options) for row in rows]) for rows in mapped])
    return plan, stacked, pipeline.explain(clips), info


def _map_windows(pipeline: "Pipeline", clips: torch.Tensor, seed: int, options: "GenerateOptions") -> torch.Tensor:
    """[W, 512] CLIP -> [W, 512] CLAP in one call; a generative mapper samples window k with
    window_seed(seed, k), so a window's condition does not depend on how many windows there are."""
    return pipeline.map_visual(clips, seeds=[window_seed(seed, k) for k in range(len(clips))],
                               guidance=options.mapper_guidance, steps=options.mapper_steps, options=options)


def _sourced_windows(pipeline: "Pipeline", path: Path, plan: Timeline, options: "GenerateOptions",
                     seeds: Sequence[int], info: dict) -> torch.Tensor:
    """--sources detect (or SSV2A's temporal aggregator): each window's frames are decoded again (at
    --fps, or the frames the mapper's aggregator declares: SSV2A 64 evenly spaced 512x512), their
    sources detected and tracked within the window, and mapped as for a whole clip ([V, W, 512]).
    Each window's sources go to info["window_sources"] (the sidecar's `sources`)."""
    from v2a_cli.generation.detect import conditioning_frames, sourced_conditions, sourced_frames

    rows = []
    for k, window in enumerate(plan.windows):
        images = [f.image for f in conditioning_frames(pipeline, path, options, window.frames_from, window.frames_to)]
        sourced = sourced_frames(pipeline, images, options)
        info.setdefault("window_sources", []).append({"start": round(window.start, 4), "end": round(window.end, 4),
                                                      **sourced.info()})
        rows.append(sourced_conditions(pipeline, sourced, True, options, [window_seed(seed, k) for seed in seeds]))
    return torch.stack([torch.stack([pipeline.with_prompt(rows[k][v], options) for k in range(len(rows))])
                        for v in range(len(seeds))])


def _aggregate(frames: torch.Tensor, options: "GenerateOptions") -> torch.Tensor:
    from v2a_cli.generation.pipeline import aggregate_frames

    return aggregate_frames(frames, options.aggregate, options.seed)


@dataclass
class PlannedSound:
    """One source read and planned, not yet generated: `synthesize_sounds` fills `track.waveforms`."""

    track: Soundtrack  # its timeline, seeds, explain, info; waveforms empty until synthesized
    conditions: torch.Tensor  # [V, W, 512]: the CLAP condition of every window for every seed


def plan_sound(pipeline: "Pipeline", source: str | Path, options: "GenerateOptions",
               seeds: Sequence[int]) -> PlannedSound:
    """Read one source and plan its sound for each seed (conditions, timeline, window seeds)."""
    plan, conditions, explain, info = plan_source(pipeline, source, options, seeds)
    window_seeds = [[window_seed(seed, k) for k in range(len(plan.windows))] for seed in seeds]
    track = Soundtrack(source=str(source), kind=info.pop("kind"), timeline=plan, seeds=list(seeds), waveforms=[],
                       window_seeds=window_seeds, explain=explain, info=info,
                       choices=[[{} for _ in plan.windows] for _ in seeds])
    return PlannedSound(track, conditions)


def synthesize_sounds(pipeline: "Pipeline", sounds: Sequence[PlannedSound], options: "GenerateOptions", *,
                      progress: StepCounter | None = None) -> None:
    """Generate several planned sounds together (their independent windows share generator calls)."""
    jobs = [(s.track.timeline, s.conditions, s.track.window_seeds, s.track.choices) for s in sounds]
    for sound, waves in zip(sounds, _synthesize(pipeline, jobs, options, progress=progress)):
        sound.track.waveforms = waves


def render(pipeline: "Pipeline", source: str | Path, options: "GenerateOptions", seeds: Sequence[int], *,
           progress: StepCounter | None = None, on_plan: Callable[[Timeline], None] | None = None) -> Soundtrack:
    """One source -> its sound for each seed, window by window. `on_plan` sees the timeline before any
    window is generated (e.g. to size a progress bar)."""
    planned = plan_sound(pipeline, source, options, seeds)
    if on_plan is not None:
        on_plan(planned.track.timeline)
    synthesize_sounds(pipeline, [planned], options, progress=progress)
    return planned.track


def synthesize_timeline(pipeline: "Pipeline", plan: Timeline, conditions: torch.Tensor,
                        window_seeds: Sequence[Sequence[int]], options: "GenerateOptions", *,
                        progress: StepCounter | None = None,
                        on_latents: Callable[[int, torch.Tensor], None] | None = None,
                        choices: list[list[dict]] | None = None) -> list[np.ndarray]:
    """conditions [V, W, 512] -> V waveforms covering `plan` (one sound; see `_synthesize`).
    `on_latents(window_index, latents [V_batch, ...])` sees each window's final latents (tests)."""
    if choices is None:
        choices = [[{} for _ in plan.windows] for _ in window_seeds]
    relay = None if on_latents is None else (lambda job, k, latents: on_latents(k, latents))
    return _synthesize(pipeline, [(plan, conditions, window_seeds, choices)], options, progress=progress,
                       on_latents=relay)[0]


def continues(window: Window) -> bool:
    """Whether a window is generated from its predecessor's final latents (so never in its call)."""
    return window.join == "continue" and window.overlap_units > 0


def _synthesize(pipeline: "Pipeline", jobs: Sequence[tuple], options: "GenerateOptions", *,
                progress: StepCounter | None = None,
                on_latents: Callable[[int, int, torch.Tensor], None] | None = None) -> list[list[np.ndarray]]:
    """Jobs (timeline, conditions [V, W, 512], window seeds [V][W], choices [V][W]) -> per job, V waveforms.

    Items are (job, window, variation) triples, taken in that order. The first item not yet made
    decides each generator call: a continuing window (it holds its predecessor's final latents) is
    made with the other variations of the same window; any other window (first, crossfade, scene cut)
    with every waiting non-continuing window of the same latent length, of any job, up to
    `pipeline.batch_size` rows. Each row has its own noise seed, so what a row gets does not depend
    on which rows share its call. With options.candidates = C > 1 every window is drawn C times (all
    continuing the same latents) and the draw whose CLAP audio embedding is closest to the window's
    condition is kept, as for a single clip; `choices[v][k]` receives that pick.
    """
    rate = pipeline.sample_rate
    outputs = []
    for plan, _, window_seeds, _ in jobs:
        total_units = plan.windows[-1].first_unit + plan.windows[-1].units
        outputs.append([np.zeros(total_units * int(round(plan.unit * rate)), dtype=np.float32) for _ in window_seeds])
    pending = dict.fromkeys((j, k, v) for j, (plan, _, seeds, _) in enumerate(jobs)
                            for k in range(len(plan.windows)) for v in range(len(seeds)))
    tails: dict[tuple[int, int], torch.Tensor] = {}  # (job, variation) -> the latents the next window continues from
    limits: dict[int, int] = {}  # latent length -> rows per call ("auto": what fits at this length)

    def window_of(item: tuple[int, int, int]) -> Window:
        return jobs[item[0]][0].windows[item[1]]

    while pending:
        first = next(iter(pending))
        window = window_of(first)
        unit = jobs[first[0]][0].unit
        if window.units not in limits:
            fits = pipeline.batch_size(dataclasses.replace(options, duration=window.units * unit))
            limits[window.units] = max(1, fits // options.candidates)
        if continues(window):
            batch = [item for item in pending if item[:2] == first[:2]]
        else:
            batch = [item for item in pending
                     if window_of(item).units == window.units and not continues(window_of(item))]
        batch = batch[:limits[window.units]]
        for item in batch:
            del pending[item]
        known = torch.stack([tails[(j, v)] for j, _, v in batch]) if continues(window) else None
        step_counter = None
        if progress is not None:
            count = len(batch) * options.candidates
            step_counter = lambda step, total: progress(count)  # noqa: E731
        embeddings = torch.stack([jobs[j][1][v, k] for j, k, v in batch])
        seeds = [jobs[j][2][v][k] for j, k, v in batch]
        latents, waves, picks = _sample_window(pipeline, embeddings, seeds, options, window.units * unit, known,
                                               step_counter)
        for row, ((j, k, v), pick) in enumerate(zip(batch, picks)):
            plan = jobs[j][0]
            jobs[j][3][v][k] = pick
            current = plan.windows[k]
            following = plan.windows[k + 1] if k + 1 < len(plan.windows) else None
            if following is not None and continues(following):
                offset = following.first_unit - current.first_unit
                tails[(j, v)] = latents[row, :, offset:offset + following.overlap_units].clone()
            samples_per_unit = int(round(plan.unit * rate))
            _place(outputs[j][v], waves[row][: current.units * samples_per_unit], current, following,
                   samples_per_unit)
        if on_latents is not None:
            for j, k in dict.fromkeys((j, k) for j, k, _ in batch):
                on_latents(j, k, latents[[row for row, item in enumerate(batch) if item[:2] == (j, k)]])
    return [[np.ascontiguousarray(out[:int(round(plan.length * rate))]) for out in waves]
            for (plan, *_), waves in zip(jobs, outputs)]


def _sample_window(pipeline: "Pipeline", embeddings: torch.Tensor, seeds: list[int], options: "GenerateOptions",
                   duration: float, known: torch.Tensor | None,
                   progress: Callable[[int, int], None] | None) -> tuple[torch.Tensor, np.ndarray, list[dict]]:
    """One batch of windows -> (final latents, decoded waves, best-of-N picks)."""
    count = options.candidates
    if count == 1:
        latents = pipeline.sample_latents(embeddings, seeds, options, duration=duration, known=known, progress=progress)
        return latents, pipeline.generator.decode(latents), [{} for _ in seeds]
    from v2a_cli.generation.pipeline import candidate_seed

    rows = embeddings.repeat_interleave(count, dim=0)
    row_seeds = [candidate_seed(seed, c) for seed in seeds for c in range(count)]
    latents = pipeline.sample_latents(rows, row_seeds, options, duration=duration, progress=progress,
                                      known=None if known is None else known.repeat_interleave(count, dim=0))
    waves = pipeline.generator.decode(latents)[:, : int(round(duration * pipeline.sample_rate))]
    cosines = pipeline.clap_audio_cosine(waves, rows).view(len(seeds), count)
    chosen = cosines.argmax(dim=1).tolist()
    keep = [item * count + best for item, best in enumerate(chosen)]
    picks = [{"candidates": count, "chosen": best, "seed": row_seeds[item * count + best],
              "clap_cosines": [round(float(c), 6) for c in cosines[item]]} for item, best in enumerate(chosen)]
    return latents[keep], waves[keep], picks


def _fade(count: int, join: str) -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out) gains over `count` samples. Continuation overlaps hold nearly the same signal:
    a linear fade keeps its level; independent sounds get equal power (gains squared sum to 1)."""
    position = (np.arange(count, dtype=np.float64) + 0.5) / max(count, 1)
    if join == "continue":
        return position.astype(np.float32), (1.0 - position).astype(np.float32)
    angle = position * (np.pi / 2)
    return np.sin(angle).astype(np.float32), np.cos(angle).astype(np.float32)


def _place(output: np.ndarray, wave: np.ndarray, window: Window, following: Window | None,
           samples_per_unit: int) -> None:
    """Add one window's sound to the output, faded in over its overlap and out over the next one's."""
    wave = wave.astype(np.float32, copy=True)
    fade_in = window.overlap_units * samples_per_unit
    if fade_in:
        wave[:fade_in] *= _fade(fade_in, window.join)[0]
    if following is not None and following.overlap_units:
        fade_out = following.overlap_units * samples_per_unit
        wave[len(wave) - fade_out:] *= _fade(fade_out, following.join)[1]
    begin = window.first_unit * samples_per_unit
    output[begin:begin + len(wave)] += wave
