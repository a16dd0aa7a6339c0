"""Many inputs -> many files, as `v2a generate` does it: one bad input never stops the others.

Outputs are planned (and checked for overwrite) before any model runs; conditions are computed per
input; generation runs in batches across inputs; each finished batch is written at once (atomically).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from v2a_cli.errors import InputError, OutputExistsError, OutputWriteError, V2AError
from v2a_cli.generation.pipeline import GenerateOptions, Pipeline, ProgressCallback
from v2a_cli.media.mux import OUTPUT_FORMATS

VIDEO_OUT_SUFFIXES = frozenset(OUTPUT_FORMATS)  # the containers mux_audio_into_video writes


@dataclass(frozen=True)
class PlannedOutput:
    source: Path
    variation: int  # 0-based
    seed: int
    path: Path
    as_video: bool  # mux into a copy of the source video instead of writing a WAV


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, one-line message)
    candidates: dict[Path, dict] = field(default_factory=dict)  # output -> best-of-N choice (--candidates > 1)

    @property
    def ok(self) -> bool:
        return not self.failed


def preflight_plans(plans: Sequence[Sequence[PlannedOutput]], options: GenerateOptions, *, overwrite: bool = False
                    ) -> tuple[list[list[PlannedOutput]], list[tuple[str, str]]]:
    """`media.preflight.preflight` on every planned output, before any model loads.

    Returns (the plans that can be written, [(input, one-line problem)] for the inputs that cannot);
    a folder-wide problem (unwritable, read-only, full, a file) raises V2AError.
    """
    from v2a_cli.media.preflight import preflight, wav_bytes

    outputs = [plan.path for outputs in plans for plan in outputs]
    videos = {plan.path: plan.source for outputs in plans for plan in outputs if plan.as_video}
    problems = preflight(outputs, overwrite=overwrite, video_sources=videos, bytes_each=wav_bytes(options.duration))
    kept: list[list[PlannedOutput]] = []
    failed: list[tuple[str, str]] = []
    for outputs in plans:
        found = [problems[plan.path] for plan in outputs if plan.path in problems]
        if found:
            failed.append((str(outputs[0].source), found[0]))
        else:
            kept.append(list(outputs))
    return kept, failed


def renamed_outputs(plans: Sequence[Sequence[PlannedOutput]]) -> list[str]:
    """One note per group of inputs sharing a name, saying which input goes to which output."""
    by_stem: dict[str, list[PlannedOutput]] = {}
    for outputs in plans:
        by_stem.setdefault(outputs[0].source.stem, []).append(outputs[0])
    return [
        "inputs with the same name: " + ", ".join(f"{plan.source} -> {plan.path}" for plan in group)
        for group in by_stem.values() if len(group) > 1
    ]


def _variation_name(stem: str, variation: int) -> str:
    return stem if variation == 0 else f"{stem}_v{variation + 1}"


def plan_outputs(inputs: Sequence[Path], options: GenerateOptions, *, output: Path | None = None,
                 out_dir: Path | None = None, as_video: bool = False) -> list[list[PlannedOutput]]:
    """Output paths per input. `-o` names one file (one input); else `out_dir/<stem>[_vN].wav`."""
    from v2a_cli.media.inputs import media_kind

    if output is not None and out_dir is not None:
        raise V2AError("give either -o/--output or --out-dir, not both")
    if output is not None:
        if len(inputs) != 1:
            raise V2AError(f"-o {output} names one file but {len(inputs)} inputs were given; use --out-dir DIR")
        suffix = output.suffix.lower()
        video_out = suffix in VIDEO_OUT_SUFFIXES
        if suffix != ".wav" and not video_out:
            raise V2AError(f"-o {output}: write .wav, or a video file (.mp4, .mov, .mkv, .webm) for a video input")
        if video_out and media_kind(inputs[0]) != "video":
            raise V2AError(f"-o {output}: a video output needs a video input, and {inputs[0]} is not one")
        return [[
            PlannedOutput(inputs[0], v, options.seed + v,
                          output.with_name(_variation_name(output.stem, v) + output.suffix), video_out)
            for v in range(options.variations)
        ]]
    out_dir = out_dir or Path(".")
    plans: list[list[PlannedOutput]] = []
    taken: set[str] = set()
    for source in inputs:
        stem = source.stem
        n = 2
        while stem in taken:  # two inputs with the same name from different folders
            stem, n = f"{source.stem}-{n}", n + 1
        taken.add(stem)
        video = as_video and source.suffix.lower() in VIDEO_OUT_SUFFIXES and media_kind(source) == "video"
        suffix = source.suffix.lower() if video else ".wav"
        plans.append([
            PlannedOutput(source, v, options.seed + v, out_dir / (_variation_name(stem, v) + suffix), video)
            for v in range(options.variations)
        ])
    return plans


@torch.inference_mode()
def generate_files(pipeline: Pipeline, plans: Sequence[Sequence[PlannedOutput]], options: GenerateOptions, *,
                   overwrite: bool = False, on_error: Callable[[str, str], None] | None = None,
                   on_written: Callable[[Path], None] | None = None,
                   on_input_done: Callable[[], None] | None = None,
                   progress: ProgressCallback | None = None) -> BatchReport:
    """Generate every planned output. Errors of one input are reported and the rest go on."""
    options = options.validate()
    report = BatchReport()

    def fail(source: str, message: str) -> None:
        report.failed.append((source, message))
        if on_error:
            on_error(source, message)

    queue: list[tuple[PlannedOutput, torch.Tensor]] = []

    def flush(batch: list[tuple[PlannedOutput, torch.Tensor]]) -> None:
        if not batch:
            return
        embeddings = torch.stack([embedding for _, embedding in batch])
        choices: list[dict] = []
        waves = pipeline.synthesize(embeddings, [plan.seed for plan, _ in batch], options, progress, report=choices)
        for (plan, _), wave, choice in zip(batch, waves, choices):
            try:
                _write(pipeline, plan, wave, overwrite)
            except (InputError, OutputExistsError, OutputWriteError) as exc:  # the rest of the batch goes on
                fail(str(plan.source), str(exc))
                continue
            report.written.append(plan.path)
            if options.candidates > 1:
                report.candidates[plan.path] = choice
            if on_written:
                on_written(plan.path)

    for outputs in plans:
        source = outputs[0].source
        try:
            for plan in outputs:
                if plan.path.exists() and not overwrite:
                    raise OutputExistsError(plan.path)
            conditions = pipeline.conditions(source, options, [plan.seed for plan in outputs])
            for plan, condition in zip(outputs, conditions):
                queue.append((plan, pipeline.with_prompt(condition.embedding, options)))
        except (InputError, OutputExistsError) as exc:  # this input's problem; model errors stop the run
            fail(str(source), str(exc))
            queue[:] = [item for item in queue if item[0].source != source]
            if on_input_done:
                on_input_done()
            continue
        batch_size = pipeline.batch_size(options)
        while len(queue) >= batch_size:
            flush(queue[:batch_size])
            del queue[:batch_size]
        if on_input_done:
            on_input_done()
    flush(queue)
    return report


def _write(pipeline: Pipeline, plan: PlannedOutput, wave, overwrite: bool) -> None:
    if plan.as_video:
        from v2a_cli.media.mux import mux_audio_into_video

        mux_audio_into_video(plan.source, wave, pipeline.sample_rate, plan.path, overwrite=overwrite)
    else:
        from v2a_cli.media.audio import write_wav

        write_wav(plan.path, wave, pipeline.sample_rate, overwrite=overwrite)

