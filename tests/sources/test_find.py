"""Weights, crops and the no-source fallback of sources/find.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from v2a_cli.sources.detector import Detection
from v2a_cli.sources.find import WHOLE_SHARE, crop, find_sources, sources_from_detections


def test_weights_sum_to_one_with_the_whole_picture_first():
    detections = [Detection("dog", 0.8, (0, 0, 50, 40)), Detection("car", 0.4, (50, 0, 100, 100))]
    found = sources_from_detections(detections, (100, 100))
    assert found[0].box is None and found[0].weight == WHOLE_SHARE
    assert sum(s.weight for s in found) == pytest.approx(1.0)
    # score x area: dog 0.8 * 0.2 = 0.16, car 0.4 * 0.5 = 0.2
    assert found[1].weight / found[2].weight == pytest.approx(0.16 / 0.2)


def test_nothing_found_is_the_whole_picture_alone():
    found = sources_from_detections([], (64, 48))
    assert len(found) == 1 and found[0].box is None and found[0].weight == 1.0


def test_found_sources_on_the_zoo(detector, picture):
    found = find_sources(detector, picture, max_sources=3, threshold=0.0)
    assert 2 <= len(found) <= 4 and sum(s.weight for s in found) == pytest.approx(1.0)
    assert find_sources(detector, picture, max_sources=3, threshold=0.999) == find_sources(detector, picture,
                                                                                         max_sources=0)


def test_crops_equal_the_boxes(detector, picture):
    pixels = np.asarray(picture)
    for source in find_sources(detector, picture, max_sources=4, threshold=0.0)[1:]:
        # every pixel the box touches: edges rounded outwards
        x0, y0 = math.floor(source.box[0]), math.floor(source.box[1])
        x1, y1 = math.ceil(source.box[2]), math.ceil(source.box[3])
        part = crop(picture, source.box)
        assert part.size == (x1 - x0, y1 - y0)
        assert np.array_equal(np.asarray(part), pixels[y0:y1, x0:x1])
    assert crop(picture, None) is picture
