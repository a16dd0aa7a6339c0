"""`v2a interpolate`: sounds that walk from one source to another through CLAP space."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import (
    announce_seed, app, checked_generate_options, command_line_checks, global_options, make_pipeline, report_note,
    run_generation, stdout,
)
from v2a_cli.errors import V2AError


def _endpoint(name: str, path: Optional[str], text: Optional[str], path_flag: str, text_flag: str) -> str:
    """One endpoint as Pipeline.condition takes it: a file path or "text:..."."""
    if (path is None) == (text is None):
        raise V2AError(f"give the {name} as either {path_flag} or {text_flag} (exactly one)")
    source = f"text:{text}" if text is not None else path
    if not source.startswith("text:"):
        source = str(Path(source).expanduser())
    _check_endpoint(source, path_flag if text is None else text_flag)
    return source


def _check_endpoint(source: str, flag: str) -> None:
    """Cheap checks before any model loads: a text is not empty, a file exists and has a known type."""
    from v2a_cli.errors import InputError
    from v2a_cli.media.inputs import media_kind

    if source.startswith("text:"):
        if not source[5:].strip():
            raise V2AError(f"{flag}: empty text; give a description such as 'text:a flute melody'")
        return
    path = Path(source)
    if not path.is_file():
        raise InputError(path, "no such file; check the path (or write text:... for a text)")
    media_kind(path)


def planned_outputs(out_dir: Path, steps: int, concat: Optional[Path], overwrite: bool,
                    duration: float = 10.0) -> list[Path]:
    """The step files (then the concat file), checked by `preflight` (existing ones refused unless
    overwrite, the folders writable, room on the disk)."""
    from v2a_cli.generation.interpolate import step_file_names
    from v2a_cli.media.preflight import preflight_all, wav_bytes

    if out_dir.exists() and not out_dir.is_dir():
        raise V2AError(f"--out-dir {out_dir}: is a file; give a folder for the step files")
    paths = [out_dir / name for name in step_file_names(steps)]
    if concat is not None:
        if concat.is_dir() or str(concat).endswith(("/", "\\")):
            raise V2AError(f"-o {concat}: is a folder; -o names the joined .wav, the step files go to -d/--out-dir")
        if concat.suffix.lower() != ".wav":
            raise V2AError(f"-o {concat}: write a .wav file")
        paths.append(concat)
    preflight_all(paths, overwrite=overwrite, bytes_each=wav_bytes(duration))
    return paths


@app.command()
def interpolate(
    ctx: typer.Context,
    start: Optional[str] = typer.Argument(None, help="Start: an audio file, image, video, or 'text:...'."),
    to: Optional[str] = typer.Option(None, "--to", help="End: an audio file, image, video, or 'text:...'."),
    from_text: Optional[str] = typer.Option(None, "--from-text", help="Start at this text (instead of START)."),
    to_text: Optional[str] = typer.Option(None, "--to-text", help="End at this text (instead of --to)."),
    points: int = typer.Option(5, "--steps", help="Number of sounds along the way, both ends included (>= 2). NOT denoising steps: see --denoise-steps."),
    slerp: bool = typer.Option(False, "--slerp", help="Walk the great circle evenly (spherical) instead of the straight line."),
    out_dir: Optional[Path] = options.OUT_DIR,
    concat: Optional[Path] = options.OUTPUT,
    crossfade: float = typer.Option(0.1, "--crossfade", help="Seconds of equal-power crossfade between steps in -o."),
    overwrite: bool = options.OVERWRITE,
    skip_existing: bool = options.SKIP_EXISTING,
    sidecar: bool = options.SIDECAR,
    mapper: Optional[str] = options.MAPPER,
    generator: Optional[str] = options.GENERATOR,
    clip: Optional[str] = options.CLIP,
    clap: Optional[str] = options.CLAP,
    preset: str = options.PRESET,
    denoise_steps: Optional[int] = options.DENOISE_STEPS,
    scheduler: Optional[str] = options.SCHEDULER,
    guidance: Optional[float] = options.GUIDANCE,
    mapper_guidance: Optional[float] = options.MAPPER_GUIDANCE,
    mapper_steps: Optional[int] = options.MAPPER_STEPS,
    eta: Optional[float] = options.ETA,
    candidates: Optional[int] = options.CANDIDATES,
    seed: int = options.SEED,
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
    quiet: bool = options.QUIET,
) -> None:
    """Write --steps sounds that walk from START to --to in CLAP space (00.wav ... in -d DIR; -o: the whole walk).

    All steps share one seed (the same initial noise): neighbours differ by their condition only.

    The first and last steps are what `generate` gives for the two ends with the same seed.

    --steps counts the sounds along the way; --denoise-steps is the diffusion's step count.
    """
    from v2a_cli.generation.batch import OutputSettings, PlannedOutput
    from v2a_cli.generation.interpolate import crossfade_concat, interpolation_sounds
    from v2a_cli.generation.pipeline import GenerateOptions
    from v2a_cli.media.audio import load_audio, write_wav
    from v2a_cli.validation import check_option

    with command_line_checks(ctx):  # both ends or none, an empty text: exit 2; a missing file: exit 1
        start_source = _endpoint("start", start, from_text, "START", "--from-text")
        end_source = _endpoint("end", to, to_text, "--to", "--to-text")
    # Also checked while parsing; here for a call from Python (typer's own test runner, a script).
    check_option("points", points, command="interpolate", flag="--steps")
    if denoise_steps is not None:
        check_option("denoise_steps", denoise_steps)
    check_option("crossfade", crossfade)
    with command_line_checks(ctx):
        options = GenerateOptions.from_preset(
            preset, steps=denoise_steps, guidance=guidance, duration=duration, seed=seed, scheduler=scheduler,
            fps=fps, max_seconds=max_seconds, aggregate=aggregate, negative_prompt=negative_prompt,
            mapper_guidance=mapper_guidance, mapper_steps=mapper_steps, batch_size=batch_size, eta=eta,
            candidates=candidates,
        )
        settings = OutputSettings(overwrite=overwrite, skip_existing=skip_existing, sidecar=sidecar).validate()
    options = checked_generate_options(ctx, options)
    announce_seed(seed, options.seed)
    paths = planned_outputs(out_dir or Path("."), points, concat, overwrite or skip_existing, options.timeline.duration)
    pipeline = make_pipeline(ctx, mapper=mapper, generator=generator, clip=clip, clap=clap, device=device,
                             dtype=dtype, bridge_top_k=bridge_top_k, bridge_temperature=bridge_temperature)
    options = pipeline.settle(options)  # the mapper's declared settings (SSV2A: guidance 2.5), flags winning

    with pipeline.call():
        # Both ends are read and embedded before anything is generated or written.
        sounds = interpolation_sounds(pipeline, start_source, end_source, points, options, slerp=slerp)
        names = [Path(sound.track.source) for sound in sounds]
        by_name = dict(zip(names, sounds))
        plans = [[PlannedOutput(name, 0, options.seed, path, False)] for name, path in zip(names, paths)]
        waves: dict[Path, object] = {}
        report = run_generation(pipeline, plans, options, settings, quiet=global_options(ctx).quiet or quiet,
                                planner=lambda pipeline, source, options, seeds: by_name[source],
                                on_generated=lambda todo, track: waves.update({todo[0].path: track.waveforms[0]}))
    if report.failed:
        raise typer.Exit(code=1)
    if concat is not None:
        if concat.exists() and skip_existing:
            report_note(f"skipped {concat}: it exists (--skip-existing)")
            return
        steps_waves = [waves[path] if path in waves else load_audio(path, sample_rate=pipeline.sample_rate)
                       for path in paths[:points]]  # --skip-existing: the steps already there, read back
        write_wav(concat, crossfade_concat(steps_waves, pipeline.sample_rate, crossfade), pipeline.sample_rate,
                  overwrite=overwrite)
        stdout.print(str(concat))
