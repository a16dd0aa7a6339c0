"""Stages of long work reach whoever shows progress (v2a_cli/progress.py)."""

from __future__ import annotations

from v2a_cli.progress import stage, stages_to


def test_stages_reach_the_listener_within_the_block_only():
    heard = []
    stage("before")  # no listener: nothing happens
    with stages_to(lambda name, done, total: heard.append((name, done, total))):
        stage("loading the generator")
        stage("mapping", 3, 200)
    stage("after")
    assert heard == [("loading the generator", None, None), ("mapping", 3, 200)]


def test_generation_names_its_stages_model_loading_and_every_mapper_step(zoo_models, tmp_path):
    """The zoo's mapper is a diffusion mapper (10 sampling steps): each step is told, after the models load."""
    from v2a_cli.generation.pipeline import GenerateOptions, Pipeline
    from v2a_cli.testing.media import make_image

    image = make_image(tmp_path / "dog.png")
    heard = []
    with stages_to(lambda name, done, total: heard.append((name, done, total))):
        Pipeline(zoo_models, device="cpu").generate_audio([image], GenerateOptions(steps=1, duration=1.0))
    names = [name for name, _, _ in heard]
    assert "loading the mapper" in names and "loading the generator" in names
    mapping = [(done, total) for name, done, total in heard if name == "mapping"]
    assert mapping == [(i, 10) for i in range(11)]
