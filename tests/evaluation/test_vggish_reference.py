"""VGGish (FAD's network) against torchvggish's own front end and network on the tiny zoo weights.

Fixture: data/make_vggish_reference.py (as audioldm_eval's FAD runs it: no PCA, no final ReLU).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "vggish_reference.npz")


def _waveforms():
    spec = importlib.util.spec_from_file_location("make_vggish_reference", DATA / "make_vggish_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.waveforms()


def test_frames_match_torchvggish(zoo_models):
    from v2a_cli.registry import load_model

    vggish = load_model("vggish", zoo_models.vggish, device="cpu")
    waves = _waveforms()
    for key, output in zip(waves, vggish.embed(list(waves.values()))):
        frames = output["frames"].numpy()
        assert frames.shape == FIXTURE[key].shape, key
        assert np.abs(frames - FIXTURE[key]).max() <= 1e-5, key
