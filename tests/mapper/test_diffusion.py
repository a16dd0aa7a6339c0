from __future__ import annotations

import math

import pytest
import torch

from v2a_cli.mapper.diffusion import DiffusionSettings, GaussianDiffusion, cosine_alphas_cumprod, sampling_timesteps
from v2a_cli.mapper.networks import DiffusionMLP


def test_cosine_schedule_runs_from_clean_to_noise():
    alpha_bar = cosine_alphas_cumprod(1000)
    assert alpha_bar.shape == (1000,)
    assert alpha_bar[0] > 0.9999 and alpha_bar[-1] < 1e-4
    assert bool((alpha_bar[1:] < alpha_bar[:-1]).all())
    # Nichol & Dhariwal's closed form away from the clipped end.
    t = 500
    expected = (math.cos(((t + 1) / 1000 + 0.008) / 1.008 * math.pi / 2) / math.cos(0.008 / 1.008 * math.pi / 2)) ** 2
    assert float(alpha_bar[t]) == pytest.approx(expected, rel=1e-6)


def test_sampling_timesteps_are_strided_and_end_near_zero():
    times = sampling_timesteps(1000, 200)
    assert len(times) == 200 and times[0] == 999 and times[-1] == 4
    assert all(a - b == 5 for a, b in zip(times, times[1:]))
    assert sampling_timesteps(1000, 5000) == list(range(999, -1, -1))


def test_training_loss_is_finite_and_uses_the_null_condition():
    torch.manual_seed(0)
    network = DiffusionMLP(depth=1, expansion=1)
    diffusion = GaussianDiffusion(DiffusionSettings(cond_drop_prob=1.0))
    clip, clap = torch.randn(8, 512), torch.randn(8, 512)
    noise = diffusion.draw_training_noise(8, 512, device="cpu", generator=torch.Generator().manual_seed(0))
    assert bool(noise.drop_condition.all())
    loss = diffusion.training_loss(network, clip, clap, noise)
    loss.backward()
    assert torch.isfinite(loss)
    assert network.null_condition.grad is not None and network.null_condition.grad.abs().sum() > 0


def test_sampling_is_seeded_and_unit_norm():
    torch.manual_seed(0)
    network = DiffusionMLP(depth=1, expansion=1).eval()
    diffusion = GaussianDiffusion(DiffusionSettings(sampling_steps=8))
    clip = torch.randn(3, 512)

    def sample(seed: int, guidance: float = 0.9) -> torch.Tensor:
        return diffusion.sample(network, clip, guidance=guidance, seeds=[seed, seed + 1, seed + 2])

    first = sample(1)
    assert torch.allclose(first.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.equal(first, sample(1))
    assert not torch.allclose(first, sample(2))
    assert not torch.allclose(first, sample(1, guidance=3.0))
