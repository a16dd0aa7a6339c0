"""The page's example inputs, drawn by code at start (no media files in the repository, no licence to
track): a sunset picture, a two-second video of a ball crossing a street, a bell-like sound."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

EXAMPLE_TEXTS = ["heavy rain on a tin roof", "a dog barking in a park"]


def _sunset(width: int = 160, height: int = 112) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([255 - 60 * y / height, 120 + 60 * y / height, 90 + 100 * (1 - y / height)], axis=-1)
    sun = ((x - width * 0.6) ** 2 + (y - height * 0.55) ** 2) < (height * 0.18) ** 2
    sky[sun] = (255, 220, 120)
    sea = y > height * 0.65
    sky[sea] = np.stack([20 + 0 * y[sea], 60 + 30 * np.sin(x[sea] / 5) ** 2, 120 + 0 * y[sea]], axis=-1)
    return np.clip(sky, 0, 255).astype(np.uint8)


def _street_frame(index: int, frames: int, width: int = 160, height: int = 96) -> np.ndarray:
    pixels = np.full((height, width, 3), (150, 190, 230), dtype=np.uint8)  # sky
    pixels[height // 2:] = (70, 70, 75)  # road
    pixels[height * 3 // 4 - 1:height * 3 // 4 + 1, ::12] = (240, 240, 240)  # lane marks
    centre = int(10 + (width - 20) * index / max(1, frames - 1))
    y, x = np.mgrid[0:height, 0:width]
    pixels[(x - centre) ** 2 + (y - height * 0.62) ** 2 < 81] = (220, 40, 40)  # the ball
    return pixels


def write_examples(folder: Path) -> list[Path]:
    """[picture, video, sound] written into `folder` (a few tens of kilobytes in all)."""
    import av
    from PIL import Image

    from v2a_cli.media.audio import write_wav

    folder.mkdir(parents=True, exist_ok=True)
    picture = folder / "sunset.png"
    Image.fromarray(_sunset()).save(picture)

    video = folder / "street.mp4"
    frames, fps = 20, 10
    with av.open(str(video), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(_street_frame(index, frames), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    rate = 16_000
    t = np.arange(int(1.5 * rate)) / rate
    bell = sum(np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate((660.0, 1320.0, 1980.0)))
    sound = write_wav(folder / "bell.wav", (0.3 * bell * np.exp(-3 * t)).astype(np.float32), rate, overwrite=True)
    return [picture, video, sound]
