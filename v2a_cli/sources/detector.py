"""Open-vocabulary object detection with OWLv2 / OWL-ViT (transformers), for finding sound sources.

    detector = load_model("detector", "google/owlv2-base-patch16-ensemble")
    boxes = detector.detect([image], classes=["dog", "car"], threshold=0.2)[0]   # [Detection(...), ...]

Any OWL-ViT or OWLv2 folder in transformers' `save_pretrained` layout (a Hub id or a local path)
works. The class names are turned into text queries ("a photo of a dog") and embedded once per list;
each image is embedded once, every patch proposes a box scored against every query, and overlapping
boxes of one class are merged by non-maximum suppression. OWLv2 pads each image to a square (bottom
and right) before resizing, so its boxes are scaled by the longer side; OWL-ViT resizes directly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from v2a_cli.errors import CheckpointError, first_line
from v2a_cli.registry import register_loader, resolve_dir

QUERY_TEMPLATE = "a photo of a {}"
NMS_IOU = 0.3  # boxes of one class overlapping more than this are one object
HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt"]
PADS_TO_SQUARE = {"owlv2": True, "owlvit": False}  # model_type -> the image processor pads to a square


@dataclass(frozen=True)
class Detection:
    label: str  # the class name that scored highest for this box
    score: float  # sigmoid of the box's best class logit, 0..1
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the input image


class OwlDetector:
    def __init__(self, model: Any, processor: Any, *, device: torch.device, source: str = ""):
        self.model = model
        self.processor = processor
        self.device = device
        self.source = source
        self.model_type = model.config.model_type
        self._queries: tuple[tuple[str, ...], torch.Tensor] | None = None

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> "OwlDetector":
        folder = resolve_dir(spec, kind="detector", allow_patterns=HUB_PATTERNS)
        if not Path(spec).expanduser().exists() and not any(folder.glob("*.safetensors")):
            # A Hub repo published with only PyTorch weights (transformers reads them with weights_only=True).
            folder = resolve_dir(spec, kind="detector", allow_patterns=HUB_PATTERNS + ["pytorch_model.bin"])
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        try:
            processor = AutoProcessor.from_pretrained(str(folder))
            model = AutoModelForZeroShotObjectDetection.from_pretrained(str(folder))
        except Exception as exc:
            raise CheckpointError(f"{folder}: not a loadable OWL-ViT/OWLv2 detector ({first_line(exc)}); "
                                  f"re-download '{spec}'") from exc
        if model.config.model_type not in PADS_TO_SQUARE:
            raise CheckpointError(f"{spec}: a {model.config.model_type} model; the detector must be OWL-ViT or OWLv2")
        device = torch.device(device)
        return cls(model.to(device=device, dtype=dtype).eval(), processor, device=device, source=str(folder))

    @property
    def _base(self) -> Any:
        return getattr(self.model, self.model_type)  # the CLIP-like text+vision model inside

    @torch.inference_mode()
    def query_embeddings(self, classes: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """[Q, D] normalised text embeddings of the class queries: kept for the last list, and on disk
        under cache_dir()/detector/ (the ~800 sound classes take the text tower a while on a CPU)."""
        key = tuple(classes)
        if self._queries is None or self._queries[0] != key:
            path = self._cache_path(key)
            queries = _read_queries(path, len(key))
            if queries is None:
                queries = torch.cat([self._embed_queries(key[start:start + batch_size])
                                     for start in range(0, len(key), batch_size)]).float().cpu()
                _write_queries(path, queries)
            self._queries = (key, queries.to(self.device, self.model.dtype))
        return self._queries[1]

    def _embed_queries(self, names: Sequence[str]) -> torch.Tensor:
        texts = [QUERY_TEMPLATE.format(name) for name in names]
        tokens = self.processor.tokenizer(texts, padding="max_length", truncation=True, return_tensors="pt")
        out = self._base.get_text_features(input_ids=tokens["input_ids"].to(self.device),
                                           attention_mask=tokens["attention_mask"].to(self.device))
        features = out.pooler_output if hasattr(out, "pooler_output") else out
        return features / features.norm(dim=-1, keepdim=True)

    def _cache_path(self, classes: Sequence[str]) -> Path:
        """The hash covers the detector's files (names, sizes, times), the template and the class names."""
        from v2a_cli.registry import cache_dir

        folder = Path(self.source)
        files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        key = {"format": 1, "folder": str(folder), "template": QUERY_TEMPLATE, "classes": list(classes),
               "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        return cache_dir() / "detector" / f"{digest}.safetensors"

    @torch.inference_mode()
    def raw(self, images: Sequence[Any], classes: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [B, patches, Q], boxes [B, patches, 4] as normalised cx, cy, w, h)."""
        queries = self.query_embeddings(classes)
        pixels = self.processor.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        feature_map = self.model.image_embedder(pixel_values=pixels.to(self.device, self.model.dtype))[0]
        batch, height, width, dim = feature_map.shape
        features = feature_map.reshape(batch, height * width, dim)
        logits = self.model.class_predictor(features, queries[None].expand(batch, -1, -1).to(features.dtype),
                                            None)[0]
        boxes = self.model.box_predictor(features, feature_map)
        return logits.float(), boxes.float()

    @torch.inference_mode()
    def detect(self, images: Sequence[Any], classes: Sequence[str], *, threshold: float = 0.1,
               max_detections: int | None = None) -> list[list[Detection]]:
        """Boxes scoring above `threshold`, best first, one list per PIL image."""
        from torchvision.ops import batched_nms

        if not images:
            return []
        logits, boxes = self.raw(images, classes)
        results = []
        for image, image_logits, image_boxes in zip(images, logits, boxes):
            best = image_logits.max(dim=-1)
            scores = torch.sigmoid(best.values)
            keep = scores > threshold
            scale_w, scale_h = self._scale(image.size)
            cx, cy, w, h = image_boxes[keep].unbind(-1)
            xyxy = torch.stack([(cx - w / 2) * scale_w, (cy - h / 2) * scale_h,
                                (cx + w / 2) * scale_w, (cy + h / 2) * scale_h], dim=-1)
            xyxy[:, 0::2] = xyxy[:, 0::2].clamp(0, image.size[0])
            xyxy[:, 1::2] = xyxy[:, 1::2].clamp(0, image.size[1])
            kept_scores, labels = scores[keep], best.indices[keep]
            valid = (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1)
            xyxy, kept_scores, labels = xyxy[valid], kept_scores[valid], labels[valid]
            order = batched_nms(xyxy, kept_scores, labels, NMS_IOU)  # sorted by score, best first
            if max_detections is not None:
                order = order[:max_detections]
            results.append([Detection(classes[int(labels[i])], float(kept_scores[i]),
                                      tuple(float(v) for v in xyxy[i])) for i in order])
        return results

    def _scale(self, size: tuple[int, int]) -> tuple[float, float]:
        width, height = size
        if PADS_TO_SQUARE[self.model_type]:
            side = max(width, height)
            return float(side), float(side)
        return float(width), float(height)


def _read_queries(path: Path, count: int) -> torch.Tensor | None:
    from safetensors.torch import load_file

    if not path.is_file():
        return None
    try:
        queries = load_file(str(path))["queries"]
    except Exception:  # a truncated or foreign file in our own cache: recompute and replace it
        return None
    return queries if len(queries) == count else None


def _write_queries(path: Path, queries: torch.Tensor) -> None:
    from safetensors.torch import save_file

    from v2a_cli.files import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        save_file({"queries": queries.contiguous()}, str(tmp))


@register_loader("detector")
def load_detector(spec: str, **kwargs: Any) -> OwlDetector:
    return OwlDetector.load(spec, **kwargs)
