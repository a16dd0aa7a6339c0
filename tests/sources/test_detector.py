"""The OWLv2 detector through the registry, on the zoo's tiny OWLv2 folder."""

from __future__ import annotations

import pytest
import torch

from v2a_cli.errors import ModelUnavailableError
from v2a_cli.sources.detector import OwlDetector, QUERY_TEMPLATE

CLASSES = ["dog", "car", "people talking"]


def test_loads_through_the_registry(detector):
    assert isinstance(detector, OwlDetector) and detector.model_type == "owlv2"


def test_fast_path_equals_the_models_own_forward(detector, picture):
    """Queries embedded once and reused must score exactly as transformers' full forward does."""
    logits, boxes = detector.raw([picture], CLASSES)
    inputs = detector.processor(text=[[QUERY_TEMPLATE.format(c) for c in CLASSES]], images=picture,
                                return_tensors="pt", padding="max_length", truncation=True)
    with torch.no_grad():
        out = detector.model(**inputs)
    assert torch.allclose(logits, out.logits, atol=1e-5)
    assert torch.allclose(boxes, out.pred_boxes, atol=1e-6)


def test_boxes_are_pixels_inside_the_picture_best_first(detector, picture):
    found = detector.detect([picture], CLASSES, threshold=0.0)[0]
    assert found, "the zoo detector proposes one box per cell"
    width, height = picture.size
    for d in found:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and d.label in CLASSES
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    # OWLv2 pads to a square at the bottom: the 120x80 picture's boxes reach its right edge
    assert max(d.box[2] for d in found) == pytest.approx(width, abs=1.0)
    assert len(detector.detect([picture], CLASSES, threshold=0.0, max_detections=2)[0]) == 2
    assert detector.detect([picture], CLASSES, threshold=0.999)[0] == []


def test_missing_detector_offline_is_one_line(monkeypatch):
    from v2a_cli.loaders import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="detector model 'nobody/no-such-owl' is not available"):
        load_model("detector", "nobody/no-such-owl")


def test_query_embeddings_are_cached_on_disk(zoo_models, detector):
    from v2a_cli.registry import cache_dir
    from v2a_cli.loaders import load_model

    first = detector.query_embeddings(["dog", "cat"])
    path = detector._cache_path(("dog", "cat"))
    assert path.is_file() and path.parent == cache_dir() / "detector"
    fresh = load_model("detector", zoo_models.detector, device="cpu")
    assert torch.equal(fresh.query_embeddings(["dog", "cat"]), first)
    path.write_bytes(b"garbage")  # a damaged cache file is recomputed, never an error
    assert torch.allclose(load_model("detector", zoo_models.detector).query_embeddings(["dog", "cat"]), first)
