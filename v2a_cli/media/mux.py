"""Put a generated sound into a copy of a video: the video copied (or re-encoded when it must be), new audio encoded.

Whether the video stream is copied or re-encoded is decided before any work (`decide_video`, also
called by `media.preflight`), from the source's codec and the output container, under a policy:

- "copy": packets copied untouched; a container that cannot hold them is an error (before any work);
- "h264": always re-encoded to H.264 (yuv420p, even width and height);
- "auto" (the CLI's default): copied when the container holds the codec, else re-encoded;
- "browser" (the web page): copied only when browsers play it as it is (H.264, 8-bit 4:2:0, in .mp4),
  else re-encoded to H.264.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from v2a_cli.errors import InputError, V2AError
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
VIDEO_CODECS = ("auto", "copy", "h264")  # the CLI's --video-codec choices
BROWSER = "browser"  # the web page's policy: what a browser plays
# Re-encoding: H.264 where the container allows it; WebM allows only VP8/VP9/AV1, so VP9 there.
REENCODERS = {"mp4": "libx264", "mov": "libx264", "matroska": "libx264", "webm": "libvpx-vp9"}
CODEC_NAMES = {"libx264": "H.264", "libvpx-vp9": "VP9"}
ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast", "crf": "20"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0", "row-mt": "1"},
}
# What browsers play as it is, per container: H.264 in .mp4, VP8/VP9 in .webm, in 8-bit 4:2:0 (High 10,
# 4:2:2 and 4:4:4 profiles do not play).
BROWSER_CODECS = {"mp4": frozenset({"h264"}), "webm": frozenset({"vp8", "vp9"})}
BROWSER_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
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


@dataclass(frozen=True)
class VideoDecision:
    """How the video stream goes into the output: copied as it is, or re-encoded with `encoder`."""

    copy: bool
    codec: str  # the source's codec (FFmpeg name)
    encoder: str | None = None  # when re-encoding: "libx264" or "libvpx-vp9"
    reason: str = ""  # when re-encoding: why, in words (no path), e.g. "a .mp4 file cannot hold msmpeg4 video as it is"

    @property
    def note(self) -> str:
        """One line for the user when the video is re-encoded ("" when copied)."""
        if self.copy:
            return ""
        return f"video re-encoded as {CODEC_NAMES.get(self.encoder, self.encoder)} ({self.reason})"


def _output_format(out_path: Path) -> str:
    output_format = OUTPUT_FORMATS.get(out_path.suffix.lower())
    if output_format is None:
        raise InputError(out_path, f"cannot write this video type; use one of: {', '.join(sorted(OUTPUT_FORMATS))}")
    return output_format[0]


def _container_holds(video_in: av.VideoStream, format_name: str) -> bool:
    """FFmpeg's own test (the stream template into the format), on an empty in-memory file."""
    import io

    with av.open(io.BytesIO(), mode="w", format=format_name) as probe:
        try:
            probe.add_stream_from_template(video_in)
        except ValueError:
            return False
    return True


def _browser_plays(video_in: av.VideoStream, format_name: str) -> bool:
    context = video_in.codec_context
    profile = (context.profile or "").lower()
    return (context.name in BROWSER_CODECS.get(format_name, ())
            and (context.format is None or context.format.name in BROWSER_PIXEL_FORMATS)
            and not any(word in profile for word in ("10", "422", "4:2:2", "444", "4:4:4")))


def decide_video(video_in: av.VideoStream, out_path: str | Path, policy: str = "auto") -> VideoDecision:
    """Copy or re-encode `video_in` into `out_path`'s container under `policy` (see the module's doc).
    Raises InputError (naming `out_path`) when the policy cannot be followed."""
    out_path = Path(out_path)
    format_name = _output_format(out_path)
    codec = video_in.codec_context.name
    kind = out_path.suffix.lower()
    if policy not in (*VIDEO_CODECS, BROWSER):
        raise V2AError(f"--video-codec {policy}: choose one of {', '.join(VIDEO_CODECS)}")
    encoder = REENCODERS[format_name]
    if policy == "h264":
        if encoder != "libx264":
            raise InputError(out_path, f"a {kind} file cannot hold H.264 video; write .mp4, .mov or .mkv, "
                                       "or use --video-codec auto (VP9)")
        return VideoDecision(False, codec, encoder, "--video-codec h264")
    holds = _container_holds(video_in, format_name)
    if policy == "copy":
        if not holds:
            raise InputError(out_path, f"a {kind} file cannot hold {codec} video as it is; use --video-codec "
                                       "auto to re-encode it")
        return VideoDecision(True, codec)
    if policy == BROWSER and holds and not _browser_plays(video_in, format_name):
        return VideoDecision(False, codec, encoder, f"browsers cannot play {codec} video as it is")
    if not holds:
        return VideoDecision(False, codec, encoder, f"a {kind} file cannot hold {codec} video as it is")
    return VideoDecision(True, codec)


def video_decision(video_path: str | Path, out_path: str | Path, policy: str = "auto") -> VideoDecision:
    """`decide_video` for a file (opened and closed here; a broken source raises InputError naming it)."""
    video_path = Path(video_path)
    _output_format(Path(out_path))
    with open_input(video_path, "video") as source:
        return decide_video(find_video_stream(source, video_path), out_path, policy)


def _even(size: int) -> int:
    return max(2, size - size % 2)


