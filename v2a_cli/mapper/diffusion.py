"""The diffusion prior's process: cosine schedule, x0-prediction loss, strided sampling with guidance.

Embeddings live on the unit sphere, where each coordinate is ~1/sqrt(512) - tiny next to unit-variance
noise. As in DALLE2's prior, the diffusion runs on embeddings scaled by `embed_scale` = sqrt(dim), so a
coordinate has variance ~1 (the CLIP condition is scaled the same way).

Sampling: DDIM's update (Song et al.) from the predicted x0 over `sampling_steps` evenly strided steps
of the 1000 training steps. With eta = 1 (the default) it is ancestral DDPM sampling on the strided
schedule (stochastic at every step, the one-to-many behaviour the paper wants); eta = 0 is
deterministic DDIM given the starting noise. Each step's x0 is put back on the sphere of radius
embed_scale (where all targets lie). Guidance: x0 = uncond + g * (cond - uncond), uncond using the
learned null condition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from v2a_cli.progress import stage


def cosine_alphas_cumprod(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal (2021): alpha_bar(t) = cos^2(((t/T + s) / (1 + s)) * pi/2), betas clipped."""
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)
    return torch.cumprod(1 - betas, dim=0)


def sampling_timesteps(num_timesteps: int, steps: int) -> list[int]:
    """Evenly strided timesteps, highest first, e.g. 1000/200 -> [999, 994, ..., 4] ending near 0."""
    steps = max(1, min(steps, num_timesteps))
    stride = num_timesteps / steps
    return sorted({int(round(stride * i + stride - 1)) for i in range(steps)}, reverse=True)


@dataclass
class DiffusionSettings:
    num_timesteps: int = 1000
    sampling_steps: int = 200
    sampling_eta: float = 1.0
    cond_drop_prob: float = 0.1
    embed_scale: float = math.sqrt(512)


@dataclass
class TrainingNoise:
    timesteps: torch.Tensor  # [B] long
    noise: torch.Tensor  # [B, D]
    drop_condition: torch.Tensor  # [B] bool: use the null condition (classifier-free guidance)

    def rows(self, index: torch.Tensor | slice) -> "TrainingNoise":
        return TrainingNoise(self.timesteps[index], self.noise[index], self.drop_condition[index])


class GaussianDiffusion:
    def __init__(self, settings: DiffusionSettings):
        self.settings = settings
        self.alphas_cumprod = cosine_alphas_cumprod(settings.num_timesteps).float()

    def _alpha_bar(self, timesteps: torch.Tensor) -> torch.Tensor:
        return self.alphas_cumprod.to(timesteps.device)[timesteps].unsqueeze(-1)

    def to_diffusion_space(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(embeddings, dim=-1) * self.settings.embed_scale

    def draw_training_noise(self, batch: int, dim: int, *, device: torch.device | str,
                            generator: torch.Generator | None = None) -> TrainingNoise:
        """The random part of one training step, drawn for a whole (global) batch."""
        return TrainingNoise(
            timesteps=torch.randint(0, self.settings.num_timesteps, (batch,), device=device, generator=generator),
            noise=torch.randn((batch, dim), device=device, generator=generator),
            drop_condition=torch.rand(batch, device=device, generator=generator) < self.settings.cond_drop_prob,
        )

    def training_loss(self, network: nn.Module, clip: torch.Tensor, clap: torch.Tensor,
                      noise: TrainingNoise, reduction: str = "mean") -> torch.Tensor:
        """MSE between the clean CLAP embedding and the network's x0 prediction from a noisy step."""
        x0 = self.to_diffusion_space(clap)
        alpha_bar = self._alpha_bar(noise.timesteps)
        noisy = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise.noise
        prediction = network(noisy, noise.timesteps, self.to_diffusion_space(clip), noise.drop_condition)
        return F.mse_loss(prediction, x0, reduction=reduction)

    def _guided_x0(self, network: nn.Module, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor,
                   guidance: float) -> torch.Tensor:
        if guidance == 1.0:
            x0 = network(x, t, condition)
        else:
            drop = torch.arange(2 * len(x), device=x.device) >= len(x)
            both = network(torch.cat([x, x]), torch.cat([t, t]), torch.cat([condition, condition]), drop)
            cond, uncond = both.chunk(2)
            x0 = uncond + guidance * (cond - uncond)
        return F.normalize(x0, dim=-1) * self.settings.embed_scale

    @torch.inference_mode()
    def sample(self, network: nn.Module, clip: torch.Tensor, *, guidance: float, seeds: Sequence[int],
               steps: int | None = None) -> torch.Tensor:
        """Clean CLAP embeddings (unit norm) for a batch of CLIP embeddings, all rows in one loop.

        Row i's noise comes from its own CPU generator seeded with seeds[i] and is drawn once, up front
        (then copied to the device in one transfer): a row's result depends on its seed only, not on
        the batch it is in or the device (up to the device's arithmetic)."""
        device, dtype = clip.device, clip.dtype
        if len(seeds) != len(clip):
            raise ValueError(f"{len(clip)} rows but {len(seeds)} seeds")
        condition = self.to_diffusion_space(clip)
        eta = self.settings.sampling_eta
        times = sampling_timesteps(self.settings.num_timesteps, steps or self.settings.sampling_steps)
        noise = draw_row_noise(seeds, draws=1 + (len(times) if eta > 0 else 0), dim=condition.shape[-1],
                               device=device, dtype=dtype)  # [draws, N, D]
        x = noise[0]
        for index, t in enumerate(times):
            stage("mapping", index, len(times))
            t_batch = torch.full((len(x),), t, device=device, dtype=torch.long)
            x0 = self._guided_x0(network, x, t_batch, condition, guidance)
            # The schedule is read from its CPU table as Python floats: no device sync per step.
            alpha_bar = float(self.alphas_cumprod[t])
            alpha_bar_prev = float(self.alphas_cumprod[times[index + 1]]) if index + 1 < len(times) else 1.0
            if alpha_bar_prev == 1.0:
                x = x0
                break
            eps = (x - math.sqrt(alpha_bar) * x0) / math.sqrt(1 - alpha_bar)
            sigma = eta * math.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev))
            x = (math.sqrt(alpha_bar_prev) * x0 + math.sqrt(max(1 - alpha_bar_prev - sigma**2, 0.0)) * eps
                 + (sigma * noise[index + 1] if sigma > 0 else 0.0))
        stage("mapping", len(times), len(times))
        return F.normalize(x, dim=-1)


def draw_row_noise(seeds: Sequence[int], *, draws: int, dim: int, device: torch.device | str,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[draws, N, dim] standard normal noise, row i from a CPU generator seeded with seeds[i].

    Drawn on the CPU so one seed gives the same noise on every device; copied to the device once
    (pinned + non-blocking on CUDA)."""
    rows = [torch.randn((draws, dim), generator=torch.Generator().manual_seed(int(seed))) for seed in seeds]
    noise = torch.stack(rows, dim=1) if rows else torch.empty((draws, 0, dim))
    if torch.device(device).type == "cuda":
        return noise.pin_memory().to(device=device, dtype=dtype, non_blocking=True)
    return noise.to(device=device, dtype=dtype)


def spread_seeds(seed: int, count: int) -> list[int]:
    """`count` row seeds from one seed (several samples of one input): `seed` itself, then seeds drawn
    from it, so the first sample is the one `seeds=[seed]` gives."""
    drawn = torch.randint(0, 2**62, (max(count - 1, 0),), generator=torch.Generator().manual_seed(int(seed)))
    return [int(seed), *drawn.tolist()][:count]
