"""v2a: sound for pictures and videos (V2A-Mapper: CLIP -> mapper -> CLAP -> AudioLDM)."""

from __future__ import annotations

from v2a_cli.version import __version__

__all__ = ["__version__", "load_mapper", "generate", "Pipeline", "GenerateOptions"]


def __getattr__(name: str):
    # Lazy: `import v2a_cli` must not import torch.
    if name == "load_mapper":
        from v2a_cli.mapper import load_mapper

        return load_mapper
    if name in ("generate", "Pipeline", "GenerateOptions"):
        from v2a_cli.generation import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
