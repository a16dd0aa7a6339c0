"""Device and dtype selection: cuda -> mps -> cpu; half precision only where it is fast and safe."""

from __future__ import annotations

import torch

from v2a_cli.errors import V2AError

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise V2AError("--device cuda: no CUDA device is visible; use --device auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise V2AError("--device mps: MPS is not available here; use --device auto or cpu")
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise V2AError(f"--device {name}: expected auto, cpu, cuda, cuda:N or mps")
    return torch.device(name)


def device_for_rank(name: str, local_rank: int | None) -> torch.device:
    """`pick_device(name)`, except that under torchrun (local_rank given) a plain CUDA choice means
    this process's own GPU, cuda:local_rank (modulo the visible GPUs)."""
    picked = pick_device(name)
    if picked.type == "cuda" and picked.index is None and local_rank is not None:
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return picked


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """`auto` is float16 on CUDA (AudioLDM was trained in fp16-friendly ranges), float32 elsewhere."""
    if name == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise V2AError(f"--dtype {name}: expected auto, float32, float16 or bfloat16")
    return DTYPES[name]
