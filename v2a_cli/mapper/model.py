"""`Mapper`: a trained network that turns CLIP image embeddings into CLAP embeddings."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from v2a_cli.mapper.checkpoint import MapperConfig, build_network, load_network, write_mapper_folder
from v2a_cli.mapper.diffusion import GaussianDiffusion


class Mapper:
    """`.map(clip[N,512], seed=...) -> clap[N,512]`, both L2-normalised float32.

    A regression mapper is one deterministic forward pass. A diffusion mapper samples: the same seed
    gives the same output, different seeds differ; `guidance` and `sampling_steps` are settable.
    """

    def __init__(self, network: nn.Module, config: MapperConfig):
        self.network = network.eval()
        self.config = config
        self.guidance = config.guidance
        self.sampling_steps = config.sampling_steps
        self.diffusion = GaussianDiffusion(config.diffusion_settings()) if config.is_generative else None

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, device: str | torch.device = "cpu") -> "Mapper":
        network, config = load_network(folder, device=device)
        return cls(network, config)

    @classmethod
    def random(cls, config: MapperConfig, *, seed: int = 0) -> "Mapper":
        torch.manual_seed(seed)
        return cls(build_network(config), config)

    def save_pretrained(self, folder: str | Path) -> Path:
        return write_mapper_folder(folder, self.network, self.config)

    @property
    def is_generative(self) -> bool:
        return self.config.is_generative

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @torch.inference_mode()
    def map(self, clip: torch.Tensor, *, seed: int | None = None) -> torch.Tensor:
        if clip.ndim != 2 or clip.shape[-1] != self.config.dim:
            raise ValueError(f"expected CLIP embeddings of shape [N, {self.config.dim}], got {tuple(clip.shape)}")
        clip = F.normalize(clip.to(self.device, torch.float32), dim=-1)
        if self.diffusion is None:
            return F.normalize(self.network(clip * self.config.embed_scale).float(), dim=-1)
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        return self.diffusion.sample(self.network, clip, guidance=float(self.guidance), generator=generator,
                                     steps=self.sampling_steps).float()

    def __repr__(self) -> str:
        return f"Mapper({self.config.kind}/{self.config.arch}, depth={self.config.depth})"
