"""Many inputs -> many files, as `v2a generate` does it: one bad input never stops the others.

Outputs are planned (and checked for overwrite) before any model runs. Inputs are then read and
planned over their whole timeline (`plan.py` / `condition.py`: windows, scenes, joins) a generator batch's worth
at a time; each such group is generated together (independent windows of equal length share calls
across inputs and variations) and every input's outputs are written as soon as its group is done
(atomically), with a provenance sidecar on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from v2a_cli.errors import InputError, OutputExistsError, OutputWriteError, V2AError
from v2a_cli.generation.condition import plan_sound
from v2a_cli.generation.models import WarmModels
from v2a_cli.generation.options import GenerateOptions, ProgressCallback
from v2a_cli.generation.plan import PlannedSound, Soundtrack
from v2a_cli.generation.sample import GROUP_CALLS, group_full, rows_per_call, synthesize_sounds  # noqa: F401
from v2a_cli.media.mux import BROWSER, OUTPUT_FORMATS, VIDEO_CODECS

# One input's condition producer: (pipeline, source, options, seeds) -> its planned sound.
Planner = Callable[[WarmModels, Path, GenerateOptions, Sequence[int]], PlannedSound]
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
    skipped: list[Path] = field(default_factory=list)  # outputs already there (--skip-existing)
    candidates: dict[Path, dict] = field(default_factory=dict)  # output -> best-of-N choice (--candidates > 1)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class OutputSettings:
    overwrite: bool = False  # replace existing outputs
    skip_existing: bool = False  # leave existing outputs alone (one note each) and make the others
    sidecar: bool = False  # write OUTPUT.json (provenance, see generation/sidecar.py) beside each output
    mix_original: float = 0.0  # video outputs: the source's own audio mixed under the new sound at this gain
    video_codec: str = "auto"  # video outputs: copy, h264, auto (media.mux.decide_video) or browser (the web page)

    def validate(self) -> "OutputSettings":
        if self.overwrite and self.skip_existing:
            raise V2AError("give --overwrite or --skip-existing, not both")
        if not (0.0 <= self.mix_original <= 1.0):  # also refuses NaN
            raise V2AError(f"--mix-original {self.mix_original}: must be between 0 and 1")
        if self.video_codec not in (*VIDEO_CODECS, BROWSER):
            raise V2AError(f"--video-codec {self.video_codec}: choose one of {', '.join(VIDEO_CODECS)}")
        return self


def preflight_plans(plans: Sequence[Sequence[PlannedOutput]], options: GenerateOptions, *, overwrite: bool = False,
                    video_codec: str = "auto") -> tuple[list[list[PlannedOutput]], list[tuple[str, str]]]:
    """`media.preflight.preflight` on every planned output, before any model loads.

    Returns (the plans that can be written, [(input, one-line problem)] for the inputs that cannot);
    a folder-wide problem (unwritable, read-only, full, a file) raises V2AError.
    """
    from v2a_cli.media.preflight import preflight, wav_bytes

    outputs = [plan.path for outputs in plans for plan in outputs]
    videos = {plan.path: plan.source for outputs in plans for plan in outputs if plan.as_video}
    sizes = {plan.path: wav_bytes(seconds) for outputs, seconds in zip(plans, sound_seconds(plans, options))
             for plan in outputs}
    problems = preflight(outputs, overwrite=overwrite, video_sources=videos, bytes_each=sizes,
                         video_codec=video_codec)
    kept: list[list[PlannedOutput]] = []
    failed: list[tuple[str, str]] = []
    for outputs in plans:
        found = [problems[plan.path] for plan in outputs if plan.path in problems]
        if found:
            failed.append((str(outputs[0].source), found[0]))
        else:
            kept.append(list(outputs))
    return kept, failed


def sound_seconds(plans: Sequence[Sequence[PlannedOutput]], options: GenerateOptions) -> list[float]:
    """Seconds of sound each input gets, before any model loads: a video's own length (within --start /
    --end), a picture's --duration. For the free-space check: a 79.5 s video writes 79.5 s, not 10."""
    from v2a_cli.media.inputs import media_kind
    from v2a_cli.media.video import probe_video

    seconds = []
    for outputs in plans:
        length = options.timeline.duration
        try:
            if media_kind(outputs[0].source) == "video":
                end = probe_video(outputs[0].source).duration
                end = min(end, options.timeline.end) if options.timeline.end is not None else end
                length = max(end - (options.timeline.start or 0.0), 0.0)
        except V2AError:
            pass  # reported when the input's turn comes
        seconds.append(length)
    return seconds


