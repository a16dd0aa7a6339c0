"""Sound sources across the sampled frames of a video (or of one window of it).

Detections are matched frame to frame: a box joins the track of the same class whose latest box
overlaps it most (IoU >= MATCH_IOU); anything else starts a new track. A track's strength is its
score x area summed over the frames and divided by the number of frames, so a source seen in every
frame outweighs one glimpsed once; its reported box and score are those of its best frame.

    per_frame = detector.detect(frames, classes, threshold=0.2)   # one list per frame
    tracks = match_tracks(per_frame, sizes)                        # Track(label, boxes={frame: box}, ...)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from v2a_cli.sources.detector import Detection
from v2a_cli.sources.find import FoundSource, area_fraction, weigh

MATCH_IOU = 0.3


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    label: str
    boxes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)  # frame index -> box
    scores: dict[int, float] = field(default_factory=dict)  # frame index -> score

    @property
    def last_box(self) -> tuple[float, float, float, float]:
        return self.boxes[max(self.boxes)]

    @property
    def best_frame(self) -> int:
        return max(self.scores, key=lambda f: (self.scores[f], -f))

    def strength(self, sizes: Sequence[tuple[int, int]]) -> float:
        return sum(self.scores[f] * area_fraction(self.boxes[f], sizes[f]) for f in self.boxes) / len(sizes)


def match_tracks(per_frame: Sequence[Sequence[Detection]], *, min_iou: float = MATCH_IOU) -> list[Track]:
    tracks: list[Track] = []
    for frame, detections in enumerate(per_frame):
        taken: set[int] = set()
        for det in sorted(detections, key=lambda d: -d.score):
            candidates = [(iou(t.last_box, det.box), i) for i, t in enumerate(tracks)
                          if t.label == det.label and i not in taken and frame not in t.boxes]
            overlap, index = max(candidates, default=(0.0, -1))
            if overlap < min_iou:
                tracks.append(Track(det.label))
                index = len(tracks) - 1
            taken.add(index)
            tracks[index].boxes[frame] = det.box
            tracks[index].scores[frame] = det.score
    return tracks


def video_sources(tracks: Sequence[Track], sizes: Sequence[tuple[int, int]], *,
                  max_sources: int) -> tuple[list[FoundSource], list[Track]]:
    """The whole video first, then the strongest `max_sources` tracks, weighted as module says."""
    strongest = sorted(tracks, key=lambda t: -t.strength(sizes))[:max_sources]
    found = weigh([t.label for t in strongest], [t.scores[t.best_frame] for t in strongest],
                  [t.boxes[t.best_frame] for t in strongest], [t.strength(sizes) for t in strongest])
    return found, strongest
