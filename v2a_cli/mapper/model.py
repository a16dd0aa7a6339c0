"""`TrainedMapper`: v2a's trained network (regression or diffusion) from CLIP image embeddings to CLAP."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from v2a_cli.mapper.checkpoint import MapperConfig, build_network, load_network, write_mapper_folder
from v2a_cli.mapper.diffusion import GaussianDiffusion
from v2a_cli.mapper.protocol import DEFAULT_SAMPLING, Mapper, MapperSampling


class TrainedMapper(Mapper):
    """`.map(clip[N,dim], seeds=..., sampling=MapperSampling(guidance=..., steps=...)) -> clap[N,dim]`,
    both L2-normalised float32 (the `Mapper` protocol, mapper/protocol.py).

    A regression mapper is one deterministic forward pass (seeds and sampling are ignored). A
    diffusion mapper samples every row in one batched loop: row i with seeds[i] gives the same output
    in any batch, different seeds differ. `sampling.guidance` / `.steps` are per call (None: the
    checkpoint's default); nothing on the mapper changes when it is called.
    """

    max_rows = 1024  # rows per batched sampling loop (bounds the pre-drawn noise's memory)

    def __init__(self, network: nn.Module, config: MapperConfig):
        self.network = network.eval()
        self.config = config
        self.diffusion = GaussianDiffusion(config.diffusion_settings()) if config.is_generative else None

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, device: str | torch.device = "cpu") -> "TrainedMapper":
        network, config = load_network(folder, device=device)
        return cls(network, config)

    @classmethod
    def random(cls, config: MapperConfig, *, seed: int = 0) -> "TrainedMapper":
        torch.manual_seed(seed)
        return cls(build_network(config), config)

    def save_pretrained(self, folder: str | Path) -> Path:
        return write_mapper_folder(folder, self.network, self.config)

    @property
    def is_generative(self) -> bool:
        return self.config.is_generative

    @property
    def clip_dim(self) -> int:
        return self.config.dim

    @property
    def guidance(self) -> float:
        """The checkpoint's default guidance scale (read-only: pass `sampling=MapperSampling(guidance=...)` to `map`)."""
        return self.config.guidance

    @property
    def sampling_steps(self) -> int:
        """The checkpoint's default number of sampling steps (read-only: pass `sampling=MapperSampling(steps=...)` to `map`)."""
        return self.config.sampling_steps

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @torch.inference_mode()
    def map(self, clip: torch.Tensor, *, seeds: Sequence[int] | None = None,
            sampling: MapperSampling = DEFAULT_SAMPLING) -> torch.Tensor:
        if clip.ndim != 2 or clip.shape[-1] != self.config.dim:
            raise ValueError(f"expected CLIP embeddings of shape [N, {self.config.dim}], got {tuple(clip.shape)}")
        clip = F.normalize(clip.to(self.device, torch.float32), dim=-1)
        if self.diffusion is None:
            return F.normalize(self.network(clip * self.config.embed_scale).float(), dim=-1)
        if seeds is None:
            seeds = torch.randint(0, 2**62, (len(clip),)).tolist()
        elif len(seeds) != len(clip):
            raise ValueError(f"{len(clip)} CLIP rows but {len(seeds)} seeds; give one seed per row")
        guidance = self.config.guidance if sampling.guidance is None else float(sampling.guidance)
        steps = sampling.steps
        if not math.isfinite(guidance):
            raise ValueError(f"mapper guidance {guidance}: must be a finite number")
        if steps is not None and steps < 1:
            raise ValueError(f"mapper steps {steps}: must be at least 1")
        parts = [self.diffusion.sample(self.network, clip[first:first + self.max_rows], guidance=guidance,
                                       seeds=list(seeds[first:first + self.max_rows]), steps=steps).float()
                 for first in range(0, len(clip), self.max_rows)]
        return torch.cat(parts) if parts else torch.empty((0, self.config.dim), device=self.device)

    def __repr__(self) -> str:
        return f"TrainedMapper({self.config.kind}/{self.config.arch}, depth={self.config.depth})"
