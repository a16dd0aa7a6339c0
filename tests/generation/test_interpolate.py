"""Interpolation in CLAP space: the path's geometry, the crossfade, and what reaches the generator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from v2a_cli.errors import InputError, V2AError
from v2a_cli.generation.interpolate import (crossfade_concat, interpolate, interpolation_conditions,
                                            interpolation_path, step_file_names)
from v2a_cli.generation.pipeline import GenerateOptions
from v2a_cli.testing.media import make_image, make_wav

FAST = GenerateOptions(steps=2, duration=0.5, seed=11)


def unit_vectors(count: int, dim: int = 512, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return list(F.normalize(torch.randn(count, dim, generator=generator), dim=-1))


def angle_between(u: torch.Tensor, v: torch.Tensor) -> float:
    """The angle in float64 by Kahan's 2*atan2(|u-v|, |u+v|) of the unit vectors: well conditioned near 0 and
    pi, unlike acos of a dot product (acos(1 - 1e-7) is 4.5e-4, so a float32 unit vector's angle from
    itself would be ~3e-4 on one machine and 0 on another)."""
    u, v = F.normalize(u.double(), dim=0), F.normalize(v.double(), dim=0)
    return 2 * math.atan2(float((u - v).norm()), float((u + v).norm()))


def angles_from(path: torch.Tensor, origin: torch.Tensor) -> list[float]:
    return [angle_between(p, origin) for p in path]


def assert_in_plane(path: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    basis, _ = torch.linalg.qr(torch.stack([a, b], dim=1).double())  # [D, 2]
    residual = path.double() - (path.double() @ basis) @ basis.T
    assert float(residual.abs().max()) < 1e-6


# -- the path --------------------------------------------------------------------------------------
def test_linear_path_has_exact_ends_and_follows_the_chord_in_order():
    a, b = unit_vectors(2)
    path = interpolation_path(a, b, 6)
    assert path.shape == (6, 512) and path.dtype == torch.float32
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    torch.testing.assert_close(path.norm(dim=-1), torch.ones(6))
    for t, point in zip(torch.linspace(0, 1, 6), path):
        torch.testing.assert_close(point, F.normalize((1 - t) * a + t * b, dim=0), atol=1e-6, rtol=0)
    assert_in_plane(path, a, b)
    angles = angles_from(path, a)
    assert angles == sorted(angles) and len(set(angles)) == 6  # moving away from a, step by step


def test_slerp_path_is_evenly_spaced_along_the_great_circle():
    a, b = unit_vectors(2, seed=1)
    path = interpolation_path(a, b, 5, slerp=True)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert_in_plane(path, a, b)
    total = angle_between(a, b)
    # float32 points: each direction is good to a few eps (~1e-7 rad); 1e-5 leaves ~100x.
    np.testing.assert_allclose(angles_from(path, a), np.linspace(0, total, 5), atol=1e-5)
    linear_midpoint, slerp_midpoint = interpolation_path(a, b, 3)[1], interpolation_path(a, b, 3, slerp=True)[1]
    torch.testing.assert_close(linear_midpoint, slerp_midpoint, atol=1e-6, rtol=0)  # symmetric: same direction


def test_unnormalised_ends_are_normalised_and_equal_ends_stay_put():
    a, b = unit_vectors(2, seed=2)
    path = interpolation_path(3 * a, 0.5 * b, 4)
    torch.testing.assert_close(path[0], a, atol=1e-6, rtol=0)
    torch.testing.assert_close(path[-1], b, atol=1e-6, rtol=0)
    same = interpolation_path(a, a, 3, slerp=True)
    assert torch.allclose(same, a.expand(3, -1), atol=1e-6)


@pytest.mark.parametrize("steps", [1, 0, -3])
def test_fewer_than_two_steps_is_refused(steps):
    a, b = unit_vectors(2)
    with pytest.raises(V2AError, match="at least 2"):
        interpolation_path(a, b, steps)


@pytest.mark.parametrize("slerp", [False, True])
def test_opposite_ends_have_no_path(slerp):
    a, = unit_vectors(1)
    with pytest.raises(V2AError, match="opposite"):
        interpolation_path(a, -a, 3, slerp=slerp)


# -- the crossfade ---------------------------------------------------------------------------------
def test_crossfade_length_untouched_parts_and_equal_power_overlap():
    rate, fade = 100, 10
    waves = [np.full(50, 0.5, np.float32), np.full(40, -0.25, np.float32), np.full(30, 0.75, np.float32)]
    out = crossfade_concat(waves, rate, crossfade_seconds=fade / rate)
    assert out.shape == (50 + 40 + 30 - 2 * fade,)
    np.testing.assert_array_equal(out[:40], 0.5)  # before the first overlap
    np.testing.assert_array_equal(out[50:70], -0.25)  # between the overlaps
    np.testing.assert_array_equal(out[80:], 0.75)
    # The overlap is a·cos + b·sin: equal-power gains, cos² + sin² = 1.
    angles = (np.arange(fade) + 0.5) / fade * np.pi / 2
    np.testing.assert_allclose(out[40:50], 0.5 * np.cos(angles) - 0.25 * np.sin(angles), atol=1e-6)


def test_crossfade_zero_is_plain_concatenation_and_long_fades_are_shortened():
    waves = [np.arange(5, dtype=np.float32), np.arange(3, dtype=np.float32)]
    np.testing.assert_array_equal(crossfade_concat(waves, 10, 0.0), np.concatenate(waves))
    from v2a_cli.notes import V2ANote

    with pytest.warns(V2ANote, match="longer than half a step"):  # a library caller is told, as a warning
        assert crossfade_concat(waves, 10, 5.0).shape == (5 + 3 - 1,)  # fade cut to half the shortest wave
    assert crossfade_concat(waves[:1], 10, 0.1).shape == (5,)


def test_step_file_names_are_zero_padded_and_sort_in_order():
    assert step_file_names(5) == ["00.wav", "01.wav", "02.wav", "03.wav", "04.wav"]
    names = step_file_names(101)
    assert names[-1] == "100.wav" and names == sorted(names)


# -- on the tiny zoo: what the generator receives -------------------------------------------------
@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("interp-media")
    return {"image": make_image(root / "flute.png"), "audio": make_wav(root / "frog.wav", seconds=1.0)}


def assert_same_sound(mine: np.ndarray, reference: np.ndarray) -> None:
    # Relative: the tiny zoo's random vocoder makes very quiet noise (~1e-11).
    assert mine.shape == reference.shape
    assert np.abs(mine - reference).max() <= 1e-4 * np.abs(reference).max()


def differ(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.abs(a - b).max() > 1e-3 * np.abs(b).max())


def test_generator_gets_the_path_in_order_with_one_seed_in_batches(pipeline, media, generator_calls):
    options = GenerateOptions(steps=2, duration=0.25, seed=11, batch_size=2)
    waves = interpolate(pipeline, media["audio"], media["image"], 5, options)
    assert len(waves) == 5 and all(w.shape == (4000,) for w in waves)
    assert [len(seeds) for _, seeds in generator_calls] == [2, 2, 1]  # batches of options.batch_size
    assert {seed for _, seeds in generator_calls for seed in seeds} == {11}  # same noise for every step
    fed = torch.cat([embeddings for embeddings, _ in generator_calls])
    start = pipeline.condition(media["audio"], options).embedding
    end = pipeline.condition(media["image"], options, seed=11).embedding
    assert torch.equal(fed[0], start) and torch.equal(fed[-1], end)  # the ends are exact
    assert torch.equal(fed, interpolation_path(start, end, 5))
    assert_in_plane(fed, start, end)
    angles = angles_from(fed, start)
    assert angles == sorted(angles)


def test_slerp_conditions_walk_the_great_circle_between_the_sources(pipeline, media):
    conditions = interpolation_conditions(pipeline, "text:a frog croaking", media["image"], 4, FAST, slerp=True)
    start = pipeline.text_condition("a frog croaking")
    end = pipeline.condition(media["image"], FAST).embedding
    assert torch.equal(conditions[0], start) and torch.equal(conditions[-1], end)
    total = angle_between(start, end)
    # float32 conditions: each direction is good to a few eps (~1e-7 rad); 1e-5 leaves ~100x.
    np.testing.assert_allclose(angles_from(conditions, start), np.linspace(0, total, 4), atol=1e-5)


def test_end_steps_sound_like_generate_of_the_ends(pipeline, media):
    waves = interpolate(pipeline, media["image"], "text:a flute melody", 3, FAST)
    assert_same_sound(waves[0], pipeline.generate_audio([media["image"]], FAST)[0])
    text = pipeline.text_condition("a flute melody")
    assert_same_sound(waves[-1], pipeline.synthesize(text[None], [FAST.seed], FAST)[0])
    assert differ(waves[1], waves[0]) and differ(waves[1], waves[2])


def test_unreadable_endpoint_fails_before_generation(pipeline, media, generator_calls, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    for bad in (broken, tmp_path / "missing.png"):
        with pytest.raises(InputError, match=bad.name):
            interpolation_conditions(pipeline, media["image"], bad, 4, FAST)
    assert generator_calls == []


def test_step_0_is_generate_of_the_start_bit_for_bit_with_batch_size_1(pipeline, media):
    """What docs/interpolate-compose.md promises: the same condition and noise as `generate START`; bit for
    bit with --batch-size 1, float round-off (one 16-bit step at most) when the steps share a batch."""
    single = GenerateOptions(steps=2, duration=0.5, seed=3, batch_size=1)
    waves = interpolate(pipeline, media["image"], "text:a flute melody", 3, single)
    generated = pipeline.generate_audio([media["image"]], single)[0]
    assert np.array_equal(waves[0], generated)
    batched = interpolate(pipeline, media["image"], "text:a flute melody", 3, GenerateOptions(
        steps=2, duration=0.5, seed=3, batch_size=3))
    assert np.abs(batched[0] - generated).max() <= 1 / 32768


def test_a_crossfade_longer_than_the_steps_does_not_collapse_the_walk():
    """`interpolate --crossfade 60` on 1 s steps gave 1 s in all; now each step keeps at least half of itself."""
    from v2a_cli.notes import notes_to

    rate = 100
    waves = [np.full(rate, float(i), np.float32) for i in range(5)]  # five 1 s steps
    notes: list[str] = []
    with notes_to(notes.append):
        out = crossfade_concat(waves, rate, 60.0)
    assert out.shape == (5 * rate - 4 * rate // 2,)
    assert notes == ["--crossfade 60 s is longer than half a step (1 s); crossfading 0.5 s instead"]
