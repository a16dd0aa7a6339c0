"""Long sounds on the tiny zoo: window planning, scene cuts, per-window conditions, continuation, crossfade."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from v2a_cli.generation import condition as conditioning, plan as planning, sample as sampling
from v2a_cli.generation.plan import Window, detect_cuts, plan_timeline, window_frames, window_seed
from v2a_cli.generation.pipeline import PRESETS, GenerateOptions, aggregate_frames
from v2a_cli.testing.media import make_image, make_scene_video, make_video
from v2a_cli.mapper.protocol import MapperSampling

UNIT = 0.04  # AudioLDM: 25 latent frames per second
SCENES = (12.0, 11.0, 12.0)  # the scene video: cuts at 12 s and 23 s, 35 s long
CUT_THRESHOLD = 0.05  # the random tiny CLIP moves 0.12-0.17 at these cuts and < 0.005 inside a scene
RATE = 16000


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@pytest.fixture(scope="module")
def scene_video(tmp_path_factory):
    return make_scene_video(tmp_path_factory.mktemp("scenes") / "scenes.mp4", SCENES)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return make_image(tmp_path_factory.mktemp("img") / "dog.png")


def render_with_latents(pipeline, source, options):
    """(timeline, [V, W, 512] conditions, waveform of seed 0, {window index: final latents})."""
    plan, conditions, _, _ = conditioning.plan_source(pipeline, source, options, [0])
    latents: dict[int, torch.Tensor] = {}
    seeds = [[window_seed(0, k) for k in range(len(plan.windows))]]
    [wave] = sampling.synthesize_timeline(pipeline, plan, conditions, seeds, options,
                                          on_latents=lambda k, batch: latents.__setitem__(k, batch.clone()))
    return plan, conditions, wave, latents


# -- planning (no models) ----------------------------------------------------------------------------

def test_windows_cover_the_timeline_with_exact_overlaps():
    plan = plan_timeline(3.0, 38.0, unit=UNIT, max_units=256, overlap=2.5, join="continue")
    windows = plan.windows
    assert windows[0].start == 3.0 and windows[-1].end == 38.0
    assert all(w.units <= 256 for w in windows)
    assert [w.join for w in windows] == ["first"] + ["continue"] * (len(windows) - 1)
    for before, after in zip(windows, windows[1:]):
        assert after.first_unit + after.overlap_units == before.first_unit + before.units  # overlap ends where before ends
        assert after.overlap_units == 62 and after.overlap == pytest.approx(2.48)
    lengths = [w.units for w in windows]
    assert max(lengths) - min(lengths) < len(windows)  # balanced: no stub window at the end


def test_a_short_sound_is_one_window_of_its_own_length():
    plan = plan_timeline(0.0, 3.0, unit=UNIT, max_units=256, overlap=2.5, join="continue")
    assert len(plan.windows) == 1 and plan.windows[0].units == 75


def test_scene_cuts_start_a_new_scene_with_a_short_crossfade_and_no_continuation():
    plan = plan_timeline(0.0, 35.0, unit=UNIT, max_units=256, overlap=2.5, join="continue", cuts=[12.0, 23.0])
    assert plan.cuts == pytest.approx((12.0, 23.0))
    firsts = [w for w in plan.windows if w.join == "cut"]
    assert [w.scene for w in firsts] == [1, 2]
    for window, cut in zip(firsts, (12.0, 23.0)):
        assert window.frames_from == pytest.approx(cut)  # conditioned on the new scene only
        assert window.start == pytest.approx(cut - planning.CUT_CROSSFADE_SECONDS)  # its sound fades in before the cut
        assert window.overlap == pytest.approx(planning.CUT_CROSSFADE_SECONDS)
    for scene in range(3):
        ends = [w.end for w in plan.windows if w.scene == scene]
        assert max(ends) == pytest.approx((12.0, 23.0, 35.0)[scene])


def test_cuts_from_embedding_jumps_ignore_small_moves_and_too_short_scenes():
    base = F.normalize(torch.randn(3, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    rows = [base[0]] * 5 + [base[1]] * 5 + [base[2]] + [base[0]] * 5
    embeddings = torch.stack(rows) + 0.001 * torch.randn(16, 16, generator=torch.Generator().manual_seed(1))
    times = torch.arange(16, dtype=torch.float64)
    assert detect_cuts(times, embeddings, threshold=0.2, min_scene=1.0) == [5.0, 10.0, 11.0]
    assert detect_cuts(times, embeddings, threshold=0.2, min_scene=2.0) == [5.0, 10.0]
    assert detect_cuts(times, embeddings, threshold=1.9) == []


def test_a_window_without_frames_takes_the_nearest():
    times = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    window = Window(start=1.2, end=1.6, scene=0, frames_from=1.2, frames_to=1.6, join="first", overlap=0.0,
                    first_unit=30, units=10, overlap_units=0)
    assert window_frames(times, window).tolist() == [1]
    wide = Window(start=0.5, end=3.0, scene=0, frames_from=0.5, frames_to=3.0, join="first", overlap=0.0,
                  first_unit=0, units=63, overlap_units=0)
    assert window_frames(times, wide).tolist() == [1, 2]


def test_fades_keep_the_level():
    fade_in, fade_out = sampling._fade(1000, "crossfade")
    np.testing.assert_allclose(fade_in ** 2 + fade_out ** 2, 1.0, atol=1e-6)  # equal power: independent sounds
    fade_in, fade_out = sampling._fade(1000, "continue")
    np.testing.assert_allclose(fade_in + fade_out, 1.0, atol=1e-6)  # linear: the same sound on both sides


def test_presets_and_overrides():
    assert GenerateOptions().steps == PRESETS["fast"]["steps"] and GenerateOptions().scheduler == "dpm"
    paper = GenerateOptions.from_preset("paper")
    assert (paper.steps, paper.scheduler, paper.guidance) == (200, "ddim", 4.5)
    mixed = GenerateOptions.from_preset("paper", steps=50, guidance=None)
    assert (mixed.steps, mixed.scheduler, mixed.guidance) == (50, "ddim", 4.5)


@pytest.mark.parametrize("field, value", [("join", "splice"), ("scenes", "maybe"), ("overlap", 6.0),
                                          ("overlap", float("nan")), ("scene_threshold", 0.0), ("end", 0.0),
                                          ("start", -1.0), ("mapper_steps", 0), ("guidance", float("inf"))])
def test_bad_long_form_options_are_refused(field, value):
    from v2a_cli.errors import V2AError

    with pytest.raises(V2AError):
        GenerateOptions(**{field: value}).validate()


# -- on the tiny zoo ---------------------------------------------------------------------------------

def test_scene_detection_finds_the_known_cuts(pipeline, scene_video):
    times, embeddings = pipeline.frame_embeddings(scene_video, fps=1.0)
    assert len(times) == 35
    assert detect_cuts(times, embeddings, CUT_THRESHOLD) == [12.0, 23.0]


def test_each_window_is_conditioned_on_exactly_its_frames(pipeline, scene_video):
    from v2a_cli.media.video import sample_frames

    options = GenerateOptions(steps=1, scene_threshold=CUT_THRESHOLD, fps=2.0)
    plan, conditions, _, _ = conditioning.plan_source(pipeline, scene_video, options, [0])
    assert len(plan.windows) >= 5 and {w.scene for w in plan.windows} == {0, 1, 2}
    frames = sample_frames(scene_video, fps=2.0, max_seconds=None)  # decoded independently, all at once
    per_frame = pipeline.clip.encode_images([f.image for f in frames])
    for index, window in enumerate(plan.windows):
        inside = [i for i, f in enumerate(frames) if window.frames_from - 1e-6 <= f.time < window.frames_to - 1e-6]
        assert inside and window.scene == sum(frames[inside[0]].time >= cut - 1e-6 for cut in (12.0, 23.0))
        clip = aggregate_frames(per_frame[inside], "average")
        expected = pipeline.map_visual(clip[None], seeds=[window_seed(0, index)])[0]  # the zoo's mapper samples
        assert torch.allclose(conditions[0, index], expected, atol=1e-5)


def test_continuation_holds_the_overlap_and_joins_without_a_step(pipeline, image):
    options = GenerateOptions(steps=4, duration=25.0, join="continue")
    plan, _, wave, latents = render_with_latents(pipeline, image, options)
    assert len(plan.windows) == 3 and len(wave) == 25 * RATE
    for k in range(1, len(plan.windows)):
        before, after = plan.windows[k - 1], plan.windows[k]
        offset, held = after.first_unit - before.first_unit, after.overlap_units
        # The final latents of window k+1's overlap ARE window k's (the last step puts them back exactly).
        torch.testing.assert_close(latents[k][:, :, :held], latents[k - 1][:, :, offset:offset + held], atol=1e-6, rtol=0)
        # So both decodings of the overlap are the same sound (independent windows correlate ~0.3 here).
        first = pipeline.generator.decode(latents[k - 1])[0][offset * 640:(offset + held) * 640]
        second = pipeline.generator.decode(latents[k])[0][:held * 640]
        middle = slice(len(first) // 4, 3 * len(first) // 4)
        assert np.corrcoef(first[middle], second[middle])[0, 1] > 0.99
        # No step in level at either seam: 50 ms RMS before/after within 1.6x (the zoo's own 5-95 % spread
        # between neighbouring 50 ms pieces inside one window is 0.66-1.53).
        for seam in (after.start, before.end):
            at, span = int(round(seam * RATE)), int(0.05 * RATE)
            ratio = rms(wave[at - span:at]) / rms(wave[at:at + span])
            assert 1 / 1.6 < ratio < 1.6, (seam, ratio)


def test_crossfade_joins_independent_windows_with_equal_power(pipeline, image):
    options = GenerateOptions(steps=2, duration=14.0, join="crossfade", overlap=1.0)
    plan, _, wave, latents = render_with_latents(pipeline, image, options)
    assert len(plan.windows) == 2 and plan.windows[1].join == "crossfade"
    first, second = plan.windows
    # Independent: window 2 is what it is alone, with its own seed.
    assert not torch.allclose(latents[1][:, :, :second.overlap_units],
                              latents[0][:, :, second.first_unit:second.first_unit + second.overlap_units])
    audio_one = pipeline.generator.decode(latents[0])[0][:first.units * 640]
    audio_two = pipeline.generator.decode(latents[1])[0][:second.units * 640]
    fade = second.overlap_units * 640
    fade_in, fade_out = sampling._fade(fade, "crossfade")
    begin = second.first_unit * 640
    expected = audio_one[begin:begin + fade] * fade_out + audio_two[:fade] * fade_in
    np.testing.assert_allclose(wave[begin:begin + fade], expected, atol=1e-7)
    np.testing.assert_array_equal(wave[:begin], audio_one[:begin])
    np.testing.assert_array_equal(wave[begin + fade:], audio_two[fade:len(wave) - begin])


def test_a_short_clip_generates_only_the_latent_it_needs(pipeline, tmp_path, generator_calls):
    video = make_video(tmp_path / "short.mp4", seconds=3.0, fps=10, with_audio=False)
    seen = []
    real_decode = pipeline.generator.decode

    def spy_decode(latents):
        seen.append(tuple(latents.shape))
        return real_decode(latents)

    pipeline.generator.decode = spy_decode
    try:
        track = pipeline.render(video, GenerateOptions(steps=1), [0])
    finally:
        del pipeline.generator.decode
    assert len(track.waveforms[0]) == 3 * RATE
    assert seen == [(1, 8, 80, 16)]  # 3 s = 75 latent frames, rounded up to the UNet's multiple of 8 (not 256)


def test_start_and_end_cut_the_covered_span(pipeline, scene_video):
    options = GenerateOptions(steps=1, start=5.0, end=17.5, scene_threshold=CUT_THRESHOLD)
    track = pipeline.render(scene_video, options, [0])
    assert len(track.waveforms[0]) == int(12.5 * RATE)
    assert track.timeline.start == 5.0 and track.timeline.end == 17.5
    assert track.timeline.cuts == pytest.approx((12.0,))
    assert track.timeline.windows[0].frames_from == 5.0 and track.timeline.windows[-1].end == 17.5


def test_start_past_the_end_is_an_input_error(pipeline, scene_video):
    from v2a_cli.errors import InputError

    with pytest.raises(InputError, match="--start"):
        pipeline.render(scene_video, GenerateOptions(steps=1, start=40.0), [0])


def test_variations_and_windows_get_their_own_seeds(pipeline, image, generator_calls):
    options = GenerateOptions(steps=1, duration=14.0, join="continue", batch_size=4)
    track = pipeline.render(image, options, [7, 8])
    assert track.window_seeds == [[7, window_seed(7, 1)], [8, window_seed(8, 1)]]
    # A continuing window never shares a batch with the window it continues; variations batch together.
    assert [seeds for _, seeds in generator_calls] == [[7, 8], [window_seed(7, 1), window_seed(8, 1)]]
    options = GenerateOptions(steps=1, duration=20.0, join="crossfade", batch_size=4)
    generator_calls.clear()
    pipeline.render(image, options, [7])
    assert [len(seeds) for _, seeds in generator_calls] == [3]  # independent windows of one length batch together


def test_mapper_steps_reach_the_mapper(pipeline, image):
    default = conditioning.plan_source(pipeline, image, GenerateOptions(steps=1), [1])[1]
    few = conditioning.plan_source(pipeline, image, GenerateOptions(steps=1, mapper_steps=2), [1])[1]
    clip = pipeline.clip_embedding(image)[None]
    assert torch.allclose(few[0, 0], pipeline.map_visual(clip, seeds=[1], sampling=MapperSampling(steps=2))[0], atol=1e-6)
    assert not torch.allclose(few, default)


def test_detected_sources_are_found_window_by_window(pipeline, scene_video):
    from v2a_cli.generation.detect import sourced_conditions, sourced_frames
    from v2a_cli.media.video import iter_frames

    options = GenerateOptions(steps=1, sources="detect", end=16.0, scenes="off", overlap=1.0)
    plan, conditions, _, _ = conditioning.plan_source(pipeline, scene_video, options, [0])
    assert len(plan.windows) == 2
    for k, window in enumerate(plan.windows):
        images = [f.image for f in iter_frames(scene_video, fps=1.0, start=window.frames_from, end=window.frames_to)]
        [expected] = sourced_conditions(pipeline, sourced_frames(pipeline, images, options), True, options,
                                        [window_seed(0, k)])
        assert torch.allclose(conditions[0, k], expected, atol=1e-5)


def test_a_scene_cut_never_shares_a_batch_with_a_continuing_window(pipeline, generator_calls):
    plan = plan_timeline(0.0, 18.0, unit=UNIT, max_units=256, overlap=1.0, join="continue", cuts=[11.8])
    assert [(w.join, w.units) for w in plan.windows] == [("first", 160), ("continue", 160), ("cut", 160)]
    conditions = F.normalize(torch.randn(1, 3, 512, generator=torch.Generator().manual_seed(0)), dim=-1)
    sampling.synthesize_timeline(pipeline, plan, conditions, [[1, 2, 3]], GenerateOptions(steps=1, batch_size=8))
    # Equally long, but the continuing window holds known latents that the cut's window must not get;
    # the cut's window is independent, so it joins the first window's call.
    assert [seeds for _, seeds in generator_calls] == [[1, 3], [2]]


def test_best_of_n_picks_per_window_and_continues_the_pick(pipeline, image):
    options = GenerateOptions(steps=1, duration=14.0, candidates=2, overlap=1.0)
    plan, conditions, _, _ = conditioning.plan_source(pipeline, image, options, [0])
    latents: dict[int, torch.Tensor] = {}
    choices = [[{} for _ in plan.windows]]
    seeds = [[window_seed(0, k) for k in range(len(plan.windows))]]
    [wave] = sampling.synthesize_timeline(pipeline, plan, conditions, seeds, options, choices=choices,
                                          on_latents=lambda k, batch: latents.__setitem__(k, batch.clone()))
    assert len(wave) == 14 * RATE
    assert [c["candidates"] for c in choices[0]] == [2, 2]
    assert all(c["chosen"] == int(np.argmax(c["clap_cosines"])) for c in choices[0])
    second = plan.windows[1]
    offset = second.first_unit - plan.windows[0].first_unit
    torch.testing.assert_close(latents[1][:, :, :second.overlap_units],
                               latents[0][:, :, offset:offset + second.overlap_units], atol=1e-6, rtol=0)
