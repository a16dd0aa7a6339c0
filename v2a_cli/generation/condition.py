"""The condition stage: a source becomes one CLAP condition per window and variation (a `PlannedSound`).

A source is a picture, a video, a sound or `text:...`. A picture, sound or text gives one condition
for the whole sound (as for a single clip); a video's timeline follows its scenes and each window is
conditioned on the frames inside it (aggregated, then mapped). `--sources detect` (detect.py) and an
SSV2A mapper's temporal aggregator map each window's detected sources instead; `--prompt` is mixed
into every condition. Other producers (compose.py: a weighted mix of sources; interpolate.py: points
on a path) make `PlannedSound`s of their own with `plan.planned_sound` and feed the same sampler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from v2a_cli.errors import InputError
from v2a_cli.generation.models import Condition, WarmModels
from v2a_cli.generation.options import GenerateOptions, aggregate_frames
from v2a_cli.generation.plan import (PlannedSound, Timeline, detect_cuts, generator_timeline, planned_sound,
                                     window_frames, window_seed)


def condition(pipeline: WarmModels, source: str | Path, options: GenerateOptions = GenerateOptions(), *,
          seed: int | None = None) -> Condition:
    """One source (image, video, audio file or `text:...`) -> its CLAP condition."""
    return conditions(pipeline, source, options, [options.seed if seed is None else seed])[0]


def conditions(pipeline: WarmModels, source: str | Path, options: GenerateOptions, seeds: Sequence[int]) -> list[Condition]:
    """One source's CLAP condition for each seed. The file is decoded and embedded once; only a
    generative mapper's sampling depends on the seed."""
    text = str(source)
    if text.startswith("text:"):
        return [Condition(text, pipeline.text_condition(text[5:].strip()), {"kind": "text"})] * len(seeds)
    from v2a_cli.media.inputs import media_kind

    path = Path(source)
    if not path.exists():
        raise InputError(path, "no such file; check the path")
    kind = media_kind(path)
    if kind == "audio":
        return [Condition(str(path), pipeline.audio_condition(path), {"kind": kind})] * len(seeds)
    if options.condition.sources == "detect" or (kind == "video" and pipeline.mapper.has_aggregator):
        from v2a_cli.generation.detect import visual_conditions

        return visual_conditions(pipeline, path, options, seeds)
    clip = pipeline.clip_embedding(path, options)[None].expand(len(seeds), -1)
    mapped = pipeline.map_visual(clip, seeds=seeds, sampling=options.mapper)
    return [Condition(str(path), row, {"kind": kind}) for row in mapped]


def plan_source(pipeline: WarmModels, source: str | Path, options: GenerateOptions,
                seeds: Sequence[int]) -> tuple[Timeline, torch.Tensor, list | None, dict]:
    """Read one source: its timeline and the CLAP condition of every window for every seed ([V, W, 512])."""
    from v2a_cli.media.inputs import media_kind

    def timeline(start: float, end: float, cuts: Sequence[float] = ()) -> Timeline:
        return generator_timeline(pipeline.generator, start, end, options, cuts)

    text = str(source)
    kind = "text" if text.startswith("text:") else media_kind(Path(source))
    if kind != "video":  # one condition for the whole sound, made as for a single clip
        made = conditions(pipeline, source, options, seeds)
        plan = timeline(0.0, options.timeline.duration)
        stacked = torch.stack([pipeline.with_prompt(c.embedding, options) for c in made])
        explain = None
        if kind == "image" and options.condition.sources == "whole" and pipeline.mapper.explains:
            explain = pipeline.explain(pipeline.clip_embedding(source, options)[None]) * len(plan.windows)
        info = {key: value for key, value in made[0].info.items()}
        return plan, stacked[:, None].expand(-1, len(plan.windows), -1), explain, info
    from v2a_cli.media.video import probe_video

    path = Path(source)
    duration = probe_video(path).duration
    start = options.timeline.start or 0.0
    end = min(options.timeline.end, duration) if options.timeline.end is not None else duration
    if start >= end:
        raise InputError(path, f"--start {start:g} s is at or past the video's end ({duration:.2f} s); "
                               "choose an earlier start")
    times, frames = pipeline.frame_embeddings(path, fps=options.condition.fps, start=start, end=end)
    cuts = detect_cuts(times, frames, options.timeline.scene_threshold) if options.timeline.scenes == "auto" else []
    plan = timeline(start, end, cuts)
    info = {"kind": "video", "video_duration": duration, "frames": len(times)}
    declared = pipeline.mapper_settings()
    if declared.window_frames and pipeline.mapper.has_aggregator:
        # the mapper's aggregator takes its own frames per window (SSV2A: 64 evenly spaced, 512x512)
        info["aggregator_frames"] = {"per_window": declared.window_frames,
                                     "size": list(declared.frame_size) if declared.frame_size else None}
    if options.condition.sources == "detect" or pipeline.mapper.has_aggregator:
        return plan, _sourced_windows(pipeline, path, plan, options, seeds, info), None, info
    clips = torch.stack([_aggregate(frames[window_frames(times, window)], options) for window in plan.windows])
    mapped = [_map_windows(pipeline, clips, seed, options) for seed in seeds]
    stacked = torch.stack([torch.stack([pipeline.with_prompt(row, options) for row in rows]) for rows in mapped])
    return plan, stacked, pipeline.explain(clips), info


def _map_windows(pipeline: WarmModels, clips: torch.Tensor, seed: int, options: GenerateOptions) -> torch.Tensor:
    """[W, 512] CLIP -> [W, 512] CLAP in one call; a generative mapper samples window k with
    window_seed(seed, k), so a window's condition does not depend on how many windows there are."""
    return pipeline.map_visual(clips, seeds=[window_seed(seed, k) for k in range(len(clips))],
                               sampling=options.mapper)


def _sourced_windows(pipeline: WarmModels, path: Path, plan: Timeline, options: GenerateOptions,
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


def _aggregate(frames: torch.Tensor, options: GenerateOptions) -> torch.Tensor:
    return aggregate_frames(frames, options.condition.aggregate, options.seed)


def plan_sound(pipeline: WarmModels, source: str | Path, options: GenerateOptions,
               seeds: Sequence[int]) -> PlannedSound:
    """Read one source and plan its sound for each seed (conditions, timeline, window seeds)."""
    plan, stacked, explain, info = plan_source(pipeline, source, options, seeds)
    kind = info.pop("kind")
    return planned_sound(str(source), kind, plan, stacked, seeds, explain=explain, info=info)
