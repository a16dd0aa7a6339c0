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
    assert len(soundfile.read(wav)[0]) == 160000  # 10 s at 16 kHz

    def video_packets(path):
        with av.open(str(path)) as container:
            return [(bytes(p), p.pts) for p in container.demux(container.streams.video[0]) if p.size]

    assert video_packets(mp4) == video_packets(media["video"])
    with av.open(str(mp4)) as container:
        assert len(container.streams.audio) == 1
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        # The 10 s sound is trimmed to the 3 s video (encoder padding aside).
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


def test_candidates_and_eta_from_the_command_line(v2a, media, tmp_path):
    out = tmp_path / "dog.wav"
    code, out_text, err = v2a("generate", str(media["image"]), "-o", str(out), "--duration", "1", "--candidates", "2",
                              "--eta", "1", *FAST)
    assert code == 0, err
    assert out_text.strip() == str(out)
    assert f"{out}: kept candidate" in err and "of 2" in err
    code, _, err = v2a("generate", str(media["image"]), "-o", str(tmp_path / "x.wav"), "--eta", "1",
                       "--scheduler", "dpm", *FAST)
    assert code == 1 and "--eta" in err and len(err.strip().splitlines()) == 1
