"""What the web page does, without Gradio: one warm `Pipeline`, results written under one work folder.

Every request goes through the generation core (`generate_files` for Generate, `compose` and
`interpolate` for the other tabs), one at a time (a lock: the models are shared and not thread-safe).
Known failures are `V2AError`s with the CLI's one-line messages; the long upload path is shortened
to the file's name, which is what the person uploaded.
"""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from v2a_cli.errors import V2AError
from v2a_cli.generation.compose import Source
from v2a_cli.generation.pipeline import DEFAULT_PRESET, PRESETS, GenerateOptions, Pipeline, ProgressCallback
from v2a_cli.validation import Range, check_option

MAX_VARIATIONS = 4  # sound slots on the Generate and Compose tabs
MAX_POINTS = 8  # sound slots on the Interpolate tab
MAX_SECONDS = 60.0  # Generate: "seconds of sound" for a picture or sound (windowed; a video gets its whole length)
PAGE_SECONDS = Range(0, MAX_SECONDS, low_open=True)


def preset_names() -> list[str]:
    return list(PRESETS)


def supports(option: str) -> bool:
    """Whether GenerateOptions has this field (so the page can show the control)."""
    return option in {f.name for f in fields(GenerateOptions)}


def options_for(preset: str, **overrides) -> GenerateOptions:
    """A preset (`pipeline.PRESETS`) with overrides; None values and options this version does not have are left out."""
    overrides = {name: value for name, value in overrides.items() if value is not None and supports(name)}
    return GenerateOptions.from_preset(preset, **overrides).validate()


@dataclass(frozen=True)
class Settings:
    """The controls every tab shares."""

    preset: str = DEFAULT_PRESET  # named set of steps/scheduler (generation.pipeline)
    steps: int = 0  # denoising steps; 0: the preset's
    seed: int = 0  # variation v uses seed + v
    duration: float = 10.0  # seconds of audio for a picture or sound (Generate: up to MAX_SECONDS; a video
    #                         gets its whole length); Compose and Interpolate: one window, at most 10.24
    negative_prompt: str = ""  # text to steer away from ("" = none)

    def options(self, **extra) -> GenerateOptions:
        return options_for(
            self.preset, steps=int(self.steps) if self.steps else None, seed=int(self.seed),
            duration=float(self.duration), negative_prompt=self.negative_prompt.strip() or None, **extra)


@dataclass
class Sound:
    audio: Path  # 16 kHz mono WAV
    spectrogram: Path  # PNG
    label: str  # what the page shows above the player


@dataclass
class GenerateResult:
    sounds: list[Sound]  # one per variation
    videos: list[Path] = field(default_factory=list)  # the input video with each sound (video input only)
    classes: dict[str, float] = field(default_factory=dict)  # the bridge's sound classes -> weights
    boxes: Path | None = None  # sources="detect": the picture with the detected sources drawn
    notes: list[str] = field(default_factory=list)  # e.g. why the video was re-encoded

    @property
    def files(self) -> list[Path]:
        return [sound.audio for sound in self.sounds] + self.videos + ([self.boxes] if self.boxes else [])


@dataclass
class InterpolateResult:
    steps: list[Sound]  # start -> end, in order
    walk: Path  # all steps joined with crossfades
    walk_spectrogram: Path

    @property
    def files(self) -> list[Path]:
        return [self.walk] + [sound.audio for sound in self.steps]


@contextmanager
def short_paths(paths: Sequence[str | Path]) -> Iterator[None]:
    """Re-raise V2AErrors with each uploaded file's long temporary path shown as its name."""
    try:
        yield
    except V2AError as exc:
        message = str(exc)
        for path in paths:
            path = Path(path)
            if str(path) in message:
                message = message.replace(str(path), path.name)
        if message == str(exc):
            raise
        raise V2AError(message) from exc


