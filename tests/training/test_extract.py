"""`v2a extract` on tiny real models and generated videos: shards, skips, splits, resume, ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from v2a_cli.errors import InputError, V2AError
from v2a_cli.training.extract import (
    EXIT_AFTER_SHARDS_ENV,
    finished_shards,
    plan_shards,
    resolve_rank,
    scan_videos,
    shards_for_rank,
)
from v2a_cli.training.splits import assign_splits, hash_split, read_vggsound_csv, vggsound_key

# What the `extract_videos` fixture holds (see tests/training/conftest.py).
EXTRACT_EXPECTED_KEPT = {"a_x-1_000001.mp4", "b_2_000002.mp4", "sub/c_7.mov", "sub/d_000004.mkv"}
EXTRACT_EXPECTED_SKIPS = {  # relative path -> words its reason contains
    "broken_000006.mp4": "unreadable",
    "short_000007.mp4": "too short",
    "silent_000005.mp4": "no audio",
    "unlisted_000008.mp4": "not listed",
}
ALL_FILES = sorted(EXTRACT_EXPECTED_KEPT | set(EXTRACT_EXPECTED_SKIPS))


# -- bookkeeping -------------------------------------------------------------------------------

def test_scan_is_recursive_sorted_and_filters_extensions(extract_videos, tmp_path):
    assert scan_videos(extract_videos) == ALL_FILES  # notes.txt is not a video
    with pytest.raises(InputError, match="not found"):
        scan_videos(tmp_path / "missing")
    with pytest.raises(InputError, match="no videos"):
        scan_videos(tmp_path)


def test_vggsound_names_and_csv():
    assert vggsound_key("clips/--0PQM4-hqg_000030.mp4") == ("--0PQM4-hqg", 30)
    assert vggsound_key("--0PQM4-hqg_30.mkv") == ("--0PQM4-hqg", 30)
    assert vggsound_key("a_b_c_000007.webm") == ("a_b_c", 7)
    assert vggsound_key("holiday.mp4") is None and vggsound_key("_12.mp4") is None


def test_csv_parsing_and_errors(extract_split_csv, tmp_path):
    table = read_vggsound_csv(extract_split_csv)
    assert table[("a_x-1", 1)].label == "dog, barking" and table[("a_x-1", 1)].split == "train"
    assert table[("b_2", 2)].split == "test"
    splits = assign_splits(["a_x-1_000001.mp4", "sub/c_7.mov", "nobody_000001.mp4", "plain.mp4"],
                           split_csv=extract_split_csv)
    assert splits["sub/c_7.mov"].label == "engine"
    assert splits["nobody_000001.mp4"] is None and splits["plain.mp4"] is None
    bad = tmp_path / "bad.csv"
    bad.write_text("abc,1,dog,train\nabc,2,dog,validation\n")
    with pytest.raises(InputError, match="line 2"):
        read_vggsound_csv(bad)
    bad.write_text("abc,1,dog\n")
    with pytest.raises(InputError, match="line 1"):
        read_vggsound_csv(bad)


def test_hash_split_is_stable_and_about_five_percent():
    names = [f"folder/video_{i}.mp4" for i in range(4000)]
    splits = [hash_split(name) for name in names]
    assert splits == [hash_split(name) for name in names]
    assert 0.035 < splits.count("test") / len(names) < 0.065
    # adding files never moves existing ones
    grown = assign_splits(names + ["new.mp4"])
    assert [grown[name].split for name in names] == splits


def test_shards_cover_every_file_once_across_ranks():
    files = [f"{i:03d}.mp4" for i in range(11)]
    shards = plan_shards(files, 3)
    assert [len(shard) for shard in shards] == [3, 3, 3, 2]
    covered = [file for rank in range(3) for index in shards_for_rank(len(shards), rank, 3) for file in shards[index]]
    assert sorted(covered) == files and len(covered) == len(set(covered))


def test_rank_comes_from_torchrun_environment(monkeypatch):
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert resolve_rank() == (2, 4)
    assert resolve_rank(0, 1) == (0, 1)
    with pytest.raises(V2AError):
        resolve_rank(4, 4)


# -- extraction on the tiny zoo ----------------------------------------------------------------

def test_extraction_keeps_good_clips_and_reports_the_rest(extract_cache):
    cache, report = extract_cache
    assert report.clips_kept == 4 and report.clips_skipped == 4
    assert report.shards_total == 4 and report.shards_written == 4 and report.shards_reused == 0

    skipped = [json.loads(line) for line in (cache / "skipped.jsonl").read_text().splitlines()]
    assert {item["path"] for item in skipped} == set(EXTRACT_EXPECTED_SKIPS)
    for item in skipped:
        assert EXTRACT_EXPECTED_SKIPS[item["path"]] in item["reason"], item

    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["shards"] == ["shard-00000", "shard-00001", "shard-00002", "shard-00003"]
    assert manifest["clips_kept"] == 4 and manifest["clips_skipped"] == 4 and manifest["n_shards"] == 4

    kept = {}
    for sidecar in finished_shards(cache).values():
        if not sidecar["clips"]:
            assert sidecar["tensors"] is None  # shard 1 holds only skipped files
            continue
        tensors = load_file(str(cache / sidecar["tensors"]))
        frames, offsets, clap = tensors["frame_clip"], tensors["frame_offsets"], tensors["clap"]
        assert frames.dtype == torch.float16 and offsets.dtype == torch.int64 and clap.dtype == torch.float32
        assert offsets[0] == 0 and offsets[-1] == len(frames) and len(offsets) == len(sidecar["clips"]) + 1
        assert clap.shape == (len(sidecar["clips"]), 512) and frames.shape[1] == 512
        assert torch.allclose(clap.norm(dim=-1), torch.ones(len(clap)), atol=1e-4)
        for row, clip in enumerate(sidecar["clips"]):
            assert offsets[row + 1] - offsets[row] == clip["n_frames"] >= 2
            kept[clip["path"]] = clip
    assert set(kept) == EXTRACT_EXPECTED_KEPT
    assert kept["a_x-1_000001.mp4"]["label"] == "dog, barking" and kept["b_2_000002.mp4"]["split"] == "test"
    assert abs(kept["a_x-1_000001.mp4"]["duration"] - 3.0) < 0.3
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))


def test_rerun_reuses_everything_and_other_models_are_refused(extract_cache, extract_models, extract_videos,
                                                               extract_split_csv):
    from v2a_cli.training.extract import extract_folder

    cache, _ = extract_cache
    before = {path.name: path.read_bytes() for path in cache.glob("shard-*")}
    report = extract_folder(extract_videos, cache, models=extract_models, split_csv=extract_split_csv,
                            shard_size=2, workers=0, batch_size=4, device="cpu")
    assert report.shards_written == 0 and report.shards_reused == 4 and report.clips_kept == 4
    assert {path.name: path.read_bytes() for path in cache.glob("shard-*")} == before

    with pytest.raises(V2AError, match="other models") as caught:
        extract_folder(extract_videos, cache, models=extract_models.with_overrides(clip="hf-hub:someone/else"),
                       split_csv=extract_split_csv, shard_size=2, workers=0, device="cpu")
    assert "\n" not in str(caught.value)
    with pytest.raises(V2AError, match="other settings"):
        extract_folder(extract_videos, cache, models=extract_models, split_csv=extract_split_csv,
                       shard_size=3, workers=0, device="cpu")


def _same_cache(left: Path, right: Path) -> None:
    names = sorted(path.name for path in left.glob("shard-*"))
    assert names == sorted(path.name for path in right.glob("shard-*"))
    for name in names:
        if name.endswith(".json"):
            assert json.loads((left / name).read_text()) == json.loads((right / name).read_text()), name
        else:
            a, b = load_file(str(left / name)), load_file(str(right / name))
            assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a), name
    assert (left / "skipped.jsonl").read_text() == (right / "skipped.jsonl").read_text()


def _run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "v2a_cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_killed_run_resumes_to_the_same_cache(extract_cache, extract_models_toml, extract_videos,
                                              extract_split_csv, tmp_path):
    reference, _ = extract_cache
    cache = tmp_path / "cache"
    common = ["--models", str(extract_models_toml), "--quiet", "extract", "--data", str(extract_videos),
              "--out", str(cache), "--split-csv", str(extract_split_csv), "--shard-size", "2", "--embed-batch-size", "4",
              "--device", "cpu"]
    killed = _run_cli(*common, "--workers", "0", env_extra={EXIT_AFTER_SHARDS_ENV: "1"})
    assert killed.returncode == 17, killed.stderr
    assert sorted(finished_shards(cache)) == [0]

    # The rerun (in-process, to save a second interpreter start) decodes in 2 spawned worker
    # processes and also writes the train pairs.
    from typer.testing import CliRunner

    from v2a_cli.cli import app

    pairs = tmp_path / "train.safetensors"
    resumed = CliRunner().invoke(app, [*common, "--workers", "2", "--pairs-out", str(pairs)])
    assert resumed.exit_code == 0, resumed.output  # skipped files are data, not errors
    assert "3 written, 1 already done" in resumed.stderr and "skipped.jsonl" in resumed.stderr
    assert resumed.stdout.splitlines() == [str(cache), str(pairs)]
    _same_cache(cache, reference)

    from v2a_cli.training.pairs import load_cached_pairs, load_pairs

    assert all(torch.equal(a, b) for a, b in zip(load_pairs(pairs), load_cached_pairs(reference)))


def test_missing_data_folder_fails_with_one_line(tmp_path):
    result = _run_cli("extract", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "cache"))
    assert result.returncode == 1
    assert "nope" in result.stderr and "not found" in result.stderr and "Traceback" not in result.stderr


def test_two_ranks_cover_every_file_exactly_once(extract_cache, extract_models, extract_videos, tmp_path):
    from v2a_cli.training.extract import extract_folder

    cache = tmp_path / "cache"
    reports = [extract_folder(extract_videos, cache, models=extract_models, shard_size=2, workers=0, batch_size=4,
                              device="cpu", rank=rank, world_size=2) for rank in (0, 1)]
    assert [r.shards_written for r in reports] == [2, 2]
    shards = finished_shards(cache)
    assert sorted(shards) == [0, 1, 2, 3]
    seen = [item["path"] for sidecar in shards.values() for item in sidecar["clips"] + sidecar["skipped"]]
    assert sorted(seen) == ALL_FILES
    # Without a CSV the hash split decides and no file is "unlisted": 5 kept, 3 skipped.
    assert sum(r.clips_kept for r in reports) == 5 and sum(r.clips_skipped for r in reports) == 3
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["shards"] == ["shard-00000", "shard-00001", "shard-00002", "shard-00003"]
    # The same clips give the same embeddings whichever rank made them.
    reference, _ = extract_cache
    a = load_file(str(cache / "shard-00000.safetensors"))
    b = load_file(str(reference / "shard-00000.safetensors"))
    assert torch.equal(a["clap"], b["clap"]) and torch.equal(a["frame_clip"], b["frame_clip"])


def test_clap_targets_are_the_conditions_audioldm_would_make(extract_cache, extract_models, extract_videos):
    """Every training target is the CLAP embedding of `load_audio_for_clap` (AudioLDM's read_wav_file path),
    the same function audio sources of generate/compose go through."""
    from v2a_cli.embeddings.clap import load_audio_for_clap
    from v2a_cli.loaders import load_model

    cache, _ = extract_cache
    clap_encoder = load_model("clap", extract_models.clap, device="cpu")
    for sidecar in finished_shards(cache).values():
        if not sidecar["clips"]:
            continue
        targets = load_file(str(cache / sidecar["tensors"]))["clap"]
        expected = clap_encoder.encode_audio([load_audio_for_clap(extract_videos / clip["path"])
                                              for clip in sidecar["clips"]])
        assert torch.allclose(targets, expected, atol=1e-5), sidecar["clips"]


def test_extract_with_nothing_usable_exits_1_and_names_each_clip(tmp_path, extract_models_toml):
    from v2a_cli.testing.media import make_video

    make_video(tmp_path / "data" / "silent.mp4", seconds=1.0, with_audio=False)
    result = _run_cli("--models", str(extract_models_toml), "extract", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "cache"),
                      "--workers", "0")
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'data'}: no usable clips, 0 clips kept, 1 skipped: silent.mp4: no audio track; "
        "fix or replace these videos"]


def test_a_video_whose_first_audio_packet_is_damaged_is_kept_with_a_note(tmp_path, extract_models):
    from v2a_cli.notes import notes_to
    from v2a_cli.testing.media import make_video_with_damaged_audio
    from v2a_cli.training.extract import extract_folder

    make_video_with_damaged_audio(tmp_path / "data" / "first_000001.avi", damaged=(0,), seconds=2.0)
    notes: list[str] = []
    with notes_to(notes.append):
        report = extract_folder(tmp_path / "data", tmp_path / "cache", models=extract_models, workers=0)
    assert (report.clips_kept, report.clips_skipped) == (1, 0), report.skipped
    assert len(notes) == 1 and "first_000001.avi: 1 of " in notes[0] and "audio packets do not decode" in notes[0]


def test_rerunning_a_finished_extract_with_pairs_out_is_a_no_op_that_exits_0(tmp_path, extract_models_toml, capsys):
    from v2a_cli.cli import main
    from v2a_cli.testing.media import make_video

    make_video(tmp_path / "data" / "a_000001.mp4", seconds=2.0, fps=8, size=(64, 64))
    pairs = tmp_path / "train.safetensors"
    command = ["--models", str(extract_models_toml), "--quiet", "extract", "--data", str(tmp_path / "data"),
               "--out", str(tmp_path / "cache"), "--workers", "0", "--pairs-out", str(pairs)]

    def run() -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_:
            main(command)
        out, err = capsys.readouterr()
        return exit_.value.code, out, err

    code, out, err = run()
    assert code == 0 and pairs.is_file(), err
    written = pairs.read_bytes()
    code, out, err = run()  # as docs/data.md says: rerun the same command
    assert code == 0, err
    assert out.splitlines() == [str(tmp_path / "cache"), str(pairs)] and pairs.read_bytes() == written
    assert f"note: {pairs}: up to date with the cache; left as it is" in err

    pairs.write_bytes(b"someone else's file")  # not this cache's pairs: still refused, before any work
    code, out, err = run()
    assert code == 1 and "output exists; pass --overwrite" in err and pairs.read_bytes() == b"someone else's file"
