"""`v2a doctor`: model locations without downloading, the report, the CLAP space check, the CLI."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2a_cli.cli import app
from v2a_cli.doctor import SPACE_CHECK_MIN_MEAN, locate_model, run_doctor
from v2a_cli.models_config import ModelsConfig

@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache folder, used instead of the user's."""
    from huggingface_hub import constants

    folder = tmp_path / "hf-hub"
    folder.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(folder))
    return folder


def offline_models(tmp_path: Path) -> ModelsConfig:
    """Local specs only: two that exist, one that does not."""
    (tmp_path / "clip").mkdir()
    (tmp_path / "clap.ckpt").write_bytes(b"x")
    return replace(ModelsConfig(), clip=str(tmp_path / "clip"), clap=str(tmp_path / "clap.ckpt"),
                   generator=str(tmp_path / "no-such-generator"))


def test_locate_local_builtin_named_and_missing_specs(tmp_path):
    (tmp_path / "model").mkdir()
    assert locate_model(str(tmp_path / "model"), kind="clip").status == "local"
    assert locate_model(str(tmp_path / "model"), kind="clip").path == (tmp_path / "model").resolve()
    assert locate_model("bridge", kind="mapper").status == "builtin"
    assert locate_model("vggish", kind="vggish").status == "named"
    missing = locate_model(str(tmp_path / "gone"), kind="clip")
    assert missing.status == "missing" and "no such file" in missing.note


def test_locate_hub_spec_finds_the_cached_snapshot_without_network(hub_cache, monkeypatch):
    snapshot = hub_cache / "models--org--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (hub_cache / "models--org--tiny" / "refs").mkdir()
    (hub_cache / "models--org--tiny" / "refs" / "main").write_text("abc123")

    assert locate_model("hf-hub:org/tiny", kind="clip").path == snapshot
    assert locate_model("org/tiny", kind="clip").status == "cached"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert locate_model("org/other", kind="clip").status == "missing"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert locate_model("org/other", kind="clip").status == "remote"


def test_locate_url_spec_finds_the_downloaded_file(monkeypatch, tmp_path):
    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    url = "https://example.org/files/model.ckpt"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert locate_model(url, kind="clap").status == "remote"
    target = tmp_path / "cache" / "downloads" / hashlib.sha256(url.encode()).hexdigest()[:16] / "model.ckpt"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    assert locate_model(url, kind="clap").path == target


def test_run_doctor_reports_every_role_and_never_raises_on_missing_models(tmp_path, hub_cache):
    report = run_doctor(offline_models(tmp_path), device="cpu")
    roles = {entry.role: entry for entry in report.models}
    assert set(roles) == {"clip", "clap", "generator", "mapper", "detector", "panns", "vggish", "wav2clip", "passt",
                          "imagebind", "synchformer"}
    assert roles["clip"].status == "local" and roles["mapper"].status == "builtin"
    assert roles["generator"].status == "missing"
    assert not report.ok and any("generator" in problem for problem in report.problems)
    assert not report.space_check.ran and "generator" in report.space_check.note
    assert report.versions["torch"] and report.device == "cpu" and report.dtype == "float32"


def test_doctor_cli_json_goes_to_stdout_and_only_the_problems_to_stderr(tmp_path, hub_cache):
    models = offline_models(tmp_path)
    toml = tmp_path / "models.toml"
    toml.write_text("[models]\n" + "".join(f'{role} = "{spec}"\n' for role, spec in vars(models).items()))

    result = CliRunner().invoke(app, ["--models", str(toml), "doctor", "--json", "--device", "cpu"])

    assert result.exit_code == 1  # the generator folder is missing
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["device"] == "cpu"
    assert {entry["role"]: entry["status"] for entry in report["models"]}["generator"] == "missing"
    problems = result.stderr.strip().splitlines()
    assert problems and all(line.startswith("problem:") for line in problems)  # no tables: --json asked for JSON
    result = CliRunner().invoke(app, ["--models", str(toml), "doctor", "--device", "cpu"])
    assert "versions" in result.stderr and "problem:" in result.stderr  # without --json: the tables


