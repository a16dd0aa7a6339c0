"""The mapper checkpoint format: a folder with `config.json` + `model.safetensors`.

This is huggingface_hub's PyTorchModelHubMixin folder layout, so a folder can be pushed to and read
from the Hub as is. Weights are loaded with strict=True; anything that does not match the config is a
CheckpointError naming the folder. Folders are written atomically (temp folder + rename).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from v2a_cli.errors import CheckpointError, shorten
from v2a_cli.files import atomic_folder
from v2a_cli.mapper.diffusion import DiffusionSettings
from v2a_cli.mapper.networks import EMBED_DIM, NETWORKS, PAPER_DEFAULTS

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODEL_TYPE = "v2a-mapper"


@dataclass
class MapperConfig:
    kind: str = "diffusion"  # regression | diffusion
    arch: str = "transformer"  # mlp | transformer
    dim: int = EMBED_DIM
    depth: int = 12
    expansion: int = 4  # MLP hidden width = dim * expansion
    heads: int = 12
    dim_head: int = 64
    ff_mult: int = 4
    # diffusion only
    num_timesteps: int = 1000  # training diffusion steps
    # The next four describe the process diffusion.py implements; they are recorded so a checkpoint says
    # how it was trained, and checked on load (SUPPORTED_PROCESS): any other value is refused.
    noise_schedule: str = "cosine"  # the cosine ᾱ schedule
    prediction: str = "x0"  # the network predicts the clean embedding
    sampling: str = "ddim"  # strided DDIM updates (eta = sampling_eta)
    sampling_steps: int = 200  # default sampling steps (`Mapper.map(steps=)` overrides per call)
    sampling_eta: float = 1.0  # DDIM eta: 1 = ancestral (stochastic), 0 = deterministic
    cond_drop_prob: float = 0.1  # training: share of rows trained with the null condition
    null_condition: str = "learned"  # the null condition is a learned vector (classifier-free guidance)
    guidance: float = 0.9  # default classifier-free guidance scale at sampling (paper's best)
    # Embeddings enter (and targets are fitted) as unit vectors times embed_scale = sqrt(dim), so each
    # coordinate has variance ~1 (DALLE2 prior's convention); outputs are L2-normalised.
    embed_scale: float = math.sqrt(EMBED_DIM)
    # bookkeeping
    model_type: str = MODEL_TYPE
    format_version: int = FORMAT_VERSION
    training: dict[str, Any] = field(default_factory=dict)  # aggregate, epochs, data, val metrics...

    @classmethod
    def for_variant(cls, kind: str, arch: str, **overrides: Any) -> "MapperConfig":
        """The paper's best setting for (kind, arch), with explicit overrides (None = keep default)."""
        if (kind, arch) not in NETWORKS:
            known = ", ".join(f"{k}/{a}" for k, a in NETWORKS)
            raise CheckpointError(f"unknown mapper variant {kind}/{arch}; known: {known}")
        values = {**PAPER_DEFAULTS[(kind, arch)], **{k: v for k, v in overrides.items() if v is not None}}
        values.setdefault("embed_scale", math.sqrt(values.get("dim", EMBED_DIM)))
        return cls(kind=kind, arch=arch, **values)

    @property
    def is_generative(self) -> bool:
        return self.kind == "diffusion"

    def network_kwargs(self) -> dict[str, int]:
        return {"dim": self.dim, "depth": self.depth, "expansion": self.expansion, "heads": self.heads,
                "dim_head": self.dim_head, "ff_mult": self.ff_mult, "num_timesteps": self.num_timesteps}

    def diffusion_settings(self) -> DiffusionSettings:
        return DiffusionSettings(num_timesteps=self.num_timesteps, sampling_steps=self.sampling_steps,
                                 sampling_eta=self.sampling_eta, cond_drop_prob=self.cond_drop_prob,
                                 embed_scale=self.embed_scale)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "MapperConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CheckpointError(f"{source}: unknown mapper config key(s) {', '.join(unknown)}; "
                                  "was it written by a newer v2a? upgrade v2a")
        config = cls(**data)
        if config.model_type != MODEL_TYPE:
            raise CheckpointError(f"{source}: model_type {config.model_type!r} is not a v2a mapper")
        if config.format_version > FORMAT_VERSION:
            raise CheckpointError(f"{source}: mapper format version {config.format_version} is newer than this "
                                  f"v2a understands ({FORMAT_VERSION}); upgrade v2a")
        if (config.kind, config.arch) not in NETWORKS:
            raise CheckpointError(f"{source}: unknown mapper variant {config.kind}/{config.arch}")
        for name, supported in SUPPORTED_PROCESS.items():
            if getattr(config, name) != supported:
                raise CheckpointError(f"{source}: {name} {getattr(config, name)!r} is not implemented (v2a's diffusion "
                                      f"mapper uses {name} {supported!r}); retrain or fix the config")
        numbers = {"guidance": config.guidance, "sampling_eta": config.sampling_eta,
                   "cond_drop_prob": config.cond_drop_prob, "embed_scale": config.embed_scale}
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers.values()):
            raise CheckpointError(f"{source}: non-finite number in {', '.join(numbers)}; re-export the mapper")
        if not (0.0 <= config.sampling_eta <= 1.0 and 0.0 <= config.cond_drop_prob < 1.0 and config.embed_scale > 0
                and config.sampling_steps >= 1 and config.num_timesteps >= config.sampling_steps):
            raise CheckpointError(f"{source}: sampling_eta, cond_drop_prob, embed_scale or steps out of range; "
                                  "re-export the mapper")
        return config


