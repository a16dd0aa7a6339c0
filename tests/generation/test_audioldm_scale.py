"""The generator's GPU-path knobs, exercised on CPU: bfloat16, device-side scheduler state, compile, batch auto."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from v2a_cli.audioldm.generator import AudioLDMGenerator
from v2a_cli.generation.pipeline import AUTO_CPU_BATCH, GenerateOptions
from v2a_cli.errors import V2AError

STEPS = 3


def embeddings(count: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, 512, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("scheduler", ["ddim", "dpm"])
def test_the_bfloat16_path_runs_and_stays_close_to_float32(audioldm_dir, audioldm, scheduler):
    """The half-precision path CUDA users take (fp16/bf16), run on CPU in bfloat16 so it cannot rot."""
    half = AudioLDMGenerator.load(str(audioldm_dir), device="cpu", dtype=torch.bfloat16)
    assert half.unet.dtype == torch.bfloat16 and half.vae.dtype == torch.bfloat16
    assert half.text_encoder.dtype == torch.float32  # conditions stay float32
    audio = half.generate(embeddings(2), seeds=[0, 1], steps=STEPS, duration=1.0, scheduler=scheduler)
    reference = audioldm.generate(embeddings(2), seeds=[0, 1], steps=STEPS, duration=1.0, scheduler=scheduler)
    assert audio.dtype == np.float32 and audio.shape == reference.shape and np.isfinite(audio).all()
    assert not np.array_equal(audio, reference)  # it really ran in bfloat16
    correlation = np.corrcoef(audio.ravel(), reference.ravel())[0, 1]
    assert correlation > 0.9


@pytest.mark.parametrize("scheduler", ["ddim", "dpm", "euler"])
def test_scheduler_timesteps_stay_on_the_cpu_where_the_scheduler_reads_them(audioldm, scheduler):
    """On CUDA a device timestep indexing the scheduler's CPU tables costs a host sync per step; the
    timesteps the UNet and the scheduler see are CPU tensors (the UNet copies its own to the device)."""
    seen: list[torch.Tensor] = []
    handle = audioldm.unet.register_forward_pre_hook(lambda module, args: seen.append(args[1]))
    try:
        audioldm.generate(embeddings(1), seeds=[0], steps=STEPS, duration=1.0, scheduler=scheduler)
    finally:
        handle.remove()
    assert len(seen) == STEPS
    assert all(torch.is_tensor(t) and t.device.type == "cpu" and t.ndim == 0 for t in seen)


def test_compile_runs_the_compiled_unet_and_gives_the_same_audio(audioldm_dir, monkeypatch):
    # The "eager" backend traces with TorchDynamo (the real compile path) without a C++ build: quick in CI.
    monkeypatch.setenv("V2A_COMPILE_BACKEND", "eager")
    torch._dynamo.reset()
    generator = AudioLDMGenerator.load(str(audioldm_dir), device="cpu")
    plain = generator.generate(embeddings(1), seeds=[3], steps=2, duration=1.0)
    compiled = generator.generate(embeddings(1), seeds=[3], steps=2, duration=1.0, compile=True)
    assert generator._compiled_unet is not None and generator.compiled_unet() is generator._compiled_unet
    np.testing.assert_allclose(compiled, plain, atol=1e-5)
    torch._dynamo.reset()


def test_batch_size_auto_falls_back_to_a_fixed_batch_off_cuda(pipeline):
    assert pipeline.generator.max_batch_size(10.0) is None
    assert pipeline.batch_size(GenerateOptions(batch_size="auto")) == AUTO_CPU_BATCH
    assert pipeline.batch_size(GenerateOptions(batch_size=7)) == 7
    GenerateOptions(batch_size="auto").validate()
    for bad in (0, "big", True):
        with pytest.raises(V2AError, match="--batch-size"):
            GenerateOptions(batch_size=bad).validate()
