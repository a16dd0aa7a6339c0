"""Media made on the fly for the media tests: counter videos (frame i shows i in binary), tones."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

WIDTH, HEIGHT = 64, 48
BITS = 8  # frame index as 8 black/white columns, 8 px wide: survives any lossy codec


def counter_pixels(index: int) -> np.ndarray:
    pixels = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    for bit in range(BITS):
        if (index >> bit) & 1:
            pixels[:, bit * 8:(bit + 1) * 8] = 255
    return pixels


def read_counter(image) -> int:
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    return sum(1 << bit for bit in range(BITS) if grey[:, bit * 8 + 2:(bit + 1) * 8 - 2].mean() > 127)


def tone(seconds: float, sample_rate: int, frequency: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _encode_audio(container, stream, samples: np.ndarray, sample_rate: int) -> None:
    """Encode [channels, n] float samples; PyAV splits them into the encoder's frame size."""
    import av

    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp",
                                       layout="mono" if samples.shape[0] == 1 else "stereo")
    frame.sample_rate = sample_rate
    frame.pts = 0
    frame.time_base = Fraction(1, sample_rate)
    resampler = av.AudioResampler(format=stream.format.name, layout=stream.layout.name, rate=stream.rate)
    for piece in resampler.resample(frame) + resampler.resample(None):
        container.mux(stream.encode(piece))
    container.mux(stream.encode(None))


def write_video(path: Path, *, frames: int = 100, fps: int = 25, codec: str = "libx264", gop: int | None = None,
                times: list[float] | None = None, rotation: float = 0, pixels: Callable[[int], np.ndarray] = counter_pixels,
                audio_seconds: float | None = None, audio_rate: int = 44100, audio_codec: str = "aac",
                options: dict[str, str] | None = None) -> Path:
    """A counter video; `times` (seconds) makes a variable-frame-rate one; optional stereo tone track."""
    import av

    with av.open(str(path), mode="w", options=options or {}) as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        if gop:
            video.gop_size = gop
        if times is not None:
            video.codec_context.time_base = Fraction(1, 1000)
            video.time_base = Fraction(1, 1000)
            video.max_b_frames = 0  # the mp4 muxer misstates the duration of B-frame VFR streams
        if rotation:
            video.set_display_rotation(rotation)
        audio = None
        if audio_seconds is not None:
            audio = container.add_stream(audio_codec, rate=audio_rate)
            audio.layout = "stereo"
        for index in range(len(times) if times is not None else frames):
            frame = av.VideoFrame.from_ndarray(pixels(index), format="rgb24")
            if times is not None:
                frame.pts = int(round(times[index] * 1000))
                frame.time_base = Fraction(1, 1000)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            mono = tone(audio_seconds, audio_rate)
            _encode_audio(container, audio, np.stack([mono, mono]), audio_rate)
    return path


def write_audio(path: Path, samples: np.ndarray, sample_rate: int, codec: str) -> Path:
    """An audio-only file ([channels, n] or [n] float samples) through PyAV's encoder `codec`."""
    import av

    samples = samples[None, :] if samples.ndim == 1 else samples
    with av.open(str(path), mode="w") as container:
        rates = av.Codec(codec, "w").audio_rates
        stream = container.add_stream(codec, rate=sample_rate if not rates or sample_rate in rates else 48000)
        stream.layout = "mono" if samples.shape[0] == 1 else "stereo"
        _encode_audio(container, stream, samples, sample_rate)
    return path


@pytest.fixture
def counter_video(tmp_path) -> Callable[..., Path]:
    def make(name: str = "counter.mp4", **kwargs) -> Path:
        return write_video(tmp_path / name, **kwargs)

    return make


@pytest.fixture
def frame_number() -> Callable[..., int]:
    return read_counter


@pytest.fixture
def make_audio(tmp_path) -> Callable[..., Path]:
    def make(name: str, samples: np.ndarray, sample_rate: int, codec: str) -> Path:
        return write_audio(tmp_path / name, samples, sample_rate, codec)

    return make


@pytest.fixture
def sine() -> Callable[..., np.ndarray]:
    return tone


@pytest.fixture
def counter_image() -> Callable[[int], np.ndarray]:
    return counter_pixels
