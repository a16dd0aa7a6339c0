"""Web app fixtures: the app's service over the tiny zoo (zero-shot bridge mapper) and small media."""

from __future__ import annotations

import pytest

from v2a_cli.testing.media import make_image, make_video, make_wav


@pytest.fixture(scope="module")
def service(zoo_models, tmp_path_factory):
    from v2a_cli.generation.pipeline import Pipeline
    from v2a_cli.web.service import AppService

    pipeline = Pipeline(zoo_models.with_overrides(mapper="bridge"), device="cpu")
    return AppService(pipeline, tmp_path_factory.mktemp("app-work"))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("app-media")
    broken = root / "uploads" / "broken.png"
    broken.parent.mkdir()
    broken.write_bytes(b"this is text, not a picture")
    return {
        "image": make_image(root / "dog.png"),
        "video": make_video(root / "street.mp4", seconds=1.0),
        "audio": make_wav(root / "frog.wav", seconds=1.0),
        "broken": broken,
    }
