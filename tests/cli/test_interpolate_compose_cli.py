"""`v2a interpolate` and `v2a compose` through the real CLI entry point (in-process) on the tiny zoo."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile
import torch

from v2a_cli.testing.media import make_image, make_wav

FAST = ["--duration", "0.5", "--seed", "3"]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-media")
    truncated = root / "half.png"
    make_image(root / "full.png", size=(256, 256))
    truncated.write_bytes((root / "full.png").read_bytes()[:300])
    broken = root / "broken.wav"
    broken.write_bytes(b"RIFF this is no wave")
    return {"image": make_image(root / "dog.png"), "audio": make_wav(root / "frog.wav", seconds=1.0),
            "truncated": truncated, "broken": broken}


@pytest.fixture
def generator_calls(monkeypatch):
    """(embeddings, seeds) of every sampling run of the real AudioLDMGenerator (`sample_latents`, which
    `generate` and long-form windows go through), in order.

    The CLI writes 16-bit WAVs and the tiny zoo's sounds are ~1e-11 loud (all zeros in a WAV), so what
    each command feeds the generator is the meaningful thing to compare.
    """
    from v2a_cli.audioldm.generator import AudioLDMGenerator

    calls: list[tuple[torch.Tensor, list[int]]] = []
    real_sample = AudioLDMGenerator.sample_latents

    def spy(self, embeddings, *, seeds, **kwargs):
        calls.append((embeddings.detach().clone().float(), list(seeds)))
        return real_sample(self, embeddings, seeds=seeds, **kwargs)

    monkeypatch.setattr(AudioLDMGenerator, "sample_latents", spy)
    return calls


def samples(path: Path) -> int:
    info = soundfile.info(path)
    assert info.samplerate == 16000 and info.channels == 1
    return info.frames


def test_interpolate_writes_sorted_steps_and_a_crossfaded_concat(v2a, media, tmp_path, generator_calls):
    out, concat = tmp_path / "walk", tmp_path / "walk.wav"
    code, stdout, stderr = v2a("interpolate", media["image"], "--to-text", "a flute melody", "--steps", "3",
                               "--denoise-steps", "2", "-d", out, "-o", concat, "--crossfade", "0.1", *FAST)
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["00.wav", "01.wav", "02.wav"]
    assert stdout.splitlines() == [str(out / "00.wav"), str(out / "01.wav"), str(out / "02.wav"), str(concat)]
    assert [samples(out / name) for name in ("00.wav", "01.wav", "02.wav")] == [8000] * 3
    assert samples(concat) == 3 * 8000 - 2 * 1600  # two 0.1 s overlaps at 16 kHz
    (path, seeds), = generator_calls
    assert path.shape == (3, 512) and seeds == [3, 3, 3]

    code, _, stderr = v2a("generate", media["image"], "-o", tmp_path / "direct.wav", "--steps", "2", *FAST)
    assert code == 0, stderr
    direct, direct_seeds = generator_calls[1]
    assert torch.equal(path[0], direct[0]) and direct_seeds == [3]  # step 0 is generate's condition


def test_compose_writes_one_file_per_variation(v2a, media, tmp_path, generator_calls):
    # (compose with one source == generate is proven in tests/generation/test_compose.py)
    scene = tmp_path / "scene.wav"
    code, stdout, stderr = v2a("compose", "--image", f"{media['image']}:2", "--text", "heavy rain",
                               "--audio", media["audio"], "-o", scene, "--variations", "2", "--steps", "2", *FAST)
    assert code == 0, stderr
    assert stdout.splitlines() == [str(scene), str(tmp_path / "scene_v2.wav")]
    assert samples(scene) == samples(tmp_path / "scene_v2.wav") == 8000
    (mixes, seeds), = generator_calls
    assert seeds == [3, 4] and not torch.equal(mixes[0], mixes[1])  # the mapper samples per variation


BAD_CASES = {
    "missing start": (["interpolate", "{tmp}/missing.wav", "--to", "{image}", "-d", "{out}"], "missing.wav"),
    "broken end": (["interpolate", "{image}", "--to", "{broken}", "-d", "{out}"], "broken.wav"),
    "one step": (["interpolate", "{image}", "--to", "{audio}", "--steps", "1", "-d", "{out}"], "--steps"),
    "no end": (["interpolate", "{image}", "-d", "{out}"], "--to"),
    "empty text end": (["interpolate", "{image}", "--to", "text: ", "-d", "{out}"], "empty text"),
    "zero denoise steps": (["interpolate", "{image}", "--to", "{audio}", "--denoise-steps", "0", "-d", "{out}"],
                           "--denoise-steps"),
    "two ends": (["interpolate", "{image}", "--to", "{audio}", "--to-text", "rain", "-d", "{out}"], "exactly one"),
    "unknown type": (["interpolate", "{image}", "--to", "{tmp}/notes.xyz", "-d", "{out}"], "notes.xyz"),
    "zero weight": (["compose", "--image", "{image}:0", "-o", "{out}/scene.wav"], "positive"),
    "negative weight": (["compose", "--text", "rain", "--audio", "{audio}:-1", "-o", "{out}/scene.wav"], "positive"),
    "65 sources": (["compose", *["--text", "rain"] * 65, "-o", "{out}/scene.wav"], "at most 64"),
    "no sources": (["compose", "-o", "{out}/scene.wav"], "no sources"),
    "missing source": (["compose", "--text", "rain", "--audio", "{tmp}/gone.wav", "-o", "{out}/scene.wav"], "gone.wav"),
    "truncated image": (["compose", "--text", "rain", "--image", "{truncated}", "-o", "{out}/scene.wav"], "half.png"),
    "image as audio": (["compose", "--audio", "{image}", "-o", "{out}/scene.wav"], "--image"),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_nonzero_exit_and_nothing_written(v2a, media, tmp_path, case):
    out = tmp_path / "out"
    (tmp_path / "notes.xyz").write_text("?")
    args, needle = BAD_CASES[case]
    values = {**{k: str(v) for k, v in media.items()}, "out": str(out), "tmp": str(tmp_path)}
    code, stdout, stderr = v2a(*[arg.format(**values) for arg in args])
    assert code != 0
    error_lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and error_lines[0].startswith("error:") and needle in error_lines[0], stderr
    assert not out.exists() or list(out.rglob("*")) == []
    assert stdout == ""


def test_existing_outputs_are_kept_unless_overwrite(v2a, media, tmp_path):
    out = tmp_path / "walk"
    out.mkdir()
    (out / "01.wav").write_bytes(b"keep me")
    code, _, stderr = v2a("interpolate", media["image"], "--to", media["audio"], "--steps", "3", "-d", out)
    assert code != 0 and "--overwrite" in stderr and "01.wav" in stderr
    assert [p.name for p in out.iterdir()] == ["01.wav"] and (out / "01.wav").read_bytes() == b"keep me"

    scene = tmp_path / "scene_v2.wav"
    scene.write_bytes(b"keep me too")
    code, _, stderr = v2a("compose", "--text", "rain", "-o", tmp_path / "scene.wav", "-n", "2")
    assert code != 0 and "scene_v2.wav" in stderr and scene.read_bytes() == b"keep me too"
    assert not (tmp_path / "scene.wav").exists()


def test_compose_and_interpolate_make_long_sounds_through_the_one_sampler(v2a, media, tmp_path, generator_calls):
    scene = tmp_path / "scene.wav"
    code, _, stderr = v2a("compose", "--text", "heavy rain", "--image", media["image"], "-o", scene,
                          "--duration", "30", "--steps", "1", "--sidecar", "--seed", "3")
    assert code == 0, stderr
    assert samples(scene) == 30 * 16000
    import json

    sidecar = json.loads((tmp_path / "scene.wav.json").read_text())
    assert sidecar["kind"] == "compose" and len(sidecar["windows"]) == 4
    assert [w["join"] for w in sidecar["windows"]] == ["first", "continue", "continue", "continue"]
    assert {"generator", "clip", "mapper", "clap"} <= set(sidecar["models"])

    out = tmp_path / "walk"
    code, stdout, stderr = v2a("interpolate", "--from-text", "a dog", "--to-text", "a flute", "--steps", "2",
                               "-d", out, "--duration", "20", "--denoise-steps", "1", "-o", tmp_path / "w.wav")
    assert code == 0, stderr
    assert [samples(out / name) for name in ("00.wav", "01.wav")] == [20 * 16000] * 2
    assert samples(tmp_path / "w.wav") == 2 * 20 * 16000 - 1600


def test_compose_and_interpolate_skip_existing_outputs(v2a, media, tmp_path, generator_calls):
    (tmp_path / "scene.wav").write_bytes(b"keep")
    code, stdout, stderr = v2a("compose", "--text", "rain", "-o", tmp_path / "scene.wav", "-n", "2",
                               "--skip-existing", *FAST)
    assert code == 0, stderr
    assert stdout.split() == [str(tmp_path / "scene_v2.wav")] and "skipped" in stderr
    assert (tmp_path / "scene.wav").read_bytes() == b"keep"
    (_, seeds), = generator_calls
    assert seeds == [4]  # only variation 2 was made, with its own seed


def test_compose_var_samples_means_what_generate_and_docs_sources_say(v2a):
    """One meaning in every command: not given, SSV2A averages the preset's draws (fast 16), as docs/sources.md
    says; compose used to show (and pass) a default of 1."""
    import typer.main

    from v2a_cli.cli import app
    from v2a_cli.cli.params import prepare_commands

    group = prepare_commands(typer.main.get_command(app))
    for name in ("compose", "generate"):
        [option] = [p for p in group.commands[name].params if "--var-samples" in p.opts]
        assert option.default is None and "fast 16" in option.help, name
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sources.md").read_text()
    assert "| `--var-samples N` | 16 (`--preset paper`: 64) |" in docs
