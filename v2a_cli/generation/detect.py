"""`--sources detect`: a picture or video becomes its whole self plus its detected sound sources.

For a picture: the detector finds up to `max_sources` boxes (sources/find.py gives their weights),
each crop and the whole picture are embedded with CLIP, and then
  - a mapper that takes slots (SSV2A) receives them as SSV2A does: the whole picture in slot 0, the
    crops after it, and mixes them itself (Cycle Mix; the weights are reported, not used);
  - any other mapper maps each one on its own and the conditions are mixed by `compose`'s weighted
    mean with the weights: the result equals `compose` of the same crops and weights.
For a video: detection runs on every sampled frame, boxes are matched across frames into tracks
(sources/tracks.py); a track's CLIP is the mean of its crops' CLIPs, the whole video's is the usual
frame aggregate, and they are mixed the same way. An SSV2A mapper with its temporal aggregator
(agg.pth) maps each frame's own slots and aggregates the per-frame CLAPs, as SSV2A does.
No box found: the whole picture alone, with a note in the condition's info.
A mapper's declared settings (`mapper/settings.py`) shape the inputs: how a box is cropped ("box" at
its own aspect, or SSV2A's "stretch" to the picture's size) and which frames its aggregator sees
(SSV2A: 64 evenly spaced 512x512 frames per window instead of --fps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from v2a_cli.generation.mixing import weighted_mean
from v2a_cli.generation.models import Condition, WarmModels
from v2a_cli.generation.options import GenerateOptions, aggregate_frames
from v2a_cli.sources.find import FoundSource, crop_source
from v2a_cli.sources.scan import Scan, scan_file, scan_frames

NO_SOURCES_NOTE = "no sound source found above the threshold; the whole picture was used"


@dataclass
class SourcedVisual:
    """A picture's (or video's) sources and their CLIP embeddings, whole picture first."""

    scan: Scan
    clips: torch.Tensor  # [len(found), D]
    frame_slots: list[torch.Tensor] = field(default_factory=list)  # video: per frame [1 + boxes there, D]

    @property
    def found(self) -> list[FoundSource]:
        return self.scan.found

    @property
    def weights(self) -> list[float]:
        return [s.weight for s in self.found]

    @property
    def note(self) -> str | None:
        return NO_SOURCES_NOTE if self.scan.detected and len(self.found) == 1 else None

    def info(self) -> dict:
        info: dict = {"sources": [s.to_json() for s in self.found]}
        if self.note:
            info["note"] = self.note
        return info


def _cache(pipeline: WarmModels) -> dict:
    return pipeline.call_cache("sourced")  # one call's: dropped when it ends


def sourced_visual(pipeline: WarmModels, path: str | Path, options: GenerateOptions) -> SourcedVisual:
    """Detect and embed once per file and settings within one call (`v2a generate --boxes` then reuses it)."""
    from v2a_cli.media.inputs import media_kind

    path = Path(path)
    key = (str(path.resolve()), options.condition, options.seed)  # the condition group is frozen, hashable
    cache = _cache(pipeline)
    if key not in cache:
        if media_kind(path) == "image":
            scan = scan_file(pipeline.detector, path, max_sources=options.condition.max_sources,
                             threshold=options.condition.detect_threshold)
            geometry = pipeline.mapper_settings().crops
            crops = [crop_source(scan.picture, s.box, geometry) for s in scan.found]
            cache[key] = SourcedVisual(scan, pipeline.clip.encode_images(crops))
        else:
            frames = [f.image for f in conditioning_frames(pipeline, path, options, 0.0, options.condition.max_seconds)]
            cache[key] = sourced_frames(pipeline, frames, options)
    return cache[key]


def conditioning_frames(pipeline: WarmModels, path: str | Path, options: GenerateOptions, start: float,
                        end: float | None) -> list:
    """The frames that condition a span of a video: sampled at `options.condition.fps`, or, for a mapper whose
    aggregator declares its own frames (SSV2A: 64 evenly spaced, 512x512), those."""
    declared = pipeline.mapper_settings()
    if declared.window_frames and pipeline.mapper.has_aggregator:
        from v2a_cli.media.video import evenly_spaced_frames

        return evenly_spaced_frames(path, declared.window_frames, start=start, end=end, size=declared.frame_size)
    from v2a_cli.media.video import iter_frames

    return list(iter_frames(path, fps=options.condition.fps, start=start, end=end))


def sourced_frames(pipeline: WarmModels, frames: Sequence[Any], options: GenerateOptions) -> SourcedVisual:
    """The sources of a run of frames (a whole video, or one window of it): detected per frame, matched
    across frames, embedded. Track CLIP = normalised mean of its crops; whole = the frames' aggregate."""
    detector = pipeline.detector if options.condition.sources == "detect" else None
    scan = scan_frames(detector, frames, max_sources=options.condition.max_sources,
                       threshold=options.condition.detect_threshold)
    frame_clips = pipeline.clip.encode_images(list(frames))
    whole = aggregate_frames(frame_clips, options.condition.aggregate, options.seed)
    crops = [(k, f) for k, track in enumerate(scan.tracks) for f in sorted(track.boxes)]
    geometry = pipeline.mapper_settings().crops
    crop_clips = pipeline.clip.encode_images([crop_source(frames[f], scan.tracks[k].boxes[f], geometry)
                                              for k, f in crops])
    by_frame: list[list[torch.Tensor]] = [[frame_clips[i]] for i in range(len(frames))]
    by_track: list[list[torch.Tensor]] = [[] for _ in scan.tracks]
    for row, (k, f) in enumerate(crops):
        by_frame[f].append(crop_clips[row])
        by_track[k].append(crop_clips[row])
    clips = torch.stack([whole] + [F.normalize(torch.stack(rows).mean(dim=0), dim=-1) for rows in by_track])
    return SourcedVisual(scan, clips, [torch.stack(rows) for rows in by_frame])


