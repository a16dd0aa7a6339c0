"""Shared fixtures: the tiny zoo (built once per test session) and small generated media."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the network or the user's caches.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tiny models on a 2-core machine: one thread per process is several times faster than two fighting.
# V2A_TEST_THREADS=2 runs the whole suite (and its subprocesses) with another thread count: no result may
# depend on it (docs/testing.md).
THREADS = os.environ.get("V2A_TEST_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", THREADS)

import torch  # noqa: E402

torch.set_num_threads(int(THREADS))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("V2A_CACHE", str(tmp_path_factory.getbasetemp() / "v2a-cache"))


@pytest.fixture(scope="session")
def zoo_models_toml(tmp_path_factory) -> Path:
    """Path of models.toml of a freshly built tiny zoo (session-wide, read-only for tests)."""
    from v2a_cli.testing.zoo import build_zoo

    return build_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def zoo_models(zoo_models_toml):
    from v2a_cli.models_config import ModelsConfig

    return ModelsConfig.from_toml(zoo_models_toml)
