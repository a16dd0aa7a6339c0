"""Area fixtures: one tiny AudioLDM folder (tiny zoo part) and its loaded generator, shared per module."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def audioldm_dir(tmp_path_factory) -> Path:
    from v2a_cli.testing.zoo_generator import build_generator

    return build_generator(tmp_path_factory.mktemp("audioldm") / "generator", seed=0)


@pytest.fixture(scope="module")
def audioldm(audioldm_dir):
    from v2a_cli.generation.audioldm import AudioLDMGenerator

    return AudioLDMGenerator.load(str(audioldm_dir), device="cpu")
