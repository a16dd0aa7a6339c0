"""Find the sound sources of one file: a picture, or the sampled frames of a video (or a window of one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from v2a_cli.sources.find import FoundSource, sound_classes, sources_from_detections
from v2a_cli.sources.tracks import Track, match_tracks, video_sources


@dataclass
class Scan:
    found: list[FoundSource]  # whole picture first; weights sum to 1
    frames: list[Any]  # the picture, or the sampled frames (PIL images)
    picture: Any  # what the boxes are drawn on: the picture, or a video's middle sampled frame
    tracks: list[Track] = field(default_factory=list)  # video: the kept tracks, in `found[1:]` order
    detected: bool = True  # detection ran (so finding nothing deserves a note)


def scan_image(detector: Any, image: Any, *, max_sources: int, threshold: float) -> Scan:
    detections = []
    if max_sources > 0:
        detections = detector.detect([image], sound_classes(), threshold=threshold, max_detections=max_sources)[0]
    return Scan(sources_from_detections(detections, image.size), [image], image, detected=max_sources > 0)


def scan_frames(detector: Any | None, frames: Sequence[Any], *, max_sources: int, threshold: float) -> Scan:
    """Detect on every frame and match across frames; `detector=None` finds nothing (the whole video)."""
    per_frame: list = [[] for _ in frames]
    if detector is not None and max_sources > 0:
        per_frame = detector.detect(list(frames), sound_classes(), threshold=threshold, max_detections=max_sources)
    found, kept = video_sources(match_tracks(per_frame), [f.size for f in frames], max_sources=max_sources)
    detected = detector is not None and max_sources > 0
    return Scan(found, list(frames), frames[len(frames) // 2], kept, detected=detected)


def scan_file(detector: Any, path: str | Path, *, max_sources: int = 8, threshold: float = 0.2, fps: float = 1.0,
              max_seconds: float = 10.0) -> Scan:
    from v2a_cli.media.inputs import media_kind

    path = Path(path)
    if media_kind(path) == "image":
        from v2a_cli.media.images import load_image

        return scan_image(detector, load_image(path), max_sources=max_sources, threshold=threshold)
    if media_kind(path) == "video":
        from v2a_cli.media.video import sample_frames

        frames = [f.image for f in sample_frames(path, fps=fps, max_seconds=max_seconds)]
        return scan_frames(detector, frames, max_sources=max_sources, threshold=threshold)
    from v2a_cli.errors import InputError

    raise InputError(path, "is an audio file; give a picture or a video")
