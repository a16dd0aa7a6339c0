"""The evaluation networks' checkpoints: short names -> URLs, and .pth -> safetensors once.

The authors publish pickled `.pth` files. They are opened only with `torch.load(weights_only=True)`;
PANNs' files also pickle their data sampler's numpy arrays, so numpy's array-rebuilding types are
allow-listed for that one call (data types only, no code). The tensors are then written once as
safetensors under `cache_dir()/converted/<kind>/`, and later loads read that file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from v2a_cli.errors import CheckpointError, first_line
from v2a_cli.files import atomic_output
from v2a_cli.registry import cache_dir, resolve_file


@dataclass(frozen=True)
class KnownCheckpoint:
    url: str
    sha256_prefix: str | None = None  # torch.hub file names carry the first 8 hex digits of the sha256


@dataclass(frozen=True)
class LoadedState:
    tensors: dict[str, torch.Tensor]
    source: Path  # the file the user's spec resolved to
    identity: str  # stable id of these weights (names the embedding cache)


def resolve_checkpoint(spec: str, *, kind: str, known: dict[str, KnownCheckpoint], filename: str) -> tuple[Path, KnownCheckpoint | None]:
    """A short name from `known`, a local file or folder (holding `filename`), a Hub repo, or a URL."""
    entry = known.get(spec)
    return resolve_file(entry.url if entry else spec, filename, kind=kind), entry


def load_state(spec: str, *, kind: str, known: dict[str, KnownCheckpoint], filename: str,
               subkey: str | None = None) -> LoadedState:
    """The checkpoint's tensors (`subkey` picks a nested state dict, as PANNs' "model")."""
    path, entry = resolve_checkpoint(spec, kind=kind, known=known, filename=filename)
    identity = f"{kind}-{file_key(path)}"
    if path.suffix == ".safetensors":
        return LoadedState(_read_safetensors(path, spec), path, identity)
    converted = cache_dir() / "converted" / kind / f"{file_key(path)}.safetensors"
    if converted.is_file():
        try:
            return LoadedState(_read_safetensors(converted, spec), path, identity)
        except CheckpointError:
            converted.unlink(missing_ok=True)  # a damaged cache entry is rebuilt below
    if entry is not None and entry.sha256_prefix and not _sha256(path).startswith(entry.sha256_prefix):
        raise CheckpointError(f"{path}: checksum does not match the published {kind} checkpoint; "
                              f"delete it and download again")
    tensors = _read_pth(path, kind=kind, subkey=subkey)
    _write_safetensors(tensors, converted)
    return LoadedState(tensors, path, identity)


def _numpy_data_globals() -> list:
    import numpy as np

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    dtype_classes = [getattr(np.dtypes, name) for name in dir(getattr(np, "dtypes", None)) if name.endswith("DType")]
    return [
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        *dtype_classes,
    ]


def _read_pth(path: Path, *, kind: str, subkey: str | None) -> dict[str, torch.Tensor]:
    try:
        with torch.serialization.safe_globals(_numpy_data_globals()):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated download, HTML error page, foreign pickle: all "not this checkpoint"
        raise CheckpointError(f"{path}: not a readable {kind} checkpoint ({first_line(exc, 200)}); "
                              f"delete it and download it again") from exc
    if subkey is not None and isinstance(data, dict) and isinstance(data.get(subkey), dict):
        data = data[subkey]
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a state dict in this {kind} checkpoint, found {type(data).__name__}")
    tensors = {name: value for name, value in data.items() if isinstance(value, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path}: this {kind} checkpoint holds no tensors"
                              + (f" (no '{subkey}' state dict)" if subkey else ""))
    return tensors


def _read_safetensors(path: Path, spec: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path}: unreadable safetensors file ({first_line(exc, 200)}); re-download '{spec}'") from exc


def _write_safetensors(tensors: dict[str, torch.Tensor], target: Path) -> None:
    from safetensors.torch import save_file

    with atomic_output(target, overwrite=True) as temp:
        save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(temp))


def file_key(path: Path) -> str:
    """Cheap identity of a weights file: resolved path, size and modification time."""
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()



def load_strict(module: torch.nn.Module, tensors: dict[str, torch.Tensor], *, source: Path, kind: str) -> None:
    """load_state_dict(strict=True); a mismatch is a CheckpointError naming the file."""
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{source}: does not match the {kind} network ({first_line(exc, 200)})") from exc
