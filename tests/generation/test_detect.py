"""`--sources detect` in the generation core, on the tiny zoo (detector, CLIP, mappers)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from v2a_cli.errors import V2AError
from v2a_cli.generation.compose import Source, compose_condition, expand_detected
from v2a_cli.generation.detect import NO_SOURCES_NOTE, sourced_visual, visual_conditions
from v2a_cli.generation.pipeline import GenerateOptions, Pipeline
from v2a_cli.mapper.protocol import MapperSampling

DETECT = GenerateOptions(sources="detect", max_sources=3, detect_threshold=0.0, seed=5)
FAST_SSV2A = dict(var_samples=2, cycle_its=1, cycle_samples=2)


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    from v2a_cli.testing.media import make_image

    return make_image(tmp_path_factory.mktemp("detect") / "street.png", size=(120, 80))


@pytest.fixture(scope="module")
def ssv2a_pipeline(zoo_models, zoo_models_toml):
    return Pipeline(zoo_models.with_overrides(mapper=str(zoo_models_toml.parent / "ssv2a")), device="cpu")


def test_detected_condition_equals_compose_of_the_same_crops_and_weights(pipeline, street):
    sourced = sourced_visual(pipeline, street, DETECT)
    assert len(sourced.found) >= 3 and sum(sourced.weights) == pytest.approx(1.0)
    condition = pipeline.conditions(street, DETECT, [5])[0]
    assert condition.info["sources"][0]["box"] is None and "note" not in condition.info
    sources = [Source("image", str(street), s.weight, s.box) for s in sourced.found]
    composed = compose_condition(pipeline, sources, DETECT, seed=5)
    assert torch.allclose(condition.embedding, composed, atol=1e-5)
    # compose --detect expands the picture into exactly these sources
    assert expand_detected(pipeline, [Source("image", str(street))], DETECT) == sources


def test_no_box_falls_back_to_the_whole_picture_with_a_note(pipeline, street):
    nothing = replace(DETECT, detect_threshold=0.999)
    condition = pipeline.conditions(street, nothing, [5])[0]
    assert condition.info["note"] == NO_SOURCES_NOTE
    assert [s["box"] for s in condition.info["sources"]] == [None]
    whole = pipeline.conditions(street, replace(nothing, sources="whole"), [5])[0]
    assert torch.allclose(condition.embedding, whole.embedding, atol=1e-5)


def test_ssv2a_mapper_gets_global_then_local_slots(ssv2a_pipeline, street):
    options = replace(DETECT, **FAST_SSV2A)
    sourced = sourced_visual(ssv2a_pipeline, street, options)
    condition = ssv2a_pipeline.conditions(street, options, [5])[0]
    direct = ssv2a_pipeline.mapper.map_slots(sourced.clips[None], seeds=[5], sampling=MapperSampling(**FAST_SSV2A))[0]
    assert torch.allclose(condition.embedding, direct, atol=1e-6)
    assert not torch.allclose(condition.embedding, ssv2a_pipeline.mapper.map(
        sourced.clips[:1], seeds=[5], sampling=MapperSampling(**FAST_SSV2A))[0])


def test_ssv2a_checkpoint_generates(ssv2a_pipeline, street):
    options = GenerateOptions(steps=2, duration=0.5, seed=1, variations=2, **FAST_SSV2A)
    waves = ssv2a_pipeline.generate_audio([street], options)
    assert len(waves) == 2 and all(w.ndim == 1 and len(w) > 0 for w in waves)


def test_ssv2a_video_uses_its_aggregator(ssv2a_pipeline, tmp_path):
    from v2a_cli.testing.media import make_video

    video = make_video(tmp_path / "clip.mp4", seconds=1.0, fps=4, size=(64, 48), with_audio=False)
    for sources in ("whole", "detect"):
        options = replace(DETECT, sources=sources, fps=2.0, **FAST_SSV2A)
        condition = ssv2a_pipeline.conditions(video, options, [3])[0]
        assert abs(float(condition.embedding.norm()) - 1) < 1e-5
        sourced = sourced_visual(ssv2a_pipeline, video, options)
        # SSV2A's aggregator sees 64 frames evenly spaced over the clip's 4 (each repeated, as in SSV2A)
        assert len(sourced.frame_slots) == 64 and all(s.shape[-1] == 512 for s in sourced.frame_slots)


def test_a_models_file_clip_of_another_width_stops_with_one_line(zoo_models, tmp_path, street):
    from v2a_cli.testing.zoo_ssv2a import build_ssv2a

    l14 = build_ssv2a(tmp_path / "l14", clip_dim=768, aggregator=False)
    pipeline = Pipeline(zoo_models.with_overrides(mapper=str(l14)), device="cpu")
    with pytest.raises(V2AError, match=r"gives 512-d embeddings but the mapper .* needs 768-d ones"):
        pipeline.conditions(street, GenerateOptions(), [0])


@pytest.mark.parametrize("field,value", [("sources", "boxes"), ("max_sources", -1), ("max_sources", 65),
                                         ("detect_threshold", float("nan")), ("detect_threshold", 1.0),
                                         ("cycle_its", -1), ("var_samples", 0)])
def test_new_options_are_validated(field, value):
    with pytest.raises(V2AError):
        GenerateOptions(**{field: value}).validate()


def test_visual_conditions_one_per_seed(pipeline, street):
    conditions = visual_conditions(pipeline, street, DETECT, [1, 2])
    assert len(conditions) == 2 and not torch.equal(conditions[0].embedding, conditions[1].embedding)


def test_video_detect_with_a_plain_mapper_mixes_tracks(pipeline, tmp_path):
    from v2a_cli.generation.compose import weighted_mean
    from v2a_cli.testing.media import make_video

    video = make_video(tmp_path / "walk.mp4", seconds=1.0, fps=4, size=(64, 48), with_audio=False)
    options = replace(DETECT, fps=4.0)
    sourced = sourced_visual(pipeline, video, options)
    assert len(sourced.found) >= 2 and len(sourced.scan.tracks) == len(sourced.found) - 1
    assert max(len(slots) for slots in sourced.frame_slots) >= 2  # some frame holds crops
    condition = pipeline.conditions(video, options, [5])[0]
    mapped = pipeline.map_visual(sourced.clips, seeds=[5] * len(sourced.clips))
    assert torch.allclose(condition.embedding, weighted_mean(mapped, sourced.weights), atol=1e-6)
    assert condition.info["sources"][0]["box"] is None


def test_presets_set_the_ssv2a_cycle_mix_the_fast_one_cheap_and_the_paper_one_as_ssv2a_scripts():
    from v2a_cli.generation.pipeline import GenerateOptions

    fast, paper = GenerateOptions.from_preset("fast"), GenerateOptions.from_preset("paper")
    assert (fast.var_samples, fast.cycle_its, fast.cycle_samples) == (16, 8, 16)
    assert GenerateOptions().var_samples == fast.var_samples and GenerateOptions().cycle_its == fast.cycle_its
    assert (paper.var_samples, paper.cycle_its, paper.cycle_samples) == (64, 64, 64)
    assert GenerateOptions.from_preset("paper", cycle_its=2).cycle_its == 2


def test_compose_var_samples_reaches_ssv2a_whatever_the_preset(ssv2a_pipeline, street, monkeypatch):
    mapper = ssv2a_pipeline.mapper
    seen = []
    real_map = mapper.map

    def spy(*args, **kwargs):
        seen.append(kwargs["sampling"].var_samples)
        return real_map(*args, **kwargs)

    monkeypatch.setattr(mapper, "map", spy)
    options = GenerateOptions(**FAST_SSV2A)
    compose_condition(ssv2a_pipeline, [Source("image", str(street))], options, var_samples=3)
    compose_condition(ssv2a_pipeline, [Source("image", str(street))], options, var_samples=1)
    assert seen == [3, FAST_SSV2A["var_samples"]]
