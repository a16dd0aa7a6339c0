"""Our AudioLDM sampling loop against diffusers' own `AudioLDMPipeline` (fixture: data/make_sampling_reference.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from v2a_cli.testing.fixture_scripts import load_fixture_script

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "sampling_reference.npz")


def _script():
    return load_fixture_script(DATA / "make_sampling_reference.py")


@pytest.mark.parametrize("guidance", [2.5, 1.0])
def test_ddim_sampling_matches_diffusers_audioldm_pipeline(audioldm, guidance):
    script = _script()
    assert script.unet_checksum(audioldm.unet) == pytest.approx(float(FIXTURE["unet_checksum"]), rel=1e-9), (
        "the zoo generator changed since the fixture was made; rerun tests/generation/data/make_sampling_reference.py")
    embeddings = torch.from_numpy(FIXTURE["embeddings"])
    final = {}
    decode = audioldm.decode

    def capture(latents):
        final["latents"] = latents.clone()
        return decode(latents)

    audioldm.decode = capture
    try:
        # The pipeline's own unconditional embedding: it pads "" to 512 tokens, the tiny tokenizer to 77
        # (3e-8 apart, checked below), which 4 guided steps grow to 2e-5 in the latents.
        negative = torch.from_numpy(FIXTURE["unconditional"])
        audio = audioldm.generate(embeddings, seeds=script.SEEDS, steps=script.STEPS, guidance=guidance,
                                  duration=script.SECONDS, scheduler="ddim", negative=negative)
    finally:
        del audioldm.decode
    key = f"guidance_{guidance:g}"
    assert np.abs(final["latents"].numpy() - FIXTURE[f"{key}/latents"]).max() <= 1e-6
    if f"{key}/audio" in FIXTURE:
        reference = FIXTURE[f"{key}/audio"]
        assert audio.shape == reference.shape
        assert np.abs(audio - reference).max() <= 1e-6


def test_the_unconditional_embedding_is_the_pipelines(audioldm):
    reference = torch.from_numpy(FIXTURE["unconditional"])
    assert (audioldm.empty_embedding().expand_as(reference) - reference).abs().max() <= 1e-6
