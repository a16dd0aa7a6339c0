"""What the web page does, without Gradio: one warm `Pipeline`, results written under one work folder.

Every request goes through the generation core (`generate_files` for Generate, `compose` and
`interpolate` for the other tabs), one at a time (a lock: the models are shared and not thread-safe).
Known failures are `V2AError`s with one-line messages that name the page's fields (not the CLI's
flags); the long upload path is shortened to the file's name, which is what the person uploaded.
Results are stored once, in Gradio's cache folder (so Gradio serves them without a copy), and old
ones are removed (`keep_seconds`, `keep_bytes`). A job stops at its next denoising step when its
`should_stop()` says so (Cancel, or the tab closed).
"""

from __future__ import annotations

import itertools
import re
import shutil
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from v2a_cli.errors import V2AError
from v2a_cli.generation.compose import Source
from v2a_cli.generation.options import FLAT_FIELDS
from v2a_cli.generation.pipeline import DEFAULT_PRESET, PRESETS, GenerateOptions, Pipeline, ProgressCallback
from v2a_cli.validation import MAX_SEED, Range, check_option

MAX_VARIATIONS = 4  # sound slots on the Generate and Compose tabs
MAX_POINTS = 8  # sound slots on the Interpolate tab
MAX_SECONDS = 60.0  # "seconds of sound" for a picture, sound, mix or walk step (windowed; a video gets its whole length)
PAGE_SECONDS = Range(0, MAX_SECONDS, low_open=True)
PAGE_SEED = Range(0, MAX_SEED)  # the page has no "-1 = random" (nothing to print it on)
WEIGHT = Range(0, 1000, low_open=True)
RESULTS_FOLDER = Path("gradio") / "results"  # inside Gradio's cache folder (server.offline_environment): served as is
KEEP_SECONDS = 3600.0  # results older than this are removed when a new request comes
KEEP_BYTES = 500 * 1024 * 1024  # ... and the oldest ones while all results take more than this

# The page's name of each setting, used in its messages instead of the CLI's flags.
FIELD_LABELS = {
    "steps": "Steps", "seed": "Seed", "duration": "Seconds of sound", "guidance": "Guidance",
    "negative_prompt": "Negative prompt", "prompt": "Prompt", "prompt_weight": "Prompt weight",
    "mix_original": "Keep the video's own sound", "start": "Start", "end": "End", "variations": "Variations",
    "points": "Sounds along the way", "crossfade": "Crossfade", "image": "Picture or video", "text": "Text",
    "audio": "Sound", "preset": "Preset", "join": "Join segments by", "sources": "Sound from",
}


class Cancelled(V2AError):
    """The job was stopped (Cancel, or its page closed)."""

    def __init__(self):
        super().__init__("cancelled")


def page_message(message: str) -> str:
    """A core message with the CLI's flags (`--duration`) replaced by the page's field names."""
    def label(match: re.Match) -> str:
        name = match.group(1).replace("-", "_")
        return FIELD_LABELS.get(name, name.replace("_", " "))

    message = message.replace("give at least one --image, --text or --audio",
                              "add a picture, a video, a text or a sound")
    return re.sub(r"(?<![\w-])--([a-z][a-z-]*)", label, message)


