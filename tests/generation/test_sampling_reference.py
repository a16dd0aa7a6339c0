"""Our AudioLDM sampling loop against diffusers' own `AudioLDMPipeline`, both run here on the same tiny folder.

The reference side is data/make_sampling_reference.py, computed in the test (diffusers is installed wherever
the tests run), so the comparison is of two code paths on this machine's floats, not against another CPU's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from v2a_cli.testing.fixture_scripts import load_fixture_script
from v2a_cli.testing.tolerance import assert_close_in_float32

SCRIPT = load_fixture_script(Path(__file__).with_name("data") / "make_sampling_reference.py")


@pytest.fixture(scope="module")
def reference(audioldm_dir):
    pipe = SCRIPT.load_pipeline(audioldm_dir)
    embeddings = SCRIPT.inputs()
    unconditional = SCRIPT.unconditional(pipe, embeddings)
    return {"embeddings": embeddings, "unconditional": unconditional,
            **{guidance: SCRIPT.sample(pipe, embeddings, guidance) for guidance in SCRIPT.GUIDANCES}}


@pytest.mark.parametrize("guidance", SCRIPT.GUIDANCES)
def test_ddim_sampling_matches_diffusers_audioldm_pipeline(audioldm, reference, guidance):
    final = {}
    decode = audioldm.decode

    def capture(latents):
        final["latents"] = latents.clone()
        return decode(latents)

    audioldm.decode = capture
    try:
        # The pipeline's own unconditional embedding: it pads "" to 512 tokens, the tiny tokenizer to 77
        # (a few ulps apart, checked below), which 4 guided steps would grow to ~1e-5 in the latents.
        audio = audioldm.generate(reference["embeddings"], seeds=SCRIPT.SEEDS, steps=SCRIPT.STEPS,
                                  guidance=guidance, duration=SCRIPT.SECONDS, scheduler="ddim",
                                  negative=reference["unconditional"])
    finally:
        del audioldm.decode
    latents, waveforms = reference[guidance]
    # The same UNet calls in the same order on the same machine: bit-identical where measured. 16 ulps
    # (6e-5 at the latents' scale of 45) leaves room for BLAS kernels whose rounding depends on memory
    # alignment (MKL without CNR); a wrong scheduler step or guidance formula is off by whole units.
    assert_close_in_float32(final["latents"], latents, ulps=16, what="final latents")
    # The decoders' batching differs (~20 ulps measured at the waveforms' scale of 0.016).
    assert_close_in_float32(audio, waveforms, ulps=256, what="waveforms")


def test_the_unconditional_embedding_is_the_pipelines(audioldm, reference):
    negative = reference["unconditional"]
    # "" padded to 77 tokens (tiny tokenizer) vs 512 (the pipeline): ~3 ulps measured at the scale of 0.14.
    assert_close_in_float32(audioldm.empty_embedding().expand_as(negative), negative, ulps=64, what="empty embedding")
    assert torch.isfinite(negative).all()
