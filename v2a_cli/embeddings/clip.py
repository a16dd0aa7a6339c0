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
        chunks = []
        for start in range(0, len(images), batch_size):
            pixels = torch.stack([self.preprocess(image) for image in images[start:start + batch_size]])
            features = self.model.encode_image(pixels.to(device=self.device, dtype=self.dtype))
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
