"""`v2a eval --suite paper|av-benchmark|all` on the tiny zoo: real videos, their generated sounds, one JSON.

With random weights the numbers mean nothing; these tests check the mechanics (which metric is computed
from what, pairing, the av-benchmark crop, zero for identical sets) and the reference tests check the
networks and formulas against the original code.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from v2a_cli.cli import main
from v2a_cli.errors import V2AError
from v2a_cli.evaluation.evaluator import AV_METRICS, PAPER_METRICS, SUITES, evaluate, parse_metrics
from v2a_cli.testing.media import make_video, make_wav

AUDIO_LENGTH = "5"  # DeSync compares 4.8 s windows: the shortest length av-benchmark's layout allows


def run_cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
def videos_and_sounds(tmp_path_factory, zoo_models_toml):
    """Three 5-s videos with sound, and the sounds `v2a generate` made for them on the tiny zoo."""
    root = tmp_path_factory.mktemp("suites")
    for i in range(3):
        make_video(root / "videos" / f"clip{i}.mp4", seconds=5.0, fps=25, frequency=300 + 200 * i)
    assert run_cli("--models", str(zoo_models_toml), "--quiet", "generate", str(root / "videos"), "-d",
                   str(root / "generated"), "--steps", "2", "--device", "cpu") == 0
    assert sorted(p.name for p in (root / "generated").iterdir()) == ["clip0.wav", "clip1.wav", "clip2.wav"]
    return root


def test_suite_all_on_videos_and_their_generated_sounds_writes_every_metric_in_one_json(
        videos_and_sounds, zoo_models, zoo_models_toml, tmp_path, capsys):
    root = videos_and_sounds
    out = tmp_path / "all.json"
    code = run_cli("--models", str(zoo_models_toml), "--quiet", "eval", str(root / "generated"), "--refs",
                   str(root / "videos"), "--videos", str(root / "videos"), "--images", str(root / "videos"),
                   "--suite", "all", "--audio-length", AUDIO_LENGTH, "--save-json", str(out), "--device", "cpu")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(out.read_text())
    every = set(PAPER_METRICS) | set(AV_METRICS)
    # IS keeps the reference's 10 parts: 3 files are too few, so each IS is skipped with that reason.
    too_few = {"is", "is_panns", "is_passt"}
    assert set(report["metrics"]) == (every - too_few) | {"kl_sigmoid"}
    assert all("NaN" in report["skipped"][name] for name in too_few)
    assert set(report["metrics"]) | set(report["skipped"]) >= every
    assert all(np.isfinite(value) for value in report["metrics"].values())
    assert report["settings"] == {"metrics": list(SUITES["all"]), "audio_length": 5.0}
    assert report["counts"]["pairs"] == 3
    assert set(report["networks"]) == {"panns", "vggish", "wav2clip", "passt", "imagebind", "synchformer", "clip"}
    assert report["counts"]["ib_score_pairs"] == report["counts"]["desync_pairs"] == 3
    assert "FD_PaSST" in captured.out and "KL_PaSST" in captured.out
    assert "MMAudio-S-16k" in captured.out and "70.19" in captured.out  # the published numbers beside ours
    assert report["published_mmaudio_s_16k"]["desync"] == 0.483


def test_is_of_the_av_benchmark_suite_with_ten_sounds(tmp_path, zoo_models):
    for i in range(10):
        make_wav(tmp_path / "gen" / f"s{i}.wav", seconds=1.0 + 0.1 * i, frequency=150 + 90 * i)
    result = evaluate(tmp_path / "gen", None, metrics="is_panns,is_passt", models=zoo_models, device="cpu")
    assert set(result.metrics) == {"is_panns", "is_panns_std", "is_passt", "is_passt_std"}
    assert all(value >= 1.0 for name, value in result.metrics.items() if not name.endswith("_std"))


def test_fd_of_a_set_against_itself_is_zero_and_kl_of_identical_files_is_zero(videos_and_sounds, zoo_models, tmp_path):
    root = videos_and_sounds
    shutil.copytree(root / "generated", tmp_path / "copy")
    metrics = "fd,fad,kl,fd_passt,fd_panns,fd_vgg,kl_panns,kl_passt"
    result = evaluate(root / "generated", tmp_path / "copy", metrics=metrics, audio_length=5.0,
                      models=zoo_models, device="cpu")
    assert result.metrics == {name: 0.0 for name in metrics.split(",") + ["kl_sigmoid"]}


def test_av_benchmark_metrics_score_the_first_audio_length_seconds(videos_and_sounds, zoo_models, tmp_path):
    """Sounds that differ only after the first second are identical to the av-benchmark metrics at
    --audio-length 1 and different to the paper's, which read the whole file."""
    import soundfile

    wave = (0.3 * np.sin(2 * np.pi * 330 * np.arange(48000) / 16000)).astype(np.float32)
    changed = wave.copy()
    changed[16000:] = 0.2 * np.random.default_rng(0).standard_normal(32000)
    (tmp_path / "gen").mkdir()
    (tmp_path / "ref").mkdir()
    for i in range(3):
        start = np.roll(wave, 5 * i)
        tail = np.roll(changed, 5 * i)
        tail[:16000] = start[:16000]
        soundfile.write(tmp_path / "gen" / f"c{i}.wav", start, 16000)
        soundfile.write(tmp_path / "ref" / f"c{i}.wav", tail, 16000)
    result = evaluate(tmp_path / "gen", tmp_path / "ref", metrics="kl,kl_panns,kl_passt", audio_length=1.0,
                      models=zoo_models, device="cpu")
    assert result.metrics["kl_panns"] == 0.0  # PANNs reads the 16 kHz files as they are: the same samples
    # PaSST reads them resampled to 32 kHz: the resampler's filter, applied before the cut, reaches a few
    # samples past 1 s, so the last milliseconds differ a little (measured 1e-7); the whole files differ by far more.
    assert result.metrics["kl_passt"] < 1e-5 < result.metrics["kl"]


