"""The pairs file format, and pairs aggregated from a real extraction cache."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from v2a_cli.errors import InputError, OutputExistsError, V2AError
from v2a_cli.training.pairs import (
    export_pairs,
    load_cached_pairs,
    load_cached_pairs_with_names,
    load_pair_names,
    load_pairs,
    save_pairs,
)


def _unit_rows(n: int, d: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_save_then_load_round_trips_tensors_and_names(tmp_path):
    clip, clap = _unit_rows(5, 512, 0), _unit_rows(5, 512, 1)
    path = save_pairs(tmp_path / "pairs.safetensors", clip, clap, names=[f"clip{i}.mp4" for i in range(5)])
    loaded_clip, loaded_clap = load_pairs(path)
    assert torch.equal(loaded_clip, clip) and torch.equal(loaded_clap, clap)
    assert loaded_clip.dtype == loaded_clap.dtype == torch.float32
    assert load_pair_names(path) == [f"clip{i}.mp4" for i in range(5)]
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.safetensors"]  # no temp file left behind
    with pytest.raises(OutputExistsError):
        save_pairs(path, clip, clap)
    save_pairs(path, clip[:2], clap[:2], overwrite=True)
    assert len(load_pairs(path)[0]) == 2 and load_pair_names(path) is None


@pytest.mark.parametrize("make, problem", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b"\x00" * 40), "not a readable"),
    (lambda p: save_file({"clip": torch.zeros(3, 8)}, str(p)), "no clap"),
    (lambda p: save_file({"clip": torch.zeros(3, 8), "clap": torch.zeros(2, 8)}, str(p)), "3 clip rows but 2"),
    (lambda p: save_file({"clip": torch.zeros(3, 8, dtype=torch.float16), "clap": torch.zeros(3, 8)}, str(p)),
     "float16, expected float32"),
    (lambda p: save_file({"clip": torch.zeros(3), "clap": torch.zeros(3)}, str(p)), "[N, D]"),
])
def test_bad_pairs_files_raise_one_line_naming_the_file(tmp_path, make, problem):
    path = tmp_path / "bad.safetensors"
    make(path)
    with pytest.raises(InputError) as caught:
        load_pairs(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def _clip_frames(cache, relative_path):
    """The float frame embeddings of one clip, read straight from its shard."""
    from v2a_cli.training.extract import finished_shards

    for sidecar in finished_shards(cache).values():
        for row, clip in enumerate(sidecar["clips"]):
            if clip["path"] == relative_path:
                tensors = load_file(str(cache / sidecar["tensors"]))
                offsets = tensors["frame_offsets"]
                return tensors["frame_clip"][offsets[row]:offsets[row + 1]].float(), tensors["clap"][row]
    raise AssertionError(relative_path)


def test_aggregators_follow_their_definitions(extract_cache):
    cache, _ = extract_cache
    average_clip, average_clap, names = load_cached_pairs_with_names(cache, split="all", aggregate="average")
    middle_clip, _ = load_cached_pairs(cache, split="all", aggregate="middle")
    assert sorted(names) == ["a_x-1_000001.mp4", "b_2_000002.mp4", "sub/c_7.mov", "sub/d_000004.mkv"]
    for row, name in enumerate(names):
        frames, clap = _clip_frames(cache, name)
        assert torch.allclose(average_clip[row], F.normalize(frames.mean(0), dim=-1))
        assert torch.allclose(middle_clip[row], F.normalize(frames[len(frames) // 2], dim=-1))
        assert torch.equal(average_clap[row], clap)
    assert torch.allclose(average_clip.norm(dim=-1), torch.ones(len(names)))


def test_random_aggregator_is_seeded_and_picks_real_frames(extract_cache):
    cache, _ = extract_cache
    first, _ = load_cached_pairs(cache, split="all", aggregate="random", seed=3)
    again, _ = load_cached_pairs(cache, split="all", aggregate="random", seed=3)
    assert torch.equal(first, again)
    _, _, names = load_cached_pairs_with_names(cache, split="all")
    for row, name in enumerate(names):
        frames, _ = _clip_frames(cache, name)
        candidates = F.normalize(frames, dim=-1)
        assert any(torch.allclose(first[row], frame) for frame in candidates)


def test_splits_select_clips_and_export_writes_a_pairs_file(extract_cache, tmp_path):
    cache, _ = extract_cache
    _, _, train_names = load_cached_pairs_with_names(cache, split="train")
    _, _, test_names = load_cached_pairs_with_names(cache, split="test")
    assert test_names == ["b_2_000002.mp4"]  # the CSV's only test row
    assert sorted(train_names) == ["a_x-1_000001.mp4", "sub/c_7.mov", "sub/d_000004.mkv"]

    out = export_pairs(cache, tmp_path / "train.safetensors", split="train")
    clip, clap = load_pairs(out)
    assert clip.shape[0] == clap.shape[0] == 3 and load_pair_names(out) == train_names
    with pytest.raises(OutputExistsError):
        export_pairs(cache, out)
    with pytest.raises(V2AError, match="aggregate"):
        load_cached_pairs(cache, aggregate="median")


def test_unfinished_or_missing_cache_is_refused(extract_cache, tmp_path):
    import shutil

    with pytest.raises(V2AError, match="not an extraction cache"):
        load_cached_pairs(tmp_path)
    cache, _ = extract_cache
    partial = tmp_path / "partial"
    shutil.copytree(cache, partial)
    (partial / "shard-00001.json").unlink()
    with pytest.raises(V2AError, match="unfinished"):
        load_cached_pairs(partial)


def test_pairs_files_and_shards_get_the_modes_every_other_output_gets(tmp_path):
    """A pairs file or an extraction shard is readable by others as a plain open() makes it (umask 022: 0644),
    even though safetensors replaces the temporary file it is given (a new file with mode 0600)."""
    import os

    from v2a_cli.training.extract import write_atomically

    old = os.umask(0o022)
    try:
        pairs = save_pairs(tmp_path / "pairs.safetensors", _unit_rows(2, 512, 0), _unit_rows(2, 512, 1))
        shard = tmp_path / "shard-00000.safetensors"
        write_atomically(shard, lambda tmp: save_file({"x": torch.zeros(2)}, str(tmp)))
    finally:
        os.umask(old)
    assert oct(pairs.stat().st_mode & 0o777) == oct(0o644)
    assert oct(shard.stat().st_mode & 0o777) == oct(0o644)
