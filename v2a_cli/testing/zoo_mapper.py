"""Tiny random-weight mapper checkpoint in the real format (config.json + model.safetensors)."""

from __future__ import annotations

from pathlib import Path

# Small enough for tests (a few thousand parameters per layer), same code path as a real checkpoint.
TINY_SETTINGS: dict[str, int] = {"depth": 1, "expansion": 1, "heads": 2, "dim_head": 16, "ff_mult": 1,
                                 "sampling_steps": 10}


def build_mapper(folder: str | Path, *, kind: str = "diffusion", arch: str = "transformer", seed: int = 0,
                 tiny: bool = True, dim: int = 512) -> Path:
    """Write a random-weight mapper into `folder` and return it. `tiny=False` uses the paper's sizes;
    `dim` is the CLIP/CLAP embedding width (512 for the real models)."""
    from v2a_cli.mapper.checkpoint import MapperConfig
    from v2a_cli.mapper.model import TrainedMapper

    config = MapperConfig.for_variant(kind, arch, dim=dim, **(TINY_SETTINGS if tiny else {}))
    config.training = {"source": "v2a_cli.testing.zoo_mapper (random weights)", "seed": seed}
    return TrainedMapper.random(config, seed=seed).save_pretrained(folder)


if __name__ == "__main__":  # python -m v2a_cli.testing.zoo_mapper DIR [kind] [arch]
    import sys

    print(build_mapper(sys.argv[1], kind=sys.argv[2] if len(sys.argv) > 2 else "diffusion",
                       arch=sys.argv[3] if len(sys.argv) > 3 else "transformer"))
