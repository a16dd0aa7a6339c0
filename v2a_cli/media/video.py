"""Video files: probing, and sampling upright frames at fixed times (PyAV)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from v2a_cli.errors import InputError
from v2a_cli.media.inputs import open_input

# Two times closer than this are the same time (frame times are exact fractions; targets are floats).
TIME_EPSILON = 1e-6
# Seek when the keyframe before the next target is this far ahead of the decoder, or, without a
# keyframe index, when the target itself is SEEK_GAP_SECONDS ahead; otherwise decode forward.
MIN_SEEK_GAIN_SECONDS = 1.0
SEEK_GAP_SECONDS = 3.0
# The decoded frames may end this much before the duration the container states without counting as truncated.
TRUNCATION_TOLERANCE_SECONDS = 0.5

# Counterclockwise display rotation (degrees) -> PIL transpose that makes a decoded frame upright.
UPRIGHT_TRANSPOSE: dict[int, Image.Transpose] = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class VideoInfo:
    duration: float  # seconds, from the container (or from the packets when it states none)
    fps: float | None  # average frame rate; None when unknown
    width: int  # as displayed, i.e. after rotation
    height: int
    rotation: int  # counterclockwise degrees applied to decoded frames for display: 0, 90, 180 or 270
    has_audio: bool


@dataclass(frozen=True)
class SampledFrame:
    time: float  # seconds from the start of the video stream
    image: Image.Image  # RGB, upright


def find_video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:  # skip cover art
            return stream
    raise InputError(path, "has no video stream; give a video file (or an image)")


def _normalized_rotation(degrees: float) -> int:
    return int(round(degrees / 90.0)) * 90 % 360


def _upright(image: Image.Image, rotation: int) -> Image.Image:
    transpose = UPRIGHT_TRANSPOSE.get(rotation)
    return image if transpose is None else image.transpose(transpose)


def _parse_clock(text: str) -> float | None:
    """Seconds from "HH:MM:SS.fraction" (the DURATION tag FFmpeg writes per Matroska track)."""
    try:
        hours, minutes, seconds = text.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def stream_duration(stream: av.stream.Stream) -> float | None:
    """Seconds of this stream alone, when the file states it."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    return _parse_clock(tag) if tag else None


def _stated_duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    # The container's duration also covers other tracks (often a longer audio track): a fallback only.
    duration = stream_duration(stream)
    if duration is None and container.duration:
        duration = container.duration / av.time_base
    return duration


