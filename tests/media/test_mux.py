from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from v2a_cli.errors import InputError, OutputExistsError
from v2a_cli.media.audio import load_audio
from v2a_cli.media.mux import mux_audio_into_video
from v2a_cli.media.video import probe_video


def video_packets(path) -> list[tuple[bytes, Fraction, bool]]:
    """Payload, presentation time and keyframe flag of each video packet (Matroska stores no dts)."""
    with av.open(str(path)) as container:
        return [(bytes(p), p.pts * p.time_base, p.is_keyframe) for p in container.demux(video=0) if p.size]


def audio_streams(path) -> list[tuple[str, float]]:
    with av.open(str(path)) as container:
        return [(s.codec_context.name, container.duration / av.time_base) for s in container.streams.audio]


@pytest.mark.parametrize("source, out, codec", [
    ("in.mp4", "out.mp4", "aac"), ("in.mp4", "out.mov", "aac"), ("in.mp4", "out.mkv", "opus"), ("in.webm", "out.webm", "opus"),
    ("in.mkv", "out.mp4", "aac"),
])
def test_video_copied_untouched_and_sound_replaced(counter_video, tmp_path, sine, source, out, codec):
    video = counter_video(source, frames=100, codec="libvpx-vp9" if source.endswith(".webm") else "libx264",
                          audio_seconds=4.0, audio_codec="libopus" if source.endswith(".webm") else "aac",
                          audio_rate=48000)
    sound = sine(6.0, 16000, frequency=1000.0)  # longer than the 4 s video

    written = mux_audio_into_video(video, sound, 16000, tmp_path / out)

    assert written == tmp_path / out
    assert video_packets(written) == video_packets(video)
    streams = audio_streams(written)
    assert [name for name, _ in streams] == [codec]  # the old track is gone
    assert streams[0][1] == pytest.approx(4.0, abs=0.05)  # cut at the end of the video
    heard = load_audio(written, sample_rate=16000)
    assert len(heard) == pytest.approx(64000, abs=800)
    spectrum = np.abs(np.fft.rfft(heard))
    assert np.fft.rfftfreq(len(heard), 1 / 16000)[np.argmax(spectrum)] == pytest.approx(1000, abs=5)


def test_a_shorter_sound_is_padded_to_the_video_and_rotation_is_kept(counter_video, tmp_path, sine):
    video = counter_video("rotated.mp4", frames=100, rotation=90)

    written = mux_audio_into_video(video, sine(2.0, 16000), 16000, tmp_path / "out.mp4")

    with av.open(str(written)) as container:
        audio = container.streams.audio[0]
        assert float(audio.duration * audio.time_base) == pytest.approx(4.0, abs=0.05)  # the track = the video
    heard = load_audio(written, sample_rate=16000)
    assert np.abs(heard[int(2.2 * 16000):]).max() < 0.01  # silence after the sound
    info = probe_video(written)
    assert (info.rotation, info.width, info.height, info.duration) == (90, 48, 64, pytest.approx(4.0, abs=0.05))


