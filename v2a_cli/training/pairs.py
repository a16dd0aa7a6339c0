"""(CLIP, CLAP) training pairs: the pairs file format, and pairs read from an extraction cache.

A pairs file is safetensors with ``clip`` [N, D] and ``clap`` [N, D'] float32 (D = D' = 512 for the
real models), and optionally the clip names as JSON under the metadata key ``names``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from v2a_cli.errors import InputError, OutputExistsError, V2AError
from v2a_cli.training.extract import finished_shards, read_manifest, write_atomically

PAIR_KEYS = ("clip", "clap")
NAMES_KEY = "names"
SOURCE_KEY = "source"  # export_pairs: which cache state and settings the pairs were made from (JSON)
CACHE_SPLITS = ("train", "test", "all")


def save_pairs(path: str | Path, clip: torch.Tensor, clap: torch.Tensor, names: Sequence[str] | None = None,
               *, overwrite: bool = False, source: dict | None = None) -> Path:
    """Write a pairs file atomically (temp file in the same folder, then rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    clip, clap = clip.detach().float().cpu().contiguous(), clap.detach().float().cpu().contiguous()
    _check_pair_shapes(path, clip, clap)
    if names is not None and len(names) != len(clip):
        raise ValueError(f"{len(names)} names for {len(clip)} pairs")
    metadata = {NAMES_KEY: json.dumps(list(names))} if names is not None else {}
    if source is not None:
        metadata[SOURCE_KEY] = json.dumps(source, sort_keys=True)
    metadata = metadata or None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: save_file({"clip": clip, "clap": clap}, str(tmp), metadata=metadata))
    return path