def _average_fps(stream: av.VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


class _FrameCursor:
    """Decodes one video stream forward and answers "which frame is on screen at time t".

    Times are seconds from the stream's start (frame.time, i.e. pts * time_base, so variable frame
    rates are exact). Asked times must not decrease. It seeks to the keyframe before t when that
    keyframe lies well beyond what has been decoded already; otherwise it decodes forward.
    """

    def __init__(self, container: av.container.InputContainer, stream: av.VideoStream):
        self.container = container
        self.stream = stream
        self.time_base = stream.time_base
        self.start_ts = stream.start_time or 0
        self.start = float(self.start_ts * self.time_base)
        fps = _average_fps(stream)
        self.fallback_step = 1.0 / fps if fps else 1.0 / 25.0  # only for frames without a pts
        self.can_seek = True
        self.at_end = False
        self._frames: Iterator[av.VideoFrame] | None = None
        self._last_time: float | None = None
        # Largest pts - dts seen on a keyframe packet: the index and seeking go by decode time, and
        # with B-frames a keyframe is shown this much later than it is decoded.
        self.keyframe_delay = 0
        self.shown: tuple[float, av.VideoFrame] | None = None  # latest frame at or before the last asked time
        self.ahead: tuple[float, av.VideoFrame] | None = None  # first decoded frame after it

    def _decode(self) -> Iterator[av.VideoFrame]:
        for packet in self.container.demux(self.stream):
            if packet.is_keyframe and packet.pts is not None and packet.dts is not None:
                self.keyframe_delay = max(self.keyframe_delay, packet.pts - packet.dts)
            yield from packet.decode()  # the last, empty packet flushes the decoder

    def _index_timestamp(self, t: float) -> int:
        """Index timestamp of a keyframe shown at or before t (the index may hold decode times)."""
        return self.start_ts + int(t / self.time_base) - self.keyframe_delay

    def _next(self) -> tuple[float, av.VideoFrame] | None:
        if self._frames is None:
            self._frames = self._decode()
        try:
            frame = next(self._frames)
        except StopIteration:
            self.at_end = True
            return None
        if frame.time is not None:
            time = frame.time - self.start
        else:
            time = 0.0 if self._last_time is None else self._last_time + self.fallback_step
        self._last_time = time
        return time, frame

    def _keyframe_before(self, t: float) -> float | None:
        entries = self.stream.index_entries
        if len(entries) == 0:
            return None
        index = entries.search_timestamp(self._index_timestamp(t), backward=True)
        if index < 0:
            return None
        return float((entries[index].timestamp + self.keyframe_delay - self.start_ts) * self.time_base)

    def _should_seek(self, t: float) -> bool:
        if not self.can_seek or self.at_end:
            return False
        latest = self.ahead or self.shown
        position = latest[0] if latest else 0.0
        if t <= position + TIME_EPSILON:
            return False
        keyframe = self._keyframe_before(t)
        if keyframe is None:
            return t - position > SEEK_GAP_SECONDS
        # A seek flushes the decoder and its threads: worth it only when it skips enough decoding.
        return keyframe - position > MIN_SEEK_GAIN_SECONDS

    def _seek_before(self, t: float) -> None:
        """Seek so that the first decoded frame is at or before t (stepping back when a seek overshoots)."""
        back = 0.0
        while True:
            offset = max(t - back, 0.0)
            try:
                self.container.seek(self.start_ts + int(offset / self.time_base), stream=self.stream, backward=True)
            except av.FFmpegError:
                self.can_seek = False  # e.g. a stream without an index: decode forward from here
                return
            self._frames = None
            self.shown, self.at_end, self._last_time = None, False, None
            self.ahead = self._next()
            landed_early = self.ahead is not None and self.ahead[0] <= t + TIME_EPSILON
            if landed_early or offset == 0.0:
                return
            back = max(1.0, back * 2)

    def frame_at(self, t: float) -> av.VideoFrame | None:
        """The frame displayed at t (the first frame when t precedes it); None when there is none at all."""
        if self._should_seek(t):
            self._seek_before(t)
        while True:
            if self.ahead is None:
                self.ahead = self._next()
                if self.ahead is None:
                    break
            if self.ahead[0] > t + TIME_EPSILON:
                break
            self.shown, self.ahead = self.ahead, None
        chosen = self.shown or self.ahead
        return chosen[1] if chosen else None

    def end_of_last_frame(self) -> float:
        """When the last frame decoded so far stops being displayed (valid once at_end)."""
        assert self.shown is not None
        time, frame = self.shown
        if frame.duration:
            return time + float(frame.duration * self.time_base)
        return time + self.fallback_step


def _first_frame(container: av.container.InputContainer, stream: av.VideoStream, path: Path) -> av.VideoFrame:
    for frame in container.decode(stream):
        return frame
    raise InputError(path, "no video frame could be decoded; the file is damaged or truncated; re-export it")


def probe_video(path: str | Path) -> VideoInfo:
    """Duration, frame rate, displayed size, rotation and whether there is sound. Decodes one frame."""
    path = Path(path)
    with open_input(path, "video") as container:
        stream = find_video_stream(container, path)
        stream.thread_type = "AUTO"
        first = _first_frame(container, stream, path)
        rotation = _normalized_rotation(first.rotation)
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        duration = _stated_duration(container, stream)
        if duration is None:
            duration = _duration_from_packets(container, stream, first)
        return VideoInfo(
            duration=duration,
            fps=_average_fps(stream),
            width=width,
            height=height,
            rotation=rotation,
            has_audio=len(container.streams.audio) > 0,
        )


def _duration_from_packets(container: av.container.InputContainer, stream: av.VideoStream,
                           first: av.VideoFrame) -> float:
    start = stream.start_time or 0
    end = (first.pts or 0) + (first.duration or 0)
    for packet in container.demux(stream):
        if packet.pts is not None:
            end = max(end, packet.pts + (packet.duration or 0))
    return float((end - start) * stream.time_base)


def sample_frames(path: str | Path, *, fps: float = 1.0, max_seconds: float | None = 10.0) -> list[SampledFrame]:
    """Upright RGB frames at t = 0, 1/fps, 2/fps, ... < min(duration, max_seconds); at least one.

    Each is the frame on screen at t (the last frame whose time is <= t). Raises InputError for a file
    without a video stream, one that cannot be decoded, or one whose frames stop well before the
    duration it states (truncated).
    """
    return list(iter_frames(path, fps=fps, end=max_seconds))


def iter_frames(path: str | Path, *, fps: float = 1.0, start: float = 0.0,
                end: float | None = None) -> Iterator[SampledFrame]:
    """`sample_frames` as a stream, over [start, end): frames at t = start, start + 1/fps, ... < end.

    One frame is held at a time, so a whole film costs the memory of one frame (the caller keeps
    what it needs, e.g. CLIP embeddings). At least one frame is yielded (the one at `start`).
    """
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if end is not None and end <= 0:
        raise ValueError(f"end must be > 0, got {end}")
    if start < 0 or (end is not None and start >= end):
        raise ValueError(f"start must be >= 0 and before end, got start={start}, end={end}")
    path = Path(path)
    with open_input(path, "video") as container:
        stream = find_video_stream(container, path)
        stream.thread_type = "AUTO"
        stated = _stated_duration(container, stream)
        own_duration = stream_duration(stream)  # only the stream's own duration can prove truncation
        limit = min(stated if stated is not None else math.inf, end if end is not None else math.inf)
        cursor = _FrameCursor(container, stream)
        converted: tuple[av.VideoFrame | None, Image.Image | None] = (None, None)
        index = 0
        while True:
            t = start + index / fps
            if index > 0 and t >= limit - TIME_EPSILON:
                break
            frame = cursor.frame_at(t)
            if frame is None:
                raise InputError(path, "no video frame could be decoded; the file is damaged or truncated; re-export it")
            if cursor.at_end and t >= cursor.end_of_last_frame() - TIME_EPSILON:
                if own_duration is not None and t < own_duration - TRUNCATION_TOLERANCE_SECONDS:
                    raise InputError(path, f"video frames stop at {cursor.end_of_last_frame():.2f} s but the file "
                                           f"says {own_duration:.2f} s; it looks truncated; re-export it")
                if index == 0 and cursor.shown is not None:  # start lies past the last frame: its image is on screen
                    yield SampledFrame(time=t, image=_upright(cursor.shown[1].to_image(),
                                                              _normalized_rotation(cursor.shown[1].rotation)))
                break
            if converted[0] is not frame:  # a frame shown at several targets is converted once
                converted = (frame, _upright(frame.to_image(), _normalized_rotation(frame.rotation)))
            yield SampledFrame(time=t, image=converted[1])
            index += 1


def evenly_spaced_indices(available: int, count: int) -> list[int]:
    """`count` indices evenly spaced over `available` frames, first and last included, rounded to the
    nearest (repeats when there are fewer frames than `count`): the frames SSV2A's `extract_frames`
    takes from a clip, round(linspace(0, L - 1, count))."""
    import numpy as np

    if available < 1 or count < 1:
        raise ValueError(f"need at least one frame and one pick, got {available} and {count}")
    return np.round(np.linspace(0, available - 1, count)).astype(int).tolist()


def frame_times(path: str | Path, *, start: float = 0.0, end: float | None = None) -> list[float]:
    """Times (seconds from the stream's start) of every decoded frame shown from `start` to before
    `end`; when none starts in that span, the time `start` itself (the frame on screen then)."""
    path = Path(path)
    with open_input(path, "video") as container:
        stream = find_video_stream(container, path)
        stream.thread_type = "AUTO"
        cursor = _FrameCursor(container, stream)
        if cursor.frame_at(start) is None:
            raise InputError(path, "no video frame could be decoded; the file is damaged or truncated; re-export it")
        times = [cursor.shown[0]] if cursor.shown is not None and cursor.shown[0] >= start - TIME_EPSILON else []
        following = cursor.ahead
        while True:
            item = following if following is not None else cursor._next()
            following = None
            if item is None or (end is not None and item[0] >= end - TIME_EPSILON):
                break
            if item[0] >= start - TIME_EPSILON:
                times.append(item[0])
    return times or [start]


def evenly_spaced_frames(path: str | Path, count: int, *, start: float = 0.0, end: float | None = None,
                         size: tuple[int, int] | None = None) -> list[SampledFrame]:
    """`count` upright RGB frames evenly spaced over the frames shown in [start, end) (`evenly_spaced_indices`
    of `frame_times`), each resized to `size` (bicubic) when given: SSV2A's frames for its temporal
    aggregator (64 per clip at 512x512; `ssv2a/data/utils.py` `extract_frames`). Decodes the span twice
    (once for the frame times, once for the chosen frames), holding one frame at a time."""
    path = Path(path)
    times = frame_times(path, start=start, end=end)
    picks = [times[i] for i in evenly_spaced_indices(len(times), count)]
    frames: list[SampledFrame] = []
    with open_input(path, "video") as container:
        stream = find_video_stream(container, path)
        stream.thread_type = "AUTO"
        cursor = _FrameCursor(container, stream)
        converted: tuple[av.VideoFrame | None, Image.Image | None] = (None, None)
        for t in picks:
            frame = cursor.frame_at(t)
            if frame is None:
                raise InputError(path, "no video frame could be decoded; the file is damaged or truncated; re-export it")
            if converted[0] is not frame:
                image = _upright(frame.to_image(), _normalized_rotation(frame.rotation))
                if size is not None and image.size != tuple(size):
                    image = image.resize(tuple(size), Image.Resampling.BICUBIC)
                converted = (frame, image)
            frames.append(SampledFrame(time=t, image=converted[1]))
    return frames
