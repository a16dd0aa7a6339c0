"""The app's functions (no Gradio) on the tiny zoo: each tab's result files, and one-line errors."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace

import pytest
import soundfile
from PIL import Image

from v2a_cli.errors import V2AError
from v2a_cli.generation.compose import Source
from v2a_cli.web.service import Settings, VideoSettings, options_for, preset_names

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
    assert [path.name for path in result.files] == ["dog_seed3.wav", "dog_seed4.wav", "dog_all.zip"]
    with zipfile.ZipFile(result.archive) as archive:
        assert archive.namelist() == ["dog_seed3.wav", "dog_seed4.wav"]


def test_generate_a_video_also_gives_the_video_with_its_new_sound(service, media):
    from v2a_cli.media.video import probe_video

    result = service.generate(media["video"], FAST)
    [video] = result.videos
    assert video.suffix == ".mp4" and probe_video(video).has_audio
    assert [path.name for path in result.files] == ["street_seed3.wav", "street_seed3.mp4", "street_all.zip"]
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
    ({"variations": 9}, "Variations 9: must be from 1 to 4"),
    ({"source": ""}, "nothing to generate from; upload a picture, a video or a sound, or type a prompt"),
    ({"settings": Settings(steps=0)}, "Steps 0: must be from 1 to 10000"),
    ({"settings": Settings(guidance=-1.0)}, "Guidance -1: must be from 0 to 100"),
    ({"prompt": "rain", "prompt_weight": 2.0}, "Prompt weight 2: must be from 0 to 1"),
    ({"sources": "detect", "source": "audio"}, "Sound from: detected sources need a picture or a video"),
    ({"video": VideoSettings(start=1.0)}, "Start, End and Keep the video's own sound are for a video"),
])
def test_bad_requests_are_one_line_errors_naming_the_field(service, media, kwargs, expected):
    kwargs = dict(kwargs)
    source = kwargs.pop("source", "image")
    source = media.get(source, source)
    settings = kwargs.pop("settings", FAST)
    with pytest.raises(V2AError, match=re.escape(expected)) as caught:
        service.generate(source, settings, **kwargs)
    assert "--" not in str(caught.value)


def test_text_only_generation_uses_the_prompt(service):
    result = service.generate(None, FAST, prompt="heavy rain!", variations=1)
    assert [path.name for path in result.files] == ["heavy_rain_seed3.wav"]
    assert_sound(result.sounds[0].audio)
    assert result.classes == {}


def test_a_video_can_be_trimmed_and_keep_its_own_sound(service, media):
    from v2a_cli.media.video import probe_video

    result = service.generate(media["video"], FAST, video=VideoSettings(start=0.2, end=0.7, mix_original=0.5))
    assert_sound(result.sounds[0].audio, seconds=0.5)
    assert probe_video(result.videos[0]).duration == pytest.approx(probe_video(media["video"]).duration, abs=0.1)
    with pytest.raises(V2AError, match="End 0.1: must be after Start"):
        service.generate(media["video"], FAST, video=VideoSettings(start=0.5, end=0.1))


def test_old_results_are_removed_and_each_result_is_stored_once(service, media):
    from dataclasses import replace as replaced

    keep = service.keep_bytes
    try:
        service.keep_bytes = 1  # every folder but the newest is over the limit
        first = service.generate(media["image"], FAST).sounds[0].audio
        second = service.generate(media["image"], FAST).sounds[0].audio
        assert not first.exists() and second.exists()
        assert [folder.name for folder in service.results.iterdir()] == [second.parent.name]
    finally:
        service.keep_bytes = keep
    assert service.results.is_relative_to(service.workdir / "gradio")  # Gradio's cache: served without a copy
    assert replaced(FAST) == FAST


def test_a_stopped_job_ends_at_its_next_step_and_frees_the_models(service, media):
    from v2a_cli.web.service import Cancelled

    steps: list[int] = []
    with pytest.raises(Cancelled):
        service.generate(media["image"], replace(FAST, steps=50), progress=lambda done, total: steps.append(done),
                         should_stop=lambda: len(steps) >= 2)
    assert len(steps) == 2
    assert service.generate(media["image"], FAST).sounds  # the lock was released


def test_seconds_of_sound_up_to_a_minute_on_every_tab(service, media):
    from dataclasses import replace

    result = service.generate(media["image"], replace(FAST, steps=1, duration=12.0))  # two windows
    assert_sound(result.sounds[0].audio, seconds=12.0)
    with pytest.raises(V2AError, match="Seconds of sound 61: must be"):
        service.generate(media["image"], replace(FAST, duration=61.0))
    with pytest.raises(V2AError, match="Seconds of sound 61: must be"):
        service.compose([Source("text", "heavy rain")], replace(FAST, duration=61.0))
    with pytest.raises(V2AError, match="Seconds of sound 61: must be"):
        service.interpolate("text:rain", "text:wind", 2, replace(FAST, duration=61.0))


def test_presets_fill_what_the_settings_leave_open():
    assert {"fast", "paper"} <= set(preset_names())
    fast = Settings(preset="fast").options()
    assert fast.steps == options_for("fast").steps < options_for("paper").steps
    assert Settings(preset="fast", steps=7, negative_prompt=" ").options().steps == 7
    assert Settings(guidance=2.5).options().guidance == 2.5
    assert Settings(negative_prompt=" ").options().negative_prompt is None
    with pytest.raises(V2AError, match="Preset 'slow'"):
        Settings(preset="slow").check()


def test_compose_mixes_pictures_texts_and_sounds(service, media):
    result = service.compose([Source("image", str(media["image"]), 2.0), Source("text", "heavy rain"),
                              Source("audio", str(media["audio"]), 0.5)], FAST, variations=2)
    assert [path.name for path in result.files] == ["scene_seed3.wav", "scene_seed4.wav", "scene_all.zip"]
    for sound in result.sounds:
        assert_sound(sound.audio)


def test_compose_with_nothing_or_a_zero_weight_names_what_to_do(service):
    with pytest.raises(V2AError, match="nothing to compose; add a picture, a video, a text or a sound"):
        service.compose([], FAST)
    with pytest.raises(V2AError, match="weight 0 must be a positive number"):
        service.compose([Source("text", "rain", 0.0)], FAST)


def test_interpolate_gives_the_steps_in_order_and_the_joined_walk(service, media):
    result = service.interpolate(str(media["image"]), "text:a flute melody", 3, FAST, crossfade=0.1)
    assert [sound.audio.name for sound in result.steps] == [
        "dog_to_a_flute_melody_step1of3.wav", "dog_to_a_flute_melody_step2of3.wav", "dog_to_a_flute_melody_step3of3.wav"]
    for sound in result.steps:
        assert_sound(sound.audio)
    assert_sound(result.walk, seconds=3 * 0.5 - 2 * 0.1)
    assert result.walk_spectrogram.is_file()
    assert result.files[0] == result.walk


def test_interpolate_without_an_end_says_so(service, media):
    with pytest.raises(V2AError, match="no end; upload a file or type a text for End"):
        service.interpolate(str(media["image"]), "", 3, FAST)


def test_progress_follows_the_denoising_steps(service, media):
    seen: list[tuple[int, int]] = []
    service.generate(media["image"], FAST, progress=lambda step, total: seen.append((step, total)))
    assert seen[-1] == (2, 2) and {total for _, total in seen} == {2}


def test_detected_sources_are_drawn_from_the_requests_one_detection_and_not_kept_after_it(service, media,
                                                                                          monkeypatch):
    detector = service.pipeline.detector
    calls = []
    monkeypatch.setattr(detector, "detect", lambda *args, **kw: calls.append(1) or type(detector).detect(
        detector, *args, **kw))
    result = service.generate(media["image"], FAST, sources="detect")
    with Image.open(result.boxes) as boxes, Image.open(media["image"]) as picture:
        assert boxes.size == picture.size
    assert result.files[-2] == result.boxes and result.files[-1] == result.archive
    assert len(calls) == 1  # the boxes drawn are generation's own detection (one `Pipeline.call()` per request)
    assert service.pipeline.call_cache("sourced") == {}  # and the request's caches are gone with it
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
