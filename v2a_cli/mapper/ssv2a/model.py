"""`SSV2AMapper`: SSV2A's released model (Guo et al., "Gotta Hear Them All") behind v2a's Mapper interface.

    mapper = load_mapper("~/Downloads/ssv2a")          # a folder with ssv2a.json + ssv2a.pth (+ agg.pth)
    clap = mapper.map(clip_l14, seeds=[0])               # [N, 768] CLIP ViT-L/14 -> [N, 512] unit CLAP
    clap = mapper.map_slots(slots, seeds=[0])            # [N, S, 768]: global CLIP first, then the crops
    clap = mapper.map(clip_l14, seeds=[0], sampling=MapperSampling(var_samples=16, cycle_its=8))

Inference follows SSV2A's image-to-audio path: every slot's CLIP goes to the manifold and through the
generator; the remixer mixes all slots into one CLAP; Cycle Mix repeats the remix `cycle_its` times,
each time drawing `cycle_samples` remixes and keeping the one whose similarity to the sources' own
CLAPs is most even (lowest standard deviation), and feeding the best one back in as the global slot.
Variational networks average `var_samples` draws per step. Row i of a batch draws from a torch
Generator seeded with seeds[i]; the same seed gives the same output. With one `seed` for the whole
batch (a video's frames) the rows run through Cycle Mix together, ROW_GROUP at a time, drawing from
one generator as SSV2A's batch draws from its global one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import torch

from v2a_cli.errors import V2AError
from v2a_cli.mapper.protocol import DEFAULT_SAMPLING, Mapper, MapperSampling
from v2a_cli.mapper.settings import SSV2A_SETTINGS, MapperSettings
from v2a_cli.mapper.ssv2a.layers import draw_noise, mean_of_draws
from v2a_cli.mapper.ssv2a.networks import SSV2ANetworks

REMIX_CHUNK = 8  # remix samples run through the networks together (bounds the noise held in memory)
ROW_GROUP = 8


@dataclass(frozen=True)
class SSV2ASampling:
    var_samples: int = 64  # variational draws averaged at each step (SSV2A's scripts: 64)
    cycle_its: int = 64  # Cycle Mix rounds after the first (SSV2A's scripts: 64)
    cycle_samples: int = 64  # remixes drawn per round (SSV2A's scripts: 64)

    def validate(self) -> "SSV2ASampling":
        for name, low in (("var_samples", 1), ("cycle_its", 0), ("cycle_samples", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low or value > 4096:
                raise V2AError(f"--{name.replace('_', '-')} {value}: must be a whole number from {low} to 4096")
        return self


class SSV2AMapper(Mapper):
    """CLIP slots -> one CLAP embedding per row; see the module docstring."""

    averages_own_draws = True  # MapperSampling.var_samples: draws averaged inside each step

    def __init__(self, networks: SSV2ANetworks, *, clip_spec: str | None, defaults: SSV2ASampling = SSV2ASampling(),
                 source: str = ""):
        self.networks = networks.eval()
        self.clip_spec = clip_spec  # the CLIP the checkpoint was trained on (None: any CLIP of clip_dim)
        self.defaults = defaults
        self.source = source

    @property
    def clip_dim(self) -> int:
        return self.networks.clip_dim

    @property
    def slots(self) -> int:
        return self.networks.slots

    @property
    def is_generative(self) -> bool:
        return self.networks.variational

    @property
    def has_aggregator(self) -> bool:
        return self.networks.aggregator is not None

    @property
    def generation_settings(self) -> MapperSettings:
        """SSV2A's scripts' settings (guidance 2.5, stretched crops; with agg.pth, 64 evenly spaced
        512x512 frames per window for the aggregator; see v2a_cli/mapper/settings.py)."""
        if self.has_aggregator:
            return SSV2A_SETTINGS
        return replace(SSV2A_SETTINGS, window_frames=None, frame_size=None)

    @property
    def device(self) -> torch.device:
        return next(self.networks.parameters()).device

    def sampling(self, sampling: MapperSampling = DEFAULT_SAMPLING) -> SSV2ASampling:
        """The Cycle Mix settings of a call: `sampling`'s, else the checkpoint's defaults."""
        d = self.defaults
        pick = lambda value, default: default if value is None else value  # noqa: E731
        return SSV2ASampling(pick(sampling.var_samples, d.var_samples), pick(sampling.cycle_its, d.cycle_its),
                             pick(sampling.cycle_samples, d.cycle_samples)).validate()

    # -- the Mapper protocol --------------------------------------------------------------------
    @torch.inference_mode()
    def map(self, clip: torch.Tensor, *, seeds: Sequence[int] | None = None,
            sampling: MapperSampling = DEFAULT_SAMPLING) -> torch.Tensor:
        """[N, clip_dim] global CLIPs -> [N, 512]. `sampling.guidance` and `.steps` do not apply to SSV2A."""
        if clip.ndim != 2:
            raise ValueError(f"expected CLIP embeddings [N, {self.clip_dim}], got {tuple(clip.shape)}")
        return self.map_slots(clip[:, None, :], seeds=seeds, sampling=sampling)

    @torch.inference_mode()
    def map_slots(self, slots: torch.Tensor, *, seeds: Sequence[int] | None = None, seed: int | None = None,
                  sampling: MapperSampling = DEFAULT_SAMPLING) -> torch.Tensor:
        """[N, S, clip_dim] (slot 0: the whole picture; all-zero rows: empty) -> [N, 512] unit CLAP.

        Fewer than the model's slot count are padded with empty slots, as SSV2A pads; more is an error
        (the caller keeps the most confident sources)."""
        if slots.ndim != 3 or slots.shape[-1] != self.clip_dim:
            raise V2AError(f"this SSV2A mapper takes CLIP embeddings of width {self.clip_dim}, got "
                           f"{slots.shape[-1]}; use the CLIP it was trained on (--clip)")
        if slots.shape[1] > self.slots:
            raise ValueError(f"{slots.shape[1]} slots given; this SSV2A model holds {self.slots}")
        settings = self.sampling(sampling)
        padded = torch.zeros(slots.shape[0], self.slots, self.clip_dim, device=self.device)
        padded[:, : slots.shape[1]] = slots.to(self.device, torch.float32)
        if seeds is None:  # one generator for the batch: rows go through Cycle Mix together, as SSV2A batches
            shared = _generator(seed, self.device)
            return torch.cat([self.cycle_mix(padded[i: i + ROW_GROUP], settings, shared)
                              for i in range(0, len(padded), ROW_GROUP)]).float().cpu()
        rows = [self.cycle_mix(padded[i: i + 1], settings, _generator(int(seeds[i]), self.device))[0]
                for i in range(len(padded))]
        return torch.stack(rows).float().cpu()

    @torch.inference_mode()
    def aggregate(self, frame_claps: torch.Tensor, *, seed: int | None = None, var_samples: int = 1) -> torch.Tensor:
        """[F, 512] per-frame CLAPs of a video -> [512] with SSV2A's temporal aggregator (agg.pth).
        Without one, the normalised mean (v2a's default for videos)."""
        if self.networks.aggregator is None:
            return super().aggregate(frame_claps)
        out = self.networks.aggregator.sample(frame_claps[None].to(self.device, torch.float32), var_samples,
                                              _generator(seed, self.device))
        return out[0].float().cpu()

    # -- Cycle Mix ------------------------------------------------------------------------------
    def cycle_mix(self, clips: torch.Tensor, sampling: SSV2ASampling, generator: torch.Generator) -> torch.Tensor:
        """[B, slots, clip_dim] -> [B, 512]: SSV2A's Cycle Mix (see the module docstring)."""
        net = self.networks
        draws = sampling.var_samples
        batch = clips.shape[0]
        best = torch.zeros(batch, net.clap_dim, device=clips.device)
        best_score = torch.ones(batch, device=clips.device)
        rows = torch.arange(batch, device=clips.device)
        sources = net.manifold.clip_encoder.sample(clips, draws, generator)
        for round_ in range(sampling.cycle_its + 1):
            source_claps = net.generator.claps(sources, draws, generator).clone()
            source_claps[:, 0] = 0  # the global slot takes no part in the score
            if round_ > 0:  # the best remix so far becomes the global source
                sources = sources.clone()
                sources[:, 0] = net.manifold.clap_encoder.sample(best, draws, generator)
            remixes = self._remixes(sources, clips, sampling, generator)  # [B, samples, 512]
            cosine = torch.einsum("bmi,bni->bmn", remixes, source_claps)
            cosine = cosine / (torch.einsum("bmi,bni->bmn", remixes.norm(dim=-1, keepdim=True),
                                            source_claps.norm(dim=-1, keepdim=True)) + 1e-6)
            spread = cosine.std(dim=-1)  # [B, samples]: how unevenly a remix covers the sources
            pick = spread.argmin(dim=-1)
            score = spread[rows, pick]
            better = score < best_score
            best_score = torch.where(better, score, best_score)
            best[better] = remixes[rows, pick][better]
        return best

    def _remixes(self, sources: torch.Tensor, clips: torch.Tensor, sampling: SSV2ASampling,
                 generator: torch.Generator) -> torch.Tensor:
        """`cycle_samples` remixes [B, samples, 512] of one round. SSV2A draws them one after another
        (the generator's noise for sample j, then the remixer's); the noise is drawn here in that same
        order, and the networks then run on all samples of a chunk at once."""
        net = self.networks
        draws, batch = sampling.var_samples, sources.shape[0]
        uses_claps = net.guidance in ("generator", "manifold+generator")
        gen_stats = net.generator.stats(sources) if uses_claps else None  # deterministic: once per round
        out = []
        for first in range(0, sampling.cycle_samples, REMIX_CHUNK):
            count = min(REMIX_CHUNK, sampling.cycle_samples - first)
            gen_noise, remix_noise = [], []
            for _ in range(count):
                if gen_stats is not None and gen_stats[1] is not None:
                    gen_noise.append(draw_noise(gen_stats[0].shape, draws, generator, sources.device))
                if net.remixer.variational:
                    remix_noise.append(draw_noise((batch, net.clap_dim), draws, generator, sources.device))
            inputs = sources.expand(count, *sources.shape)  # [count, B, S, M]
            if gen_stats is not None:
                claps = net.generator.claps_from(gen_stats, torch.stack(gen_noise, dim=1) if gen_noise else None,
                                                 count)
                inputs = claps if net.guidance == "generator" else torch.cat([inputs, claps], dim=-1)
            mu, log_var = net.remixer(inputs.reshape(count * batch, *inputs.shape[2:]),
                                      clips.repeat(count, 1, 1))
            mu = mu.view(count, batch, -1)
            if log_var is not None:
                mu = mean_of_draws(mu, log_var.view(count, batch, -1), torch.stack(remix_noise, dim=1))
            out.append(mu / mu.norm(p=2, dim=-1, keepdim=True))
        return torch.cat(out).transpose(0, 1)

    def __repr__(self) -> str:
        return f"SSV2AMapper(clip_dim={self.clip_dim}, slots={self.slots}, aggregator={self.has_aggregator})"


def _generator(seed: int | None, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator
