"""Sound in (any file PyAV reads, resampled to mono) and out (16-bit WAV, written atomically)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from v2a_cli.errors import InputError
from v2a_cli.media.inputs import atomic_output, open_input
from v2a_cli.notes import note

# A track is refused when more than this share of its packets does not decode (a few damaged packets
# are skipped, as FFmpeg's players do, with a note).
MAX_DAMAGED_SHARE = 0.5


class AudioDecoding:
    """An audio stream decoded as FFmpeg does: a packet that does not decode is skipped and counted.

    `frames()` yields the decoded frames; `finish()` (after reading, also after stopping early) raises
    InputError when nothing decoded or more than MAX_DAMAGED_SHARE of the packets read were damaged,
    and otherwise notes how many packets were skipped.
    """

    def __init__(self, path: Path, container: "av.container.InputContainer", stream: "av.AudioStream"):
        self.path, self.container, self.stream = Path(path), container, stream
        self.packets = 0  # packets with data read so far
        self.damaged = 0  # of which did not decode
        self.decoded = 0  # frames decoded
        self.problem = ""

    def frames(self) -> Iterator["av.AudioFrame"]:
        for packet in self.container.demux(self.stream):
            if packet.size:
                self.packets += 1
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:  # this packet's data is damaged; the next ones may be fine
                if not packet.size:
                    continue
                self.damaged += 1
                self.problem = self.problem or (exc.strerror or str(exc))
                continue
            for frame in frames:
                self.decoded += 1
                yield frame

    def finish(self) -> None:
        if not self.damaged:
            return
        if not self.decoded:
            raise InputError(self.path, f"audio track does not decode ({self.problem}); the file is damaged; "
                                        "re-export it")
        if self.damaged > MAX_DAMAGED_SHARE * self.packets:
            raise InputError(self.path, f"most of the audio track does not decode ({self.damaged} of {self.packets} "
                                        f"packets damaged: {self.problem}); re-export it")
        note(f"{self.path}: {self.damaged} of {self.packets} audio packets do not decode; skipped them "
             "(as FFmpeg does)")


def check_audio_decodes(path: str | Path) -> bool:
    """Decode `path`'s first audio track through (nothing kept): InputError when it does not decode
    (see AudioDecoding), the note about skipped packets when a few do not. False: it has no audio track.
    Called before any model loads by the commands that will need the sound (`--mix-original`, `--audio`)."""
    path = Path(path)
    with open_input(path, "audio") as container:
        if not container.streams.audio:
            return False
        decoding = AudioDecoding(path, container, container.streams.audio[0])
        for _ in decoding.frames():
            pass
        decoding.finish()
    return True


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
        decoding = AudioDecoding(path, container, stream)
        for frame in decoding.frames():
            for piece in resampler.resample(frame):
                chunks.append(piece.to_ndarray().mean(axis=0))
                total += chunks[-1].shape[0]
            if limit is not None and total >= limit:
                break
        else:
            chunks.extend(piece.to_ndarray().mean(axis=0) for piece in resampler.resample(None))
        decoding.finish()
    waveform = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if limit is not None:
        waveform = waveform[:limit]
    return np.clip(waveform, -1.0, 1.0).astype(np.float32, copy=False)


def load_audio_native(path: str | Path, *, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """First audio track of `path` as decoded: ([channels, samples] float32, native sample rate).

    No resampling, no downmix, no clipping: AudioLDM's conditions start from the file's own samples
    (its `read_wav_file` keeps channel 0). Integer PCM becomes float as x / 2^(bits-1).
    """
    path = Path(path)
    with open_input(path, "audio") as container:
        if not container.streams.audio:
            raise InputError(path, "has no audio track; give a file with sound")
        stream = container.streams.audio[0]
        rate = int(stream.sample_rate or stream.codec_context.sample_rate or 0)
        if rate <= 0:
            raise InputError(path, "audio track has no sample rate; re-encode it (e.g. to WAV)")
        limit = None if max_seconds is None else int(round(max_seconds * rate))
        resampler = av.AudioResampler(format="fltp", layout=None, rate=rate)
        chunks: list[np.ndarray] = []
        total = 0
        decoding = AudioDecoding(path, container, stream)
        for frame in decoding.frames():
            for piece in resampler.resample(frame):
                chunks.append(piece.to_ndarray())
                total += chunks[-1].shape[1]
            if limit is not None and total >= limit:
                break
        else:
            chunks.extend(piece.to_ndarray() for piece in resampler.resample(None))
        decoding.finish()
    if not chunks:
        return np.zeros((1, 0), dtype=np.float32), rate
    channels = min(chunk.shape[0] for chunk in chunks)
    waveform = np.concatenate([chunk[:channels] for chunk in chunks], axis=1)
    if limit is not None:
        waveform = waveform[:, :limit]
    return waveform.astype(np.float32, copy=False), rate


def resample_sinc(waveform: np.ndarray, orig_rate: int, new_rate: int, *, zero_crossings: int = 6,
                  rolloff: float = 0.99) -> np.ndarray:
    """Band-limited resampling of [..., samples] with a Hann-windowed sinc (torchaudio's default method).

    AudioLDM resamples with `torchaudio.functional.resample` (16 kHz for its conditions, 48 kHz inside
    its CLAP); this is the same polyphase filter (cutoff rolloff·min(rates)/2, `zero_crossings` sinc
    lobes each side) so conditions match it to float round-off. Output length ceil(len·new/orig).
    """
    import math

    import torch

    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {new_rate}")
    waveform = np.asarray(waveform, dtype=np.float32)
    if orig_rate == new_rate:
        return waveform
    gcd = math.gcd(int(orig_rate), int(new_rate))
    up, down = int(new_rate) // gcd, int(orig_rate) // gcd  # output phases, input stride
    cutoff = min(up, down) * rolloff  # in units of the reduced rates
    half = math.ceil(zero_crossings * down / cutoff)  # filter half-width in input samples
    # Phase p (output sample n·up + p) reads input samples n·down - half ... n·down + half + down - 1.
    offsets = torch.arange(-half, half + down, dtype=torch.float32)[None, :] / down
    phases = -torch.arange(up, dtype=torch.float32)[:, None] / up
    x = ((offsets + phases) * cutoff).clamp(-zero_crossings, zero_crossings)
    window = torch.cos(x * math.pi / zero_crossings / 2) ** 2
    x = x * math.pi
    sinc = torch.where(x == 0, torch.ones_like(x), torch.sin(x) / x)
    kernel = (sinc * window * (cutoff / down))[:, None, :]  # [up, 1, taps]

    signal = torch.from_numpy(np.ascontiguousarray(waveform)).reshape(-1, waveform.shape[-1])
    length = signal.shape[-1]
    padded = torch.nn.functional.pad(signal, (half, half + down))[:, None, :]
    out = torch.nn.functional.conv1d(padded, kernel, stride=down)  # [rows, up, frames]
    out = out.transpose(1, 2).reshape(signal.shape[0], -1)[:, :math.ceil(up * length / down)]
    return out.reshape(*waveform.shape[:-1], -1).numpy()


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


def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono float32 resampled by a polyphase filter (scipy), length round(n * to_rate / from_rate)."""
    from math import gcd

    from scipy.signal import resample_poly

    waveform = as_mono(waveform)
    if from_rate == to_rate:
        return waveform
    common = gcd(from_rate, to_rate)
    out = resample_poly(waveform, to_rate // common, from_rate // common).astype(np.float32)
    return out[: int(round(len(waveform) * to_rate / from_rate))]
