"""PANNs CNN14 (16 kHz) against audioldm_eval 0.0.3's own Cnn14 on the tiny zoo weights.

Fixture: data/make_panns_reference.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from v2a_cli.testing.fixture_scripts import load_fixture_script

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "panns_reference.npz")


def _waveforms():
    return load_fixture_script(DATA / "make_panns_reference.py").waveforms()


@pytest.fixture(scope="module")
def panns(zoo_models):
    from v2a_cli.registry import load_model

    return load_model("panns", zoo_models.panns, device="cpu")


def test_embeddings_and_logits_match_audioldm_evals_cnn14(panns):
    waves = _waveforms()
    outputs = panns.embed(list(waves.values()))
    for key, output in zip(waves, outputs):
        assert np.abs(output["embedding"].numpy() - FIXTURE[f"{key}/embedding"]).max() <= 1e-5, key
        assert np.abs(output["logits"].numpy() - FIXTURE[f"{key}/logits"]).max() <= 1e-5, key
