"""A Hub repo published with only pickle (.bin) weights is converted once, safely, and loads the same."""

from __future__ import annotations

import shutil

import torch
from safetensors.torch import load_file

from v2a_cli.audioldm.generator import AudioLDMGenerator
from v2a_cli.testing.zoo_generator import build_generator


def _as_hub_cache_with_bin_weights(source, hub_cache, repo_id="someone/audioldm-bin-only"):
    """Lay `source` out as an offline Hub cache snapshot whose weights are .bin pickles of tensors."""
    commit = "0" * 40
    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    shutil.copytree(source, snapshot)
    for weights in snapshot.rglob("*.safetensors"):
        name = "diffusion_pytorch_model.bin" if weights.name.startswith("diffusion_pytorch_model") else "pytorch_model.bin"
        torch.save(load_file(weights), weights.with_name(name))
        weights.unlink()
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return repo_id


def test_bin_only_hub_repo_is_converted_and_loads_identically(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    folder = build_generator(tmp_path / "generator")
    hub_cache = tmp_path / "hub"
    repo_id = _as_hub_cache_with_bin_weights(folder, hub_cache)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))

    original = AudioLDMGenerator.load(str(folder))
    from_hub = AudioLDMGenerator.load(repo_id)
    assert from_hub.folder != folder and from_hub.folder.is_relative_to(tmp_path.parent)  # our cache, not the HF one
    assert all(any((from_hub.folder / part).glob("*.safetensors")) for part in ("unet", "vae", "vocoder", "text_encoder"))
    for a, b in zip(original.unet.state_dict().values(), from_hub.unet.state_dict().values()):
        assert torch.equal(a, b)
    embedding = torch.nn.functional.normalize(torch.randn(1, 512, generator=torch.Generator().manual_seed(0)), dim=-1)
    kwargs = dict(seeds=[1], steps=2, duration=0.5)
    assert (original.generate(embedding, **kwargs) == from_hub.generate(embedding, **kwargs)).all()
    assert AudioLDMGenerator.load(repo_id).folder == from_hub.folder  # converted once, reused
