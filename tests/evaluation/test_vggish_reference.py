"""VGGish (FAD's network) against torchvggish's own front end and network on the tiny zoo weights.

Fixture: data/make_vggish_reference.py (as audioldm_eval's FAD runs it: no PCA, no final ReLU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from v2a_cli.testing.fixture_scripts import load_fixture_script
from v2a_cli.testing.tolerance import assert_close_in_float32

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "vggish_reference.npz")
# The fixture is the original's float32 output on another CPU: other kernels (ATen's default/AVX2, oneDNN's
# ISA, mkldnn off, 2 threads) moved the frames by up to 9 ulps of their scale here. 256 ulps (3e-5 relative)
# leaves ~30x; a wrong window, mel filter or layer moves them by whole units.
ULPS = 256


def _waveforms():
    return load_fixture_script(DATA / "make_vggish_reference.py").waveforms()


def test_frames_match_torchvggish(zoo_models):
    from v2a_cli.loaders import load_model

    vggish = load_model("vggish", zoo_models.vggish, device="cpu")
    waves = _waveforms()
    for key, output in zip(waves, vggish.embed(list(waves.values()))):
        frames = output["frames"].numpy()
        assert frames.shape == FIXTURE[key].shape, key
        assert_close_in_float32(frames, FIXTURE[key], ulps=ULPS, what=key)
