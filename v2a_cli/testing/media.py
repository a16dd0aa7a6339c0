"""Small synthetic media for tests and demos: images, videos with or without sound, audio files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def make_image(path: str | Path, size: tuple[int, int] = (96, 64), color: tuple[int, int, int] = (200, 80, 40)) -> Path:
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    gradient = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(np.array(color, dtype=np.uint8), (height, width, 3)).copy()
    pixels[..., 1] = gradient[..., 0]
    Image.fromarray(pixels).save(path)
    return path


def make_video(path: str | Path, *, seconds: float = 2.0, fps: int = 10, size: tuple[int, int] = (64, 48),
               with_audio: bool = True, sample_rate: int = 16000, frequency: float = 440.0) -> Path:
    """An H.264 (or MPEG-4) video whose frame i has brightness ~ i, with an optional sine track (AAC)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    n_frames = max(1, int(round(seconds * fps)))
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = None
        if with_audio:
            audio = container.add_stream("aac", rate=sample_rate)
            audio.layout = "mono"
        for i in range(n_frames):
            level = int(255 * i / max(1, n_frames - 1))
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), level, dtype=np.uint8), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            total = int(seconds * sample_rate)
            t = np.arange(total) / sample_rate
            samples = (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
            chunk = 1024
            for start in range(0, total, chunk):
                piece = samples[start:start + chunk][None, :]
                frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)
    return path


def make_wav(path: str | Path, *, seconds: float = 2.0, sample_rate: int = 16000, frequency: float = 440.0) -> Path:
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), sample_rate)
    return path
