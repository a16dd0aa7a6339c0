"""SSV2A's released files (ssv2a.json + ssv2a.pth, and agg.pth for video) -> v2a's checkpoint format.

The `.pth` files are read once with `torch.load(weights_only=True)` (tensors and plain containers
only, never arbitrary pickled objects) and written to `cache_dir()/ssv2a/<key>/` as `config.json` +
`model.safetensors`; later runs load that folder. The key covers each file's path, size and
modification time, so replacing a file converts again. A converted folder can also be passed to
`--mapper` directly (its config.json says `"model_type": "ssv2a"`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from v2a_cli.errors import CheckpointError, first_line
from v2a_cli.files import atomic_folder
from v2a_cli.mapper.ssv2a.model import SSV2AMapper, SSV2ASampling
from v2a_cli.mapper.ssv2a.networks import SSV2ANetworks

MODEL_TYPE = "ssv2a"
FORMAT_VERSION = 1
CONFIG_NAME = "ssv2a.json"
WEIGHTS_NAME = "ssv2a.pth"
AGGREGATOR_NAME = "agg.pth"
# SSV2A embeds pictures with OpenAI's CLIP ViT-L/14 (768-d); this is the same model in open_clip's layout.
CLIP_L14 = "hf-hub:timm/vit_large_patch14_clip_224.openai"
KNOWN_CLIPS = {768: CLIP_L14}
REQUIRED_KEYS = ("clip_dim", "clap_dim", "manifold_dim", "manifold", "generator", "remixer")


def original_files(path: Path) -> tuple[Path, Path, Path | None] | None:
    """(ssv2a.json, ssv2a.pth, agg.pth or None) for a folder holding them or one of the files; None when
    `path` is not SSV2A's layout."""
    folder = path if path.is_dir() else path.parent
    if path.is_file() and path.suffix == ".json":
        config, weights = path, folder / WEIGHTS_NAME
    elif path.is_file() and path.suffix == ".pth" and path.name != AGGREGATOR_NAME:
        config, weights = folder / CONFIG_NAME, path
    elif path.is_file() and path.name == AGGREGATOR_NAME:
        config, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    elif path.is_dir() and (folder / CONFIG_NAME).is_file():
        config, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    else:
        return None
    for needed in (config, weights):
        if not needed.is_file():
            raise CheckpointError(f"{needed}: missing; an SSV2A mapper needs {CONFIG_NAME} and {WEIGHTS_NAME} "
                                  "side by side (download them from SSV2A's release, see docs/sources.md)")
    aggregator = folder / AGGREGATOR_NAME
    return config, weights, aggregator if aggregator.is_file() else None


def read_original_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable SSV2A config ({first_line(exc)}); download it again")
    missing = [key for key in REQUIRED_KEYS if not isinstance(config, dict) or key not in config]
    if missing:
        raise CheckpointError(f"{path}: not an SSV2A config (no {', '.join(missing)}); pass SSV2A's ssv2a.json")
    return config


def read_pth(path: Path) -> dict[str, Any]:
    """A .pth opened with weights_only=True: tensors and plain containers only."""
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickled code objects refused by weights_only, ...
        raise CheckpointError(f"{path}: cannot read it safely ({first_line(exc)}); download it again")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a state dict; pass SSV2A's released file")
    return state


def _key(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        stat = f.stat()
        digest.update(f"{f.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def converted_folder(config: Path, weights: Path, aggregator: Path | None) -> Path:
    """The cached conversion of these files, written on first use."""
    from v2a_cli.registry import cache_dir

    files = [config, weights] + ([aggregator] if aggregator else [])
    folder = cache_dir() / "ssv2a" / _key(files)
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return folder
    original = read_original_config(config)
    state = read_pth(weights)
    for part in ("manifold_state", "remixer_state"):
        if not isinstance(state.get(part), dict):
            raise CheckpointError(f"{weights}: no {part}; it is not an SSV2A checkpoint (ssv2a.pth)")
    agg_state = read_pth(aggregator) if aggregator else None
    networks = SSV2ANetworks(original, with_aggregator=agg_state is not None)
    try:
        networks.load_original(state, agg_state)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights}: weights do not match {config.name} ({first_line(exc, 200)})")
    write_converted(folder, networks, original, source={"config": str(config), "weights": str(weights),
                                                        "aggregator": str(aggregator) if aggregator else None})
    return folder


def write_converted(folder: Path, networks: SSV2ANetworks, original: dict[str, Any], *,
                    source: dict[str, Any] | None = None, clip: str | None = None) -> Path:
    from safetensors.torch import save_file

    config = {
        "model_type": MODEL_TYPE,
        "format_version": FORMAT_VERSION,
        "clip": clip if clip is not None else KNOWN_CLIPS.get(int(original["clip_dim"])),
        "aggregator": networks.aggregator is not None,
        "sampling": SSV2ASampling().__dict__,
        "ssv2a": original,
        "source": source or {},
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in networks.state_dict().items()}
    with atomic_folder(Path(folder)) as tmp:
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return Path(folder)


def is_converted(folder: Path) -> bool:
    try:
        return json.loads((folder / "config.json").read_text()).get("model_type") == MODEL_TYPE
    except (OSError, ValueError, AttributeError):
        return False


def load_converted(folder: str | Path, *, device: str | torch.device = "cpu") -> SSV2AMapper:
    from safetensors.torch import load_file

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{folder}: SSV2A format version {config['format_version']} is newer than this v2a; upgrade v2a")
    networks = SSV2ANetworks(config["ssv2a"], with_aggregator=bool(config.get("aggregator")))
    try:
        networks.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    except Exception as exc:
        raise CheckpointError(f"{folder}: weights do not match config.json ({first_line(exc, 200)}); "
                              "delete the folder to convert again")
    sampling = SSV2ASampling(**config.get("sampling", {}))
    return SSV2AMapper(networks.to(device), clip_spec=config.get("clip"), defaults=sampling, source=str(folder))


def load_ssv2a(path: str | Path, *, device: str | torch.device = "cpu") -> SSV2AMapper | None:
    """An SSV2A mapper from its original files or a converted folder; None when `path` is neither."""
    path = Path(path).expanduser()
    if path.is_dir() and is_converted(path):
        return load_converted(path, device=device)
    files = original_files(path)
    if files is None:
        return None
    return load_converted(converted_folder(*files), device=device)
