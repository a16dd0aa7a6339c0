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


def make_video_with_damaged_audio(path: str | Path, *, damaged: tuple[int, ...] = (0,), seconds: float = 2.0,
                                  fps: int = 10, size: tuple[int, int] = (64, 48), frequency: float = 440.0) -> Path:
    """An AVI of MPEG-4 video and AC-3 sound (48 kHz mono, a sine) whose audio packets at the indices in
    `damaged` hold garbage instead of AC-3 data: FFmpeg's decoder refuses exactly those packets (a real
    export with one bad packet, e.g. its first, plays in FFmpeg's players with that packet skipped)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    rate = 48000
    with av.open(str(path), mode="w", format="avi") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("ac3", rate=rate)
        audio.layout = "mono"
        for i in range(max(1, int(round(seconds * fps)))):
            level = int(255 * i / max(1, seconds * fps - 1))
            container.mux(video.encode(av.VideoFrame.from_ndarray(np.full((height, width, 3), level, dtype=np.uint8),
                                                                  format="rgb24")))
        container.mux(video.encode())
        samples = (0.3 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=rate)
        packets = [packet for piece in resampler.resample(frame) + resampler.resample(None)
                   for packet in audio.encode(piece)] + list(audio.encode(None))
        for index, packet in enumerate(packets):
            if index in damaged:
                garbage = av.Packet((bytes(range(256)) * (packet.size // 256 + 1))[:packet.size])
                garbage.pts, garbage.dts, garbage.duration = packet.pts, packet.dts, packet.duration
                garbage.time_base, garbage.stream = packet.time_base, audio
                packet = garbage
            container.mux(packet)
    return path


def make_wav(path: str | Path, *, seconds: float = 2.0, sample_rate: int = 16000, frequency: float = 440.0) -> Path:
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), sample_rate)
    return path


# Scene looks for make_scene_video: very different pictures, so that any CLIP (even random) sees a cut.
SCENE_LOOKS = (
    lambda x, y, t: np.stack([np.full_like(x, 230), 40 + 0 * x + 20 * t, 30 + 0 * y], -1),  # flat red
    lambda x, y, t: np.stack([((x // 8 + y // 8) % 2) * 255] * 3, -1),  # black/white checkerboard
    lambda x, y, t: np.stack([0 * x + 20, (y * 4) % 256, (x * 4 + 10 * t) % 256], -1),  # blue-green gradient
)


def make_scene_video(path: str | Path, scenes: tuple[float, ...] = (12.0, 11.0, 12.0), *, fps: int = 4,
                     size: tuple[int, int] = (32, 32), with_audio: bool = False) -> Path:
    """A video of consecutive scenes (seconds each), scene i drawn by SCENE_LOOKS[i % 3], slowly moving;
    the cuts are at the cumulative sums of `scenes`. Small and low-rate so that long videos stay cheap."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = None
        if with_audio:
            audio = container.add_stream("aac", rate=16000)
            audio.layout = "mono"
        for scene, seconds in enumerate(scenes):
            for i in range(int(round(seconds * fps))):
                t = i / fps
                pixels = np.clip(SCENE_LOOKS[scene % len(SCENE_LOOKS)](x, y, t), 0, 255).astype(np.uint8)
                container.mux(video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(video.encode())
        if audio is not None:
            total = int(sum(scenes) * 16000)
            samples = (0.3 * np.sin(2 * np.pi * 440.0 * np.arange(total) / 16000)).astype(np.float32)
            for first in range(0, total, 1024):
                frame = av.AudioFrame.from_ndarray(samples[first:first + 1024][None, :], format="fltp", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = 16000, first, Fraction(1, 16000)
                container.mux(audio.encode(frame))
            container.mux(audio.encode())
    return path


def make_av_clip(path: str | Path, *, seconds: float = 6.0, fps: int = 25, size: tuple[int, int] = (64, 48),
                 sample_rate: int = 16000) -> Path:
    """A clip whose picture and sound both change in time: a bright square that flashes on for 0.25 s
    every 0.9 s, and a 300 Hz burst at each flash (silence in between). Matroska with 16-bit PCM sound,
    so the sound decodes to exactly what was written; H.264 (or MPEG-4) picture. For audio-visual sync tests."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    with av.open(str(path), mode="w", format="matroska") as container:
        video = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=sample_rate)
        audio.layout = "mono"
        for i in range(int(round(seconds * fps))):
            t = i / fps
            pixels = np.full((height, width, 3), 30, dtype=np.uint8)
            if t % 0.9 < 0.25:
                x = int((t * 20) % (width - height // 2))
                pixels[height // 4:3 * height // 4, x:x + height // 2] = (250, 240, 200)
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        samples = (0.5 * np.sin(2 * np.pi * 300 * t) * ((t % 0.9) < 0.25)).astype(np.float32)
        chunk = 1024
        for start in range(0, samples.size, chunk):
            frame = av.AudioFrame.from_ndarray((samples[start:start + chunk] * 32767).astype(np.int16)[None, :],
                                               format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path
