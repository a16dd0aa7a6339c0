"""Real-media faults through the CLI: a video whose first audio packet does not decode (FFmpeg plays it)."""

from __future__ import annotations

import av
import pytest

from v2a_cli.testing.media import make_image, make_video_with_damaged_audio

FAST = ["--steps", "2"]


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged-media")
    return {
        "first": make_video_with_damaged_audio(root / "first.avi", damaged=(0,), seconds=2.0),
        "nothing": make_video_with_damaged_audio(root / "nothing.avi", damaged=tuple(range(1000)), seconds=1.0),
        "image": make_image(root / "dog.png"),
    }


@pytest.fixture
def no_models(monkeypatch):
    """Any model load fails the test: the checks under test must come first."""
    import v2a_cli.loaders

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the up-front checks failed")

    monkeypatch.setattr(v2a_cli.loaders, "load_model", refuse)


def notes_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note:")]


def test_mix_original_keeps_a_video_whose_first_audio_packet_is_damaged(v2a, damaged, tmp_path):
    out = tmp_path / "first.mp4"
    code, out_text, err = v2a("generate", damaged["first"], "-o", out, "--mix-original", "0.5", *FAST)
    assert code == 0, err
    assert out_text.strip() == str(out)
    assert len(notes_of(err)) == 1 and "1 of " in err and "audio packets do not decode; skipped them" in err
    with av.open(str(out)) as container:
        assert len(container.streams.audio) == 1 and len(container.streams.video) == 1


def test_mix_original_refuses_a_sound_that_does_not_decode_before_any_model_loads(v2a, damaged, tmp_path,
                                                                                   no_models):
    code, out_text, err = v2a("generate", damaged["nothing"], "-o", tmp_path / "x.mp4", "--mix-original", "0.5",
                              *FAST)
    assert code == 1 and out_text == ""
    assert err.strip().splitlines() == [
        line for line in err.strip().splitlines() if line.startswith(f"error: {damaged['nothing']}: audio track does not decode")]
    assert len(err.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_compose_audio_takes_a_video_whose_first_audio_packet_is_damaged(v2a, damaged, tmp_path):
    out = tmp_path / "scene.wav"
    code, out_text, err = v2a("compose", "--audio", damaged["first"], "--text", "rain", "-o", out,
                              "--duration", "0.5", *FAST)
    assert code == 0, err
    assert out.is_file() and len(notes_of(err)) == 1 and "audio packets do not decode" in err


def test_compose_audio_that_does_not_decode_is_refused_before_any_model_loads(v2a, damaged, tmp_path, no_models):
    code, _, err = v2a("compose", "--audio", damaged["nothing"], "-o", tmp_path / "scene.wav", *FAST)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "audio track does not decode" in err
    code, _, err = v2a("compose", "--audio", damaged["image"], "-o", tmp_path / "scene.wav", *FAST)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "is an image; pass it with --image" in err
    assert list(tmp_path.iterdir()) == []


def test_a_png_named_mp4_gets_duration_seconds_and_video_settings_on_pictures_are_noted(v2a, damaged, tmp_path):
    import shutil

    import soundfile

    picture = shutil.copy(damaged["image"], tmp_path / "photo.mp4")
    out = tmp_path / "photo.wav"
    code, _, err = v2a("generate", picture, "-o", out, "--duration", "2", "--start", "1", *FAST)
    assert code == 0, err
    assert soundfile.info(out).frames == 32000  # --duration, not a 0.04 s "video"
    assert f"note: {picture}: --start applies to videos only; this image gets --duration seconds of sound" in err


KILLED_WHILE_MUXING = """
import os, signal, sys
import v2a_cli.media.mux as mux

real_encode = mux._encode_audio

def encode_then_sigterm(*args, **kwargs):  # SIGTERM arrives while the output video is being written
    packets = real_encode(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
    return packets

mux._encode_audio = encode_then_sigterm
from v2a_cli.cli import main
main(sys.argv[1:])
"""


def test_sigterm_while_a_video_is_muxed_leaves_no_part_file(zoo_models_toml, tmp_path):
    """kill / timeout / systemd / docker stop send SIGTERM: it unwinds like Ctrl-C (exit 143, one line),
    so the hidden .NAME.XXXX.part.mp4 is removed and nothing half-written stays."""
    import subprocess
    import sys

    from v2a_cli.testing.media import make_video

    video = make_video(tmp_path / "in" / "street.mp4", seconds=1.0)
    out_dir = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", KILLED_WHILE_MUXING, "--models", str(zoo_models_toml), "--quiet",
                             "generate", str(video), "--out-dir", str(out_dir), "--as-video", "--steps", "2"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 143, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: terminated (SIGTERM)")
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in out_dir.iterdir()) == []  # no .street.*.part.mp4, no street.mp4
