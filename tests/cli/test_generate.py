"""`v2a generate` end to end on the tiny zoo, through the real CLI entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from v2a_cli.testing.media import make_image, make_video

FAST = ["--steps", "2"]


def run_v2a(*args: str, env_extra: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "v2a_cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    return {
        "image": make_image(root / "dog.png"),
        "video": make_video(root / "street.mp4", seconds=3.0, fps=10),
        "silent_video": make_video(root / "silent.mp4", seconds=2.0, with_audio=False),
    }


def test_image_to_wav_has_the_right_length_and_rate(v2a, media, tmp_path):
    out = tmp_path / "dog.wav"
    code, out_text, err = v2a("generate", str(media["image"]), "-o", str(out),
                     "--duration", "2.5", *FAST)
    assert code == 0, err
    audio, rate = soundfile.read(out)
    assert rate == 16000 and audio.ndim == 1 and len(audio) == 40000
    assert out_text.strip() == str(out)  # machine-readable: the written path on stdout


def test_video_to_wav_and_to_mp4_with_untouched_video_packets(v2a, media, tmp_path):
    wav, mp4 = tmp_path / "street.wav", tmp_path / "street_sound.mp4"
    for out in (wav, mp4):
        code, out_text, err = v2a("generate", str(media["video"]), "-o", str(out), *FAST)
        assert code == 0, err
    assert len(soundfile.read(wav)[0]) == 48000  # the whole 3 s video at 16 kHz

    def video_packets(path):
        with av.open(str(path)) as container:
            return [(bytes(p), p.pts) for p in container.demux(container.streams.video[0]) if p.size]

    assert video_packets(mp4) == video_packets(media["video"])
    with av.open(str(mp4)) as container:
        assert len(container.streams.audio) == 1
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        # The sound covers the 3 s video (encoder padding aside).
        assert abs(samples / stream.rate - 3.0) < 0.1


def test_same_seed_same_audio_other_seed_other_audio(v2a, media, tmp_path):
    outs = {}
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        out = tmp_path / f"{name}.wav"
        code, out_text, err = v2a("generate", str(media["image"]), "-o", str(out),
                         "--seed", seed, "--duration", "1", *FAST)
        assert code == 0, err
        outs[name] = soundfile.read(out)[0]
    assert np.array_equal(outs["a"], outs["b"])
    assert not np.array_equal(outs["a"], outs["c"])


def test_out_dir_names_outputs_after_inputs_with_variations(v2a, media, tmp_path):
    out_dir = tmp_path / "sounds"
    code, out_text, err = v2a("generate", str(media["image"]), str(media["video"]),
                     "--out-dir", str(out_dir), "--variations", "2", "--duration", "1", *FAST)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["dog.wav", "dog_v2.wav", "street.wav", "street_v2.wav"]


def test_bad_inputs_are_one_line_each_and_the_rest_is_generated(v2a, media, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.mp4").write_text("this is not a video")
    (bad / "empty.png").write_bytes(b"")
    half = bad / "half.jpg"
    make_image(tmp_path / "full.jpg", size=(256, 256))
    half.write_bytes((tmp_path / "full.jpg").read_bytes()[:300])
    truncated = bad / "truncated.mp4"
    truncated.write_bytes(media["video"].read_bytes()[:2000])
    unknown = bad / "thing.xyz"
    unknown.write_text("?")
    missing = bad / "missing.png"
    out_dir = tmp_path / "out"
    inputs = [str(p) for p in (bad / "notes.mp4", bad / "empty.png", half, truncated, unknown, missing, media["image"])]
    code, out_text, err = v2a("generate", *inputs, "--out-dir", str(out_dir),
                     "--duration", "1", *FAST)
    assert code != 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["dog.wav"]
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    for name in ("notes.mp4", "empty.png", "half.jpg", "truncated.mp4", "thing.xyz", "missing.png"):
        assert sum(name in line for line in error_lines) == 1, (name, err)
    assert "Traceback" not in err


def test_existing_output_is_refused_unless_overwrite(v2a, media, tmp_path):
    out = tmp_path / "dog.wav"
    out.write_bytes(b"keep me")
    code, out_text, err = v2a("generate", str(media["image"]), "-o", str(out), *FAST)
    assert code != 0 and "--overwrite" in err
    assert out.read_bytes() == b"keep me"
    code, out_text, err = v2a("generate", str(media["image"]), "-o", str(out),
                     "--overwrite", "--duration", "1", *FAST)
    assert code == 0, err
    assert soundfile.read(out)[1] == 16000


def test_unavailable_model_is_one_line_and_fast(media, tmp_path):
    out = tmp_path / "x.wav"
    result = run_v2a("generate", str(media["image"]), "-o", str(out), *FAST,
                     env_extra={"HF_HUB_OFFLINE": "1", "V2A_MODELS": "", "V2A_CACHE": str(tmp_path / "cache"),
                                "HF_HOME": str(tmp_path / "hf")})
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "not available" in lines[0] and "HF_HUB_OFFLINE" in lines[0], result.stderr
    assert not out.exists()


def test_version_is_eager_and_light():
    result = run_v2a("--version")
    assert result.returncode == 0 and result.stdout.startswith("v2a ")


@pytest.fixture
def no_models(monkeypatch):
    """Any model load fails the test: the checks under test must come first."""
    import v2a_cli.loaders

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the up-front checks failed")

    monkeypatch.setattr(v2a_cli.loaders, "load_model", refuse)


def test_unwritable_out_dir_is_one_line_before_any_model_loads(v2a, media, tmp_path, monkeypatch, no_models):
    import errno
    import tempfile

    (tmp_path / "afile").write_text("not a folder")
    code, out_text, err = v2a("generate", str(media["image"]), "--out-dir", str(tmp_path / "afile" / "out"), *FAST)
    assert code == 1 and err.strip().count("\n") == 0 and "is a file, not a folder" in err

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    code, out_text, err = v2a("generate", str(media["image"]), str(media["video"]), "--out-dir", str(tmp_path / "ro"),
                              *FAST)
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [f"error: {tmp_path / 'ro'}: read-only file system; choose an output folder "
                                        "on a writable disk"]


def test_a_write_failure_mid_batch_is_one_line_and_the_rest_of_the_batch_continues(v2a, media, tmp_path, monkeypatch):
    import errno

    import v2a_cli.media.audio as audio

    real_write_bytes = Path.write_bytes

    def disk_full_for_dog(self, data):
        if self.name.startswith(".dog."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_bytes(self, data)

    monkeypatch.setattr(audio.Path, "write_bytes", disk_full_for_dog)
    out_dir = tmp_path / "out"
    code, out_text, err = v2a("generate", str(media["image"]), str(media["video"]), "--out-dir", str(out_dir),
                              "--duration", "1", "--batch-size", "1", *FAST)
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {out_dir / 'dog.wav'}: no space left on the disk; free some space or choose another disk"]
    assert sorted(p.name for p in out_dir.iterdir()) == ["street.wav"]  # no partial dog.wav


def test_h264_into_webm_with_video_codec_copy_is_refused_before_any_model_loads(v2a, media, tmp_path, no_models):
    code, out_text, err = v2a("generate", str(media["video"]), "-o", str(tmp_path / "street.webm"),
                              "--video-codec", "copy", *FAST)
    assert code == 1 and "a .webm file cannot hold h264 video as it is; use --video-codec auto" in err
    assert list(tmp_path.iterdir()) == []
    code, out_text, err = v2a("generate", str(media["video"]), "-o", str(tmp_path / "street.webm"),
                              "--video-codec", "h264", *FAST)
    assert code == 1 and "a .webm file cannot hold H.264 video; write .mp4, .mov or .mkv" in err
    assert list(tmp_path.iterdir()) == []


def test_an_old_codec_video_into_mp4_is_reencoded_with_a_note(v2a, tmp_path):
    import av
    import numpy as np

    old = tmp_path / "vtest.avi"
    with av.open(str(old), "w") as container:  # msmpeg4, as old AVI files have it: an .mp4 cannot hold it
        stream = container.add_stream("msmpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(10):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * index, np.uint8),
                                                                   format="rgb24")))
        container.mux(stream.encode(None))
    code, out_text, err = v2a("generate", str(old), "-o", str(tmp_path / "vtest.mp4"), *FAST)
    assert code == 0, err
    assert "video re-encoded as H.264 (a .mp4 file cannot hold msmpeg4 video as it is)" in err
    with av.open(str(tmp_path / "vtest.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264" and container.streams.audio


def test_symlinked_inputs_each_get_their_output(v2a, media, tmp_path):
    links = tmp_path / "links"
    links.mkdir()
    for name in ("one.png", "two.png"):
        (links / name).symlink_to(media["image"])
    out_dir = tmp_path / "out"
    code, out_text, err = v2a("generate", str(links / "one.png"), str(links / "two.png"), str(media["image"]),
                              str(media["image"]), "--out-dir", str(out_dir), "--duration", "1", *FAST)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["dog.wav", "one.wav", "two.wav"]
    assert f"note: {media['image']}: named more than once" in err  # the one de-duplication is said


def test_outputs_renamed_for_a_name_clash_are_announced(v2a, media, tmp_path):
    for folder in ("a", "b"):
        make_image(tmp_path / folder / "x.png")
    out_dir = tmp_path / "out"
    code, out_text, err = v2a("generate", str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png"),
                              "--out-dir", str(out_dir), "--duration", "1", *FAST)
    assert code == 0, err
    assert (f"note: inputs with the same name: {tmp_path / 'a' / 'x.png'} -> {out_dir / 'x.wav'}, "
            f"{tmp_path / 'b' / 'x.png'} -> {out_dir / 'x-2.wav'}") in err


def test_seed_minus_one_is_a_random_seed_that_is_printed(v2a, media, tmp_path):
    import re

    code, out_text, err = v2a("generate", str(media["image"]), "-o", str(tmp_path / "a.wav"), "--seed", "-1",
                              "--duration", "1", *FAST)
    assert code == 0, err
    seed = re.search(r"seed: (\d+) \(random; pass --seed \1 to repeat\)", err).group(1)
    code, _, err = v2a("generate", str(media["image"]), "-o", str(tmp_path / "b.wav"), "--seed", seed,
                       "--duration", "1", *FAST)
    assert code == 0, err
    assert np.array_equal(soundfile.read(tmp_path / "a.wav")[0], soundfile.read(tmp_path / "b.wav")[0])


def test_sound_files_and_pictures_are_recognised_by_content(v2a, media, tmp_path):
    from PIL import Image

    gif = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (32, 32), (80 * i, 0, 0)) for i in range(3)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    Image.new("RGB", (32, 32), (0, 90, 0)).save(tmp_path / "leaf.tif")
    Image.new("RGB", (32, 32), (0, 0, 90)).save(tmp_path / "noname", format="PNG")
    out_dir = tmp_path / "out"
    code, out_text, err = v2a("generate", str(gif), str(tmp_path / "leaf.tif"), str(tmp_path / "noname"),
                              "--out-dir", str(out_dir), "--duration", "1", *FAST)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["anim.wav", "leaf.wav", "noname.wav"]


def test_help_has_no_type_badges_and_a_plain_usage_line(v2a):
    code, out_text, err = v2a("generate", "--help")
    assert code == 0
    assert "Usage: v2a generate [OPTIONS] INPUTS..." in out_text
    for badge in ("<bool>", "<int>", "<float>", "<str>", "<path>", "list[str]", "{inputs}"):
        assert badge not in out_text, badge
    assert "INTEGER" in out_text and "FLOAT" in out_text


def test_missing_local_model_path_gets_no_run_once_online_advice(v2a, media, tmp_path):
    code, out_text, err = v2a("generate", str(media["image"]), "-o", str(tmp_path / "x.wav"),
                              "--mapper", str(tmp_path / "no-such-mapper"), *FAST)
    assert code == 1 and "no-such-mapper" in err and "check the path" in err
    assert "online" not in err and len(err.strip().splitlines()) == 1


def test_library_warnings_are_shown_only_with_v2a_debug(monkeypatch, capsys):
    import warnings

    from v2a_cli.cli.app import library_warnings_captured

    monkeypatch.delenv("V2A_DEBUG", raising=False)
    with library_warnings_captured():
        warnings.warn("Detected pickle protocol 2 in the checkpoint", UserWarning)
    assert "pickle" not in capsys.readouterr().err
    monkeypatch.setenv("V2A_DEBUG", "1")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with library_warnings_captured():
            warnings.warn("Detected pickle protocol 2 in the checkpoint", UserWarning)
    assert [str(w.message) for w in seen] == ["Detected pickle protocol 2 in the checkpoint"]

def test_candidates_and_eta_from_the_command_line(v2a, media, tmp_path):
    out = tmp_path / "dog.wav"
    code, out_text, err = v2a("generate", str(media["image"]), "-o", str(out), "--duration", "1", "--candidates", "2",
                              "--eta", "1", "--scheduler", "ddim", *FAST)
    assert code == 0, err
    assert out_text.strip() == str(out)
    assert f"{out}: kept candidate" in err and "of 2" in err
    code, _, err = v2a("generate", str(media["image"]), "-o", str(tmp_path / "x.wav"), "--eta", "1",
                       "--scheduler", "dpm", *FAST)
    assert code == 2 and "--eta" in err and len(err.strip().splitlines()) == 1  # a wrong command line: exit 2