def video_notes(plans: Sequence[Sequence[PlannedOutput]], video_codec: str = "auto") -> list[tuple[Path, str]]:
    """(output, why its video is re-encoded) for each video output that is not copied, decided before
    any model loads (`media.mux.video_decision`); broken sources are left to the input checks."""
    from v2a_cli.media.mux import video_decision

    notes = []
    for outputs in plans:
        for plan in outputs:
            if plan.as_video:
                try:
                    decision = video_decision(plan.source, plan.path, video_codec)
                except V2AError:
                    continue
                if decision.note:
                    notes.append((plan.path, decision.note))
    return notes


def preflight_original_sound(plans: Sequence[Sequence[PlannedOutput]], mix_original: float
                             ) -> tuple[list[list[PlannedOutput]], list[tuple[str, str]]]:
    """--mix-original: every video output's own sound decoded through before any model loads (a damaged
    track fails its input now, not after its sound was generated; a few damaged packets are noted).
    Returns (the plans whose sound decodes, [(input, one-line problem)])."""
    from v2a_cli.media.audio import check_audio_decodes

    if mix_original <= 0:
        return [list(outputs) for outputs in plans], []
    kept: list[list[PlannedOutput]] = []
    failed: list[tuple[str, str]] = []
    for outputs in plans:
        try:
            if any(plan.as_video for plan in outputs):
                check_audio_decodes(outputs[0].source)
        except InputError as exc:
            failed.append((str(outputs[0].source), str(exc)))
            continue
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


def written_settings(plan: PlannedOutput, settings: OutputSettings) -> dict:
    """How the output file itself was made, for its sidecar: a video copy (with the source's own sound mixed
    under the new one at `mix_original`, and how its video stream was written) or a WAV."""
    if not plan.as_video:
        return {"as_video": False, "mix_original": None, "video_codec": None}
    return {"as_video": True, "mix_original": settings.mix_original, "video_codec": settings.video_codec}


def missing_sidecar_note(path: Path) -> str | None:
    """--skip-existing --sidecar: a note for an existing output without its sidecar (written without
    --sidecar, or by a v2a that wrote the sidecar after the output and was killed between the two)."""
    sidecar = sidecar_path(path)
    if sidecar.exists():
        return None
    return (f"{path} has no sidecar {sidecar.name} (it was written without --sidecar); its settings are unknown, "
            f"so none is made up: delete {path.name} and rerun to make both")


def sidecar_path(output: Path) -> Path:
    """Where --sidecar writes an output's provenance: beside it, e.g. clip.mp4 -> clip.mp4.json."""
    return output.with_name(output.name + ".json")


def estimate_window_steps(plans: Sequence[Sequence[PlannedOutput]],
                          options: GenerateOptions) -> list[int]:
    """Window-steps per output of each input, before scene cuts are known (for a progress bar's total)."""
    from v2a_cli.generation.plan import count_windows
    from v2a_cli.media.inputs import media_kind

    estimates = []
    for outputs in plans:
        seconds = options.timeline.duration
        try:
            if media_kind(outputs[0].source) == "video":
                from v2a_cli.media.video import probe_video

                end = probe_video(outputs[0].source).duration
                end = min(end, options.timeline.end) if options.timeline.end is not None else end
                seconds = max(end - (options.timeline.start or 0.0), 0.0)
        except (InputError, V2AError):
            pass  # reported when the input's turn comes
        estimates.append(count_windows(seconds, options) * options.sampler.steps_per_window)
    return estimates


@torch.inference_mode()
def generate_files(pipeline: WarmModels, plans: Sequence[Sequence[PlannedOutput]], options: GenerateOptions,
                   settings: OutputSettings = OutputSettings(), *,
                   on_error: Callable[[str, str], None] | None = None,
                   on_written: Callable[[Path], None] | None = None,
                   on_skipped: Callable[[Path], None] | None = None,
                   on_input_done: Callable[[], None] | None = None,
                   on_explain: Callable[[str, list[dict]], None] | None = None,
                   progress: ProgressCallback | None = None,
                   planner: Planner = plan_sound,
                   on_generated: Callable[[Sequence[PlannedOutput], Soundtrack], None] | None = None) -> BatchReport:
    """Generate every planned output, a few inputs at a time.

    `planner(pipeline, source, options, seeds)` is the condition producer of one input (default
    `condition.plan_sound`: a picture, video, sound or text; `compose` and `interpolate` pass theirs);
    `on_generated(outputs, track)` sees each input's generated sound before it is written.

    Inputs are read and planned (conditions, windows) until their rows fill a generator batch; that
    group is then generated together (`sample.synthesize_sounds`: independent windows of equal
    length share calls across inputs, continuing windows follow their own) and each input's outputs
    are written. Errors of one input are reported and the rest go on. `progress(done, total)` counts
    window-steps over the whole batch (the total is refined as each video's scene cuts become known).
    Everything the run caches (encoded prompts, detected sources, model hashes) is dropped at its end.
    """
    with pipeline.call():
        return _generate_files(pipeline, plans, options, settings, on_error=on_error, on_written=on_written,
                               on_skipped=on_skipped, on_input_done=on_input_done, on_explain=on_explain,
                               progress=progress, planner=planner, on_generated=on_generated)


