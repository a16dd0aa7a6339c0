"""SSV2A's released layout (written by the zoo) -> v2a's cached safetensors conversion -> SSV2AMapper."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest
import torch

from v2a_cli.errors import CheckpointError
from v2a_cli.mapper import load_mapper
from v2a_cli.mapper.ssv2a import SSV2AMapper
from v2a_cli.mapper.protocol import MapperSampling


@pytest.fixture(scope="module")
def ssv2a_dir(tmp_path_factory):
    from v2a_cli.testing.zoo_ssv2a import build_ssv2a

    return build_ssv2a(tmp_path_factory.mktemp("ssv2a") / "release")


def test_folder_and_either_file_load_the_same_mapper(ssv2a_dir):
    clip = torch.nn.functional.normalize(torch.randn(2, 512, generator=torch.Generator().manual_seed(0)), dim=-1)
    outputs = []
    for spec in (ssv2a_dir, ssv2a_dir / "ssv2a.pth", ssv2a_dir / "ssv2a.json"):
        mapper = load_mapper(str(spec))
        assert isinstance(mapper, SSV2AMapper) and mapper.has_aggregator and mapper.slots == 8
        assert mapper.clip_spec is None and mapper.clip_dim == 512  # a 512-d CLIP is not SSV2A's ViT-L/14
        outputs.append(mapper.map(clip, seeds=[1, 2], sampling=MapperSampling(var_samples=2, cycle_its=1, cycle_samples=2)))
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])
    assert torch.allclose(outputs[0].norm(dim=-1), torch.ones(2), atol=1e-5)


def test_conversion_is_cached_and_loadable_directly(ssv2a_dir):
    from v2a_cli.mapper.ssv2a.checkpoint import converted_folder, original_files

    folder = converted_folder(*original_files(ssv2a_dir))
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "ssv2a" and config["aggregator"] is True
    assert config["ssv2a"]["remixer"]["slot"] == 8
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    load_mapper(str(ssv2a_dir))
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # not converted again
    assert isinstance(load_mapper(str(folder)), SSV2AMapper)


def test_released_clip_l14_width_declares_its_clip(tmp_path):
    from v2a_cli.mapper.ssv2a.checkpoint import CLIP_L14
    from v2a_cli.testing.zoo_ssv2a import build_ssv2a

    mapper = load_mapper(str(build_ssv2a(tmp_path / "l14", clip_dim=768, aggregator=False)))
    assert mapper.clip_spec == CLIP_L14 and mapper.clip_dim == 768 and not mapper.has_aggregator


def test_bad_files_are_one_line_errors(ssv2a_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(ssv2a_dir, broken)
    (broken / "ssv2a.pth").write_bytes((ssv2a_dir / "ssv2a.pth").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="ssv2a.pth: cannot read it safely"):
        load_mapper(str(broken))
    missing = tmp_path / "missing"
    missing.mkdir()
    shutil.copy(ssv2a_dir / "ssv2a.json", missing / "ssv2a.json")
    with pytest.raises(CheckpointError, match="ssv2a.pth: missing"):
        load_mapper(str(missing))
    wrong = tmp_path / "wrong"
    shutil.copytree(ssv2a_dir, wrong)
    config = json.loads((wrong / "ssv2a.json").read_text())
    config["manifold_dim"] = 16
    (wrong / "ssv2a.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="weights do not match ssv2a.json"):
        load_mapper(str(wrong))


class _Payload:
    def __reduce__(self):
        return (os.getcwd, ())


def test_a_pth_holding_code_is_refused(ssv2a_dir, tmp_path):
    evil = tmp_path / "evil"
    shutil.copytree(ssv2a_dir, evil)
    with open(evil / "ssv2a.pth", "wb") as f:
        pickle.dump({"manifold_state": _Payload()}, f, protocol=2)
    with pytest.raises(CheckpointError, match="cannot read it safely"):
        load_mapper(str(evil))


def test_sampling_options_are_validated(ssv2a_dir):
    from v2a_cli.errors import V2AError

    mapper = load_mapper(str(ssv2a_dir))
    with pytest.raises(V2AError, match="--cycle-samples 0"):
        mapper.map(torch.zeros(1, 512), seeds=[0], sampling=MapperSampling(cycle_samples=0))
    with pytest.raises(V2AError, match="width 512"):
        mapper.map(torch.zeros(1, 768), seeds=[0])


def test_aggregator_turns_frames_into_one_unit_clap(ssv2a_dir):
    mapper = load_mapper(str(ssv2a_dir))
    frames = torch.nn.functional.normalize(torch.randn(4, 512), dim=-1)
    a = mapper.aggregate(frames, seed=3)
    assert a.shape == (512,) and abs(float(a.norm()) - 1) < 1e-5
    assert torch.equal(a, mapper.aggregate(frames, seed=3))
