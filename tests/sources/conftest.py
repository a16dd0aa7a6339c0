"""The zoo's OWLv2 detector, loaded once per module through the registry."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def detector(zoo_models):
    from v2a_cli.loaders import load_model

    return load_model("detector", zoo_models.detector, device="cpu")


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    from v2a_cli.media.images import load_image
    from v2a_cli.testing.media import make_image

    return load_image(make_image(tmp_path_factory.mktemp("pics") / "street.png", size=(120, 80)))