def slug(text: str, limit: int = 32) -> str:
    """A file-name-safe short form of a text or a file's stem: "heavy rain!" -> "heavy_rain"."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:limit].strip("_")
    return cleaned or "sound"


def preset_names() -> list[str]:
    return list(PRESETS)


def supports(option: str) -> bool:
    """Whether GenerateOptions has this option (so the page can show the control)."""
    return option in FLAT_FIELDS


def options_for(preset: str, **overrides) -> GenerateOptions:
    """A preset (`pipeline.PRESETS`) with overrides; None values and options this version does not have are left out."""
    overrides = {name: value for name, value in overrides.items() if value is not None and supports(name)}
    return GenerateOptions.from_preset(preset, **overrides).validate()


@dataclass(frozen=True)
class Settings:
    """The controls every tab shares."""

    preset: str = DEFAULT_PRESET  # named set of steps/scheduler/guidance (generation.pipeline)
    steps: int | None = None  # denoising steps; None: the preset's
    seed: int = 0  # variation v uses seed + v
    duration: float = 10.0  # seconds of audio for a picture or sound, a mix, a walk's step (up to MAX_SECONDS;
    #                         a video gets its whole length)
    negative_prompt: str = ""  # text to steer away from ("" = none)
    guidance: float | None = None  # classifier-free guidance; None: the preset's

    def check(self, command: str | None = None, *, with_duration: bool = True) -> None:
        """Each number in its range, the message naming the page's field."""
        if self.preset not in PRESETS:
            raise V2AError(f"Preset {self.preset!r}: choose one of {', '.join(PRESETS)}")
        check_option("steps", self.steps, flag=FIELD_LABELS["steps"])
        check_option("seed", self.seed, flag=FIELD_LABELS["seed"], valid=PAGE_SEED)
        check_option("guidance", self.guidance, flag=FIELD_LABELS["guidance"])
        if with_duration:
            check_option("duration", self.duration, command=command, flag=FIELD_LABELS["duration"],
                         valid=PAGE_SECONDS)  # every tab: up to MAX_SECONDS, windowed and joined

    def options(self, **extra) -> GenerateOptions:
        return options_for(
            self.preset, steps=int(self.steps) if self.steps else None, seed=int(self.seed),
            duration=float(self.duration), negative_prompt=self.negative_prompt.strip() or None,
            guidance=None if self.guidance is None else float(self.guidance), **extra)


@dataclass(frozen=True)
class VideoSettings:
    """Generate tab, video input only."""

    start: float | None = None  # seconds where the sound starts (None: the start)
    end: float | None = None  # seconds where it ends (None: the end)
    mix_original: float = 0.0  # the video's own sound kept under the new one at this volume (0..1)

    def check(self) -> None:
        for name in ("start", "end", "mix_original"):
            check_option(name, getattr(self, name), flag=FIELD_LABELS[name])
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise V2AError(f"End {self.end:g}: must be after Start ({self.start:g})")


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
    archive: Path | None = None  # every file in one zip (more than one file)

    @property
    def files(self) -> list[Path]:
        return ([sound.audio for sound in self.sounds] + self.videos + ([self.boxes] if self.boxes else [])
                + ([self.archive] if self.archive else []))


@dataclass
class ComposeResult:
    sounds: list[Sound]  # one per variation
    archive: Path | None = None

    @property
    def files(self) -> list[Path]:
        return [sound.audio for sound in self.sounds] + ([self.archive] if self.archive else [])


@dataclass
class InterpolateResult:
    steps: list[Sound]  # start -> end, in order
    walk: Path  # all steps joined with crossfades
    walk_spectrogram: Path
    archive: Path | None = None

    @property
    def files(self) -> list[Path]:
        return [self.walk] + [sound.audio for sound in self.steps] + ([self.archive] if self.archive else [])


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


@dataclass
class Preview:
    """What the page shows of an upload before anything is generated."""

    kind: str  # "image" | "video" | "audio"
    picture: Path | None = None  # a video browsers cannot play: its first frame
    playable: bool = True  # a video: browsers play it as it is
    seconds: float | None = None  # a video's length
    note: str = ""  # one line about it, e.g. "video, 12.0 s, 640×480"
    long: bool = False  # a video longer than one generator window (its windows are joined)


StopCheck = Callable[[], bool]
StageCallback = Callable[[str], None]


def _stopping(progress: ProgressCallback | None, should_stop: StopCheck | None) -> ProgressCallback:
    """The core's step callback, raising Cancelled at the next step once `should_stop()` is true."""
    def on_step(done: int, total: int) -> None:
        if should_stop is not None and should_stop():
            raise Cancelled()
        if progress is not None:
            progress(done, total)

    return on_step


