"""Sound in (any file PyAV reads, resampled to mono) and out (16-bit WAV, written atomically)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np

from v2a_cli.errors import InputError
from v2a_cli.media.inputs import atomic_output, open_input


def load_audio(path: str | Path, *, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """First audio track of `path` as float32 mono in [-1, 1] at `sample_rate` (at most max_seconds).

    Channels are averaged (FFmpeg's own downmix adds them at -3 dB, which clips loud surround audio).
    Reads audio files and the sound of video files alike.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    path = Path(path)
    limit = None if max_seconds is None else int(round(max_seconds * sample_rate))
    with open_input(path, "audio") as container:
        if not container.streams.audio:
            raise InputError(path, "has no audio track; give a file with sound")
        stream = container.streams.audio[0]
        # layout=None keeps the source channels; they are averaged below.
        resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
        chunks: list[np.ndarray] = []
        total = 0
        for frame in container.decode(stream):
            for piece in resampler.resample(frame):
                chunks.append(piece.to_ndarray().mean(axis=0))
                total += chunks[-1].shape[0]
            if limit is not None and total >= limit:
                break
        else:
            chunks.extend(piece.to_ndarray().mean(axis=0) for piece in resampler.resample(None))
    waveform = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if limit is not None:
        waveform = waveform[:limit]
    return np.clip(waveform, -1.0, 1.0).astype(np.float32, copy=False)


def as_mono(waveform: np.ndarray) -> np.ndarray:
    """A 1-D float32 array from [samples] or [1, samples]; anything else is a programming error."""
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim == 2 and waveform.shape[0] == 1:
        waveform = waveform[0]
    if waveform.ndim != 1:
        raise ValueError(f"expected a mono waveform [samples], got shape {waveform.shape}")
    return np.clip(np.nan_to_num(waveform), -1.0, 1.0)


def write_wav(path: str | Path, waveform: np.ndarray, sample_rate: int, *, overwrite: bool = False) -> Path:
    """Write mono 16-bit PCM WAV (clipped to [-1, 1]); atomic; OutputExistsError unless overwrite."""
    import soundfile

    path = Path(path)
    samples = as_mono(waveform)
    encoded = io.BytesIO()  # encoded in memory: a full disk then fails as a plain OSError (ENOSPC), not mid-libsndfile
    soundfile.write(encoded, samples, sample_rate, subtype="PCM_16", format="WAV")
    with atomic_output(path, overwrite=overwrite) as temp:
        temp.write_bytes(encoded.getvalue())
    return path
