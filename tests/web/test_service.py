"""The app's functions (no Gradio) on the tiny zoo: each tab's result files, and one-line errors."""

from __future__ import annotations

import pytest
import soundfile
from PIL import Image

from v2a_cli.errors import V2AError
from v2a_cli.generation.compose import Source
from v2a_cli.web.service import Settings, options_for, preset_names

FAST = Settings(steps=2, seed=3, duration=0.5)


def assert_sound(path, seconds=0.5):
    info = soundfile.info(path)
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, int(seconds * 16000))


def test_generate_an_image_gives_a_wav_a_spectrogram_and_the_bridge_classes_per_variation(service, media):
    result = service.generate(media["image"], FAST, prompt="rain", variations=2)
    assert [sound.label for sound in result.sounds] == ["variation 1 (seed 3)", "variation 2 (seed 4)"]
    for sound in result.sounds:
        assert_sound(sound.audio)
        assert sound.audio.parent.is_relative_to(service.workdir)
        with Image.open(sound.spectrogram) as image:
            assert image.format == "PNG" and image.height > 0
    assert result.videos == []
    assert 1 <= len(result.classes) <= 5 and sum(result.classes.values()) == pytest.approx(1.0, abs=1e-3)
    assert result.files == [sound.audio for sound in result.sounds]


def test_generate_a_video_also_gives_the_video_with_its_new_sound(service, media):
    from v2a_cli.media.video import probe_video

    result = service.generate(media["video"], FAST)
    [video] = result.videos
    assert video.suffix == ".mp4" and probe_video(video).has_audio
    assert result.files == [result.sounds[0].audio, video]
    assert result.classes


def test_generate_a_sound_has_no_bridge_classes(service, media):
    result = service.generate(media["audio"], FAST)
    assert_sound(result.sounds[0].audio)
    assert result.classes == {}


def test_each_request_writes_into_its_own_folder(service, media):
    first = service.generate(media["image"], FAST).sounds[0].audio
    second = service.generate(media["image"], FAST).sounds[0].audio
    assert first.name == second.name and first.parent != second.parent


def test_a_broken_upload_is_the_cli_one_line_message_with_the_file_name(service, media):
    with pytest.raises(V2AError) as caught:
        service.generate(media["broken"], FAST)
    message = str(caught.value)
    assert message.startswith("broken.png: not an image that can be read")
    assert str(media["broken"].parent) not in message and "\n" not in message


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"variations": 9}, "variations 9: choose 1 to 4"),
    ({"source": ""}, "no input; upload a picture, a video or a sound"),
])
def test_bad_requests_are_one_line_errors(service, media, kwargs, expected):
    source = kwargs.pop("source", media["image"])
    with pytest.raises(V2AError, match=expected):
        service.generate(source, FAST, **kwargs)


def test_seconds_of_sound_picture_up_to_a_minute_one_window_for_compose_and_interpolate(service, media):
    from dataclasses import replace

    result = service.generate(media["image"], replace(FAST, steps=1, duration=12.0))  # two windows
    assert_sound(result.sounds[0].audio, seconds=12.0)
    with pytest.raises(V2AError, match="seconds of sound 61: must be"):
        service.generate(media["image"], replace(FAST, duration=61.0))
    with pytest.raises(V2AError, match="seconds of sound 12: must be"):
        service.compose([Source("text", "heavy rain")], replace(FAST, duration=12.0))
    with pytest.raises(V2AError, match="seconds of sound 12: must be"):
        service.interpolate("text:rain", "text:wind", 2, replace(FAST, duration=12.0))


def test_presets_fill_what_the_settings_leave_open():
    assert {"fast", "paper"} <= set(preset_names())
    fast = Settings(preset="fast").options()
    assert fast.steps == options_for("fast").steps < options_for("paper").steps
    assert Settings(preset="fast", steps=7, negative_prompt=" ").options().steps == 7
    assert Settings(negative_prompt=" ").options().negative_prompt is None
    with pytest.raises(V2AError, match="preset '?slow"):
        Settings(preset="slow").options()


def test_compose_mixes_pictures_texts_and_sounds(service, media):
    sounds = service.compose([Source("image", str(media["image"]), 2.0), Source("text", "heavy rain"),
                              Source("audio", str(media["audio"]), 0.5)], FAST, variations=2)
    assert [sound.audio.name for sound in sounds] == ["scene.wav", "scene_v2.wav"]
    for sound in sounds:
        assert_sound(sound.audio)


def test_compose_with_nothing_is_the_cli_message(service):
    with pytest.raises(V2AError, match="no sources"):
        service.compose([], FAST)


def test_interpolate_gives_the_steps_in_order_and_the_joined_walk(service, media):
    result = service.interpolate(str(media["image"]), "text:a flute melody", 3, FAST, crossfade=0.1)
    assert [sound.audio.name for sound in result.steps] == ["00.wav", "01.wav", "02.wav"]
    for sound in result.steps:
        assert_sound(sound.audio)
    assert_sound(result.walk, seconds=3 * 0.5 - 2 * 0.1)
    assert result.walk_spectrogram.is_file()
    assert result.files[0] == result.walk


def test_interpolate_without_an_end_says_so(service, media):
    with pytest.raises(V2AError, match="no end; upload a file or type a text"):
        service.interpolate(str(media["image"]), "", 3, FAST)


def test_progress_follows_the_denoising_steps(service, media):
    seen: list[tuple[int, int]] = []
    service.generate(media["image"], FAST, progress=lambda step, total: seen.append((step, total)))
    assert seen[-1] == (2, 2) and {total for _, total in seen} == {2}


def test_detected_sources_are_drawn_and_the_upload_is_not_kept_in_the_core_cache(service, media):
    result = service.generate(media["image"], FAST, sources="detect")
    with Image.open(result.boxes) as boxes, Image.open(media["image"]) as picture:
        assert boxes.size == picture.size
    assert result.files[-1] == result.boxes
    assert not [key for key in getattr(service.pipeline, "_sourced", {}) if key[0] == str(media["image"].resolve())]
    assert service.generate(media["image"], FAST).boxes is None


def test_an_old_codec_video_comes_back_as_h264_that_browsers_play_with_a_note(service, tmp_path):
    import av
    import numpy as np

    old = tmp_path / "vtest.avi"
    with av.open(str(old), "w") as container:  # msmpeg4, as old AVI files have it
        stream = container.add_stream("msmpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(10):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * index, np.uint8),
                                                                   format="rgb24")))
        container.mux(stream.encode(None))
    result = service.generate(old, FAST)
    [video] = result.videos
    with av.open(str(video)) as container:
        assert container.format.name.startswith("mov,mp4")
        assert container.streams.video[0].codec_context.name == "h264" and container.streams.audio
    assert result.notes == ["video re-encoded as H.264 (a .mp4 file cannot hold msmpeg4 video as it is)"]
    assert str(tmp_path) not in " ".join(result.notes)
