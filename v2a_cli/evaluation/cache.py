"""Per-file embedding cache: cache_dir()/eval/<network identity>/<sha256 of the file's bytes>.safetensors.

Keyed by content, so renamed or copied files hit the cache and edited files miss it. Each entry is
written to a temporary file and renamed into place, so a killed run leaves no partial entries; an
unreadable entry counts as a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from v2a_cli.files import atomic_output
from v2a_cli.registry import cache_dir

# Bump when the audio front ends or what is stored change, so old entries are not reused.
CACHE_VERSION = 1


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class EmbeddingCache:
    def __init__(self, network_identity: str, root: Path | None = None):
        self.folder = (root or cache_dir() / "eval") / f"{network_identity}-v{CACHE_VERSION}"

    def _entry(self, content_hash: str) -> Path:
        return self.folder / f"{content_hash}.safetensors"

    def get(self, content_hash: str) -> dict[str, torch.Tensor] | None:
        from safetensors.torch import load_file

        entry = self._entry(content_hash)
        if not entry.is_file():
            return None
        try:
            return load_file(str(entry))
        except Exception:  # damaged entry (disk full, foreign file): recompute
            return None

    def put(self, content_hash: str, tensors: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save_file

        with atomic_output(self._entry(content_hash), overwrite=True) as temp:
            save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(temp))
