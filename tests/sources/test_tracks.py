"""Matching sources across frames: a moving square in a generated video stays one track."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from v2a_cli.sources.detector import Detection
from v2a_cli.sources.tracks import iou, match_tracks, video_sources


def _square_video(path, frames=6, size=(96, 64), side=20, step=6):
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            x = 4 + i * step
            pixels[20:20 + side, x:x + side] = 255
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 5)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _bright_box(image) -> tuple[float, float, float, float]:
    """The square's box in a decoded frame (the brightest pixels), as a detector would report it."""
    gray = np.asarray(image.convert("L"))
    ys, xs = np.nonzero(gray > 128)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def test_moving_square_is_one_track(tmp_path):
    from v2a_cli.media.video import sample_frames

    frames = [f.image for f in sample_frames(_square_video(tmp_path / "square.mp4"), fps=5.0, max_seconds=None)]
    assert len(frames) == 6
    # Frame by frame: the square (a "dog"), a still "car" in a corner, and in frame 2 only a "dog"
    # far away from the square, which must not join the square's track.
    per_frame = [[Detection("dog", 0.9, _bright_box(f)), Detection("car", 0.5, (70, 44, 96, 64))] for f in frames]
    per_frame[2].append(Detection("dog", 0.95, (60, 40, 90, 64)))
    tracks = match_tracks(per_frame)
    square = [t for t in tracks if t.label == "dog" and len(t.boxes) == 6]
    assert len(square) == 1
    xs = [square[0].boxes[f][0] for f in range(6)]
    assert xs == sorted(xs) and xs[-1] - xs[0] > 20  # it moved, and was followed
    assert sum(len(t.boxes) for t in tracks) == 13 and len(tracks) == 3
    found, kept = video_sources(tracks, [f.size for f in frames], max_sources=2)
    assert [s.label for s in found] == ["whole image", "dog", "car"]
    assert sum(s.weight for s in found) == pytest.approx(1.0)
    assert kept[0] is square[0]


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_video_scan_on_the_zoo_detector(detector, tmp_path):
    from v2a_cli.sources.scan import scan_file

    scan = scan_file(detector, _square_video(tmp_path / "sq.mp4"), max_sources=3, threshold=0.0, fps=5.0)
    assert len(scan.frames) == 6 and 2 <= len(scan.found) <= 4
    assert sum(s.weight for s in scan.found) == pytest.approx(1.0)
    assert all(len(t.boxes) >= 1 for t in scan.tracks)
