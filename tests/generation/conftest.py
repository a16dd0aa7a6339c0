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


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from threads; on a shared 2-core machine, two threads per process are 5x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
