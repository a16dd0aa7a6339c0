from __future__ import annotations

import pytest
from PIL import Image

from v2a_cli.errors import OutputExistsError
from v2a_cli.sources.draw import write_boxes
from v2a_cli.sources.find import find_sources


def test_boxes_picture_has_the_inputs_size(detector, picture, tmp_path):
    found = find_sources(detector, picture, max_sources=3, threshold=0.0)
    out = write_boxes(tmp_path / "boxes.png", picture, found)
    with Image.open(out) as drawn:
        assert drawn.size == picture.size
        assert drawn.convert("RGB").tobytes() != picture.tobytes()  # something was drawn
    with pytest.raises(OutputExistsError):
        write_boxes(out, picture, found)


def test_labels_stay_inside_the_picture_and_labels_of_boxes_at_one_place_do_not_overlap():
    from v2a_cli.sources.draw import _overlap, label_places

    picture = (200, 120)
    boxes = [(180.0, 10.0, 200.0, 40.0),  # at the right edge: its label is wider than the room left
             (50.0, 50.0, 90.0, 90.0), (50.0, 50.0, 90.0, 90.0), (52.0, 51.0, 90.0, 90.0)]  # three at one place
    sizes = [(90.0, 12.0)] * len(boxes)
    places = label_places(boxes, sizes, picture)
    for x, y, w, h in places:
        assert 0 <= x and x + w <= picture[0] and 0 <= y and y + h <= picture[1]
    assert not any(_overlap(a, b) for i, a in enumerate(places) for b in places[i + 1:])


def test_boxes_drawn_at_the_right_edge_show_their_whole_label():
    from v2a_cli.sources.draw import draw_sources
    from v2a_cli.sources.find import FoundSource

    blank = Image.new("RGB", (160, 60), "white")
    drawn = draw_sources(blank, [FoundSource("Dog", 0.9, (150.0, 20.0, 160.0, 50.0), 1.0)])
    pixels = drawn.load()
    # The label's filled background starts left of the box, so the whole text fits before the right edge.
    assert any(pixels[x, 12] != (255, 255, 255) for x in range(0, 100))