def test_video_metrics_without_videos_are_skipped_with_one_reason_and_the_rest_computed(videos_and_sounds, zoo_models):
    root = videos_and_sounds
    result = evaluate(root / "generated", root / "videos", suite="av-benchmark", audio_length=5.0,
                      models=zoo_models, device="cpu")
    assert {"fd_passt", "fd_panns", "fd_vgg", "kl_panns", "kl_passt"} <= set(result.metrics)
    for name in ("ib_score", "desync"):
        assert "--videos" in result.skipped[name]


def test_a_progress_bar_per_network(videos_and_sounds, zoo_models):
    stages: dict[str, tuple[int, int]] = {}
    evaluate(videos_and_sounds / "generated", videos_and_sounds / "videos", metrics="fd,fd_passt,fd_vgg",
             audio_length=5.0, models=zoo_models, device="cpu",
             progress=lambda stage, done, total: stages.__setitem__(stage, (done, total)))
    assert stages == {f"{side} · {net}": (3, 3) for side in ("generated", "references")
                      for net in ("panns", "passt_av", "vggish_av")}


def test_suites_and_their_metrics():
    assert parse_metrics() == PAPER_METRICS == ("fd", "fad", "cs", "kl", "is")  # the default suite
    assert parse_metrics(None, "av-benchmark") == AV_METRICS
    assert parse_metrics(None, "all") == PAPER_METRICS + AV_METRICS
    assert parse_metrics("desync,fd", "av-benchmark") == ("fd", "desync")  # --metrics picks from any suite
    with pytest.raises(V2AError, match="--suite"):
        parse_metrics(None, "mmaudio")


def test_bad_audio_length_is_refused_before_any_model(videos_and_sounds, capsys):
    code = run_cli("eval", str(videos_and_sounds / "generated"), "--refs", str(videos_and_sounds / "videos"),
                   "--suite", "av-benchmark", "--audio-length", "0")
    assert code == 2 and "--audio-length" in capsys.readouterr().err


def test_desync_through_eval_differs_for_a_sound_delayed_by_0_6_s(zoo_models, tmp_path):
    """DeSync of a video's own sound and of a copy delayed by 0.6 s, through `evaluate` (videos paired by
    name, video features cached, 4.8-s windows). With random weights only the mechanics are checked."""
    from v2a_cli.media.audio import load_audio, write_wav
    from v2a_cli.testing.media import make_av_clip

    video = make_av_clip(tmp_path / "videos" / "flash.mkv", seconds=5.0)
    sound = load_audio(video, sample_rate=16000)
    write_wav(tmp_path / "own" / "flash.wav", sound, 16000)
    write_wav(tmp_path / "delayed" / "flash.wav", np.concatenate([np.zeros(9600, np.float32), sound[:-9600]]), 16000)
    scores = [evaluate(tmp_path / side, None, videos_dir=tmp_path / "videos", metrics="desync", audio_length=5.0,
                       models=zoo_models, device="cpu").metrics["desync"] for side in ("own", "delayed")]
    assert scores[0] != scores[1]


def test_a_too_short_audio_length_skips_the_video_metrics_with_the_reason(videos_and_sounds, zoo_models):
    root = videos_and_sounds
    result = evaluate(root / "generated", root / "videos", videos_dir=root / "videos",
                      metrics="fd_panns,ib_score,desync", audio_length=2.0, models=zoo_models, device="cpu")
    assert set(result.metrics) == {"fd_panns"}
    assert "4.8 s" in result.skipped["desync"] and "4 s" in result.skipped["ib_score"]
    with pytest.raises(V2AError, match="4.8 s"):
        evaluate(root / "generated", None, videos_dir=root / "videos", metrics="desync", audio_length=2.0,
                 models=zoo_models, device="cpu")