class AppService:
    """The app's functions over one warm pipeline; results go to `workdir/results/NNNN/`."""

    def __init__(self, pipeline: Pipeline, workdir: str | Path):
        self.pipeline = pipeline
        self.workdir = Path(workdir)
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def warm(self) -> None:
        """Load the models every picture needs now, not on the first request. (CLAP's audio tower
        loads with the first sound input and then stays.)"""
        with self._lock:
            for role in ("clip", "generator", "mapper"):
                getattr(self.pipeline, role)

    @contextmanager
    def _request(self, files: Sequence[str | Path]) -> Iterator[None]:
        """One request at a time on the shared models. Afterwards the core's per-file cache of detected
        sources (kept for reuse within a CLI run, with the decoded pictures) drops these uploads."""
        from v2a_cli.generation.detect import forget_file

        with self._lock:
            try:
                yield
            finally:
                for path in files:
                    forget_file(self.pipeline, path)

    def _folder(self) -> Path:
        folder = self.workdir / "results" / f"{next(self._counter):04d}"
        folder.mkdir(parents=True)
        return folder

    def _sound(self, wav: Path, waveform: np.ndarray, label: str) -> Sound:
        from v2a_cli.web.spectrogram import write_spectrogram

        png = write_spectrogram(wav.with_suffix(".png"), waveform, self.pipeline.sample_rate)
        return Sound(wav, png, label)

    def _write(self, folder: Path, name: str, waveform: np.ndarray, label: str) -> Sound:
        from v2a_cli.media.audio import write_wav

        return self._sound(write_wav(folder / name, waveform, self.pipeline.sample_rate), waveform, label)

    # -- Generate -----------------------------------------------------------------------------------
    def generate(self, source: str | Path, settings: Settings = Settings(), *, prompt: str = "",
                 variations: int = 1, join: str | None = None, sources: str | None = None,
                 progress: ProgressCallback | None = None) -> GenerateResult:
        """One picture, video or sound -> `variations` sounds (and the video with each sound).
        `join` (long videos) and `sources` ("whole" | "detect") are passed on when the core has them."""
        import soundfile

        from v2a_cli.generation.batch import generate_files, plan_outputs
        from v2a_cli.media.inputs import media_kind

        if source is None or not str(source).strip():
            raise V2AError("no input; upload a picture, a video or a sound")
        path = Path(source)
        with short_paths([path]):
            if not 1 <= int(variations) <= MAX_VARIATIONS:
                raise V2AError(f"variations {variations}: choose 1 to {MAX_VARIATIONS}")
            kind = media_kind(path)
            if kind != "video":  # a video's sound covers the whole video
                check_option("duration", settings.duration, flag="seconds of sound", valid=PAGE_SECONDS)
            options = settings.options(prompt=prompt.strip() or None, variations=int(variations), join=join,
                                       sources=sources)
            video_note = self._video_decision(path).note if kind == "video" else ""  # before any model runs
            with self._request([path]):
                folder = self._folder()
                [plans] = plan_outputs([path], options, out_dir=folder)
                report = generate_files(self.pipeline, [plans], options, progress=progress)
                if report.failed:
                    raise V2AError(report.failed[0][1])
                result = GenerateResult([], notes=[video_note] if video_note else [])
                for plan in plans:
                    waveform, _ = soundfile.read(plan.path, dtype="float32")
                    label = f"variation {plan.variation + 1} (seed {plan.seed})"
                    result.sounds.append(self._sound(plan.path, waveform, label))
                    if kind == "video":
                        result.videos.append(self._mux(path, plan.path, waveform))
                result.classes = self.bridge_classes(path, options)
                if getattr(options, "sources", "whole") == "detect" and kind != "audio":
                    result.boxes = self._boxes(path, options, folder)
        return result

    def _boxes(self, path: Path, options: GenerateOptions, folder: Path) -> Path:
        """The picture (a video's middle sampled frame) with its detected sources, as `--boxes` draws it;
        the detection itself is the one generation just used (cached by the core)."""
        from v2a_cli.generation.detect import sourced_visual
        from v2a_cli.sources.draw import write_boxes

        sourced = sourced_visual(self.pipeline, path, options)
        return write_boxes(folder / f"{path.stem}_sources.png", sourced.scan.picture, sourced.found)


    @staticmethod
    def _video_decision(video: Path):
        """Whether the video is copied or re-encoded for the browser (`media.mux`, policy "browser"):
        decided before any model runs; an .mp4 always plays (H.264 when it must be re-encoded)."""
        from v2a_cli.media.mux import BROWSER, video_decision

        return video_decision(video, video.with_suffix(".mp4"), BROWSER)

    def _mux(self, video: Path, wav: Path, waveform: np.ndarray) -> Path:
        """The video with the new sound, as an .mp4 that browsers play (copied or re-encoded to H.264)."""
        from v2a_cli.media.mux import BROWSER, mux_audio_into_video

        out = wav.with_name(f"{wav.stem}_video.mp4")
        mux_audio_into_video(video, waveform, self.pipeline.sample_rate, out, video_codec=BROWSER)
        return out

    def bridge_classes(self, path: Path, options: GenerateOptions) -> dict[str, float]:
        """The sound classes the zero-shot bridge mixed for a picture or video, with their weights;
        empty for a trained mapper or a sound input."""
        from v2a_cli.media.inputs import media_kind

        explain = getattr(self.pipeline.mapper, "explain", None)
        if explain is None or media_kind(path) == "audio":
            return {}
        with torch.inference_mode():
            [pairs] = explain(self.pipeline.clip_embedding(path, options)[None])
        return {name: round(weight, 4) for name, weight in pairs}

    # -- Compose ------------------------------------------------------------------------------------
    def compose(self, sources: Sequence[Source], settings: Settings = Settings(), *, variations: int = 1,
                progress: ProgressCallback | None = None) -> list[Sound]:
        """Several pictures, texts and sounds with weights -> one scene's sound per variation."""
        from v2a_cli.generation.compose import compose

        files = [source.value for source in sources if source.kind != "text"]
        with short_paths(files):
            if not 1 <= int(variations) <= MAX_VARIATIONS:
                raise V2AError(f"variations {variations}: choose 1 to {MAX_VARIATIONS}")
            check_option("duration", settings.duration, command="compose", flag="seconds of sound")
            options = settings.options(variations=int(variations))
            with self._request(files):
                waves = compose(self.pipeline, sources, options, progress=progress)
                folder = self._folder()
                return [self._write(folder, "scene.wav" if v == 0 else f"scene_v{v + 1}.wav", wave,
                                    f"variation {v + 1} (seed {options.seed + v})")
                        for v, wave in enumerate(waves)]

    # -- Interpolate --------------------------------------------------------------------------------
    def interpolate(self, start: str, end: str, points: int, settings: Settings = Settings(), *,
                    slerp: bool = False, crossfade: float = 0.1,
                    progress: ProgressCallback | None = None) -> InterpolateResult:
        """`points` sounds walking from `start` to `end` (files or "text:..."), and the joined walk."""
        from v2a_cli.generation.interpolate import crossfade_concat, interpolate, step_file_names

        files = [source for source in (start, end) if not str(source).startswith("text:")]
        with short_paths(files):
            if not 2 <= int(points) <= MAX_POINTS:
                raise V2AError(f"points {points}: choose 2 to {MAX_POINTS}")
            for name, source in (("start", start), ("end", end)):
                if not str(source).strip() or str(source).strip() == "text:":
                    raise V2AError(f"no {name}; upload a file or type a text")
            check_option("duration", settings.duration, command="interpolate", flag="seconds of sound")
            options = settings.options()
            with self._request(files):
                waves = interpolate(self.pipeline, start, end, int(points), options, slerp=slerp, progress=progress)
                folder = self._folder()
                steps = [self._write(folder, name, wave, f"step {index + 1} of {len(waves)}")
                         for index, (name, wave) in enumerate(zip(step_file_names(len(waves)), waves))]
                walk = self._write(folder, "walk.wav", crossfade_concat(waves, self.pipeline.sample_rate, crossfade),
                                   "the whole walk")
        return InterpolateResult(steps, walk.audio, walk.spectrogram)