def test_doctor_space_check_on_the_tiny_zoo_reports_one_space(zoo_models, tmp_path):
    report = run_doctor(zoo_models, device="cpu")
    check = report.space_check
    assert check.ran, check.note
    assert len(check.cosines) == len(check.captions) == 8
    assert check.mean == pytest.approx(1.0, abs=1e-4) and check.ok
    assert report.ok, report.problems


def test_doctor_space_check_warns_when_the_clap_is_another_space(zoo_models, tmp_path):
    from v2a_cli.testing import zoo_clap

    other = tmp_path / "other-clap.ckpt"
    zoo_clap.write_audioldm_ckpt(zoo_clap.build_tiny_clap_model(seed=1), other)
    report = run_doctor(replace(zoo_models, clap=str(other)), device="cpu")
    assert report.space_check.ran and report.space_check.mean < SPACE_CHECK_MIN_MEAN
    assert not report.ok and "wrong space" in report.space_check.note


def test_v2a_doctor_json_on_the_zoo(v2a):
    # In-process through the real entry function (tests/cli/test_main.py starts `python -m v2a_cli` itself).
    code, out, err = v2a("doctor", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["space_check"]["mean"] == pytest.approx(1.0, abs=1e-4)


@pytest.fixture
def quick_audio_check(monkeypatch):
    import v2a_cli.doctor as doctor

    monkeypatch.setattr(doctor, "AUDIO_CHECK_STEPS", 3)
    monkeypatch.setattr(doctor, "AUDIO_CHECK_SECONDS", 1.0)


def test_doctor_audio_check_runs_on_the_zoo_and_says_it_is_not_meaningful(zoo_models, quick_audio_check):
    report = run_doctor(zoo_models, device="cpu", check_space=False, check_audio=True)
    audio = report.audio_check
    assert audio.ran, audio.note
    assert len(audio.ranks) == len(audio.own_cosines) == len(audio.captions) == 4
    assert all(1 <= rank <= 4 for rank in audio.ranks)
    assert not audio.meaningful and audio.ok is None and "not meaningful" in audio.note
    assert report.ok, report.problems  # a not-meaningful result is not a problem


def test_doctor_audio_check_fails_when_captions_miss_their_own_sound(zoo_models, monkeypatch, quick_audio_check):
    """With real-size models, a caption whose own sound is not the closest is a problem."""
    import v2a_cli.doctor as doctor

    monkeypatch.setattr(doctor, "REAL_UNET_MIN_PARAMS", 0)
    monkeypatch.setattr(doctor, "REAL_CLAP_AUDIO_MIN_PARAMS", 0)
    audio = doctor.audio_check(zoo_models, device=__import__("torch").device("cpu"))
    assert audio.meaningful and audio.ran
    assert audio.ok == all(rank == 1 for rank in audio.ranks)
    if not audio.ok:  # random weights: some caption almost surely misses
        assert "do not rank their own sound first" in audio.note


def test_doctor_audio_check_is_skipped_on_cpu_unless_asked(zoo_models):
    report = run_doctor(zoo_models, device="cpu", check_space=False)
    assert not report.audio_check.ran and "--audio-check" in report.audio_check.note


def test_doctor_with_models_to_download_and_no_network_reports_a_problem(hub_cache, monkeypatch, tmp_path):
    """Nothing cached and the Hub unreachable: not "no problems found" and exit 0."""
    from huggingface_hub import constants

    import socket

    with socket.socket() as closed:  # a port nothing listens on: connection refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    (tmp_path / "clap.ckpt").write_bytes(b"x")  # the default CLAP is a URL of another host: kept off the network
    report = run_doctor(ModelsConfig(clap=str(tmp_path / "clap.ckpt")), device="cpu", check_space=False)
    unreachable = [problem for problem in report.problems if "cannot be reached" in problem]
    assert not report.ok and {problem.split(" ")[0] for problem in unreachable} >= {"clip", "generator"}
    assert all("connect to the Internet once" in problem for problem in unreachable)