def load_pairs(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(clip [N, D], clap [N, D']) float32. A missing, broken or malformed file raises InputError."""
    tensors, _ = _read_pairs_file(path)
    return tensors["clip"], tensors["clap"]


def load_pair_names(path: str | Path) -> list[str] | None:
    """The names stored with a pairs file, or None."""
    _, metadata = _read_pairs_file(path)
    return json.loads(metadata[NAMES_KEY]) if NAMES_KEY in metadata else None


def load_cached_pairs(cache_dir: str | Path, *, split: str = "train", aggregate: str = "average",
                      seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs from an extraction cache: each clip's frame embeddings aggregated into one CLIP embedding.

    aggregate: "average" (mean, then L2-normalised; the paper's best), "middle" (frame n // 2) or
    "random" (one frame per clip, drawn from one generator seeded with `seed`, in cache order).
    """
    clip, clap, _ = load_cached_pairs_with_names(cache_dir, split=split, aggregate=aggregate, seed=seed)
    return clip, clap


def load_cached_pairs_with_names(cache_dir: str | Path, *, split: str = "train", aggregate: str = "average",
                                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    from safetensors.torch import load_file

    from v2a_cli.generation.options import AGGREGATORS

    if split not in CACHE_SPLITS:
        raise V2AError(f"split {split!r}: expected one of {', '.join(CACHE_SPLITS)}")
    if aggregate not in AGGREGATORS:
        raise V2AError(f"aggregate {aggregate!r}: expected one of {', '.join(AGGREGATORS)}")
    cache_dir = Path(cache_dir)
    manifest = read_manifest(cache_dir)
    shards = finished_shards(cache_dir)
    missing = sorted(set(range(manifest["n_shards"])) - set(shards))
    if missing:
        raise V2AError(f"{cache_dir}: extraction is unfinished ({len(missing)} of {manifest['n_shards']} shards "
                       f"missing); rerun v2a extract with the same --out to finish it")

    generator = torch.Generator().manual_seed(seed)
    clips, claps, names = [], [], []
    for index in sorted(shards):
        sidecar = shards[index]
        if not sidecar["clips"]:
            continue
        tensors_path = cache_dir / sidecar["tensors"]
        try:
            tensors = load_file(str(tensors_path))
        except Exception as exc:  # safetensors raises its own error types for damaged files
            raise InputError(tensors_path, f"damaged shard ({exc}); delete it and its .json, then rerun v2a extract")
        frames, offsets = tensors["frame_clip"].float(), tensors["frame_offsets"]
        for row, clip_info in enumerate(sidecar["clips"]):
            if split != "all" and clip_info["split"] != split:
                continue
            clip_frames = frames[int(offsets[row]):int(offsets[row + 1])]
            clips.append(F.normalize(AGGREGATORS[aggregate](clip_frames, generator), dim=-1))
            claps.append(tensors["clap"][row])
            names.append(clip_info["path"])
    if not clips:
        raise V2AError(f"{cache_dir}: no {split} clips in this cache")
    return torch.stack(clips), torch.stack(claps).float(), names


def export_pairs(cache_dir: str | Path, out_file: str | Path, *, split: str = "train", aggregate: str = "average",
                 seed: int = 0, overwrite: bool = False) -> Path:
    """Aggregate a cache into one pairs file (names = the clips' relative paths)."""
    out_file = Path(out_file)
    if out_file.exists() and not overwrite:
        raise OutputExistsError(out_file)
    clip, clap, names = load_cached_pairs_with_names(cache_dir, split=split, aggregate=aggregate, seed=seed)
    source = pairs_source(cache_dir, split=split, aggregate=aggregate, seed=seed)
    return save_pairs(out_file, clip, clap, names, overwrite=overwrite, source=source)


def pairs_source(cache_dir: str | Path, *, split: str = "train", aggregate: str = "average", seed: int = 0) -> dict:
    """What a pairs file exported from `cache_dir` now depends on: the cache's manifest (its models,
    settings and finished shards) and the export's settings."""
    import hashlib

    from v2a_cli.training.extract import MANIFEST_NAME

    manifest = Path(cache_dir) / MANIFEST_NAME
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None
    return {"manifest_sha256": digest, "split": split, "aggregate": aggregate, "seed": seed}


def pairs_up_to_date(cache_dir: str | Path, out_file: str | Path, *, split: str = "train",
                     aggregate: str = "average", seed: int = 0) -> bool:
    """Whether `out_file` is what `export_pairs` would write from `cache_dir` as it is now (a finished
    cache, the same settings): then a rerun has nothing to do."""
    from safetensors import safe_open

    from v2a_cli.training.extract import finished_shards, read_manifest

    try:
        manifest = read_manifest(cache_dir)
        if set(range(manifest["n_shards"])) - set(finished_shards(cache_dir)):
            return False
        with safe_open(str(out_file), framework="pt") as handle:
            recorded = (handle.metadata() or {}).get(SOURCE_KEY)
    except Exception:  # no cache, an unreadable file: not up to date
        return False
    wanted = pairs_source(cache_dir, split=split, aggregate=aggregate, seed=seed)
    return recorded is not None and json.loads(recorded) == wanted and wanted["manifest_sha256"] is not None


def _read_pairs_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "pairs file not found; make one with `v2a extract --pairs-out`")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            missing = [key for key in PAIR_KEYS if key not in handle.keys()]
            if missing:
                raise InputError(path, f"not a pairs file: no {' or '.join(missing)} tensor; "
                                       "make one with `v2a extract --pairs-out`")
            tensors = {key: handle.get_tensor(key) for key in PAIR_KEYS}
    except InputError:
        raise
    except Exception as exc:  # safetensors' own error types for truncated / non-safetensors files
        raise InputError(path, f"not a readable safetensors pairs file ({exc})")
    for key, tensor in tensors.items():
        if tensor.dtype != torch.float32:
            raise InputError(path, f"{key} is {str(tensor.dtype).removeprefix('torch.')}, expected float32")
    _check_pair_shapes(path, tensors["clip"], tensors["clap"])
    return tensors, metadata


def _check_pair_shapes(path: Path, clip: torch.Tensor, clap: torch.Tensor) -> None:
    if clip.ndim != 2 or clap.ndim != 2:
        raise InputError(path, f"clip and clap must be [N, D] matrices, got {list(clip.shape)} and {list(clap.shape)}")
    if len(clip) != len(clap):
        raise InputError(path, f"{len(clip)} clip rows but {len(clap)} clap rows; they must pair up")
    if len(clip) == 0:
        raise InputError(path, "no pairs (N = 0)")
