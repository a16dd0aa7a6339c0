"""CLIP -> CLAP mappers. `load_mapper(spec)` is the registry's loader for kind "mapper".

`spec` is "bridge" (the zero-shot text bridge, mapper/bridge.py) or a checkpoint folder / Hub repo
holding `config.json` + `model.safetensors` (mapper/checkpoint.py).
"""

from __future__ import annotations

from typing import Any

import torch

from v2a_cli.mapper.checkpoint import MapperConfig
from v2a_cli.mapper.model import Mapper
from v2a_cli.registry import register_loader, resolve_dir

__all__ = ["Mapper", "MapperConfig", "load_mapper"]


@register_loader("mapper")
def load_mapper(spec: str, *, device: str | torch.device = "cpu", models: Any = None) -> Any:
    """A mapper with `.map(clip, seeds=..., guidance=..., steps=...)` and `.is_generative`: the text bridge or a trained checkpoint."""
    if spec == "bridge":
        from v2a_cli.mapper.bridge import build_bridge
        from v2a_cli.models_config import ModelsConfig

        return build_bridge(models if models is not None else ModelsConfig.load(), device=device)
    folder = resolve_dir(str(spec), kind="mapper", allow_patterns=["config.json", "model.safetensors", "*.md"])
    return Mapper.from_pretrained(folder, device=device)
