"""The generation core on the tiny zoo: what reaches the UNet, seeds, batching, aggregation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from v2a_cli.generation.pipeline import GenerateOptions, Pipeline, aggregate_frames
from v2a_cli.testing.media import make_image, make_video

FAST = GenerateOptions(steps=2, duration=1.0, scheduler="ddim")  # --eta needs ddim


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return make_image(tmp_path_factory.mktemp("img") / "dog.png")


def test_the_mapped_embedding_is_the_unets_class_embedding(pipeline, image):
    condition = pipeline.condition(image, FAST)
    seen = []
    unet = pipeline.generator.unet
    handle = unet.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["class_labels"].clone()),
                                            with_kwargs=True)
    try:
        pipeline.synthesize(condition.embedding[None], [0], FAST)
    finally:
        handle.remove()
    assert len(seen) == FAST.steps
    conditional = seen[0][-1]  # [uncond, cond] halves of classifier-free guidance
    assert torch.equal(conditional.float(), condition.embedding)
    assert torch.equal(seen[0][0].float(), pipeline.generator.empty_embedding()[0].float())


def test_condition_is_the_mapper_output_of_the_clip_embedding(pipeline, image):
    clip = pipeline.clip_embedding(image, FAST)
    assert torch.allclose(clip.norm(), torch.tensor(1.0), atol=1e-5)
    mapped = pipeline.map_visual(clip[None], seeds=[3])[0]
    assert torch.equal(pipeline.condition(image, FAST, seed=3).embedding, mapped)


def test_an_items_audio_does_not_depend_on_its_batch(pipeline, image):
    condition = pipeline.condition(image, FAST).embedding
    other = F.normalize(torch.randn(512, generator=torch.Generator().manual_seed(1)), dim=0)
    alone = pipeline.synthesize(condition[None], [5], FAST)[0]
    batched = pipeline.synthesize(torch.stack([other, condition]), [9, 5], FAST)[1]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_generate_audio_variations_and_prompt_mix(pipeline, image):
    waves = pipeline.generate_audio([image], GenerateOptions(steps=2, duration=0.5, variations=2))
    assert len(waves) == 2 and all(w.shape == (8000,) for w in waves)
    assert not np.array_equal(waves[0], waves[1])
    plain = pipeline.condition(image, FAST).embedding
    mixed = pipeline.with_prompt(plain, GenerateOptions(prompt="heavy rain", prompt_weight=0.5))
    text = pipeline.text_condition("heavy rain")
    assert torch.allclose(mixed, F.normalize(0.5 * plain + 0.5 * text, dim=0), atol=1e-6)


def test_video_condition_averages_the_sampled_frames(pipeline, tmp_path):
    from v2a_cli.media.video import sample_frames

    video = make_video(tmp_path / "clip.mp4", seconds=3.0, fps=10)
    frames = sample_frames(video, fps=1.0, max_seconds=10.0)
    per_frame = pipeline.clip.encode_images([f.image for f in frames])
    expected = F.normalize(per_frame.mean(0), dim=0)
    assert torch.allclose(pipeline.clip_embedding(video, FAST), expected, atol=1e-6)


def test_aggregators():
    frames = F.normalize(torch.randn(5, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    assert torch.allclose(aggregate_frames(frames, "average"), F.normalize(frames.mean(0), dim=0))
    assert torch.equal(aggregate_frames(frames, "middle"), F.normalize(frames[2], dim=0))
    picked = aggregate_frames(frames, "random", seed=4)
    assert any(torch.equal(picked, F.normalize(f, dim=0)) for f in frames)
    assert torch.equal(picked, aggregate_frames(frames, "random", seed=4))


def test_bridge_is_the_default_mapper(zoo_models, image):
    pipe = Pipeline(zoo_models.with_overrides(mapper="bridge"), device="cpu")
    condition = pipe.condition(image, FAST)
    assert condition.embedding.shape == (512,)
    assert torch.allclose(condition.embedding.norm(), torch.tensor(1.0), atol=1e-5)


def test_a_warm_pipeline_called_with_mapper_guidance_then_without_uses_the_checkpoint_default(pipeline, image):
    """Per-call knobs never stick to the shared mapper (issue #10 item 6)."""
    from dataclasses import replace

    mapper = pipeline.mapper
    assert mapper.is_generative
    default = pipeline.condition(image, FAST, seed=4).embedding
    guided = pipeline.condition(image, replace(FAST, mapper_guidance=mapper.config.guidance + 5.0), seed=4).embedding
    after = pipeline.condition(image, FAST, seed=4).embedding
    assert not torch.allclose(guided, default, atol=1e-4)
    assert torch.equal(after, default)
    assert mapper.guidance == mapper.config.guidance


def test_candidates_keep_the_one_closest_to_the_condition_in_clap_space(pipeline, image):
    from dataclasses import replace

    from v2a_cli.generation.pipeline import candidate_seed

    condition = pipeline.condition(image, FAST).embedding[None]
    options = replace(FAST, candidates=3, batch_size=2)
    choices: list[dict] = []
    best = pipeline.synthesize(condition, [7], options, report=choices)[0]
    choice = choices[0]
    assert choice["candidates"] == 3 and len(choice["clap_cosines"]) == 3
    assert choice["chosen"] == int(np.argmax(choice["clap_cosines"]))
    assert choice["seed"] == candidate_seed(7, choice["chosen"])
    # The kept sound is exactly that candidate, and its cosine is the CLAP audio tower's.
    alone = pipeline.synthesize(condition, [choice["seed"]], FAST)[0]
    np.testing.assert_allclose(best, alone, atol=1e-5)
    cosine = float(pipeline.clap_audio_cosine(alone[None], condition)[0])
    assert cosine == pytest.approx(max(choice["clap_cosines"]), abs=1e-4)
    # One candidate is the plain seed: --candidates 1 changes nothing.
    assert candidate_seed(7, 0) == 7 and len({candidate_seed(7, c) for c in range(4)} | {8}) == 5
    np.testing.assert_array_equal(pipeline.synthesize(condition, [7], replace(FAST, candidates=1))[0],
                                  pipeline.synthesize(condition, [7], FAST)[0])


def test_eta_reaches_the_ddim_sampler(pipeline, image):
    from dataclasses import replace

    condition = pipeline.condition(image, FAST).embedding[None]
    plain = pipeline.synthesize(condition, [3], FAST)[0]
    stochastic = pipeline.synthesize(condition, [3], replace(FAST, eta=1.0))[0]
    assert not np.allclose(plain, stochastic, atol=1e-4)
    np.testing.assert_array_equal(stochastic, pipeline.synthesize(condition, [3], replace(FAST, eta=1.0))[0])


@pytest.mark.parametrize(("change", "message"), [
    ({"eta": 1.5}, "--eta"), ({"eta": float("nan")}, "--eta"), ({"eta": 1.0, "scheduler": "dpm"}, "ddim only"),
    ({"candidates": 0}, "--candidates"), ({"candidates": 99}, "--candidates"),
])
def test_eta_and_candidates_are_validated(change, message):
    from dataclasses import replace

    from v2a_cli.errors import V2AError

    with pytest.raises(V2AError, match=message):
        replace(FAST, **change).validate()


def test_the_paper_preset_samples_as_audioldm_does_and_eta_stays_with_ddim():
    from v2a_cli.generation.pipeline import GenerateOptions

    paper = GenerateOptions.from_preset("paper").validate()
    assert (paper.scheduler, paper.eta, paper.candidates) == ("ddim", 1.0, 1)
    assert GenerateOptions.from_preset("paper", scheduler="dpm").validate().eta == 0.0
    assert GenerateOptions.from_preset("paper", eta=0.0).eta == 0.0
    assert GenerateOptions.from_preset("fast").eta == 0.0