class AppService:
    """The app's functions over one warm pipeline; results go to `workdir/gradio/results/NNNN/`."""

    def __init__(self, pipeline: Pipeline, workdir: str | Path, *, keep_seconds: float = KEEP_SECONDS,
                 keep_bytes: int = KEEP_BYTES):
        self.pipeline = pipeline
        self.workdir = Path(workdir)
        self.results = self.workdir / RESULTS_FOLDER
        self.keep_seconds = keep_seconds
        self.keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def warm(self) -> None:
        """Load the models every picture needs now, not on the first request. (CLAP's audio tower
        loads with the first sound input and then stays.)"""
        with self._lock:
            for role in ("clip", "generator", "mapper"):
                getattr(self.pipeline, role)

    @contextmanager
    def _request(self, should_stop: StopCheck | None = None) -> Iterator[None]:
        """One request at a time on the shared models (a cancelled request waiting for its turn leaves
        at once), as one `Pipeline.call()`: what the core caches while answering it (detected sources
        with their decoded pictures, encoded prompts) is shared within the request and dropped after it."""
        with self._lock:
            if should_stop is not None and should_stop():
                raise Cancelled()
            with self.pipeline.call():
                yield

    def _folder(self) -> Path:
        folder = self.results / f"{next(self._counter):04d}"
        folder.mkdir(parents=True)
        self.prune(keep=folder)
        return folder

    def prune(self, keep: Path | None = None) -> None:
        """Remove result folders (but `keep`, the one being written) older than `keep_seconds`, then the
        oldest while all of them take more than `keep_bytes`."""
        if not self.results.is_dir():
            return
        folders = sorted(path for path in self.results.iterdir() if path.is_dir() and path != keep)
        now = time.time()
        sizes = {folder: sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) for folder in folders}
        total = sum(sizes.values())
        for folder in folders:
            if now - folder.stat().st_mtime > self.keep_seconds or total > self.keep_bytes:
                shutil.rmtree(folder, ignore_errors=True)
                total -= sizes[folder]

    def _sound(self, wav: Path, waveform: np.ndarray, label: str) -> Sound:
        from v2a_cli.web.spectrogram import write_spectrogram

        png = write_spectrogram(wav.with_suffix(".png"), waveform, self.pipeline.sample_rate)
        return Sound(wav, png, label)

    def _write(self, folder: Path, name: str, waveform: np.ndarray, label: str) -> Sound:
        from v2a_cli.media.audio import write_wav

        return self._sound(write_wav(folder / name, waveform, self.pipeline.sample_rate), waveform, label)

    @staticmethod
    def _archive(files: Sequence[Path], out: Path) -> Path | None:
        """Every file in one zip, for "download all" (None for a single file)."""
        if len(files) < 2:
            return None
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # WAV/MP4/PNG: little to gain
            for path in files:
                archive.write(path, arcname=path.name)
        return out

    def preview(self, source: str | Path) -> Preview:
        """The kind of an upload and, for a video, its length, size and whether browsers play it (else its
        first frame as a picture). Raises V2AError (the file's name, not its path) for a broken file."""
        from v2a_cli.media.inputs import media_kind

        path = Path(source)
        with short_paths([path]):
            kind = media_kind(path)
            if kind == "image":
                from v2a_cli.media.images import load_image

                load_image(path)  # a broken picture is said now, not after pressing Generate
            if kind != "video":
                return Preview(kind)
            from v2a_cli.media.video import probe_video, sample_frames

            info = probe_video(path)
            decision = self._video_decision(path)
            playable = decision.copy and path.suffix.lower() in (".mp4", ".m4v")
            note = f"video, {info.duration:.1f} s, {info.width}×{info.height}"
            picture = None
            if not playable:
                picture = path.with_name(f"{path.stem}_first_frame.png")
                sample_frames(path, fps=1.0, max_seconds=1.0)[0].image.save(picture)
                note += f"; this browser cannot play {decision.codec} video, the result will be H.264"
            return Preview("video", picture, playable, info.duration, note,
                           long=info.duration > self.pipeline.generator.max_duration)

    # -- Generate -----------------------------------------------------------------------------------
    def generate(self, source: str | Path | None, settings: Settings = Settings(), *, prompt: str = "",
                 prompt_weight: float | None = None, variations: int = 1, join: str | None = None,
                 sources: str | None = None, video: VideoSettings = VideoSettings(),
                 progress: ProgressCallback | None = None, on_stage: StageCallback | None = None,
                 should_stop: StopCheck | None = None) -> GenerateResult:
        """One picture, video or sound (or, without a file, the prompt alone) -> `variations` sounds
        (and the video with each sound). Everything is checked before any model runs."""
        import soundfile

        from v2a_cli.generation.batch import generate_files, plan_outputs
        from v2a_cli.media.inputs import media_kind

        stage = on_stage or (lambda text: None)
        prompt = (prompt or "").strip()
        has_file = source is not None and bool(str(source).strip())
        if not has_file and not prompt:
            raise V2AError("nothing to generate from; upload a picture, a video or a sound, or type a prompt")
        path = Path(source) if has_file else None
        with short_paths([path] if path else []):
            check_option("variations", variations, flag=FIELD_LABELS["variations"], valid=Range(1, MAX_VARIATIONS))
            kind = media_kind(path) if path else "text"
            settings.check(with_duration=kind != "video")  # a video's sound covers the video
            check_option("prompt_weight", prompt_weight, flag=FIELD_LABELS["prompt_weight"])
            if kind == "video":
                video.check()
            elif video.start is not None or video.end is not None or video.mix_original:
                raise V2AError("Start, End and Keep the video's own sound are for a video; clear them for a "
                               f"{'text' if kind == 'text' else kind}")
            if sources == "detect" and kind not in ("image", "video"):
                raise V2AError("Sound from: detected sources need a picture or a video")
            condition = path if path else Path(f"text:{prompt}")
            options = settings.options(
                prompt=prompt if path and prompt else None, prompt_weight=prompt_weight if path and prompt else None,
                variations=int(variations), join=join if kind == "video" else None,
                sources=sources if kind in ("image", "video") else None,
                start=video.start if kind == "video" else None, end=video.end if kind == "video" else None)
            video_note = self._video_decision(path).note if kind == "video" else ""  # before any model runs
            stem = slug(path.stem if path else prompt)
            stage("waiting for the models" if self._lock.locked() else "reading the input")
            with self._request(should_stop):
                stage("detecting sound sources" if options.condition.sources == "detect" else "reading the input")
                folder = self._folder()
                [plans] = plan_outputs([condition], options, out_dir=folder)
                plans = [replace(plan, path=folder / f"{stem}_seed{plan.seed}.wav") for plan in plans]
                report = generate_files(self.pipeline, [plans], options, progress=_stopping(progress, should_stop))
                if report.failed:
                    raise V2AError(report.failed[0][1])
                result = GenerateResult([], notes=[video_note] if video_note else [])
                for plan in plans:
                    waveform, _ = soundfile.read(plan.path, dtype="float32")
                    label = f"variation {plan.variation + 1} (seed {plan.seed})"
                    result.sounds.append(self._sound(plan.path, waveform, label))
                    if kind == "video":
                        stage(f"writing the video of {label}")
                        result.videos.append(self._mux(path, plan.path, waveform, video))
                if kind != "text":
                    result.classes = self.bridge_classes(path, options)
                if options.condition.sources == "detect" and kind in ("image", "video"):
                    result.boxes = self._boxes(path, options, folder, stem)
                result.archive = self._archive(result.files, folder / f"{stem}_all.zip")
        return result

    def _boxes(self, path: Path, options: GenerateOptions, folder: Path, stem: str) -> Path:
        """The picture (a video's middle sampled frame) with its detected sources, as `--boxes` draws it;
        the detection itself is the one generation just used (cached by the core)."""
        from v2a_cli.generation.detect import sourced_visual
        from v2a_cli.sources.draw import write_boxes

        sourced = sourced_visual(self.pipeline, path, options)
        return write_boxes(folder / f"{stem}_sources.png", sourced.scan.picture, sourced.found)

    @staticmethod
    def _video_decision(video: Path):
        """Whether the video is copied or re-encoded for the browser (`media.mux`, policy "browser"):
        decided before any model runs; an .mp4 always plays (H.264 when it must be re-encoded)."""
        from v2a_cli.media.mux import BROWSER, video_decision

        return video_decision(video, video.with_suffix(".mp4"), BROWSER)

    def _mux(self, video: Path, wav: Path, waveform: np.ndarray, settings: VideoSettings) -> Path:
        """The video with the new sound, as an .mp4 that browsers play (copied or re-encoded to H.264)."""
        from v2a_cli.media.mux import BROWSER, mux_audio_into_video

        return mux_audio_into_video(video, waveform, self.pipeline.sample_rate, wav.with_suffix(".mp4"),
                                    offset=settings.start or 0.0, mix_original=settings.mix_original or 0.0,
                                    video_codec=BROWSER)

    def bridge_classes(self, path: Path, options: GenerateOptions) -> dict[str, float]:
        """The sound classes the zero-shot bridge mixed for a picture or video, with their weights;
        empty for a trained mapper or a sound input."""
        from v2a_cli.media.inputs import media_kind

        if not self.pipeline.mapper.explains or media_kind(path) == "audio":
            return {}
        with torch.inference_mode():
            [pairs] = self.pipeline.mapper.explain(self.pipeline.clip_embedding(path, options)[None])
        return {name: round(weight, 4) for name, weight in pairs}

    # -- Compose ------------------------------------------------------------------------------------
    def compose(self, sources: Sequence[Source], settings: Settings = Settings(), *, variations: int = 1,
                progress: ProgressCallback | None = None, should_stop: StopCheck | None = None) -> ComposeResult:
        """Several pictures, texts and sounds with weights -> one scene's sound per variation."""
        from v2a_cli.generation.compose import compose, validate_sources

        files = [source.value for source in sources if source.kind != "text"]
        with short_paths(files):
            if not sources:
                raise V2AError("nothing to compose; add a picture, a video, a text or a sound")
            check_option("variations", variations, flag=FIELD_LABELS["variations"], valid=Range(1, MAX_VARIATIONS))
            settings.check("compose")
            try:
                validate_sources(sources)
            except V2AError as exc:
                raise V2AError(page_message(str(exc))) from None
            options = settings.options(variations=int(variations))
            with self._request(should_stop):
                waves = compose(self.pipeline, sources, options, progress=_stopping(progress, should_stop))
                folder = self._folder()
                sounds = [self._write(folder, f"scene_seed{options.seed + v}.wav", wave,
                                      f"variation {v + 1} (seed {options.seed + v})")
                          for v, wave in enumerate(waves)]
                result = ComposeResult(sounds)
                result.archive = self._archive(result.files, folder / "scene_all.zip")
                return result

    # -- Interpolate --------------------------------------------------------------------------------
    def interpolate(self, start: str, end: str, points: int, settings: Settings = Settings(), *,
                    slerp: bool = False, crossfade: float = 0.1, progress: ProgressCallback | None = None,
                    should_stop: StopCheck | None = None) -> InterpolateResult:
        """`points` sounds walking from `start` to `end` (files or "text:..."), and the joined walk."""
        from v2a_cli.generation.interpolate import crossfade_concat, interpolate

        files = [source for source in (start, end) if source and not str(source).startswith("text:")]
        with short_paths(files):
            for name, source in (("Start", start), ("End", end)):
                if not str(source or "").strip() or str(source).strip() == "text:":
                    raise V2AError(f"no {name.lower()}; upload a file or type a text for {name}")
            check_option("points", points, flag=FIELD_LABELS["points"], valid=Range(2, MAX_POINTS))
            check_option("crossfade", crossfade, flag=FIELD_LABELS["crossfade"])
            settings.check("interpolate")
            options = settings.options()
            names = [slug(str(source)[5:] if str(source).startswith("text:") else Path(source).stem)
                     for source in (start, end)]
            walk_name = f"{names[0]}_to_{names[1]}"
            with self._request(should_stop):
                waves = interpolate(self.pipeline, start, end, int(points), options, slerp=slerp,
                                    progress=_stopping(progress, should_stop))
                folder = self._folder()
                steps = [self._write(folder, f"{walk_name}_step{index + 1}of{len(waves)}.wav", wave,
                                     f"step {index + 1} of {len(waves)}")
                         for index, wave in enumerate(waves)]
                walk = self._write(folder, f"{walk_name}_walk.wav",
                                   crossfade_concat(waves, self.pipeline.sample_rate, crossfade), "the whole walk")
        result = InterpolateResult(steps, walk.audio, walk.spectrogram)
        result.archive = self._archive(result.files, folder / f"{walk_name}_all.zip")
        return result