def _generate_files(pipeline: WarmModels, plans: Sequence[Sequence[PlannedOutput]], options: GenerateOptions,
                    settings: OutputSettings, *, on_error, on_written, on_skipped, on_input_done, on_explain,
                    progress, planner: Planner, on_generated) -> BatchReport:
    options = pipeline.settle(options.validate())
    settings = settings.validate()
    report = BatchReport()
    estimates = estimate_window_steps(plans, options) if progress else [0] * len(plans)
    counts = {"done": 0, "total": sum(e * len(outputs) for e, outputs in zip(estimates, plans))}
    group: list[tuple[list[PlannedOutput], object]] = []  # planned inputs waiting for their generator calls
    per_call = rows_per_call(pipeline, options)

    def fail(source: str, message: str) -> None:
        report.failed.append((source, message))
        if on_error:
            on_error(source, message)

    def advance(items: int) -> None:
        counts["done"] += items
        progress(counts["done"], max(counts["total"], counts["done"]))

    def finish_group() -> None:
        if group:
            synthesize_sounds(pipeline, [planned for _, planned in group], options,
                              progress=advance if progress else None)
        for todo, planned in group:
            if on_generated:
                on_generated(todo, planned.track)
            _write_input(pipeline, todo, planned.track, options, settings, report, fail, on_written, on_explain)
            if on_input_done:
                on_input_done()
        group.clear()

    for outputs, estimate in zip(plans, estimates):
        source = outputs[0].source
        todo = []
        for plan in outputs:
            if plan.path.exists() and settings.skip_existing:
                report.skipped.append(plan.path)
                if on_skipped:
                    on_skipped(plan.path)
            else:
                todo.append(plan)
        counts["total"] -= estimate * len(outputs)  # replaced by the real count once planned
        try:
            for plan in todo:
                if plan.path.exists() and not settings.overwrite:
                    raise OutputExistsError(plan.path)
            if todo:
                planned = planner(pipeline, source, options, [plan.seed for plan in todo])
                counts["total"] += len(planned.track.timeline.windows) * len(todo) * options.sampler.steps_per_window
                group.append((todo, planned))
            elif on_input_done:
                on_input_done()
        except (InputError, OutputExistsError, OutputWriteError) as exc:  # this input's problem; model errors stop the run
            fail(str(source), str(exc))
            if on_input_done:
                on_input_done()
        if group_full([planned for _, planned in group], per_call):
            finish_group()
    finish_group()
    return report


def _write_input(pipeline: WarmModels, todo: Sequence[PlannedOutput], track, options: GenerateOptions,
                 settings: OutputSettings, report: BatchReport, fail: Callable[[str, str], None],
                 on_written: Callable[[Path], None] | None,
                 on_explain: Callable[[str, list[dict]], None] | None) -> None:
    """One generated input's outputs (and sidecars) written; a write problem fails that input only."""
    from v2a_cli.generation.sidecar import build_sidecar, window_records, write_sidecar

    try:
        if on_explain and track.explain is not None:
            on_explain(track.source, window_records(track)[0])
        for index, (plan, wave) in enumerate(zip(todo, track.waveforms)):
            # The sidecar first: an output that exists has its sidecar, so `--skip-existing --sidecar` after a
            # kill never skips an output whose sidecar was lost (a kill between the two leaves only the
            # sidecar, and the rerun makes both). A failed output takes its sidecar with it.
            sidecar = sidecar_path(plan.path) if settings.sidecar else None
            if sidecar is not None:
                write_sidecar(sidecar, build_sidecar(pipeline, options, track, index, plan.path,
                                                     written=written_settings(plan, settings)))
            try:
                _write(pipeline, plan, wave, track, settings)
            except BaseException:
                if sidecar is not None:
                    sidecar.unlink(missing_ok=True)
                raise
            report.written.append(plan.path)
            if options.sampler.candidates > 1 and len(track.timeline.windows) == 1:
                report.candidates[plan.path] = track.choices[index][0]
            if on_written:
                on_written(plan.path)
    except (InputError, OutputExistsError, OutputWriteError) as exc:
        fail(str(todo[0].source), str(exc))


def _write(pipeline: WarmModels, plan: PlannedOutput, wave, track, settings: OutputSettings) -> None:
    if plan.as_video:
        from v2a_cli.media.mux import mux_audio_into_video

        mux_audio_into_video(plan.source, wave, pipeline.sample_rate, plan.path, overwrite=settings.overwrite,
                             offset=track.timeline.start, mix_original=settings.mix_original,
                             video_codec=settings.video_codec)
    else:
        from v2a_cli.media.audio import write_wav

        write_wav(plan.path, wave, pipeline.sample_rate, overwrite=settings.overwrite)
