"""PANNs CNN14 (16 kHz) against audioldm_eval 0.0.3's own Cnn14 on the tiny zoo weights.

Fixture: data/make_panns_reference.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from v2a_cli.testing.fixture_scripts import load_fixture_script
from v2a_cli.testing.tolerance import assert_close_in_float32

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "panns_reference.npz")
# The fixture is the original's float32 output on another CPU. The tiny zoo's random CNN14 amplifies rounding:
# other conv kernels moved these outputs by 1e3-3.6e3 ulps of their scale here with identical code (oneDNN
# capped at SSE4.1, or mkldnn off; 2 threads: 170). 32768 ulps (~4e-3 of the scale) leaves ~9x; a wrong
# layer, padding or mel filter moves them by whole units.
ULPS = 32768


def _waveforms():
    return load_fixture_script(DATA / "make_panns_reference.py").waveforms()


@pytest.fixture(scope="module")
def panns(zoo_models):
    from v2a_cli.loaders import load_model

    return load_model("panns", zoo_models.panns, device="cpu")


def test_embeddings_and_logits_match_audioldm_evals_cnn14(panns):
    waves = _waveforms()
    outputs = panns.embed(list(waves.values()))
    for key, output in zip(waves, outputs):
        assert_close_in_float32(output["embedding"], FIXTURE[f"{key}/embedding"], ulps=ULPS, what=f"{key} embedding")
        assert_close_in_float32(output["logits"], FIXTURE[f"{key}/logits"], ulps=ULPS, what=f"{key} logits")