def _add_reencoded_stream(output: av.container.OutputContainer, video_in: av.VideoStream, encoder: str,
                          rotation: int) -> av.VideoStream:
    rate = video_in.average_rate or video_in.guessed_rate or Fraction(25)
    stream = output.add_stream(encoder, rate=rate, options=ENCODER_OPTIONS.get(encoder, {}))
    stream.width = _even(video_in.codec_context.width)
    stream.height = _even(video_in.codec_context.height)
    stream.pix_fmt = "yuv420p"
    stream.time_base = video_in.time_base
    stream.codec_context.time_base = video_in.time_base
    if rotation:
        stream.set_display_rotation(rotation)
    return stream


def _reencoded_packets(source: av.container.InputContainer, video_in: av.VideoStream,
                       video_out: av.VideoStream) -> Iterator[av.Packet]:
    """Decode the source's frames and encode them again (yuv420p, even size), keeping their times."""
    rate = video_in.average_rate or video_in.guessed_rate or Fraction(25)
    frame_step = max(1, int(round(1 / (rate * video_in.time_base))))
    last: int | None = None
    for frame in source.decode(video_in):
        pts = frame.pts
        if pts is None or (last is not None and pts <= last):  # a container without times: one frame later
            pts = frame_step if last is None else last + frame_step
        last = pts
        image = frame.reformat(width=video_out.width, height=video_out.height, format="yuv420p")
        image.pts, image.time_base = pts, video_in.time_base
        yield from video_out.encode(image)
    yield from video_out.encode(None)


def _copied_packets(source: av.container.InputContainer, video_in: av.VideoStream,
                    video_out: av.VideoStream) -> Iterator[av.Packet]:
    for packet in source.demux(video_in):
        if packet.size == 0:  # the empty packet that ends demuxing (Matroska packets may lack a dts)
            continue
        packet.stream = video_out
        yield packet


def mux_audio_into_video(video_path: str | Path, waveform: np.ndarray, sample_rate: int, out_path: str | Path,
                         *, overwrite: bool = False, offset: float = 0.0, mix_original: float = 0.0,
                         video_codec: str = "auto") -> Path:
    """Copy `video_path` to `out_path` with `waveform` as its only audio track.

    The video stream is copied untouched or re-encoded, as `decide_video` says under `video_codec`
    ("auto", "copy", "h264" or "browser"); existing audio (and subtitle) tracks are dropped. The sound
    starts `offset` seconds into the video (silence before), is encoded as AAC in .mp4/.m4v/.mov and
    Opus in .mkv/.webm, and is cut or silence-padded to the video's length. `mix_original` (0..1)
    keeps the video's own sound under the new one at that gain (mixed at MIX_RATE). Atomic;
    OutputExistsError when `out_path` exists and not `overwrite`.
    """
    video_path, out_path = Path(video_path), Path(out_path)
    format_name, audio_codec = OUTPUT_FORMATS.get(out_path.suffix.lower(), (None, None))
    _output_format(out_path)
    samples = as_mono(waveform)
    if offset > 0:
        samples = np.concatenate([np.zeros(int(round(offset * sample_rate)), dtype=np.float32), samples])
    if mix_original > 0:
        samples, sample_rate = _mix_with_original(video_path, samples, sample_rate, mix_original)
    with open_input(video_path, "video") as source:
        video_in = find_video_stream(source, video_path)
        decision = decide_video(video_in, out_path, video_codec)
    rotation = 0 if decision.copy else _rotation(video_path)
    with open_input(video_path, "video") as source, atomic_output(out_path, overwrite=overwrite) as temp:
        video_in = find_video_stream(source, video_path)
        video_in.thread_type = "AUTO"
        video_seconds = _video_seconds(source, video_in)
        length = max(0, int(round(video_seconds * sample_rate)))
        samples = np.pad(samples[:length], (0, max(0, length - len(samples))))  # the track lasts as long as the video
        start_seconds = float((video_in.start_time or 0) * video_in.time_base)
        container_options = {"movflags": "+faststart"} if format_name in ("mp4", "mov") else {}
        with av.open(str(temp), mode="w", format=format_name, options=container_options) as output:
            if decision.copy:
                video_out = output.add_stream_from_template(video_in)
                video_packets = _copied_packets(source, video_in, video_out)
            else:
                video_out = _add_reencoded_stream(output, video_in, decision.encoder, rotation)
                video_packets = _reencoded_packets(source, video_in, video_out)
            audio_packets: list[av.Packet] = []
            if samples.size:
                codec = av.Codec(audio_codec, "w")
                audio_out = output.add_stream(audio_codec, rate=_encoder_rate(codec, sample_rate))
                audio_out.layout = "mono"
                audio_out.format = _encoder_format(codec)
                audio_out.bit_rate = AUDIO_BIT_RATE
                audio_packets = _encode_audio(audio_out, samples, sample_rate, start_seconds)
            next_audio = 0
            for packet in video_packets:
                # Interleave by time so players need not buffer one track to play the other.
                now = _packet_seconds(packet)
                while next_audio < len(audio_packets) and _packet_seconds(audio_packets[next_audio]) <= now:
                    output.mux(audio_packets[next_audio])
                    next_audio += 1
                output.mux(packet)
            output.mux(audio_packets[next_audio:])
    return out_path


def _rotation(video_path: Path) -> int:
    from v2a_cli.media.video import probe_video

    return probe_video(video_path).rotation
