"""Put a generated sound into a copy of a video: video packets copied untouched, new audio encoded."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from v2a_cli.errors import InputError
from v2a_cli.media.audio import as_mono
from v2a_cli.media.inputs import atomic_output, open_input
from v2a_cli.media.video import find_video_stream, stream_duration


# Output extension -> (FFmpeg container format, audio encoder). Opus for Matroska/WebM: WebM allows
# only Opus or Vorbis, and FFmpeg's native Vorbis encoder is experimental.
OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    ".mp4": ("mp4", "aac"),
    ".m4v": ("mp4", "aac"),
    ".mov": ("mov", "aac"),
    ".mkv": ("matroska", "libopus"),
    ".webm": ("webm", "libopus"),
}
AUDIO_BIT_RATE = 128_000
MIX_RATE = 48_000  # --mix-original: the video's own sound is kept at this rate, the new one resampled to it
# Encoder sample formats we can feed, best first.
PREFERRED_SAMPLE_FORMATS = ("fltp", "flt", "s16p", "s16")


def _encoder_rate(codec: av.Codec, sample_rate: int) -> int:
    rates = sorted(codec.audio_rates or [])
    if not rates or sample_rate in rates:
        return sample_rate
    higher = [rate for rate in rates if rate >= sample_rate]
    return higher[0] if higher else rates[-1]


def _encoder_format(codec: av.Codec) -> str:
    supported = [fmt.name for fmt in codec.audio_formats or []]
    for name in PREFERRED_SAMPLE_FORMATS:
        if name in supported:
            return name
    return supported[0] if supported else "fltp"


def _video_seconds(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """The video stream's own length; scanned from its packets when the file does not state it."""
    stated = stream_duration(stream)
    if stated is not None:
        return stated
    start = stream.start_time or 0
    end = start
    for packet in container.demux(stream):
        if packet.pts is not None:
            end = max(end, packet.pts + (packet.duration or 0))
    container.seek(0)
    return float((end - start) * stream.time_base)


def _encode_audio(stream: av.AudioStream, samples: np.ndarray, sample_rate: int, start_seconds: float) -> list[av.Packet]:
    rate = stream.rate
    resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
    source = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
    source.sample_rate = sample_rate
    packets: list[av.Packet] = []
    position = int(round(start_seconds * rate))
    for piece in resampler.resample(source) + resampler.resample(None):
        piece.pts = position
        piece.time_base = Fraction(1, rate)
        position += piece.samples
        packets.extend(stream.encode(piece))
    packets.extend(stream.encode(None))
    return packets


def _packet_seconds(packet: av.Packet) -> float:
    timestamp = packet.dts if packet.dts is not None else packet.pts
    return float(timestamp * packet.time_base) if timestamp is not None and packet.time_base else 0.0


def _mix_with_original(video_path: Path, samples: np.ndarray, sample_rate: int,
                       gain: float) -> tuple[np.ndarray, int]:
    """The new sound (resampled to MIX_RATE) plus the video's own sound times `gain`; unchanged when
    the video has no sound."""
    from v2a_cli.media.audio import load_audio, resample

    with open_input(video_path, "video") as container:
        has_audio = len(container.streams.audio) > 0
    if not has_audio:
        return samples, sample_rate
    original = load_audio(video_path, sample_rate=MIX_RATE)
    mixed = resample(samples, sample_rate, MIX_RATE)
    length = max(len(mixed), len(original))
    out = np.zeros(length, dtype=np.float32)
    out[:len(mixed)] += mixed
    out[:len(original)] += gain * original
    return np.clip(out, -1.0, 1.0), MIX_RATE


def mux_audio_into_video(video_path: str | Path, waveform: np.ndarray, sample_rate: int, out_path: str | Path,
                         *, overwrite: bool = False, offset: float = 0.0, mix_original: float = 0.0) -> Path:
    """Copy `video_path` to `out_path` with `waveform` as its only audio track.

    The video packets are copied untouched (no re-encode); existing audio (and subtitle) tracks are
    dropped. The sound starts `offset` seconds into the video (silence before), is encoded as AAC in
    .mp4/.m4v/.mov and Opus in .mkv/.webm, and is cut or silence-padded to the video's length. `mix_original` (0..1)
    keeps the video's own sound under the new one at that gain (mixed at MIX_RATE). Atomic;
    OutputExistsError when `out_path` exists and not `overwrite`.
    """
    video_path, out_path = Path(video_path), Path(out_path)
    output_format = OUTPUT_FORMATS.get(out_path.suffix.lower())
    if output_format is None:
        raise InputError(out_path, f"cannot write this video type; use one of: {', '.join(sorted(OUTPUT_FORMATS))}")
    format_name, audio_codec = output_format
    samples = as_mono(waveform)
    if offset > 0:
        samples = np.concatenate([np.zeros(int(round(offset * sample_rate)), dtype=np.float32), samples])
    if mix_original > 0:
        samples, sample_rate = _mix_with_original(video_path, samples, sample_rate, mix_original)
    with open_input(video_path, "video") as source, atomic_output(out_path, overwrite=overwrite) as temp:
        video_in = find_video_stream(source, video_path)
        video_seconds = _video_seconds(source, video_in)
        length = max(0, int(round(video_seconds * sample_rate)))
        samples = np.pad(samples[:length], (0, max(0, length - len(samples))))  # the track lasts as long as the video
        start_seconds = float((video_in.start_time or 0) * video_in.time_base)
        with av.open(str(temp), mode="w", format=format_name) as output:
            try:
                video_out = output.add_stream_from_template(video_in)
            except ValueError:
                raise InputError(out_path, f"a {format_name} file cannot hold {video_in.codec_context.name} video "
                                           f"without re-encoding; choose .mp4 or .mkv") from None
            audio_packets: list[av.Packet] = []
            if samples.size:
                codec = av.Codec(audio_codec, "w")
                audio_out = output.add_stream(audio_codec, rate=_encoder_rate(codec, sample_rate))
                audio_out.layout = "mono"
                audio_out.format = _encoder_format(codec)
                audio_out.bit_rate = AUDIO_BIT_RATE
                audio_packets = _encode_audio(audio_out, samples, sample_rate, start_seconds)
            next_audio = 0
            for packet in source.demux(video_in):
                if packet.size == 0:  # the empty packet that ends demuxing (Matroska packets may lack a dts)
                    continue
                # Interleave by time so players need not buffer one track to play the other.
                now = _packet_seconds(packet)
                while next_audio < len(audio_packets) and _packet_seconds(audio_packets[next_audio]) <= now:
                    output.mux(audio_packets[next_audio])
                    next_audio += 1
                packet.stream = video_out
                output.mux(packet)
            output.mux(audio_packets[next_audio:])
    return out_path