# The only process diffusion.py implements; MapperConfig records it and from_dict refuses anything else.
SUPPORTED_PROCESS = {"noise_schedule": "cosine", "prediction": "x0", "sampling": "ddim", "null_condition": "learned"}


def build_network(config: MapperConfig) -> nn.Module:
    return NETWORKS[(config.kind, config.arch)](**config.network_kwargs())


def read_config(folder: Path) -> MapperConfig:
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"{folder}: no {CONFIG_NAME}; a mapper checkpoint folder holds "
                              f"{CONFIG_NAME} and {WEIGHTS_NAME} (train one with `v2a train`)")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc}); re-export the mapper")
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object; re-export the mapper")
    try:
        return MapperConfig.from_dict(data, source=str(path))
    except TypeError as exc:
        raise CheckpointError(f"{path}: bad mapper config ({exc})")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no {path.name}; the checkpoint is incomplete, copy or re-export it")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: unreadable safetensors file ({str(exc).splitlines()[0] if str(exc) else exc}); "
                              "the file is damaged or truncated, re-export it")


def load_network(folder: str | Path, *, device: str | torch.device = "cpu") -> tuple[nn.Module, MapperConfig]:
    """The network described by `folder/config.json` with `folder/model.safetensors` loaded strictly."""
    folder = Path(folder)
    config = read_config(folder)
    network = build_network(config)
    state = read_state_dict(folder / WEIGHTS_NAME)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        problem = shorten(str(exc), 200)
        raise CheckpointError(f"{folder}: weights do not match config.json ({config.kind}/{config.arch}, "
                              f"depth {config.depth}): {problem}")
    return network.to(device).eval(), config


def state_dict_for_saving(network: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu").contiguous() for name, tensor in network.state_dict().items()}


def write_mapper_folder(folder: str | Path, network: nn.Module, config: MapperConfig,
                        extra_files: dict[str, bytes] | None = None) -> Path:
    """Write config.json + model.safetensors (+ extra files) into `folder`, replacing it atomically."""
    from safetensors.torch import save_file

    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        save_file(state_dict_for_saving(network), str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        (tmp / CONFIG_NAME).write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
    return folder