def visual_conditions(pipeline: WarmModels, path: str | Path, options: GenerateOptions,
                      seeds: Sequence[int]) -> list[Condition]:
    """One condition per seed for an image or video under `options.condition.sources` (see the module docstring)."""
    from v2a_cli.media.inputs import media_kind

    path = Path(path)
    kind = media_kind(path)
    sourced = sourced_visual(pipeline, path, options)
    return [Condition(str(path), embedding, {"kind": kind, **sourced.info()})
            for embedding in sourced_conditions(pipeline, sourced, kind == "video", options, seeds)]


def sourced_conditions(pipeline: WarmModels, sourced: SourcedVisual, video: bool, options: GenerateOptions,
                       seeds: Sequence[int]) -> list[torch.Tensor]:
    """[512] CLAP condition per seed of a picture's, a video's or a video window's sources."""
    mapper = pipeline.mapper
    sampling = options.mapper
    conditions = []
    for seed in seeds:
        if video and mapper.has_aggregator:
            # SSV2A's video path: each frame's slots -> one CLAP per frame -> the temporal aggregator.
            # Frames are rows of one batch (padded with empty slots) drawing from one generator (seed):
            # Cycle Mix runs them together, as SSV2A batches a clip's frames.
            width = min(mapper.slots, max(len(slots) for slots in sourced.frame_slots))
            frames = torch.zeros(len(sourced.frame_slots), width, sourced.clips.shape[-1])
            for i, slots in enumerate(sourced.frame_slots):
                frames[i, : min(width, len(slots))] = slots[:width]
            embedding = mapper.aggregate(mapper.map_slots(frames, seed=seed, sampling=sampling), seed=seed)
        elif mapper.slots > 1:  # the mapper mixes the whole picture and its sources itself (SSV2A)
            embedding = mapper.map_slots(sourced.clips[None, : mapper.slots], seeds=[seed], sampling=sampling)[0]
        else:
            mapped = pipeline.map_visual(sourced.clips, seeds=[seed] * len(sourced.clips), sampling=sampling)
            embedding = weighted_mean(mapped, sourced.weights)
        conditions.append(F.normalize(embedding.float(), dim=-1))
    return conditions
