"""Video frames as av-benchmark reads them for ImageBind and Synchformer.

av-benchmark decodes with torio's `StreamingMediaDecoder.add_basic_video_stream(frame_rate=R,
format="rgb24")`, i.e. FFmpeg's filter chain `fps=R,format=rgb24` on the first video stream, and
keeps the first `int(R * seconds)` frames. We run the same FFmpeg filters through PyAV's filter
graph (torio itself left torchaudio in 2.9). No rotation is applied: torio applies none either.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from v2a_cli.errors import InputError
from v2a_cli.media.inputs import open_input


def decode_frames(path: str | Path, *, fps: float, seconds: float) -> np.ndarray:
    """The first `int(fps * seconds)` frames at `fps` as uint8 [T, H, W, 3] (RGB).

    Raises InputError naming the file when it has no video or fewer frames than that (av-benchmark
    stops with "video too short" there; its metrics need the full duration)."""
    path = Path(path)
    count = int(fps * seconds)
    frames: list[np.ndarray] = []
    with open_input(path, "video") as container:
        if not container.streams.video:
            raise InputError(path, "has no video track; ImageBind and DeSync need the video the sound was made for")
        stream = container.streams.video[0]
        graph = av.filter.Graph()
        source = graph.add_buffer(template=stream)
        rate = graph.add("fps", f"fps={Fraction(fps).limit_denominator(1_000_000)}")
        rgb = graph.add("format", "pix_fmts=rgb24")
        sink = graph.add("buffersink")
        source.link_to(rate)
        rate.link_to(rgb)
        rgb.link_to(sink)
        graph.configure()

        def drain() -> None:
            while len(frames) < count:
                try:
                    frames.append(graph.pull().to_ndarray())
                except (av.BlockingIOError, av.EOFError):
                    return

        for frame in container.decode(stream):
            graph.push(frame)
            drain()
            if len(frames) >= count:
                break
        else:
            graph.push(None)  # flush: the fps filter emits its last frames at end of stream
            drain()
    if len(frames) < count:
        raise InputError(path, f"video too short: {len(frames)} frames at {fps:g} fps, {count} needed "
                               f"({seconds:g} s); give longer videos or a shorter --duration")
    return np.stack(frames[:count])
