"""A mapper's declared generation settings and how a run's options resolve with them (`settle_options`)."""

from __future__ import annotations

from v2a_cli.generation.pipeline import PRESETS, SAMPLER_FIELDS, GenerateOptions, settle_options
from v2a_cli.mapper.settings import NO_SETTINGS, SSV2A_SETTINGS, MapperSettings


def test_no_declaration_keeps_the_preset():
    for name in PRESETS:
        options = settle_options(GenerateOptions.from_preset(name), NO_SETTINGS)
        assert options.guidance == PRESETS[name]["guidance"] and options.candidates == 1
        assert options.origins["guidance"] == "preset" and options.origins["candidates"] == "default"


def test_ssv2a_paper_is_its_scripts_settings():
    options = settle_options(GenerateOptions.from_preset("paper"), SSV2A_SETTINGS)
    # ssv2a/model/aldm.py emb_to_audio: ddim_steps=200, guidance_scale=2.5, n_candidate_gen_per_text=3;
    # AudioLDM's DDIM eta 1; infer_i2a.py / infer_v2a.py: var_samples, cycle_its, cycle_samples 64.
    assert (options.steps, options.scheduler, options.eta, options.guidance, options.candidates) == (
        200, "ddim", 1.0, 2.5, 3)
    assert (options.var_samples, options.cycle_its, options.cycle_samples) == (64, 64, 64)
    assert options.origins == {"steps": "preset", "scheduler": "preset", "guidance": "mapper", "eta": "preset",
                               "candidates": "mapper", "var_samples": "preset", "cycle_its": "preset",
                               "cycle_samples": "preset"}


def test_ssv2a_fast_keeps_the_fast_sampler_with_the_mappers_guidance():
    options = settle_options(GenerateOptions.from_preset("fast"), SSV2A_SETTINGS)
    assert (options.steps, options.scheduler, options.guidance, options.candidates) == (25, "dpm", 2.5, 1)
    assert options.origins["guidance"] == "mapper" and options.origins["steps"] == "preset"


def test_flags_win_over_the_mapper_and_the_preset():
    given = GenerateOptions.from_preset("paper", guidance=4.0, candidates=1, steps=3)
    options = settle_options(given, SSV2A_SETTINGS)
    assert (options.guidance, options.candidates, options.steps) == (4.0, 1, 3)
    assert {options.origins[k] for k in ("guidance", "candidates", "steps")} == {"flag"}
    # another scheduler drops the preset's eta: its value is then the default's, and says so
    assert settle_options(GenerateOptions.from_preset("paper", scheduler="dpm"), SSV2A_SETTINGS).origins["eta"] == \
        "default"


def test_settling_is_once_and_options_built_field_by_field_are_taken_as_given():
    once = settle_options(GenerateOptions.from_preset("fast"), SSV2A_SETTINGS)
    assert settle_options(once, MapperSettings(guidance=7.0)) is once
    direct = settle_options(GenerateOptions(guidance=4.5), SSV2A_SETTINGS)
    assert direct.guidance == 4.5 and set(direct.origins.values()) == {"given"}
    assert set(direct.origins) == set(SAMPLER_FIELDS)


def test_an_ssv2a_mapper_declares_its_scripts_settings(zoo_models_toml):
    from v2a_cli.mapper import load_mapper

    mapper = load_mapper(str(zoo_models_toml.parent / "ssv2a"))
    declared = mapper.generation_settings
    assert declared.guidance == 2.5 and declared.crops == "stretch"
    assert (declared.window_frames, declared.frame_size) == ((64, (512, 512)) if mapper.has_aggregator
                                                             else (None, None))

