"""A wrong command line exits 2 with one line and its --help hint, before any model loads (docs/errors.md)."""

from __future__ import annotations

import pytest

from v2a_cli.testing.media import make_image, make_video


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("command-line")
    return {"image": make_image(root / "dog.png"), "video": make_video(root / "clip.mp4", seconds=1.0)}


@pytest.fixture
def no_models(monkeypatch):
    import v2a_cli.loaders

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the command line was checked")

    monkeypatch.setattr(v2a_cli.loaders, "load_model", refuse)


WRONG = {
    "overwrite and skip-existing": (["generate", "{image}", "-o", "{out}/x.wav", "--overwrite", "--skip-existing"],
                                    "--overwrite or --skip-existing, not both", "generate"),
    "end before start": (["generate", "{video}", "-o", "{out}/x.wav", "--start", "2", "--end", "1"],
                         "--end 1.0: must be after --start", "generate"),
    "batch size zero": (["generate", "{image}", "-o", "{out}/x.wav", "--batch-size", "0"], "--batch-size 0", "generate"),
    "unknown scheduler": (["generate", "{image}", "-o", "{out}/x.wav", "--scheduler", "bogus"],
                          "--scheduler bogus: expected one of ddim, dpm, euler", "generate"),
    "unknown preset": (["compose", "--text", "rain", "-o", "{out}/x.wav", "--preset", "slow"], "--preset slow",
                       "compose"),
    "o and out-dir": (["generate", "{image}", "-o", "{out}/x.wav", "--out-dir", "{out}"], "not both", "generate"),
    "boxes without detect": (["generate", "{image}", "-o", "{out}/x.wav", "--boxes", "{out}/b.png"],
                             "--sources detect", "generate"),
    "compose weight zero": (["compose", "--text", "rain:0", "-o", "{out}/x.wav"], "positive", "compose"),
    "interpolate two ends": (["interpolate", "{image}", "--to", "{image}", "--to-text", "rain", "-d", "{out}"],
                             "exactly one", "interpolate"),
    "a duration of no samples": (["generate", "{image}", "-o", "{out}/x.wav", "--duration", "1e-9"],
                                 "--duration 1e-09: must be from 0.01 to 86400", "generate"),
    "extract min above max": (["extract", "--data", "{out}", "--out", "{out}/cache", "--min-seconds", "20",
                               "--max-seconds", "10"], "--min-seconds 20: must be at most --max-seconds", "extract"),
}


@pytest.mark.parametrize("case", WRONG)
def test_a_wrong_command_line_exits_2_in_one_line_before_any_model_loads(v2a, media, tmp_path, no_models, case):
    args, needle, command = WRONG[case]
    values = {**{key: str(value) for key, value in media.items()}, "out": str(tmp_path)}
    code, out, err = v2a(*[arg.format(**values) for arg in args])
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], err
    assert lines[0].endswith(f"(see 'v2a {command} --help')")
    assert out == "" and sorted(path.name for path in tmp_path.iterdir()) == []


def test_models_works_after_the_command_too(zoo_models_toml, media, tmp_path, capsys):
    from v2a_cli.cli import main

    out = tmp_path / "dog.wav"
    with pytest.raises(SystemExit) as exit_:
        main(["generate", str(media["image"]), "-o", str(out), "--models", str(zoo_models_toml), "--steps", "2",
              "--duration", "0.5", "--quiet"])
    assert exit_.value.code == 0, capsys.readouterr().err
    assert out.is_file()
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "--models", str(tmp_path / "none.toml"), "--no-space-check"])
    assert exit_.value.code == 1 and "none.toml: models file not found" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--mapper", "--generator", "--clip", "--clap"])
def test_a_missing_local_model_path_is_reported_before_any_model_loads(v2a, media, tmp_path, no_models, flag):
    gone = tmp_path / "no-such-model"
    code, out, err = v2a("generate", str(media["image"]), "-o", str(tmp_path / "x.wav"), flag, str(gone))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith(f"error: {flag[2:]} model '{gone}' is not available (no such file or folder")
    assert out == "" and not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("command", [["generate", "{image}", "-o", "{out}/x.wav"], ["doctor"],
                                     ["compose", "--text", "rain", "-o", "{out}/x.wav"],
                                     ["extract", "--data", "{out}", "--out", "{out}/cache"],
                                     ["train", "--data", "{out}", "--out", "{out}/run"],
                                     ["eval", "{out}", "--refs", "{out}"]])
@pytest.mark.parametrize("models", ["folder", "models = 5"])
def test_a_models_folder_or_a_number_is_one_line_in_every_command(media, tmp_path, capsys, command, models):
    from v2a_cli.cli import main

    work = tmp_path / "work"
    work.mkdir()
    if models == "folder":
        spec = tmp_path
    else:
        spec = tmp_path / "models.toml"
        spec.write_text(models + "\n")
    values = {**{key: str(value) for key, value in media.items()}, "out": str(work)}
    with pytest.raises(SystemExit) as exit_:
        main(["--models", str(spec), *[arg.format(**values) for arg in command]])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {spec}: "), err


def test_skip_existing_on_a_finished_batch_loads_no_model(v2a, media, tmp_path, no_models):
    """Rerunning a finished batch with --skip-existing skips everything, even with a model unavailable."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "dog.wav").write_bytes(b"made before")
    (out_dir / "dog_v2.wav").write_bytes(b"made before")
    code, out, err = v2a("generate", str(media["image"]), "--out-dir", str(out_dir), "-n", "2", "--skip-existing",
                         "--generator", "org/not-cached-anywhere")
    assert code == 0, err
    assert out == "" and err.strip().splitlines() == [
        f"note: skipped {out_dir / 'dog.wav'}: it exists (--skip-existing)",
        f"note: skipped {out_dir / 'dog_v2.wav'}: it exists (--skip-existing)"]
    assert (out_dir / "dog.wav").read_bytes() == b"made before"


def test_an_end_past_the_video_is_clamped_with_a_note_and_a_start_past_it_is_refused_early(v2a, media, tmp_path):
    import soundfile

    out = tmp_path / "clip.wav"
    code, _, err = v2a("generate", str(media["video"]), "-o", str(out), "--start", "0.5", "--end", "95",
                       "--steps", "2")
    assert code == 0, err
    assert f"note: {media['video']}: --end 95 s is past the video's end (1.00 s); the sound ends there (0.50 s long)" in err
    assert soundfile.info(out).frames == 8000


def test_a_start_past_the_video_is_refused_before_any_model_loads(v2a, media, tmp_path, no_models):
    code, _, err = v2a("generate", str(media["video"]), "-o", str(tmp_path / "x.wav"), "--start", "60", "--end", "95")
    assert code == 1 and err.strip().splitlines() == [
        f"error: {media['video']}: --start 60 s is at or past the video's end (1.00 s); choose an earlier start"]
