"""What generation needs of a mapper: one `map()` signature and declared capabilities.

Three mappers implement `Mapper`: the zero-shot text bridge (mapper/bridge.py), v2a's trained
regression and diffusion mappers (mapper/model.py, `TrainedMapper`) and SSV2A's released model
(mapper/ssv2a/model.py). Generation reads the capabilities below and never probes a mapper's class
or attributes. A mapper subclasses `Mapper` to inherit the defaults of the capabilities it lacks.

Every per-call knob travels in one `MapperSampling`; each mapper uses the fields that apply to it and
ignores the rest, so generation hands every mapper the same one (`GenerateOptions.mapper`). Nothing on a mapper changes when it is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import torch
import torch.nn.functional as F

from v2a_cli.mapper.settings import NO_SETTINGS, MapperSettings


@dataclass(frozen=True)
class MapperSampling:
    # A diffusion mapper's classifier-free guidance scale (None: the checkpoint's default).
    guidance: float | None = None
    # A diffusion mapper's sampling steps (None: the checkpoint's default).
    steps: int | None = None
    # A mapper that averages variational draws itself (SSV2A): draws per step (None: its default).
    var_samples: int | None = None
    # SSV2A's Cycle Mix: rounds after the first, and remixes drawn per round (None: its defaults).
    cycle_its: int | None = None
    cycle_samples: int | None = None


DEFAULT_SAMPLING = MapperSampling()


@runtime_checkable
class Mapper(Protocol):
    """CLIP image embeddings -> CLAP embeddings (AudioLDM's conditioning space), L2-normalised."""

    # The CLIP the mapper was trained on (an open_clip name or path); None: the configured CLIP, of width clip_dim.
    clip_spec: str | None = None
    # The output depends on the seeds (a diffusion prior, SSV2A's variational networks).
    is_generative: bool = False
    # It averages `sampling.var_samples` variational draws itself; else a caller that wants an average of
    # draws (compose --var-samples) samples several seeds and averages them.
    averages_own_draws: bool = False
    # CLIP embeddings one condition takes: 1 = one per row (a picture's sources are mapped one by one and
    # mixed afterwards); more = `map_slots` mixes the whole picture (slot 0) and its sources itself.
    slots: int = 1
    # `aggregate` is a learned temporal aggregator of a video's per-frame CLAPs (else videos are
    # aggregated in CLIP space before mapping, `--aggregate`).
    has_aggregator: bool = False
    # `explain` names what the mapper mixed (the bridge's sound classes).
    explains: bool = False
    # What its authors generate with (guidance, presets, crops, frames); NO_SETTINGS changes nothing.
    generation_settings: MapperSettings = NO_SETTINGS

    @property
    def clip_dim(self) -> int:
        """The width of the CLIP embeddings it takes."""
        ...

    def map(self, clip: torch.Tensor, *, seeds: Sequence[int] | None = None,
            sampling: MapperSampling = DEFAULT_SAMPLING) -> torch.Tensor:
        """[N, clip_dim] CLIP -> [N, 512] unit CLAP. Row i draws from seeds[i] (a generative mapper: the
        same seed gives the same row in any batch; None draws fresh seeds)."""
        ...

    def map_slots(self, slots: torch.Tensor, *, seeds: Sequence[int] | None = None, seed: int | None = None,
                  sampling: MapperSampling = DEFAULT_SAMPLING) -> torch.Tensor:
        """[N, S <= self.slots, clip_dim] (slot 0: the whole picture) -> [N, 512]. `seeds`: one per row;
        `seed`: one draw for the whole batch (a video's frames, sampled together)."""
        if slots.ndim != 3 or slots.shape[1] != 1:
            raise ValueError(f"this mapper maps one CLIP embedding per row; got slots {tuple(slots.shape)}")
        if seeds is None and seed is not None:
            seeds = [seed] * len(slots)
        return self.map(slots[:, 0], seeds=seeds, sampling=sampling)

    def aggregate(self, frame_claps: torch.Tensor, *, seed: int | None = None) -> torch.Tensor:
        """[F, 512] per-frame CLAPs -> [512]: the normalised mean (a learned aggregator: has_aggregator)."""
        return F.normalize(frame_claps.float().mean(dim=0), dim=-1)

    def explain(self, clip: torch.Tensor) -> list[list[tuple[str, float]]]:
        """Per row: (name, weight) pairs of what `map` mixed, best first (only when `explains`)."""
        raise NotImplementedError(f"{type(self).__name__} does not explain its mapping (explains is False)")
