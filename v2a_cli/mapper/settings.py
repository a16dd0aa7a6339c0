"""Generation settings a mapper declares: what its authors generate with and what its inputs must look like.

Every mapper declares `generation_settings` (the `Mapper` protocol, mapper/protocol.py); the default,
`NO_SETTINGS = MapperSettings()`, changes nothing. The option resolution (`generation.options.settle_options`)
reads the sampler values, the preprocessing (`generation/detect.py`, `generation/condition.py`) reads
the crop geometry and the aggregator's frames. SSV2A's released model declares its scripts' settings
(`SSV2A_SETTINGS`, docs/sources.md); v2a's own mappers and the zero-shot bridge declare none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

CROPS = ("box", "stretch")


@dataclass(frozen=True)
class MapperSettings:
    # AudioLDM guidance the mapper's authors generate with, under every preset (None: the preset's).
    guidance: float | None = None
    # Per preset name: sampler values that replace the preset's with this mapper (e.g. paper: 3 candidates).
    presets: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # How a detected source is cropped before CLIP: "box" = at the box's own aspect (CLIP's transform
    # then centre-crops it); "stretch" = the box resized to the whole picture's size (bicubic) first,
    # so all of the box reaches CLIP, stretched (SSV2A's `yolo_detect`).
    crops: str = "box"
    # A temporal aggregator's input: this many frames evenly spaced over each window's decoded frames
    # (None: the frames sampled at --fps), each resized to `frame_size` (bicubic; None: as decoded).
    window_frames: int | None = None
    frame_size: tuple[int, int] | None = None

    def sampler_values(self, preset: str | None) -> dict[str, object]:
        """The option values this mapper sets under `preset` (flags still win over them)."""
        values: dict[str, object] = {}
        if self.guidance is not None:
            values["guidance"] = self.guidance
        values.update(self.presets.get(preset or "", {}))
        return values


NO_SETTINGS = MapperSettings()

# SSV2A's scripts (github.com/wguo86/SSV2A): `emb_to_audio` generates with guidance 2.5, DDIM 200 steps
# and 3 candidates (ssv2a/model/aldm.py); DDIM 200 with eta 1 is already the paper preset. Its detector
# crops each box and resizes the crop to the picture's size (ssv2a/data/detect.py); its video path feeds
# the aggregator 64 frames evenly spaced over the clip, each resized to 512x512 (infer_v2a.py,
# ssv2a/data/utils.py `extract_frames`).
SSV2A_GUIDANCE = 2.5
SSV2A_SETTINGS = MapperSettings(guidance=SSV2A_GUIDANCE, presets={"paper": {"candidates": 3}}, crops="stretch",
                                window_frames=64, frame_size=(512, 512))

