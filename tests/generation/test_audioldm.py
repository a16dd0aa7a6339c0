"""AudioLDMGenerator on the tiny AudioLDM folder: loading, conditioning, seeds, batching, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from v2a_cli.errors import CheckpointError, ModelUnavailableError, V2AError
from v2a_cli.audioldm.generator import AudioLDMGenerator
from v2a_cli.loaders import load_model

STEPS = 2


def random_embeddings(count: int, seed: int = 0, scale: float = 3.0) -> torch.Tensor:
    """Not unit-norm on purpose: the generator must normalise them."""
    return torch.randn(count, 512, generator=torch.Generator().manual_seed(seed)) * scale


def capture_class_labels(generator: AudioLDMGenerator) -> tuple[list[torch.Tensor], torch.utils.hooks.RemovableHandle]:
    seen: list[torch.Tensor] = []
    handle = generator.unet.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["class_labels"].clone()), with_kwargs=True)
    return seen, handle


def test_loads_through_the_registry_with_the_real_attributes(audioldm_dir):
    generator = load_model("generator", str(audioldm_dir), device="cpu", dtype=torch.float32)
    assert isinstance(generator, AudioLDMGenerator)
    assert (generator.sample_rate, generator.max_duration, generator.embed_dim) == (16000, 10.24, 512)
    assert generator.device == torch.device("cpu") and generator.dtype == torch.float32
    # AudioLDM's geometry: 10 ms mel frames, latents of 1/4 the mel frames and bins.
    assert (generator.hop_length, generator.mel_bins, generator.vae_scale_factor) == (160, 64, 4)
    assert generator.latent_frames(10.0) == 1024 and generator.latent_frames(2.5) == 256


@pytest.mark.parametrize(("duration", "samples"), [(10.0, 160000), (2.5, 40000)])
def test_output_shape_dtype_and_rate(audioldm, duration, samples):
    audio = audioldm.generate(random_embeddings(2), seeds=[0, 1], steps=STEPS, duration=duration)
    assert audio.shape == (2, samples) and audio.dtype == np.float32
    assert np.isfinite(audio).all() and np.abs(audio).max() > 1e-4


def test_same_seed_same_audio_other_seed_other_audio(audioldm):
    embedding = random_embeddings(1)
    first = audioldm.generate(embedding, seeds=[7], steps=STEPS, duration=1.0)
    again = audioldm.generate(embedding, seeds=[7], steps=STEPS, duration=1.0)
    other = audioldm.generate(embedding, seeds=[8], steps=STEPS, duration=1.0)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize(("scheduler", "eta"), [("ddim", 0.0), ("ddim", 0.7), ("dpm", 0.0)])
def test_an_items_audio_does_not_depend_on_its_batch(audioldm, scheduler, eta):
    embeddings = random_embeddings(3, seed=1)
    options = dict(steps=STEPS, duration=1.0, scheduler=scheduler, eta=eta)
    alone = audioldm.generate(embeddings[1:2], seeds=[5], **options)[0]
    batched = audioldm.generate(embeddings, seeds=[9, 5, 11], **options)[1]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_unet_receives_the_normalised_embedding_and_the_empty_one_as_uncond(audioldm):
    embeddings = random_embeddings(2, seed=2)
    seen, handle = capture_class_labels(audioldm)
    try:
        audioldm.generate(embeddings, seeds=[0, 1], steps=STEPS, guidance=3.0, duration=1.0)
    finally:
        handle.remove()
    assert len(seen) == STEPS
    uncond, cond = seen[0].chunk(2)  # one UNet call per step holds [uncond, cond]
    assert torch.equal(cond, F.normalize(embeddings, dim=-1))
    assert torch.equal(uncond, audioldm.empty_embedding().expand(2, -1))
    assert all(torch.equal(labels, seen[0]) for labels in seen)


def test_unit_embeddings_reach_the_unet_bit_identical(audioldm):
    embedding = F.normalize(random_embeddings(1, seed=3), dim=-1)
    seen, handle = capture_class_labels(audioldm)
    try:
        audioldm.generate(embedding, seeds=[0], steps=1, duration=1.0)
    finally:
        handle.remove()
    assert torch.equal(seen[0][1:], embedding)


def test_negative_embeddings_are_the_uncond_side(audioldm):
    embeddings, negative = random_embeddings(1, seed=4), random_embeddings(1, seed=5)
    seen, handle = capture_class_labels(audioldm)
    try:
        audioldm.generate(embeddings, seeds=[0], steps=1, duration=1.0, negative=negative)
    finally:
        handle.remove()
    assert torch.equal(seen[0][0:1], F.normalize(negative, dim=-1))


def test_guidance_one_skips_the_unconditional_pass(audioldm):
    embeddings = random_embeddings(2, seed=6)
    seen, handle = capture_class_labels(audioldm)
    try:
        audioldm.generate(embeddings, seeds=[0, 1], steps=STEPS, guidance=1.0, duration=1.0)
    finally:
        handle.remove()
    assert len(seen) == STEPS and all(labels.shape == (2, 512) for labels in seen)
    assert torch.equal(seen[0], F.normalize(embeddings, dim=-1))


@pytest.mark.parametrize("scheduler", ["ddim", "dpm", "euler"])
def test_progress_is_called_once_per_step(audioldm, scheduler):
    calls = []
    audioldm.generate(random_embeddings(1), seeds=[0], steps=3, duration=1.0, scheduler=scheduler,
                      progress=lambda step, total: calls.append((step, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_text_embeddings_are_unit_float32_cpu_and_the_empty_one_is_cached(audioldm):
    texts = audioldm.encode_texts(["a dog barks", "rain on a roof"])
    assert texts.shape == (2, 512) and texts.dtype == torch.float32 and texts.device.type == "cpu"
    torch.testing.assert_close(texts.norm(dim=-1), torch.ones(2))
    assert not torch.allclose(texts[0], texts[1])
    assert audioldm.empty_embedding() is audioldm.empty_embedding()
    assert torch.equal(audioldm.empty_embedding(), audioldm.encode_texts([""]))


@pytest.mark.parametrize("bad", [
    dict(duration=10.25), dict(duration=0.0), dict(steps=0), dict(seeds=[0, 1]), dict(scheduler="nope"),
    dict(scheduler="dpm", eta=0.5),
])
def test_bad_requests_are_one_line_errors(audioldm, bad):
    request = dict(seeds=[0], steps=1, duration=1.0) | bad
    with pytest.raises(V2AError) as error:
        audioldm.generate(random_embeddings(1), **request)
    assert "\n" not in str(error.value)


def test_a_folder_with_only_bin_weights_is_refused_without_unpickling(audioldm_dir, tmp_path, monkeypatch):
    folder = tmp_path / "bin-only"
    shutil.copytree(audioldm_dir, folder)
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    torch.save(load_file(weights), folder / "unet" / "diffusion_pytorch_model.bin")
    weights.unlink()

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(CheckpointError, match="unet") as error:
        AudioLDMGenerator.load(str(folder))
    assert "\n" not in str(error.value) and ".bin" in str(error.value)


def test_a_truncated_weight_file_is_a_checkpoint_error(audioldm_dir, tmp_path):
    folder = tmp_path / "truncated"
    shutil.copytree(audioldm_dir, folder)
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="vae") as error:
        AudioLDMGenerator.load(str(folder))
    assert "\n" not in str(error.value)


def test_an_offline_hub_id_is_model_unavailable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as error:
        AudioLDMGenerator.load("v2a-tests/no-such-audioldm")
    assert "\n" not in str(error.value) and "v2a-tests/no-such-audioldm" in str(error.value)


def test_zoo_folder_has_the_real_layout_and_is_deterministic(audioldm_dir, tmp_path):
    from v2a_cli.testing.zoo_generator import build_generator

    index = json.loads((audioldm_dir / "model_index.json").read_text())
    assert index["_class_name"] == "AudioLDMPipeline"
    assert index["unet"] == ["diffusers", "UNet2DConditionModel"]
    assert index["vocoder"] == ["transformers", "SpeechT5HifiGan"]
    unet = json.loads((audioldm_dir / "unet" / "config.json").read_text())
    assert (unet["in_channels"], unet["out_channels"], unet["class_embed_type"]) == (8, 8, "simple_projection")
    assert unet["class_embeddings_concat"] and unet["projection_class_embeddings_input_dim"] == 512
    assert list(unet["cross_attention_dim"]) == list(unet["block_out_channels"])
    vocoder = json.loads((audioldm_dir / "vocoder" / "config.json").read_text())
    assert np.prod(vocoder["upsample_rates"]) == 160 and vocoder["sampling_rate"] == 16000
    scheduler = json.loads((audioldm_dir / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["_class_name"] == "DDIMScheduler" and scheduler["beta_start"] == 0.0015
    assert not list(audioldm_dir.rglob("*.bin"))

    again = build_generator(tmp_path / "again", seed=0)
    for weights in audioldm_dir.rglob("*.safetensors"):
        first, second = load_file(weights), load_file(again / weights.relative_to(audioldm_dir))
        assert first.keys() == second.keys()
        assert all(torch.equal(first[name], second[name]) for name in first)


def test_the_cached_empty_embedding_is_a_plain_tensor_even_when_first_made_inside_generate(audioldm_dir):
    generator = AudioLDMGenerator.load(str(audioldm_dir))
    generator.generate(random_embeddings(1), seeds=[0], steps=1, duration=0.5)
    assert not generator.empty_embedding().is_inference()
