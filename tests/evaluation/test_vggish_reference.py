"""VGGish (FAD's network) against torchvggish's own front end and network on the tiny zoo weights.

Fixture: data/make_vggish_reference.py (as audioldm_eval's FAD runs it: no PCA, no final ReLU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from v2a_cli.testing.fixture_scripts import load_fixture_script

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "vggish_reference.npz")


def _waveforms():
    return load_fixture_script(DATA / "make_vggish_reference.py").waveforms()


def test_frames_match_torchvggish(zoo_models):
    from v2a_cli.registry import load_model

    vggish = load_model("vggish", zoo_models.vggish, device="cpu")
    waves = _waveforms()
    for key, output in zip(waves, vggish.embed(list(waves.values()))):
        frames = output["frames"].numpy()
        assert frames.shape == FIXTURE[key].shape, key
        assert np.abs(frames - FIXTURE[key]).max() <= 1e-5, key
