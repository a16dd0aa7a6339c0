"""Sound-source composition: weight parsing, the weighted mean, and what reaches the generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from v2a_cli.errors import InputError, V2AError
from v2a_cli.generation.compose import (MAX_SOURCES, Source, compose, compose_condition, mixed_conditions,
                                        parse_text_weighted, parse_weighted, validate_sources, weighted_mean)
from v2a_cli.generation.pipeline import GenerateOptions
from v2a_cli.mapper.diffusion import spread_seeds
from v2a_cli.testing.media import make_image, make_wav

FAST = GenerateOptions(steps=2, duration=0.25, seed=5)


# -- parsing and validation ------------------------------------------------------------------------
@pytest.mark.parametrize("item, expected", [
    ("dog.png:2", ("dog.png", 2.0)),
    ("street.jpg:0.5", ("street.jpg", 0.5)),
    ("dog.png", ("dog.png", 1.0)),
    ("C:\\photos\\dog.png", ("C:\\photos\\dog.png", 1.0)),  # a drive letter is not a weight
    ("C:\\photos\\dog.png:3", ("C:\\photos\\dog.png", 3.0)),
    ("a:b.png", ("a:b.png", 1.0)),
    (":2", (":2", 1.0)),
    ("dog.png:-1", ("dog.png", -1.0)),  # parsed; refused by validate_sources
])
def test_parse_weighted(item, expected):
    assert parse_weighted(item) == expected


def test_an_existing_file_whose_name_looks_weighted_stays_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "take:2").write_bytes(b"x")
    assert parse_weighted("take:2") == ("take:2", 1.0)
    assert parse_text_weighted("heavy rain:2") == ("heavy rain", 2.0)
    assert parse_text_weighted("take:2") == ("take", 2.0)  # texts are never files


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), float("inf")])
def test_weights_must_be_positive_numbers(weight):
    with pytest.raises(V2AError, match="positive"):
        validate_sources([Source("text", "rain"), Source("text", "dog", weight)])


def test_source_count_and_kind_are_checked():
    validate_sources([Source("text", f"sound {i}") for i in range(MAX_SOURCES)])
    with pytest.raises(V2AError, match=f"at most {MAX_SOURCES}"):
        validate_sources([Source("text", f"sound {i}") for i in range(MAX_SOURCES + 1)])
    with pytest.raises(V2AError, match="no sources"):
        validate_sources([])
    with pytest.raises(V2AError, match="unknown source kind"):
        validate_sources([Source("smell", "x")])


def test_weighted_mean_is_the_normalised_weighted_average():
    a, b, c = F.normalize(torch.randn(3, 512, generator=torch.Generator().manual_seed(0)), dim=-1)
    stacked = torch.stack([a, b, c])
    assert torch.equal(weighted_mean(a[None], [3.0]), a)  # one source comes back exact
    expected = F.normalize(2 * a + b + 0.5 * c, dim=0)
    torch.testing.assert_close(weighted_mean(stacked, [2, 1, 0.5]), expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(weighted_mean(stacked, [20, 10, 5]), expected, atol=1e-6, rtol=0)  # scale-free
    closeness = [float(weighted_mean(stacked[:2], [w, 1]) @ a) for w in (0.5, 1, 2, 8)]
    assert closeness == sorted(closeness)  # more weight, closer to that source


# -- on the tiny zoo -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("compose-media")
    return {
        "dog": make_image(root / "dog.png"),
        "street": make_image(root / "street.jpg", color=(20, 90, 200)),
        "thunder": make_wav(root / "thunder.wav", seconds=1.0, frequency=80.0),
    }


def test_one_source_equals_generate(pipeline, media):
    dog = [Source("image", str(media["dog"]), 3.0)]
    composed = compose(pipeline, dog, FAST)
    direct = pipeline.generate_audio([media["dog"]], FAST)
    assert len(composed) == 1  # relative: the tiny zoo's sounds are very quiet (~1e-11)
    assert np.abs(composed[0] - direct[0]).max() <= 1e-4 * np.abs(direct[0]).max()
    for seed in (5, 6):  # variation v conditions on seed + v, as generate does
        assert torch.equal(compose_condition(pipeline, dog, FAST, seed=seed),
                           pipeline.condition(media["dog"], FAST, seed=seed).embedding)


def test_the_generator_gets_the_weighted_mix(pipeline, media, generator_calls):
    sources = [Source("image", str(media["dog"]), 2.0), Source("image", str(media["street"])),
               Source("text", "heavy rain", 0.5), Source("audio", str(media["thunder"]))]
    compose(pipeline, sources, FAST)
    (fed, seeds), = generator_calls
    assert seeds == [FAST.seed] and fed.shape == (1, 512)
    parts = torch.stack([pipeline.condition(media["dog"], FAST).embedding,
                         pipeline.condition(media["street"], FAST).embedding,
                         pipeline.text_condition("heavy rain"),
                         pipeline.condition(media["thunder"], FAST).embedding])
    expected = F.normalize((2 * parts[0] + parts[1] + 0.5 * parts[2] + parts[3]) / 4.5, dim=0)
    torch.testing.assert_close(fed[0], expected, atol=1e-6, rtol=0)
    heavier = compose_condition(pipeline, [Source("image", str(media["dog"]), 8.0), *sources[1:]], FAST)
    assert float(heavier @ parts[0]) > float(fed[0] @ parts[0])  # weight pulls the mix to the source


def test_variational_samples_are_averaged_for_a_generative_mapper(pipeline, media):
    assert pipeline.mapper.is_generative  # the zoo's default mapper is the diffusion prior
    dog = [Source("image", str(media["dog"]))]
    averaged = compose_condition(pipeline, dog, FAST, var_samples=4)
    clip = pipeline.clip_embedding(media["dog"], FAST)
    samples = pipeline.map_visual(clip[None].expand(4, -1), seeds=spread_seeds(FAST.seed, 4))
    torch.testing.assert_close(averaged, F.normalize(samples.mean(0), dim=0), atol=1e-6, rtol=0)
    assert not torch.allclose(averaged, compose_condition(pipeline, dog, FAST))
    per_variation = mixed_conditions(pipeline, dog, FAST, [5, 6])
    assert not torch.allclose(per_variation[0], per_variation[1])  # variations differ through the mapper too


def test_bad_sources_fail_before_generation(pipeline, media, generator_calls, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG nope")
    cases = [
        ([Source("image", str(tmp_path / "missing.png"))], InputError, "missing.png"),
        ([Source("image", str(broken))], InputError, "broken.png"),
        ([Source("image", str(media["thunder"]))], InputError, "--audio"),
        ([Source("audio", str(media["dog"]))], InputError, "--image"),
        ([Source("text", "  ")], V2AError, "empty text"),
        ([Source("text", "rain", 0.0)], V2AError, "positive"),
    ]
    for sources, error, message in cases:
        with pytest.raises(error, match=message):
            compose(pipeline, [Source("text", "rain"), *sources], FAST)
    assert generator_calls == []


def test_a_text_with_a_time_is_text_with_a_note_and_its_weight_goes_after_it():
    """`compose --text "clock at 10:30"` silently became "clock at 10" with weight 30."""
    from v2a_cli.notes import notes_to

    notes: list[str] = []
    with notes_to(notes.append):
        assert parse_text_weighted("clock at 10:30") == ("clock at 10:30", 1.0)
        assert parse_text_weighted("clock at 10:30:2") == ("clock at 10:30", 2.0)
        assert parse_text_weighted("rain:3") == ("rain", 3.0)
    assert notes == ["--text 'clock at 10:30': read as text with weight 1 (a time or ratio); to weight it, add "
                     "the weight after it, e.g. 'clock at 10:30:2'"]


def test_huge_weights_are_relative_like_any_others():
    """Weights of 1e308 summed to inf and the mix "cancelled out"."""
    a, b = F.normalize(torch.randn(2, 512, generator=torch.Generator().manual_seed(0)), dim=-1)
    stacked = torch.stack([a, b])
    torch.testing.assert_close(weighted_mean(stacked, [1e308, 1e308]), weighted_mean(stacked, [1.0, 1.0]),
                               atol=1e-6, rtol=0)