def test_existing_output_and_unusable_targets(counter_video, tmp_path, sine):
    video = counter_video("in.mp4", frames=25)
    existing = tmp_path / "taken.mp4"
    existing.write_bytes(b"keep me")
    sound = sine(1.0, 16000)

    with pytest.raises(OutputExistsError, match="taken.mp4"):
        mux_audio_into_video(video, sound, 16000, existing)
    assert existing.read_bytes() == b"keep me"
    mux_audio_into_video(video, sound, 16000, existing, overwrite=True)
    assert probe_video(existing).has_audio

    with pytest.raises(InputError, match=r"out\.gif"):
        mux_audio_into_video(video, sound, 16000, tmp_path / "out.gif")
    with pytest.raises(InputError, match=r"out\.webm: a \.webm file cannot hold h264 video as it is"):
        mux_audio_into_video(video, sound, 16000, tmp_path / "out.webm", video_codec="copy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "taken.mp4"]


def test_broken_source_video(tmp_path, sine):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"no video here\n" * 10)

    with pytest.raises(InputError, match="broken.mp4"):
        mux_audio_into_video(broken, sine(1.0, 16000), 16000, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_offset_places_the_sound_and_mix_original_keeps_the_old_track(counter_video, tmp_path, sine):
    video = counter_video("toned.mp4", frames=100, audio_seconds=4.0)  # its own 440 Hz tone at 0.5
    silent = np.zeros(16000 * 2, dtype=np.float32)
    placed = mux_audio_into_video(video, sine(2.0, 16000, 1000.0), 16000, tmp_path / "placed.mp4", offset=1.0)
    heard = load_audio(placed, sample_rate=16000)
    assert np.abs(heard[:int(0.9 * 16000)]).max() < 0.01 and np.abs(heard[int(1.2 * 16000):int(2.8 * 16000)]).max() > 0.3

    mixed = mux_audio_into_video(video, silent, 16000, tmp_path / "mixed.mp4", mix_original=0.5)
    heard = load_audio(mixed, sample_rate=16000)
    assert len(heard) == pytest.approx(64000, abs=800)
    middle = heard[16000:48000]
    assert float(np.sqrt(np.mean(middle ** 2))) == pytest.approx(0.25 / np.sqrt(2), rel=0.1)  # half of the 0.5 tone
    spectrum = np.abs(np.fft.rfft(middle))
    assert np.fft.rfftfreq(len(middle), 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440, abs=5)


@pytest.mark.parametrize("codec, out, policy, copied, written", [
    ("msmpeg4", "out.mp4", "auto", False, "h264"),  # an .mp4 cannot hold it: re-encoded
    ("msmpeg4", "out.mkv", "auto", True, "msmpeg4"),  # Matroska holds it: copied
    ("mpeg4", "out.mp4", "auto", True, "mpeg4"),  # .mp4 holds MPEG-4 Part 2 ...
    ("mpeg4", "out.mp4", "browser", False, "h264"),  # ... but browsers do not play it
    ("libx264", "out.mp4", "browser", True, "h264"),
    ("libx264", "out.mp4", "h264", False, "h264"),
    ("libx264", "out.webm", "auto", False, "vp9"),  # WebM holds only VP8/VP9/AV1
])
def test_old_codecs_are_reencoded_when_the_container_or_the_browser_needs_it(counter_video, tmp_path, sine,
                                                                             frame_number, codec, out, policy,
                                                                             copied, written):
    from v2a_cli.media.mux import video_decision

    video = counter_video("old.avi" if codec.startswith("msmpeg4") else "old.mp4", frames=30, codec=codec)
    decision = video_decision(video, tmp_path / out, policy)
    assert decision.copy == copied and (decision.note == "") == copied

    written_path = mux_audio_into_video(video, sine(1.0, 16000), 16000, tmp_path / out, video_codec=policy)

    with av.open(str(written_path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == written
        frames = [frame.to_image() for frame in container.decode(stream)]
    assert [frame_number(image) for image in frames] == list(range(30))  # every frame, in order
    assert probe_video(written_path).has_audio
    if not copied:
        assert stream.codec_context.format.name == "yuv420p"


def test_copy_that_the_container_cannot_hold_is_refused_with_advice_the_user_can_follow(counter_video, tmp_path,
                                                                                        sine):
    from v2a_cli.media.mux import video_decision

    video = counter_video("old.avi", frames=5, codec="msmpeg4")
    with pytest.raises(InputError, match=r"a \.mp4 file cannot hold msmpeg4 video as it is; use --video-codec auto"):
        video_decision(video, tmp_path / "out.mp4", "copy")
    assert "a .mp4 file cannot hold msmpeg4" in video_decision(video, tmp_path / "out.mp4").note


def test_odd_sizes_are_made_even_when_reencoding(tmp_path, sine):
    odd = tmp_path / "odd.avi"
    with av.open(str(odd), "w") as container:
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 65, 49, "yuvj420p"
        for index in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((49, 65, 3), 40 * index, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    written = mux_audio_into_video(odd, sine(0.5, 16000), 16000, tmp_path / "out.mp4", video_codec="h264")

    info = probe_video(written)
    assert (info.width, info.height) == (64, 48)
