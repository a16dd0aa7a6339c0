"""`v2a generate` on whole videos: coverage, scenes, --start/--end, sidecar, --skip-existing, --explain."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import soundfile

from v2a_cli.generation.plan import window_seed
from v2a_cli.testing.media import make_image, make_scene_video

FAST = ["--steps", "2"]
SCENES = ["--scene-threshold", "0.05"]  # the random tiny CLIP moves 0.12-0.17 at the test video's cuts


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    """35 s, cuts at 12 s and 23 s, with its own sound (a 440 Hz tone)."""
    return make_scene_video(tmp_path_factory.mktemp("long") / "film.mp4", (12.0, 11.0, 12.0), with_audio=True)


def video_packets(path):
    with av.open(str(path)) as container:
        return [(bytes(p), p.pts) for p in container.demux(container.streams.video[0]) if p.size]


def audio_seconds(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.rate


def test_a_long_video_gets_sound_for_all_of_it_with_a_sidecar(v2a, long_video, tmp_path):
    out = tmp_path / "film_with_sound.mp4"
    code, stdout, stderr = v2a("generate", long_video, "-o", out, "--sidecar", *SCENES, *FAST)
    assert code == 0, stderr
    assert stdout.splitlines() == [str(out)]
    assert video_packets(out) == video_packets(long_video)
    assert abs(audio_seconds(out) - 35.0) < 0.1

    sidecar = json.loads((tmp_path / "film_with_sound.mp4.json").read_text())
    assert sidecar["v2a"] and sidecar["kind"] == "video" and sidecar["seed"] == 0
    assert sidecar["covered"] == {"start": 0.0, "end": 35.0} and sidecar["scene_cuts"] == [12.0, 23.0]
    assert set(sidecar["models"]) == {"generator", "clip", "mapper"}
    assert all(len(model["sha256"]) == 64 for model in sidecar["models"].values())  # local zoo folders: hashed
    settings = sidecar["settings"]
    assert (settings["steps"], settings["scheduler"], settings["join"], settings["overlap"]) == (2, "dpm", "continue", 2.5)
    windows = sidecar["windows"]
    assert windows[0]["start"] == 0.0 and windows[-1]["end"] == 35.0
    assert [w["seed"] for w in windows] == [window_seed(0, k) for k in range(len(windows))]
    assert sorted({w["scene"] for w in windows}) == [0, 1, 2]
    for before, after in zip(windows, windows[1:]):
        assert after["start"] < before["end"]  # in order, overlapping: the whole output is covered
        assert after["start"] > before["start"]
        assert after["join"] == ("cut" if after["scene"] != before["scene"] else "continue")


def test_start_end_to_wav_and_the_mp4_track_keeps_the_video_length(v2a, long_video, tmp_path):
    wav, mp4 = tmp_path / "part.wav", tmp_path / "part.mp4"
    for out in (wav, mp4):
        code, _, stderr = v2a("generate", long_video, "-o", out, "--start", "20", "--end", "31.5", "--scenes", "off",
                              "--join", "crossfade", *FAST)
        assert code == 0, stderr
    audio, rate = soundfile.read(wav)
    assert rate == 16000 and len(audio) == int(11.5 * 16000)
    assert abs(audio_seconds(mp4) - 35.0) < 0.1  # silence before --start and after --end
    assert video_packets(mp4) == video_packets(long_video)


def test_mix_original_keeps_the_videos_sound(v2a, long_video, tmp_path):
    out = tmp_path / "mixed.mp4"
    code, _, stderr = v2a("generate", long_video, "-o", out, "--mix-original", "0.5", "--end", "3", *FAST)
    assert code == 0, stderr
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])])
    # The zoo's own sound is ~silent; the 0.3-amplitude tone comes through at half volume (RMS 0.3 / sqrt 2 / 2).
    assert 0.08 < float(np.sqrt(np.mean(samples ** 2))) < 0.13


def test_skip_existing_makes_only_what_is_missing(v2a, tmp_path):
    images = [make_image(tmp_path / "in" / f"{name}.png", color=color)
              for name, color in (("a", (200, 10, 10)), ("b", (10, 200, 10)))]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "a.wav").write_bytes(b"done before the kill")
    code, stdout, stderr = v2a("generate", *images, "--out-dir", out_dir, "--skip-existing", "--duration", "1", *FAST)
    assert code == 0, stderr
    assert (out_dir / "a.wav").read_bytes() == b"done before the kill"
    assert soundfile.read(out_dir / "b.wav")[0].shape == (16000,)
    assert stdout.splitlines() == [str(out_dir / "b.wav")]
    assert sum("a.wav" in line and "skip" in line for line in stderr.splitlines()) == 1
    code, _, stderr = v2a("generate", *images, "--out-dir", out_dir, "--skip-existing", "--overwrite", *FAST)
    assert code != 0 and "not both" in stderr


def test_explain_prints_the_bridges_classes_per_window(v2a, tmp_path):
    image = make_image(tmp_path / "dog.png")
    code, _, stderr = v2a("generate", image, "-o", tmp_path / "dog.wav", "--mapper", "bridge", "--explain",
                          "--duration", "12", "--sidecar", *FAST)
    assert code == 0, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("explain:")]
    assert len(lines) == 2 and all("dog.png" in line for line in lines)  # 12 s: two windows
    windows = json.loads((tmp_path / "dog.wav.json").read_text())["windows"]
    assert [w["explain"] for w in windows][0][0]["class"] in lines[0]
    assert abs(sum(item["weight"] for item in windows[0]["explain"]) - 1.0) < 1e-4


def test_explain_with_another_mapper_says_there_is_nothing_to_list(v2a, tmp_path):
    image = make_image(tmp_path / "dog.png")
    code, _, stderr = v2a("generate", image, "-o", tmp_path / "dog.wav", "--explain", "--duration", "2", *FAST)
    assert code == 0, stderr  # the zoo's mapper is a diffusion mapper, not the bridge
    assert "note: --explain lists the sound classes the zero-shot bridge mixes" in stderr
    assert "is not the bridge" in stderr and "explain:" not in stderr


def test_bad_long_form_options_are_one_line_before_any_model(v2a, tmp_path):
    image = make_image(tmp_path / "dog.png")
    for args, flag in ((["--join", "glue"], "--join"), (["--overlap", "9"], "--overlap"),
                       (["--mix-original", "2"], "--mix-original"), (["--preset", "slow"], "--preset"),
                       (["--start", "5", "--end", "2"], "--end")):
        code, _, stderr = v2a("generate", image, "-o", tmp_path / "x.wav", *args)
        assert code != 0 and flag in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "x.wav").exists()
