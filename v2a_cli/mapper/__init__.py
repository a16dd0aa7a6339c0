"""CLIP -> CLAP mappers. `load_mapper(spec)` is the registry's loader for kind "mapper"; whatever it
loads implements the `Mapper` protocol (mapper/protocol.py): one `map()` signature, declared capabilities.

`spec` is "bridge" (the zero-shot text bridge, mapper/bridge.py), a checkpoint folder / Hub repo
holding `config.json` + `model.safetensors` (mapper/checkpoint.py), or SSV2A's released files
(`ssv2a.json` + `ssv2a.pth` [+ `agg.pth`], a folder or one of the files; mapper/ssv2a/).
"""

from __future__ import annotations

from typing import Any

import torch

from v2a_cli.errors import CheckpointError
from v2a_cli.mapper.checkpoint import MapperConfig
from v2a_cli.mapper.model import TrainedMapper
from v2a_cli.mapper.protocol import Mapper, MapperSampling
from v2a_cli.registry import register_loader, resolve_dir

__all__ = ["Mapper", "MapperConfig", "MapperSampling", "TrainedMapper", "load_mapper"]


@register_loader("mapper")
def load_mapper(spec: str, *, device: str | torch.device = "cpu", models: Any = None) -> Mapper:
    """The text bridge ("bridge"), a trained checkpoint (folder or Hub repo) or SSV2A's released files."""
    if spec == "bridge":
        from v2a_cli.mapper.bridge import build_bridge
        from v2a_cli.models_config import ModelsConfig

        return build_bridge(models if models is not None else ModelsConfig.load(), device=device)
    from pathlib import Path

    from v2a_cli.mapper.ssv2a.checkpoint import AGGREGATOR_NAME, CONFIG_NAME, WEIGHTS_NAME, load_ssv2a

    local = Path(str(spec)).expanduser()
    if local.is_file():
        ssv2a = load_ssv2a(local, device=device)
        if ssv2a is None:
            raise CheckpointError(f"{local}: not a mapper; pass a checkpoint folder, or SSV2A's {CONFIG_NAME} / "
                                  f"{WEIGHTS_NAME}")
        return ssv2a
    folder = resolve_dir(str(spec), kind="mapper", allow_patterns=["config.json", "model.safetensors", "*.md",
                                                                   CONFIG_NAME, WEIGHTS_NAME, AGGREGATOR_NAME])
    ssv2a = load_ssv2a(folder, device=device)
    return ssv2a if ssv2a is not None else TrainedMapper.from_pretrained(folder, device=device)
