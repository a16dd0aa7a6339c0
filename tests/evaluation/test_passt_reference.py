"""PaSST against hear21passt 0.0.26's own model (av-benchmark's `passt`) on the tiny zoo weights.

Fixture: data/make_passt_reference.py (hear21passt needs torchaudio, which v2a does not depend on, so the
original cannot run here; the fixture script runs it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from v2a_cli.testing.fixture_scripts import load_fixture_script
from v2a_cli.testing.tolerance import assert_close_in_float32

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "passt_reference.npz")
# Both run float32. On the fixture's machine: embeddings identical, logits 1 ulp apart. Other kernels for the
# same code (mkldnn off, 2 threads, ATen's default or AVX2 paths instead of AVX-512: other summation orders in
# the 128-wide products, the softmax over 1190 tokens, the STFT) moved them by up to 11 ulps of their scale
# (3.1 for embeddings, 19 for logits). 256 ulps leaves ~20x; a wrong layer, window or mel band moves whole units.
ULPS = 256


@pytest.fixture(scope="module")
def passt(zoo_models):
    from v2a_cli.loaders import load_model

    return load_model("passt", zoo_models.passt, device="cpu")


def test_embeddings_and_logits_match_hear21passt(passt):
    script = load_fixture_script(DATA / "make_passt_reference.py")
    waves = script.waveforms()  # 3 s (padded), 10 s, 12 s (cut): our network fits them to 10 s itself
    outputs = passt.embed(list(waves.values()))
    for key, output in zip(waves, outputs):
        assert_close_in_float32(output["embedding"], FIXTURE[f"{key}/embedding"], ulps=ULPS, what=f"{key} embedding")
        assert_close_in_float32(output["logits"], FIXTURE[f"{key}/logits"], ulps=ULPS, what=f"{key} logits")


def test_every_sound_becomes_ten_seconds_at_32_khz(passt):
    from v2a_cli.evaluation.passt import CLIP_SAMPLES, SAMPLE_RATE, fit_to_clip

    assert passt.sample_rate == SAMPLE_RATE == 32000 and CLIP_SAMPLES == 10 * SAMPLE_RATE
    short, long = np.ones(1000, np.float32), np.arange(400000, dtype=np.float32)
    assert fit_to_clip(short).shape == (CLIP_SAMPLES,) and fit_to_clip(short)[1000:].max() == 0.0
    assert np.array_equal(fit_to_clip(long), long[:CLIP_SAMPLES])
