"""The sound sources of one picture: the whole image plus the detected boxes, each with a weight.

Weights (they sum to 1):
  - the whole image keeps WHOLE_SHARE (one half) when anything is found: it carries the scene and its
    ambience, and SSV2A too always keeps the whole picture as its first ("global") slot;
  - the boxes share the rest in proportion to score x area, where area is the box's fraction of the
    picture (SSV2A's "locality") and score the detector's confidence: a large, certain dog outweighs a
    small, doubtful bird;
  - nothing found: the whole image alone, weight 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from v2a_cli.sources.detector import Detection

WHOLE_SHARE = 0.5
WHOLE_LABEL = "whole image"
VOCABULARIES = ("audioset", "vggsound")  # the bridge's sound-class names are the detector's queries


@dataclass(frozen=True)
class FoundSource:
    label: str  # detected class, or "whole image"
    score: float  # detector confidence (1.0 for the whole image)
    box: tuple[float, float, float, float] | None  # x0, y0, x1, y1 in pixels; None = the whole image
    weight: float  # share in the mix; a list's weights sum to 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["class"] = data.pop("label")
        data["box"] = None if self.box is None else [round(v, 1) for v in self.box]
        data["score"] = round(self.score, 4)
        data["weight"] = round(self.weight, 6)
        return {key: data[key] for key in ("class", "score", "box", "weight")}


def sound_classes() -> list[str]:
    from v2a_cli.vocabulary import combined_vocabulary

    return combined_vocabulary(VOCABULARIES)


def area_fraction(box: Sequence[float], size: tuple[int, int]) -> float:
    width, height = size
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]) / float(width * height)


def weigh(labels: Sequence[str], scores: Sequence[float], boxes: Sequence[Sequence[float]],
          strengths: Sequence[float]) -> list[FoundSource]:
    """Whole image first, then the boxes, weighted by `strengths` (score x area) as the module says."""
    if not labels:
        return [FoundSource(WHOLE_LABEL, 1.0, None, 1.0)]
    total = sum(strengths)
    shares = [s / total if total > 0 else 1.0 / len(strengths) for s in strengths]
    found = [FoundSource(WHOLE_LABEL, 1.0, None, WHOLE_SHARE)]
    found += [FoundSource(label, float(score), tuple(float(v) for v in box), (1 - WHOLE_SHARE) * share)
              for label, score, box, share in zip(labels, scores, boxes, shares)]
    return found


def sources_from_detections(detections: Sequence[Detection], size: tuple[int, int]) -> list[FoundSource]:
    return weigh([d.label for d in detections], [d.score for d in detections], [d.box for d in detections],
                 [d.score * area_fraction(d.box, size) for d in detections])


def find_sources(detector: Any, image: Any, *, max_sources: int = 8, threshold: float = 0.2,
                 classes: Sequence[str] | None = None) -> list[FoundSource]:
    """The whole image and up to `max_sources` boxes scoring above `threshold`, best first."""
    classes = list(classes) if classes is not None else sound_classes()
    detections = detector.detect([image], classes, threshold=threshold, max_detections=max_sources)[0]
    return sources_from_detections(detections, image.size)


def crop(image: Any, box: Sequence[float] | None) -> Any:
    """The picture inside `box` (pixel edges rounded outwards), or the picture itself for None."""
    import math

    if box is None:
        return image
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(image.size[0], math.ceil(box[2])), min(image.size[1], math.ceil(box[3]))
    return image.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))


def stretched_crop(image: Any, box: Sequence[float] | None) -> Any:
    """SSV2A's crop (`ssv2a/data/detect.py` `yolo_detect`): the box, its edges rounded to the nearest
    pixel as PIL's `crop` rounds them, resized to the whole picture's size (bicubic), so CLIP's
    centre crop loses none of it (an elongated box arrives stretched). None: the picture itself."""
    from PIL import Image

    if box is None:
        return image
    width, height = image.size
    x0, y0, x1, y1 = (int(round(v)) for v in box)  # what PIL's Image.crop does with a float box
    x0, y0 = min(max(0, x0), width - 1), min(max(0, y0), height - 1)  # a box reaching outside is clamped
    x1, y1 = min(max(x1, x0 + 1), width), min(max(y1, y0 + 1), height)  # at least one pixel
    return image.crop((x0, y0, x1, y1)).resize(image.size, Image.Resampling.BICUBIC)


CROPPERS = {"box": crop, "stretch": stretched_crop}  # MapperSettings.crops -> how a source is cut out


def crop_source(image: Any, box: Sequence[float] | None, geometry: str = "box") -> Any:
    """A source's pixels for CLIP, cut out as the mapper declares (`MapperSettings.crops`)."""
    return CROPPERS[geometry](image, box)
