"""The checkpoint folder format: round trip, strict loading, one-line errors for damaged folders."""

from __future__ import annotations

import json

import pytest
import torch

from v2a_cli.errors import CheckpointError
from v2a_cli.mapper import MapperConfig, TrainedMapper, load_mapper
from v2a_cli.loaders import load_model
from v2a_cli.testing.zoo_mapper import build_mapper
from v2a_cli.mapper.protocol import MapperSampling

VARIANTS = [("regression", "mlp"), ("regression", "transformer"), ("diffusion", "mlp"), ("diffusion", "transformer")]


@pytest.mark.parametrize(("kind", "arch"), VARIANTS)
def test_round_trip_gives_the_same_outputs(tmp_path, kind, arch):
    folder = build_mapper(tmp_path / "m", kind=kind, arch=arch, seed=3)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    mapper = load_model("mapper", str(folder))  # the registry path the pipeline uses
    assert isinstance(mapper, TrainedMapper) and mapper.is_generative == (kind == "diffusion")
    clip = torch.randn(4, 512)
    out = mapper.map(clip, seeds=[7, 8, 9, 10])
    assert out.shape == (4, 512) and out.dtype == torch.float32
    assert torch.allclose(out.norm(dim=-1), torch.ones(4), atol=1e-5)

    again = mapper.save_pretrained(tmp_path / "copy")
    reloaded = load_mapper(str(again))
    assert torch.equal(reloaded.map(clip, seeds=[7, 8, 9, 10]), out)
    # inputs are normalised first: scale does not matter
    assert torch.allclose(reloaded.map(clip * 3.0, seeds=[7, 8, 9, 10]), out, atol=1e-6)


def test_generative_mapper_seeds_guidance_and_steps(tmp_path):
    mapper = load_mapper(str(build_mapper(tmp_path / "m", kind="diffusion", arch="mlp")))
    clip = torch.randn(2, 512)
    assert mapper.guidance == 0.9 and mapper.sampling_steps == 10
    assert torch.equal(mapper.map(clip, seeds=[1, 1]), mapper.map(clip, seeds=[1, 1]))
    assert not torch.equal(mapper.map(clip, seeds=[1, 1]), mapper.map(clip, seeds=[2, 2]))
    before = mapper.map(clip, seeds=[1, 1])
    assert not torch.equal(mapper.map(clip, seeds=[1, 1], sampling=MapperSampling(guidance=4.0)), before)
    assert not torch.equal(mapper.map(clip, seeds=[1, 1], sampling=MapperSampling(steps=3)), before)
    # per-call knobs leave the mapper as it was
    assert mapper.guidance == 0.9 and mapper.sampling_steps == 10
    assert torch.equal(mapper.map(clip, seeds=[1, 1]), before)
    with pytest.raises(AttributeError):
        mapper.guidance = 4.0
    with pytest.raises(ValueError, match="seeds"):
        mapper.map(clip, seeds=[1])


@pytest.mark.parametrize("arch", ["mlp", "transformer"])
def test_batched_rows_equal_single_row_results(tmp_path, arch):
    mapper = load_mapper(str(build_mapper(tmp_path / "m", kind="diffusion", arch=arch)))
    clip = torch.randn(6, 512, generator=torch.Generator().manual_seed(0))
    seeds = [11, 3, 3, 7, 0, 42]
    batched = mapper.map(clip, seeds=seeds, sampling=MapperSampling(guidance=1.5, steps=6))
    for row, seed in enumerate(seeds):
        single = mapper.map(clip[row:row + 1], seeds=[seed], sampling=MapperSampling(guidance=1.5, steps=6))
        torch.testing.assert_close(batched[row:row + 1], single, atol=1e-6, rtol=0)
    shuffled = mapper.map(clip[[5, 0, 3]], seeds=[42, 11, 7], sampling=MapperSampling(guidance=1.5, steps=6))
    torch.testing.assert_close(shuffled, batched[[5, 0, 3]], atol=1e-6, rtol=0)
    assert not torch.allclose(batched[1], batched[2])  # same seed, different input


def test_paper_size_default_config_loads(tmp_path):
    folder = build_mapper(tmp_path / "m", kind="regression", arch="mlp", tiny=False)
    config = json.loads((folder / "config.json").read_text())
    assert (config["depth"], config["expansion"], config["format_version"]) == (1, 4, 1)
    assert load_mapper(str(folder)).map(torch.randn(1, 512)).shape == (1, 512)


def test_missing_files_are_checkpoint_errors(tmp_path):
    folder = build_mapper(tmp_path / "m", kind="regression", arch="mlp")
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_mapper(str(folder))
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json"):
        load_mapper(str(folder))


def test_truncated_weights_are_a_checkpoint_error(tmp_path):
    folder = build_mapper(tmp_path / "m", kind="regression", arch="mlp")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="damaged or truncated") as info:
        load_mapper(str(folder))
    assert "\n" not in str(info.value)


def test_config_and_weights_mismatch_is_a_one_line_checkpoint_error(tmp_path):
    folder = build_mapper(tmp_path / "m", kind="regression", arch="mlp")
    config = json.loads((folder / "config.json").read_text())
    config["depth"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not match config.json") as info:
        load_mapper(str(folder))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "gan"}, "unknown mapper variant"),
    ({"format_version": 99}, "newer"),
    ({"surprise": 1}, "unknown mapper config key"),
    # Fields that describe the diffusion process: only what diffusion.py implements is accepted.
    ({"noise_schedule": "linear"}, "noise_schedule 'linear' is not implemented"),
    ({"prediction": "epsilon"}, "prediction 'epsilon' is not implemented"),
    ({"sampling": "ddpm"}, "sampling 'ddpm' is not implemented"),
    ({"null_condition": "zeros"}, "null_condition 'zeros' is not implemented"),
    ({"sampling_eta": 2.0}, "out of range"),
    ({"sampling_steps": 0}, "out of range"),
])
def test_bad_configs_are_checkpoint_errors(tmp_path, change, message):
    folder = build_mapper(tmp_path / "m", kind="regression", arch="mlp")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(CheckpointError, match=message):
        load_mapper(str(folder))


def test_invalid_json_is_a_checkpoint_error(tmp_path):
    folder = build_mapper(tmp_path / "m", kind="regression", arch="mlp")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_mapper(str(folder))


def test_saving_over_an_existing_folder_replaces_it_whole(tmp_path):
    first = build_mapper(tmp_path / "m", kind="regression", arch="mlp", seed=1)
    (first / "stale.txt").write_text("old")
    build_mapper(tmp_path / "m", kind="diffusion", arch="mlp", seed=2)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp folders left behind
    assert load_mapper(str(tmp_path / "m")).is_generative


def test_unknown_variant_is_rejected():
    with pytest.raises(CheckpointError, match="unknown mapper variant"):
        MapperConfig.for_variant("regression", "cnn")


def test_bridge_spec_goes_to_the_bridge_builder(monkeypatch):
    import v2a_cli.mapper.bridge as bridge

    seen = {}
    monkeypatch.setattr(bridge, "build_bridge", lambda models, device="cpu": seen.setdefault("args", (models, device)))
    assert load_mapper("bridge", device="cpu", models="MODELS") == ("MODELS", "cpu")
