"""Wav2CLIP (CS's audio side) against the wav2clip package's own ResNetExtractor on the tiny zoo weights.

Fixture: data/make_wav2clip_reference.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from v2a_cli.testing.fixture_scripts import load_fixture_script

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "wav2clip_reference.npz")


def _waveforms():
    return load_fixture_script(DATA / "make_wav2clip_reference.py").waveforms()


def test_embeddings_match_wav2clip(zoo_models):
    from v2a_cli.registry import load_model

    network = load_model("wav2clip", zoo_models.wav2clip, device="cpu")
    waves = _waveforms()
    for key, output in zip(waves, network.embed(list(waves.values()))):
        assert np.abs(output["embedding"].numpy() - FIXTURE[key]).max() <= 1e-5, key
