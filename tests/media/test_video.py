from __future__ import annotations

import math

import numpy as np
import pytest

from v2a_cli.errors import InputError
from v2a_cli.media import video as video_module
from v2a_cli.media.video import probe_video, sample_frames


def displayed_index(t: float, fps: int = 25) -> int:
    """The frame on screen at t: the last frame whose time is <= t."""
    return math.floor(t * fps + 1e-9)


@pytest.mark.parametrize("name, codec", [("h264.mp4", "libx264"), ("mpeg4.avi", "mpeg4"), ("vp9.webm", "libvpx-vp9")])
def test_frames_are_the_ones_on_screen_at_each_time(counter_video, frame_number, name, codec):
    path = counter_video(name, frames=100, fps=25, codec=codec, gop=12)

    at_1fps = sample_frames(path, fps=1.0)
    at_2fps = sample_frames(path, fps=2.0)

    assert [f.time for f in at_1fps] == [0.0, 1.0, 2.0, 3.0]
    assert [frame_number(f.image) for f in at_1fps] == [0, 25, 50, 75]
    assert [f.time for f in at_2fps] == [k / 2 for k in range(8)]
    assert [frame_number(f.image) for f in at_2fps] == [displayed_index(f.time) for f in at_2fps]
    assert all(f.image.mode == "RGB" and f.image.size == (64, 48) for f in at_2fps)


def test_whole_clip_when_shorter_than_max_seconds(counter_video, frame_number):
    path = counter_video(frames=30, fps=25)  # 1.2 s

    frames = sample_frames(path, fps=1.0, max_seconds=10.0)

    assert [(f.time, frame_number(f.image)) for f in frames] == [(0.0, 0), (1.0, 25)]


def test_max_seconds_caps_the_targets(counter_video):
    path = counter_video(frames=100, fps=25)  # 4 s

    assert [f.time for f in sample_frames(path, fps=1.0, max_seconds=2.5)] == [0.0, 1.0, 2.0]
    assert [f.time for f in sample_frames(path, fps=1.0, max_seconds=None)] == [0.0, 1.0, 2.0, 3.0]


def test_a_clip_shorter_than_one_step_gives_one_frame(counter_video, frame_number):
    path = counter_video(frames=5, fps=25)  # 0.2 s

    frames = sample_frames(path, fps=0.5)

    assert [(f.time, frame_number(f.image)) for f in frames] == [(0.0, 0)]


@pytest.mark.parametrize("name", ["vfr.mkv", "vfr.mp4"])
def test_variable_frame_rate_uses_frame_times(counter_video, frame_number, name):
    times = [0.0, 0.1, 0.15, 0.9, 1.0, 1.05, 2.3, 2.9, 3.5, 3.6]
    path = counter_video(name, times=times)

    frames = sample_frames(path, fps=2.0)

    expected = [max(i for i, shown in enumerate(times) if shown <= f.time) for f in frames]
    assert [f.time for f in frames] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert [frame_number(f.image) for f in frames] == expected == [0, 2, 4, 5, 5, 6, 7, 8]


def corner_marked(index: int) -> np.ndarray:
    pixels = np.zeros((48, 64, 3), dtype=np.uint8)
    pixels[:16, :16] = 255  # white block in the top-left corner
    return pixels


@pytest.mark.parametrize("rotation, stored", [(90, 90), (-90, 270), (180, 180)])
def test_rotation_metadata_gives_upright_frames(counter_video, rotation, stored):
    from PIL import Image

    path = counter_video("rotated.mp4", frames=10, rotation=rotation, pixels=corner_marked)
    upright = Image.fromarray(corner_marked(0)).rotate(rotation, expand=True)  # counterclockwise

    info = probe_video(path)
    image = sample_frames(path, fps=1.0)[0].image

    assert info.rotation == stored
    assert (info.width, info.height) == upright.size == image.size
    difference = np.abs(np.asarray(image, dtype=np.int16) - np.asarray(upright, dtype=np.int16))
    assert difference.mean() < 8


def test_probe_video(counter_video):
    silent = probe_video(counter_video("silent.mp4", frames=50, fps=25))
    with_sound = probe_video(counter_video("sound.mkv", frames=50, fps=25, audio_seconds=2.0))

    assert silent.duration == pytest.approx(2.0, abs=0.05)
    assert silent.fps == pytest.approx(25.0)
    assert (silent.width, silent.height, silent.rotation, silent.has_audio) == (64, 48, 0, False)
    assert with_sound.duration == pytest.approx(2.0, abs=0.05)  # the video's own length
    assert with_sound.has_audio


def test_far_targets_are_reached_by_seeking(counter_video, frame_number, monkeypatch):
    path = counter_video("long.mp4", frames=250, fps=25, gop=25)  # 10 s, a keyframe every second
    decoded = []
    original_next = video_module._FrameCursor._next

    def counting_next(self):
        result = original_next(self)
        decoded.append(result is not None)
        return result

    monkeypatch.setattr(video_module._FrameCursor, "_next", counting_next)
    frames = sample_frames(path, fps=0.25, max_seconds=None)

    assert [frame_number(f.image) for f in frames] == [0, 100, 200]
    assert sum(decoded) < 125  # far less than the 250 frames a full decode would produce


# -- files that cannot be used -----------------------------------------------------------------

def test_truncated_mp4_is_an_input_error(counter_video, tmp_path):
    whole = counter_video("whole.mp4").read_bytes()
    truncated = tmp_path / "half.mp4"
    truncated.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError, match="half.mp4"):
        sample_frames(truncated)
    with pytest.raises(InputError, match="half.mp4"):
        probe_video(truncated)


def test_truncated_matroska_is_an_input_error(counter_video, tmp_path):
    whole = counter_video("whole.mkv").read_bytes()  # a header that states 4 s, frames for ~2 s
    truncated = tmp_path / "half.mkv"
    truncated.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError, match=r"half\.mkv.*truncated"):
        sample_frames(truncated, fps=1.0)


@pytest.mark.parametrize("name, content", [("text.mp4", b"not a video at all\n" * 20), ("empty.mp4", b"")])
def test_non_video_bytes_are_input_errors(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)

    for read in (sample_frames, probe_video):
        with pytest.raises(InputError, match=name):
            read(path)


def test_missing_file_and_audio_only_file(tmp_path, make_audio, sine):
    audio_only = make_audio("tone.flac", sine(1.0, 16000), 16000, "flac")

    with pytest.raises(InputError, match="missing.mp4"):
        sample_frames(tmp_path / "missing.mp4")
    with pytest.raises(InputError, match=r"tone\.flac.*no video stream"):
        sample_frames(audio_only)
