"""Area fixtures: a tiny AudioLDM folder and its loaded generator; the pipeline on the tiny zoo; a generator spy."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def audioldm_dir(tmp_path_factory) -> Path:
    from v2a_cli.testing.zoo_generator import build_generator

    return build_generator(tmp_path_factory.mktemp("audioldm") / "generator", seed=0)


@pytest.fixture(scope="module")
def audioldm(audioldm_dir):
    from v2a_cli.audioldm.generator import AudioLDMGenerator

    return AudioLDMGenerator.load(str(audioldm_dir), device="cpu")


@pytest.fixture(scope="module")
def pipeline(zoo_models):
    """The generation core on the tiny zoo."""
    from v2a_cli.generation.pipeline import Pipeline

    return Pipeline(zoo_models, device="cpu")


@pytest.fixture
def generator_calls(pipeline, monkeypatch):
    """Every (embeddings, seeds) the real AudioLDMGenerator samples with (a spy, not a fake): its
    `sample_latents`, which `generate` and each window of a long sound go through."""
    import torch

    calls: list[tuple[torch.Tensor, list[int]]] = []
    real_sample = pipeline.generator.sample_latents

    def spy(embeddings, *, seeds, **kwargs):
        calls.append((embeddings.detach().clone().float(), list(seeds)))
        return real_sample(embeddings, seeds=seeds, **kwargs)

    monkeypatch.setattr(pipeline.generator, "sample_latents", spy)
    return calls
