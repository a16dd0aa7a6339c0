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
