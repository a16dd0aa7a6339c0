"""CLIP image/text encoder: an open_clip model from a Hub repo or a local folder in the Hub layout.

The folder holds `open_clip_config.json` (`model_cfg` + `preprocess_cfg`) and `open_clip_model.safetensors`
(or `open_clip_pytorch_model.bin`, read by open_clip with `weights_only=True`). The folder is found
through the registry (so a missing or offline model is one `ModelUnavailableError` line) and then built
with open_clip's `local-dir:` schema, which gives the model, its eval transform and its tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from v2a_cli.errors import CheckpointError, first_line
from v2a_cli.registry import register_loader, resolve_dir

CONFIG_NAME = "open_clip_config.json"
# In order of preference; the .bin is only used when no safetensors file exists (open_clip reads it
# with torch.load(weights_only=True)).
WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# What to fetch from a Hub repo: config, weights and any tokenizer files an HF-tokenizer model needs.
HUB_PATTERNS = [CONFIG_NAME, WEIGHT_NAMES[0], "tokenizer*", "vocab*", "merges.txt", "special_tokens_map.json"]


class ClipEncoder:
    """An open_clip model with its own eval transform and tokenizer; embeddings are unit-norm float32 on CPU."""

    def __init__(self, model: torch.nn.Module, preprocess: Callable[[Any], torch.Tensor], tokenizer: Callable,
                 *, device: torch.device, dtype: torch.dtype, source: str = ""):
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = dtype
        self.source = source
        self.embed_dim = int(getattr(model, "embed_dim", 0) or model.text_projection.shape[1])
        # open_clip's transform split in two: the PIL part (resize, crop, RGB) runs where images are
        # decoded (extraction workers) and gives uint8; ToTensor + Normalize run in `encode_pixels`.
        self.pixel_transform, self.pixel_mean, self.pixel_std = split_transform(preprocess)

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> "ClipEncoder":
        folder = resolve_dir(spec, kind="clip", allow_patterns=HUB_PATTERNS)
        if not Path(spec).expanduser().exists() and not (folder / WEIGHT_NAMES[0]).is_file():
            # A Hub repo without safetensors: take its .bin, which open_clip reads with weights_only=True.
            folder = resolve_dir(spec, kind="clip", allow_patterns=HUB_PATTERNS + [WEIGHT_NAMES[1]])
        weights = _weights_file(folder, spec)
        import open_clip

        try:
            model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}", device="cpu",
                                                                         weights_only=True)
            tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
        except Exception as exc:  # truncated weights, shape mismatch, bad config: all "this folder is broken"
            raise CheckpointError(f"{weights}: cannot build the CLIP model ({first_line(exc, 200)}); "
                                  f"re-download the model '{spec}'") from exc
        device = torch.device(device)
        model = model.to(device=device, dtype=dtype).eval()
        return cls(model, preprocess, tokenizer, device=device, dtype=dtype, source=str(weights))

    @torch.inference_mode()
    def encode_images(self, images: Sequence[Any], batch_size: int = 64) -> torch.Tensor:
        """PIL images (any mode; the transform converts to RGB) -> [N, D]."""
        pixels = [torch.from_numpy(image_to_uint8(self.pixel_transform, image)) for image in images]
        return self.encode_pixels(torch.stack(pixels) if pixels else torch.zeros(0, 3, 1, 1, dtype=torch.uint8),
                                  batch_size=batch_size)

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """[N, 3, H, W] uint8 pixels from `image_to_uint8` -> [N, D].

        The transform's ToTensor + Normalize run here, on the device: x / 255, minus mean, over std, in
        float32, the same operations in the same order as open_clip's transform (bit-identical on CPU)."""
        chunks = []
        mean = self.pixel_mean.to(self.device)[:, None, None]
        std = self.pixel_std.to(self.device)[:, None, None]
        for start in range(0, len(pixels), batch_size):
            batch = pixels[start:start + batch_size]
            if self.device.type == "cuda":
                batch = batch.pin_memory().to(self.device, non_blocking=True)
            else:
                batch = batch.to(self.device)
            normalised = (batch.to(torch.float32).div(255) - mean) / std
            features = self.model.encode_image(normalised.to(self.dtype))
            chunks.append(F.normalize(features.float(), dim=-1).cpu())
        return torch.cat(chunks) if chunks else torch.zeros(0, self.embed_dim)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        chunks = []
        for start in range(0, len(texts), batch_size):
            tokens = self.tokenizer(list(texts[start:start + batch_size])).to(self.device)
            features = self.model.encode_text(tokens)
            chunks.append(F.normalize(features.float(), dim=-1).cpu())
        return torch.cat(chunks) if chunks else torch.zeros(0, self.embed_dim)


def split_transform(preprocess: Callable[[Any], torch.Tensor]) -> tuple[Callable, torch.Tensor, torch.Tensor]:
    """open_clip's eval transform (Compose of PIL steps, ToTensor, Normalize) -> (the PIL steps as a
    picklable Compose, mean [3], std [3])."""
    from torchvision.transforms import Compose, Normalize

    steps = list(getattr(preprocess, "transforms", []))
    names = [type(step).__name__ for step in steps]
    to_tensor = next((i for i, name in enumerate(names) if name.endswith("ToTensor")), None)
    if to_tensor is None or to_tensor != len(steps) - 2 or not isinstance(steps[-1], Normalize):
        raise CheckpointError(f"unsupported CLIP preprocessing {names}: expected PIL steps, ToTensor, Normalize")
    normalize = steps[-1]
    return (Compose(steps[:to_tensor]), torch.tensor(normalize.mean, dtype=torch.float32),
            torch.tensor(normalize.std, dtype=torch.float32))


def image_to_uint8(pixel_transform: Callable, image: Any) -> "np.ndarray":
    """One image through the PIL part of the transform -> [3, H, W] uint8 (what ToTensor would read)."""
    import numpy as np

    picture = pixel_transform(image)
    if picture.mode != "RGB":  # open_clip converts in its transform; a grey or RGBA image ends up RGB
        picture = picture.convert("RGB")
    return np.ascontiguousarray(np.asarray(picture, dtype=np.uint8).transpose(2, 0, 1))


def _weights_file(folder: Path, spec: str) -> Path:
    config = folder / CONFIG_NAME
    if not config.is_file():
        raise CheckpointError(f"{folder}: no {CONFIG_NAME}; expected an open_clip folder (config + open_clip_model.safetensors)")
    try:
        if "model_cfg" not in json.loads(config.read_text()):
            raise ValueError("no 'model_cfg'")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{config}: not a valid open_clip config ({exc}); re-download the model '{spec}'")
    for name in WEIGHT_NAMES:
        if (folder / name).is_file():
            return folder / name
    # open_clip would silently build random weights; that must never pass for a real model.
    raise CheckpointError(f"{folder}: no {WEIGHT_NAMES[0]}; re-download the model '{spec}' or write its weights there")



@register_loader("clip")
def load_clip(spec: str, **kwargs: Any) -> ClipEncoder:
    return ClipEncoder.load(spec, **kwargs)
