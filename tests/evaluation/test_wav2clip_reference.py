"""Wav2CLIP (CS's audio side) against the wav2clip package's own ResNetExtractor on the tiny zoo weights.

Fixture: data/make_wav2clip_reference.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "wav2clip_reference.npz")


def _waveforms():
    spec = importlib.util.spec_from_file_location("make_wav2clip_reference", DATA / "make_wav2clip_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.waveforms()


def test_embeddings_match_wav2clip(zoo_models):
    from v2a_cli.registry import load_model

    network = load_model("wav2clip", zoo_models.wav2clip, device="cpu")
    waves = _waveforms()
    for key, output in zip(waves, network.embed(list(waves.values()))):
        assert np.abs(output["embedding"].numpy() - FIXTURE[key]).max() <= 1e-5, key
