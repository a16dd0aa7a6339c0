"""`v2a generate`: pictures and videos in, WAV (or the video with its new soundtrack) out."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import (
    announce_seed, app, checked_generate_options, command_line_checks, global_options, make_pipeline, print_output,
    progress_bars, report_error, report_note, report_skipped, stage_reporters, stderr, stdout,
)
from v2a_cli.cli.options import candidate_note
from v2a_cli.errors import V2AError
from v2a_cli.progress import stages_to


@app.command()
def generate(
    ctx: typer.Context,
    inputs: List[str] = typer.Argument(..., help="Images, videos, folders or globs (audio files: sound-alikes)."),
    output: Optional[Path] = options.OUTPUT,
    out_dir: Optional[Path] = options.OUT_DIR,
    as_video: bool = typer.Option(False, "--as-video", help="With --out-dir: write video inputs as a copy of the video with the new soundtrack."),
    overwrite: bool = options.OVERWRITE,
    skip_existing: bool = options.SKIP_EXISTING,
    sidecar: bool = options.SIDECAR,
    explain: bool = typer.Option(False, "--explain", help="Print the zero-shot bridge's sound classes per input and window to stderr."),
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
    start: Optional[float] = typer.Option(None, "--start", help="Video: seconds where the sound starts (default: the start)."),
    end: Optional[float] = typer.Option(None, "--end", help="Video: seconds where the sound ends (default: the end)."),
    overlap: float = typer.Option(2.5, "--overlap", help="Seconds shared by consecutive windows of a long sound (0..5)."),
    join: str = typer.Option("continue", "--join", help="How windows join: continue (latent continuation) or crossfade."),
    scenes: str = typer.Option("auto", "--scenes", help="auto: the sound changes at shot changes; off: ignore them."),
    scene_threshold: float = typer.Option(0.2, "--scene-threshold", help="Shot change: cosine distance between consecutive frames' CLIP embeddings above this."),
    mix_original: float = typer.Option(0.0, "--mix-original", help="Video output: keep the video's own sound under the new one at this volume (0..1)."),
    video_codec: str = typer.Option("auto", "--video-codec", help="Video output: auto (copy the video stream when the container holds it, else re-encode), copy (always; refuse otherwise) or h264 (always re-encode: plays everywhere)."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="Text mixed into the condition in CLAP space."),
    prompt_weight: float = typer.Option(0.3, "--prompt-weight", help="Weight of --prompt in the mix (0..1)."),
    negative_prompt: Optional[str] = options.NEGATIVE_PROMPT,
    fps: float = options.FPS,
    aggregate: str = options.AGGREGATE,
    bridge_top_k: int = options.BRIDGE_TOP_K,
    bridge_temperature: float = options.BRIDGE_TEMPERATURE,
    device: str = options.DEVICE,
    dtype: str = options.DTYPE,
    batch_size: str = options.BATCH_SIZE,
    compile: bool = options.COMPILE,
    sources: str = options.SOURCES,
    max_sources: int = options.MAX_SOURCES,
    detect_threshold: float = options.DETECT_THRESHOLD,
    detector: Optional[str] = options.DETECTOR,
    boxes: Optional[Path] = options.BOXES,
    var_samples: Optional[int] = options.VAR_SAMPLES,
    cycle_its: Optional[int] = options.CYCLE_ITS,
    cycle_samples: Optional[int] = options.CYCLE_SAMPLES,
    quiet: bool = options.QUIET,
) -> None:
    """Write a sound that fits each picture or video: for a video, all of it, following its scenes."""
    from v2a_cli.distributed import current_ranks, gather, process_group
    from v2a_cli.generation.batch import (
        OutputSettings, generate_files, plan_outputs, preflight_original_sound, preflight_plans,
        renamed_outputs, video_notes,
    )
    from v2a_cli.generation.pipeline import GenerateOptions
    from v2a_cli.media.inputs import expand_inputs
    from v2a_cli.validation import RANDOM_SEED

    opts = global_options(ctx)
    with command_line_checks(ctx):
        options = GenerateOptions.from_preset(
            preset, steps=steps, guidance=guidance, scheduler=scheduler, duration=duration, seed=seed,
            variations=variations, fps=fps, aggregate=aggregate, prompt=prompt, prompt_weight=prompt_weight,
            negative_prompt=negative_prompt, mapper_guidance=mapper_guidance, mapper_steps=mapper_steps,
            batch_size=batch_size, compile=compile, start=start, end=end, overlap=overlap, join=join, scenes=scenes,
            scene_threshold=scene_threshold, sources=sources, max_sources=max_sources,
            detect_threshold=detect_threshold, var_samples=var_samples, cycle_its=cycle_its, cycle_samples=cycle_samples,
            eta=eta, candidates=candidates,
        )
    options = checked_generate_options(ctx, options)
    ranks = current_ranks()  # under torchrun: this process's share of the inputs, and its own GPU
    with command_line_checks(ctx):
        settings = OutputSettings(overwrite=overwrite, skip_existing=skip_existing, sidecar=sidecar,
                                  mix_original=mix_original, video_codec=video_codec).validate()
        if boxes is not None and sources != "detect":
            raise V2AError("--boxes draws the detected sources; add --sources detect")
        if ranks.distributed and seed == RANDOM_SEED:
            raise V2AError("--seed -1 under torchrun: each process would draw its own seed; give a seed")
    announce_seed(seed, options.seed)

    # Everything that can be checked without a model is checked before one loads.
    paths, input_errors = expand_inputs(inputs, on_note=report_note if ranks.is_main else None)
    for error in input_errors if ranks.is_main else []:
        report_error(str(error))
    failed = len(input_errors) if ranks.is_main else 0
    with command_line_checks(ctx):  # -o with several inputs, -o and --out-dir together: exit 2
        every = plan_outputs(paths, options, output=output, out_dir=out_dir, as_video=as_video) if paths else []
    for note in renamed_outputs(every) if ranks.is_main else []:
        report_note(note)
    for note in video_only_settings(every, as_video=as_video, start=start, end=end,
                                    mix_original=mix_original) if ranks.is_main else []:
        report_note(note)
    # --skip-existing: outputs that exist are not problems; generate_files skips them with a note.
    every, problems = preflight_plans(every, options, overwrite=overwrite or skip_existing, video_codec=video_codec)
    for _, message in problems if ranks.is_main else []:
        report_error(message)
    for path, note in video_notes(every, video_codec) if ranks.is_main else []:
        report_note(f"{path}: {note}")
    failed += len(problems) if ranks.is_main else 0
    every, problems = preflight_original_sound(every, settings.mix_original)
    for _, message in problems if ranks.is_main else []:
        report_error(message)
    failed += len(problems) if ranks.is_main else 0
    every, problems, notes = check_video_ranges(every, options)
    for message in problems if ranks.is_main else []:
        report_error(message)
    for note in notes if ranks.is_main else []:
        report_note(note)
    failed += len(problems) if ranks.is_main else 0
    if skip_existing:  # inputs whose outputs all exist: skipped now, so a finished batch loads no model
        finished = [outputs for outputs in every if all(plan.path.exists() for plan in outputs)]
        every = [outputs for outputs in every if not all(plan.path.exists() for plan in outputs)]
        for plan in (plan for outputs in finished for plan in outputs) if ranks.is_main else []:
            report_skipped(plan.path, sidecar=sidecar)
    written: list[str] = []
    order = {str(plan.path): i for i, plan in enumerate(p for outputs in every for p in outputs)}
    with process_group(ranks):
        if every:
            pipeline = make_pipeline(ctx, mapper=mapper, generator=generator, clip=clip, clap=clap,
                                     device=ranks.device(device), dtype=dtype, bridge_top_k=bridge_top_k,
                                     bridge_temperature=bridge_temperature, detector=detector)
            plans = ranks.shard(every)
            if explain and pipeline.models.mapper != "bridge" and ranks.is_main:
                report_note(f"--explain lists the sound classes the zero-shot bridge mixes; the mapper here "
                            f"({pipeline.models.mapper}) is not the bridge, so there is nothing to list "
                            "(--mapper bridge to use it)")
            if boxes is not None:
                from v2a_cli.cli.sources import write_boxes_for

                drawn_ok = write_boxes_for(pipeline, [p[0].source for p in plans], options, boxes, overwrite=overwrite)
                failed_boxes = {p[0].source for p in plans} - set(drawn_ok)
                failed += len(failed_boxes)
                plans = [p for p in plans if p[0].source in drawn_ok]
            with progress_bars(opts.quiet or quiet or not ranks.is_main) as bars:
                stage_task = bars.add_task("starting", total=None)
                steps_task = bars.add_task("windows", total=None, start=False)  # its clock starts at step 1
                on_stage, on_step = stage_reporters(bars, stage_task, steps_task, pipeline, options)

                def on_written(path: Path) -> None:
                    written.append(str(path))
                    if not ranks.distributed:
                        print_output(str(path), bars)

                with stages_to(on_stage):
                    report = generate_files(
                        pipeline, plans, options, settings,
                        on_error=lambda source, message: report_error(message),
                        on_written=on_written,
                        on_skipped=lambda path: report_skipped(path, sidecar=sidecar),
                        on_explain=print_explanation if explain else None,
                        progress=on_step,
                    )
            for path, choice in report.candidates.items():
                stderr.print(candidate_note(path, choice), highlight=False, markup=False, soft_wrap=True)
            failed += len({source for source, _ in report.failed})
        if ranks.distributed:  # rank 0 prints every rank's outputs; all ranks exit alike
            reports = gather((written, failed), ranks)
            if ranks.is_main:
                for path in sorted((path for paths_written, _ in reports for path in paths_written), key=order.get):
                    stdout.print(path)
            failed = sum(count for _, count in reports)
    if failed:
        raise typer.Exit(code=1)


def print_explanation(source: str, windows: list[dict]) -> None:
    """--explain: one line per window on stderr: its seconds and the sound classes the bridge mixed."""
    for window in windows:
        classes = ", ".join(f"{item['class']} {item['weight']:.2f}" for item in window.get("explain", []))
        stderr.print(f"explain: {source} [{window['start']:.2f}-{window['end']:.2f} s, scene {window['scene']}] "
                     f"{classes}", highlight=False, markup=False, soft_wrap=True)


def video_only_settings(plans, *, as_video: bool, start, end, mix_original: float) -> list[str]:
    """One note per picture input given settings that only videos have (they would be ignored silently)."""
    from v2a_cli.media.inputs import media_kind

    flags = [flag for flag, given in (("--as-video", as_video), ("--start", start is not None),
                                      ("--end", end is not None), ("--mix-original", mix_original > 0)) if given]
    if not flags:
        return []
    notes = []
    for outputs in plans:
        source = outputs[0].source
        try:
            kind = media_kind(source)
        except V2AError:
            continue  # reported when its turn comes
        if kind != "video":
            verb = "applies" if len(flags) == 1 else "apply"
            notes.append(f"{source}: {' '.join(flags)} {verb} to videos only; this {kind} gets "
                         f"{'--duration seconds of ' if kind == 'image' else ''}sound as usual")
    return notes


def check_video_ranges(plans, options) -> tuple[list, list[str], list[str]]:
    """--start / --end against each video's length, before any model loads: a start at or past the end
    fails that input; an end past it is clamped to the video's end, with a note saying so.
    Returns (the plans kept, problems, notes)."""
    from v2a_cli.media.inputs import media_kind
    from v2a_cli.media.video import probe_video

    if options.timeline.start is None and options.timeline.end is None:
        return list(plans), [], []
    kept, problems, notes = [], [], []
    for outputs in plans:
        source = outputs[0].source
        try:
            if media_kind(source) != "video":
                kept.append(outputs)
                continue
            duration = probe_video(source).duration
        except V2AError:
            kept.append(outputs)  # reported when its turn comes
            continue
        start = options.timeline.start or 0.0
        if start >= duration:
            problems.append(f"{source}: --start {start:g} s is at or past the video's end ({duration:.2f} s); "
                            "choose an earlier start")
            continue
        if options.timeline.end is not None and options.timeline.end > duration:
            notes.append(f"{source}: --end {options.timeline.end:g} s is past the video's end ({duration:.2f} s); "
                         f"the sound ends there ({duration - start:.2f} s long)")
        kept.append(outputs)
    return kept, problems, notes
