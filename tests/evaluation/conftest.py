"""Area fixtures: the tiny zoo's evaluation networks, loaded once per module, and test sounds."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def networks(zoo_models):
    from v2a_cli.loaders import load_model

    return {kind: load_model(kind, getattr(zoo_models, kind), device="cpu") for kind in ("panns", "vggish", "wav2clip")}


@pytest.fixture
def sounds() -> list[np.ndarray]:
    """Three 16 kHz clips: two tones of equal length and a shorter noise."""
    t = np.arange(32000) / 16000
    rng = np.random.default_rng(0)
    return [
        (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
        (0.2 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32),
        (0.1 * rng.standard_normal(20000)).astype(np.float32),
    ]
