"""`v2a compose`: one sound from several sources (images, texts, sounds) mixed in CLAP space."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import (
    announce_seed, app, checked_generate_options, command_line_checks, global_options, make_pipeline, run_generation,
)
from v2a_cli.errors import InputError, V2AError


def parse_sources(images: list[str], texts: list[str], audios: list[str]) -> list:
    """Command-line items -> Sources (weights parsed, files checked) before any model loads."""
    from v2a_cli.generation.compose import Source, parse_text_weighted, parse_weighted, validate_sources
    from v2a_cli.media.inputs import media_kind

    sources = [Source("image", *parse_weighted(item)) for item in images]
    sources += [Source("text", *parse_text_weighted(item)) for item in texts]
    sources += [Source("audio", *parse_weighted(item)) for item in audios]
    validate_sources(sources)
    for source in sources:
        if source.kind == "text":
            continue
        path = Path(source.value).expanduser()
        if not path.is_file():
            raise InputError(path, "no such file; check the path")
        kind = media_kind(path)  # unknown extension -> InputError
        if source.kind == "audio" and kind == "image":
            raise InputError(path, "is an image; pass it with --image")
        if source.kind == "audio":  # its sound decodes (a few damaged packets noted), before any model loads
            from v2a_cli.media.audio import check_audio_decodes

            if not check_audio_decodes(path):
                raise InputError(path, "has no audio track; give a file with sound")
    return sources


def planned_outputs(output: Path, variations: int, overwrite: bool, duration: float = 10.0) -> list[Path]:
    """scene.wav, scene_v2.wav, ... (one per variation), checked by `preflight` (existing ones refused
    unless overwrite, the folder writable, room on the disk)."""
    from v2a_cli.media.preflight import preflight_all, wav_bytes

    if output.suffix.lower() != ".wav":
        raise V2AError(f"-o {output}: write a .wav file")
    paths = [output if v == 0 else output.with_name(f"{output.stem}_v{v + 1}{output.suffix}")
             for v in range(variations)]
    preflight_all(paths, overwrite=overwrite, bytes_each=wav_bytes(duration))
    return paths


@app.command()
def compose(
    ctx: typer.Context,
    images: List[str] = typer.Option([], "--image", help="Image or video source, optionally weighted: dog.png or dog.png:2. Repeatable."),
    texts: List[str] = typer.Option([], "--text", help="Text source, optionally weighted: \"heavy rain\" or \"heavy rain:2\". Repeatable."),
    audios: List[str] = typer.Option([], "--audio", help="Audio source (or a video's soundtrack), optionally weighted: thunder.wav:0.5. Repeatable."),
    output: Path = options.OUTPUT_REQUIRED,
    var_samples: Optional[int] = options.VAR_SAMPLES,
    overwrite: bool = options.OVERWRITE,
    skip_existing: bool = options.SKIP_EXISTING,
    sidecar: bool = options.SIDECAR,
    mapper: Optional[str] = options.MAPPER,
    generator: Optional[str] = options.GENERATOR,
    clip: Optional[str] = options.CLIP,
    clap: Optional[str] = options.CLAP,
    preset: str = options.PRESET,
    steps: Optional[int] = options.STEPS,
    scheduler: Optional[str] = options.SCHEDULER,
    guidance: Optional[float] = options.GUIDANCE,
    mapper_guidance: Optional[float] = options.MAPPER_GUIDANCE,
    mapper_steps: Optional[int] = options.MAPPER_STEPS,
    eta: Optional[float] = options.ETA,
    candidates: Optional[int] = options.CANDIDATES,
    seed: int = options.SEED,
    variations: int = options.VARIATIONS,
    duration: float = options.DURATION,
    negative_prompt: Optional[str] = options.NEGATIVE_PROMPT,
    fps: float = options.FPS,
    max_seconds: float = options.MAX_SECONDS,
    aggregate: str = options.AGGREGATE,
    bridge_top_k: int = options.BRIDGE_TOP_K,
    bridge_temperature: float = options.BRIDGE_TEMPERATURE,
    device: str = options.DEVICE,
    dtype: str = options.DTYPE,
    batch_size: str = options.BATCH_SIZE,
    detect: bool = typer.Option(False, "--detect", help="Split each --image picture into its sound sources (the whole picture and its detected boxes)."),
    max_sources: int = options.MAX_SOURCES,
    detect_threshold: float = options.DETECT_THRESHOLD,
    detector: Optional[str] = options.DETECTOR,
    cycle_its: Optional[int] = options.CYCLE_ITS,
    cycle_samples: Optional[int] = options.CYCLE_SAMPLES,
    quiet: bool = options.QUIET,
) -> None:
    """Write one sound for a scene of up to 64 sources, mixed by a normalised weighted mean in CLAP space.

    Images and videos go through CLIP and the mapper, texts through CLAP's text tower, sounds through CLAP's audio tower.

    A weight after the last ':' (dog.png:2) counts that source twice; weights must be positive.
    """
    from v2a_cli.generation.batch import OutputSettings, PlannedOutput
    from v2a_cli.generation.pipeline import GenerateOptions
    from v2a_cli.validation import check_option

    with command_line_checks(ctx):
        options = GenerateOptions.from_preset(
            preset, steps=steps, guidance=guidance, duration=duration, seed=seed, variations=variations,
            scheduler=scheduler, fps=fps, max_seconds=max_seconds, aggregate=aggregate,
            negative_prompt=negative_prompt, mapper_guidance=mapper_guidance, mapper_steps=mapper_steps,
            batch_size=batch_size, max_sources=max_sources, detect_threshold=detect_threshold, cycle_its=cycle_its,
            cycle_samples=cycle_samples, eta=eta, candidates=candidates, var_samples=var_samples,
        )
        settings = OutputSettings(overwrite=overwrite, skip_existing=skip_existing, sidecar=sidecar).validate()
    options = checked_generate_options(ctx, options)
    if var_samples is not None:
        check_option("var_samples", var_samples)
    announce_seed(seed, options.seed)
    with command_line_checks(ctx):  # weights, counts: exit 2; a missing or unreadable file: exit 1
        sources = parse_sources(images, texts, audios)
    paths = planned_outputs(output, variations, overwrite or skip_existing, options.timeline.duration)
    pipeline = make_pipeline(ctx, mapper=mapper, generator=generator, clip=clip, clap=clap, device=device,
                             dtype=dtype, bridge_top_k=bridge_top_k, bridge_temperature=bridge_temperature,
                             detector=detector)
    options = pipeline.settle(options)  # the mapper's declared settings (SSV2A: guidance 2.5), flags winning

    def planner(pipeline, source, options, seeds):
        # Every source is read and embedded here, before anything is generated or written.
        from v2a_cli.generation.compose import composed_sound, expand_detected, validate_sources

        mixed = sources
        if detect:
            mixed = expand_detected(pipeline, sources, options)
            validate_sources(mixed)
        # SSV2A draws options.mapper.var_samples itself; another generative mapper averages var_samples draws
        return composed_sound(pipeline, mixed, options, seeds, var_samples=var_samples or 1)

    from v2a_cli.generation.compose import describe

    scene = Path(describe(sources))
    plans = [[PlannedOutput(scene, v, options.seed + v, path, False) for v, path in enumerate(paths)]]
    report = run_generation(pipeline, plans, options, settings, planner=planner,
                            quiet=global_options(ctx).quiet or quiet)
    if report.failed:
        raise typer.Exit(code=1)
