"""Tiny CLIP and CLAP zoo parts, built once per session (read-only for tests)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    from v2a_cli.testing.zoo_clip import build_clip

    return build_clip(tmp_path_factory.mktemp("zoo-clip") / "clip")


@pytest.fixture(scope="session")
def tiny_clap_ckpt(tmp_path_factory) -> Path:
    """An original-layout AudioLDM checkpoint of the tiny CLAP (seed 0), with tokenizer/ beside it."""
    from v2a_cli.testing.zoo_clap import build_clap

    return build_clap(tmp_path_factory.mktemp("zoo-clap"))


@pytest.fixture(scope="session")
def tiny_clap_model():
    """The same tiny CLAP, built directly as a transformers ClapModel (the reference)."""
    from v2a_cli.testing.zoo_clap import build_tiny_clap_model

    return build_tiny_clap_model(seed=0)
