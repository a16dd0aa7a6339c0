"""A picture of a sound: log-magnitude spectrogram as a small PNG (numpy + Pillow, no plotting library)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_FFT = 512  # 32 ms windows at 16 kHz
HOP = 128
DYNAMIC_RANGE_DB = 80.0  # the image spans [loudest - 80 dB, loudest]
HEIGHT = 160
WIDTH = 800

# Dark blue -> purple -> orange -> pale yellow (a perceptually ordered ramp, like "magma").
_ANCHORS = np.array([
    [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39],
    [252, 255, 164],
], dtype=np.float32)


def spectrogram_db(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """[freq, time] magnitude in dB relative to the loudest bin (0 dB max, floor -DYNAMIC_RANGE_DB)."""
    samples = np.asarray(waveform, dtype=np.float32).reshape(-1)
    if len(samples) < N_FFT:
        samples = np.pad(samples, (0, N_FFT - len(samples)))
    frames = 1 + (len(samples) - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    spectrum = np.abs(np.fft.rfft(samples[index] * np.hanning(N_FFT).astype(np.float32), axis=-1)).T
    power_db = 20.0 * np.log10(np.maximum(spectrum, 1e-12))
    return np.maximum(power_db - power_db.max(), -DYNAMIC_RANGE_DB)


def _colour(values: np.ndarray) -> np.ndarray:
    """[H, W] values in 0..1 -> [H, W, 3] uint8 along the colour ramp."""
    position = np.clip(values, 0.0, 1.0) * (len(_ANCHORS) - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(_ANCHORS) - 1)
    fraction = (position - low)[..., None]
    return (_ANCHORS[low] * (1 - fraction) + _ANCHORS[high] * fraction).round().astype(np.uint8)


def spectrogram_image(waveform: np.ndarray, sample_rate: int):
    """PIL image, WIDTH x HEIGHT: low frequencies at the bottom, time left to right."""
    from PIL import Image

    normalised = spectrogram_db(waveform, sample_rate) / DYNAMIC_RANGE_DB + 1.0  # 0 (floor) .. 1 (loudest)
    image = Image.fromarray(_colour(normalised[::-1]), mode="RGB")
    return image.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)


def write_spectrogram(path: str | Path, waveform: np.ndarray, sample_rate: int) -> Path:
    path = Path(path)
    spectrogram_image(waveform, sample_rate).save(path, format="PNG")
    return path
