"""The one generation core. The CLI, `compose`, `interpolate`, batch evaluation and Python users all call it.

    from v2a_cli import Pipeline, GenerateOptions
    pipe = Pipeline.from_models()                  # models from $V2A_MODELS or the defaults
    audio = pipe.generate_audio(["dog.jpg"], GenerateOptions(steps=25, scheduler="dpm"))

A *condition* is a 512-d CLAP embedding. Sources become conditions by kind: an image or video goes
through CLIP and the mapper, an audio file through CLAP's audio tower, a text through CLAP's text tower
(the generator's own, which is the same tower; `v2a doctor` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from v2a_cli.errors import V2AError
from v2a_cli.models_config import ModelsConfig
from v2a_cli.validation import MAX_CANDIDATES  # noqa: F401  (--candidates' limit; kept importable here)

if TYPE_CHECKING:
    from v2a_cli.mapper.settings import MapperSettings

ProgressCallback = Callable[[int, int], None]
FRAME_CHUNK = 16  # video frames embedded per CLIP call


# Named settings of the sampler; explicit steps/scheduler/guidance override them (`from_preset`).
PRESETS: dict[str, dict[str, object]] = {
    # DPM-Solver++: ~8x fewer UNet calls. An SSV2A mapper's Cycle Mix gets ~100x fewer remixes than its
    # scripts' 64/64/64, which take most of an hour per picture on a CPU (bench/ssv2a_cycle_mix.py).
    "fast": {"steps": 25, "scheduler": "dpm", "guidance": 4.5,
             "var_samples": 16, "cycle_its": 8, "cycle_samples": 16},
    # The paper's setting; eta 1 is AudioLDM's own DDIM (docs/fidelity.md: the paper does not state it).
    # An SSV2A mapper runs with its own scripts' settings.
    "paper": {"steps": 200, "scheduler": "ddim", "guidance": 4.5, "eta": 1.0,
              "var_samples": 64, "cycle_its": 64, "cycle_samples": 64},
}
DEFAULT_PRESET = "fast"
# The settings a preset or a mapper's declared settings (`mapper/settings.py`) may set; the sidecar
# records where each one came from.
SAMPLER_FIELDS = ("steps", "scheduler", "guidance", "eta", "candidates", "var_samples", "cycle_its", "cycle_samples")
JOINS = ("continue", "crossfade")
SCENE_MODES = ("auto", "off")


@dataclass(frozen=True)
class GenerateOptions:
    steps: int = 25  # denoising steps (preset "fast"; the paper: 200 with ddim)
    guidance: float = 4.5  # AudioLDM classifier-free guidance scale (paper: 4.5)
    duration: float = 10.0  # seconds of audio for an image, text or sound input (any length; windowed)
    seed: int = 0  # variation v of every input uses seed + v
    variations: int = 1  # sounds per input
    scheduler: str = "dpm"  # dpm (preset "fast") | ddim (the paper) | euler (see generation/schedulers.py)
    fps: float = 1.0  # video frames sampled per second
    max_seconds: float = 10.0  # compose/interpolate: video frames sampled from the first max_seconds
    aggregate: str = "average"  # video frames -> one embedding per window: average | middle | random
    prompt: str | None = None  # text mixed into the condition in CLAP space
    prompt_weight: float = 0.3  # weight of `prompt` in the mix (0..1)
    negative_prompt: str | None = None  # replaces the empty prompt on the unconditional side
    mapper_guidance: float | None = None  # generative mapper's guidance (None: the checkpoint's default)
    batch_size: int | str = 4  # conditions per generator call, or "auto" (largest fitting on CUDA; CPU: AUTO_CPU_BATCH)
    compile: bool = False  # torch.compile the generator's UNet (pays off on long runs on a GPU)
    start: float | None = None  # video: seconds where the sound starts (None: the video's start)
    end: float | None = None  # video: seconds where it ends (None: the video's end)
    overlap: float = 2.5  # seconds shared by consecutive windows of one scene
    join: str = "continue"  # continue (latent continuation) | crossfade (independent windows)
    scenes: str = "auto"  # auto: new sound at shot changes | off
    scene_threshold: float = 0.2  # a shot change: 1 - cosine of consecutive frames' CLIP embeddings above this
    mapper_steps: int | None = None  # generative mapper's sampling steps (None: the checkpoint's default)
    eta: float = 0.0  # DDIM eta: 0 deterministic; 1 = AudioLDM's own sampler (ancestral), ddim only
    candidates: int = 1  # sounds drawn per output, the one closest to the condition in CLAP space kept
    sources: str = "whole"  # whole: the picture as one | detect: the picture plus its detected sound sources
    max_sources: int = 8  # detect: at most this many boxes (besides the whole picture)
    detect_threshold: float = 0.2  # detect: keep boxes whose detector score is above this (0..1)
    var_samples: int | None = 16  # SSV2A mapper: variational draws averaged (preset "fast"; None: its default, 64)
    cycle_its: int | None = 8  # SSV2A mapper: Cycle Mix rounds (preset "fast"; None: its default, 64)
    cycle_samples: int | None = 16  # SSV2A mapper: remixes drawn per round (preset "fast"; None: its default, 64)
    preset: str | None = None  # the preset these options were made from (`from_preset`); None: taken as given
    flags: tuple[str, ...] = ()  # fields set explicitly in `from_preset`: they win over the preset and the mapper
    settled: tuple[tuple[str, str], ...] = ()  # after `Pipeline.settle`: (sampler field, where its value came from)

    @classmethod
    def from_preset(cls, name: str = DEFAULT_PRESET, **overrides) -> "GenerateOptions":
        """The preset's steps/scheduler/guidance; any override that is not None wins (and is a flag:
        `Pipeline.settle` keeps it over the mapper's declared settings)."""
        if name not in PRESETS:
            raise V2AError(f"--preset {name}: expected one of {', '.join(PRESETS)}")
        given = {key: value for key, value in overrides.items() if value is not None}
        settings = dict(PRESETS[name])
        settings.update(given)
        if settings.get("scheduler") != "ddim" and overrides.get("eta") is None:
            settings.pop("eta", None)  # the preset's DDIM eta does not follow it to another scheduler
        return cls(**settings, preset=name, flags=tuple(sorted(given)))

    @property
    def origins(self) -> dict[str, str]:
        """Where each sampler setting came from (`SAMPLER_FIELDS`): flag | mapper | preset | default, or
        "given" for options built field by field; empty before `Pipeline.settle`."""
        return dict(self.settled)

    def validate(self) -> "GenerateOptions":
        """Every numeric field finite and in its range (v2a_cli/validation.py), names known; seed -1 made random.

        Returns the options to use (a copy with the drawn seed when seed was -1)."""
        from dataclasses import replace

        from v2a_cli.validation import MAX_SEED, check_options, resolve_seed

        check_options(self)
        if self.seed >= 0 and self.seed + self.variations - 1 > MAX_SEED:
            raise V2AError(f"--seed {self.seed}: with {self.variations} variations the last seed passes {MAX_SEED}; "
                           "choose a smaller seed")
        if self.sources not in SOURCE_MODES:
            raise V2AError(f"--sources {self.sources}: expected one of {', '.join(SOURCE_MODES)}")
        if self.batch_size != "auto" and isinstance(self.batch_size, (str, bool)):
            raise V2AError(f"--batch-size {self.batch_size}: must be a whole number of at least 1, or auto")
        if self.aggregate not in AGGREGATORS:
            raise V2AError(f"--aggregate {self.aggregate}: expected one of {', '.join(AGGREGATORS)}")
        if self.end is not None and self.end <= (self.start or 0.0):
            raise V2AError(f"--end {self.end}: must be after --start ({self.start or 0:g} s)")
        if self.join not in JOINS:
            raise V2AError(f"--join {self.join}: expected one of {', '.join(JOINS)}")
        if self.scenes not in SCENE_MODES:
            raise V2AError(f"--scenes {self.scenes}: expected one of {', '.join(SCENE_MODES)}")
        if self.eta > 0 and self.scheduler != "ddim":
            raise V2AError(f"--eta {self.eta:g} applies to --scheduler ddim only (got {self.scheduler})")
        seed = resolve_seed(self.seed)
        return self if seed == self.seed else replace(self, seed=seed)


def settle_options(options: GenerateOptions, declared: "MapperSettings") -> GenerateOptions:
    """The options a run uses with a mapper that declares `declared`: for options made `from_preset`,
    each sampler field comes from a flag if one was given, else from the mapper's declared values for
    that preset, else from the preset, else the default; options built field by field are taken as
    given. The result records each field's origin (`origins`); settling twice changes nothing."""
    from dataclasses import replace

    if options.settled:
        return options
    if options.preset is None:
        return replace(options, settled=tuple((name, "given") for name in SAMPLER_FIELDS))
    preset = PRESETS[options.preset]
    mapper = declared.sampler_values(options.preset)
    changes: dict[str, object] = {}
    origins: list[tuple[str, str]] = []
    for name in SAMPLER_FIELDS:
        if name in options.flags:
            origin = "flag"
        elif name in mapper:
            changes[name] = mapper[name]
            origin = "mapper"
        elif name in preset and getattr(options, name) == preset[name]:
            origin = "preset"
        else:
            origin = "default"
        origins.append((name, origin))
    return replace(options, **changes, settled=tuple(origins)).validate()


AUTO_CPU_BATCH = 4  # --batch-size auto off CUDA: no free-memory probe there, and bigger batches gain little


def candidate_seed(seed: int, candidate: int) -> int:
    """Seed of candidate c of an output with `seed`: c = 0 is the seed itself (so --candidates 1 changes
    nothing); the others are derived, so they never collide with the next variation's seed + 1."""
    if candidate == 0:
        return int(seed)
    state = np.random.SeedSequence([int(seed) % 2**63, candidate]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def _average(frames: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return frames.mean(dim=0)


def _middle(frames: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return frames[len(frames) // 2]


def _random(frames: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return frames[int(torch.randint(len(frames), (1,), generator=generator))]


SOURCE_MODES = ("whole", "detect")

# Paper, Table 5: averaging the L2-normalised frame embeddings is best.
AGGREGATORS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "average": _average,
    "middle": _middle,
    "random": _random,
}


def aggregate_frames(frames: torch.Tensor, how: str = "average", seed: int = 0) -> torch.Tensor:
    """[F, D] L2-normalised frame embeddings -> [D] L2-normalised clip embedding."""
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(AGGREGATORS[how](frames, generator), dim=-1)


@dataclass
class Condition:
    """A CLAP embedding to generate from, and where it came from."""

    source: str  # file path or "text:..."
    embedding: torch.Tensor  # [512], L2-normalised, float32, CPU
    info: dict = field(default_factory=dict)


class Pipeline:
    """Warm models for generation. Each model is loaded on first use and kept."""

    def __init__(self, models: ModelsConfig | None = None, *, device: str = "auto", dtype: str = "auto",
                 bridge_top_k: int = 5, bridge_temperature: float = 0.01):
        from v2a_cli.device import pick_device, pick_dtype
        from v2a_cli.validation import check_option

        check_option("bridge_top_k", bridge_top_k)
        check_option("bridge_temperature", bridge_temperature)
        self.models = models or ModelsConfig.load()
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.bridge_top_k = bridge_top_k
        self.bridge_temperature = bridge_temperature
        self._loaded: dict[str, object] = {}
        self._text_conditions: dict[str, torch.Tensor] = {}  # --prompt/--negative-prompt: encoded once
        self._provenance: dict[str, dict] = {}  # model spec -> what it resolved to (sidecars), computed once

    @classmethod
    def from_models(cls, models_file: str | Path | None = None, **kwargs) -> "Pipeline":
        return cls(ModelsConfig.load(models_file), **kwargs)

    # -- models --------------------------------------------------------------------------------
    def _model(self, role: str, load: Callable[[], object]) -> object:
        if role not in self._loaded:
            self._loaded[role] = load()
        return self._loaded[role]

    @property
    def clip(self):
        return self._model("clip", self._load_clip)

    def _load_clip(self):
        from v2a_cli.registry import load_model

        # A mapper trained on another CLIP (SSV2A: ViT-L/14) names it; it is used unless the models
        # file or --clip names one, which must then have the mapper's width.
        mapper = self.mapper if self.models.mapper != "bridge" else None
        wanted = getattr(mapper, "clip_spec", None)
        spec = wanted if wanted and self.models.clip == ModelsConfig().clip else self.models.clip
        # CLIP stays float32 except on CUDA: it is small and its embeddings feed a trained mapper.
        dtype = self.dtype if self.device.type == "cuda" else torch.float32
        clip = load_model("clip", spec, device=self.device, dtype=dtype)
        needed = getattr(mapper, "clip_dim", None)
        if needed is not None and clip.embed_dim != needed:
            raise V2AError(f"CLIP '{spec}' gives {clip.embed_dim}-d embeddings but the mapper "
                           f"'{self.models.mapper}' needs {needed}-d ones"
                           + (f" ({wanted})" if wanted else "") + "; name a CLIP of that size in the models "
                           "file or --clip, or leave clip unset to use the mapper's own")
        return clip

    @property
    def detector(self):
        from v2a_cli.registry import load_model

        return self._model("detector", lambda: load_model("detector", self.models.detector, device=self.device))

    @property
    def clap(self):
        from v2a_cli.registry import load_model

        return self._model(
            "clap",
            lambda: load_model("clap", self.models.clap, device=self.device, dtype=torch.float32,
                               tokenizer=self.models.generator),
        )

    @property
    def generator(self):
        from v2a_cli.registry import load_model

        return self._model(
            "generator", lambda: load_model("generator", self.models.generator, device=self.device, dtype=self.dtype)
        )

    @property
    def mapper(self):
        return self._model("mapper", self._load_mapper)

    def _load_mapper(self):
        if self.models.mapper == "bridge":
            from v2a_cli.mapper.bridge import build_bridge

            # The bridge's CLAP text side is the generator's own text tower (the same weights as
            # AudioLDM's CLAP text branch), so the default path needs no CLAP checkpoint download.
            return build_bridge(self.models, device=self.device, top_k=self.bridge_top_k,
                                temperature=self.bridge_temperature, clip_encoder=self.clip,
                                clap_text_encoder=self.generator)
        from v2a_cli.mapper import load_mapper

        return load_mapper(self.models.mapper, device=self.device, models=self.models)

    def mapper_settings(self) -> "MapperSettings":
        """The generation settings the mapper declares (`mapper/settings.py`); the bridge declares none."""
        from v2a_cli.mapper.settings import NO_SETTINGS, declared_settings

        return NO_SETTINGS if self.models.mapper == "bridge" else declared_settings(self.mapper)

    def settle(self, options: GenerateOptions) -> GenerateOptions:
        """`options` as this pipeline's mapper runs them (`settle_options`); loads the mapper when the
        options come from a preset (options built field by field are taken as given)."""
        if options.settled:
            return options
        from v2a_cli.mapper.settings import NO_SETTINGS

        return settle_options(options, self.mapper_settings() if options.preset is not None else NO_SETTINGS)

    # -- sources -> CLIP / CLAP embeddings --------------------------------------------------------
    def clip_embedding(self, path: str | Path, options: GenerateOptions = GenerateOptions()) -> torch.Tensor:
        """[512] CLIP image embedding of an image, or aggregated frames of a video."""
        from v2a_cli.media.inputs import media_kind

        path = Path(path)
        kind = media_kind(path)
        if kind == "image":
            from v2a_cli.media.images import load_image

            return self.clip.encode_images([load_image(path)])[0]
        if kind == "video":
            from v2a_cli.media.video import sample_frames

            frames = sample_frames(path, fps=options.fps, max_seconds=options.max_seconds)
            embeddings = self.clip.encode_images([frame.image for frame in frames])
            return aggregate_frames(embeddings, options.aggregate, options.seed)
        raise V2AError(f"{path}: not an image or video")

    def frame_embeddings(self, path: str | Path, *, fps: float, start: float = 0.0,
                         end: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A video's frames sampled at `fps` over [start, end): times [F] (s) and CLIP embeddings [F, 512].

        Frames are decoded as a stream and embedded FRAME_CHUNK at a time, so memory does not grow
        with the video's length (only the 512 floats per frame are kept).
        """
        from v2a_cli.media.video import iter_frames

        times: list[float] = []
        chunks: list[torch.Tensor] = []
        pending = []
        for frame in iter_frames(path, fps=fps, start=start, end=end):
            times.append(frame.time)
            pending.append(frame.image)
            if len(pending) == FRAME_CHUNK:
                chunks.append(self.clip.encode_images(pending).float().cpu())
                pending = []
        if pending:
            chunks.append(self.clip.encode_images(pending).float().cpu())
        return torch.tensor(times, dtype=torch.float64), torch.cat(chunks)

    def explain(self, clip_embeddings: torch.Tensor) -> list[list[tuple[str, float]]] | None:
        """The zero-shot bridge's chosen sound classes and weights per row; None for other mappers."""
        explain = getattr(self.mapper, "explain", None)
        return explain(clip_embeddings.float()) if explain is not None else None

    def map_visual(self, clip_embeddings: torch.Tensor, *, seeds: Sequence[int] | None = None,
                   guidance: float | None = None, steps: int | None = None,
                   options: GenerateOptions | None = None) -> torch.Tensor:
        """[N,512] CLIP -> [N,512] CLAP through the mapper, all rows in one batched call (row i sampled
        with seeds[i]; guidance/steps: the generative mapper's, None = the checkpoint's default;
        `options` carries SSV2A's sampling knobs to an SSV2A mapper)."""
        mapped = self.mapper.map(clip_embeddings.float(), seeds=seeds, guidance=guidance, steps=steps,
                                 **ssv2a_sampling(self.mapper, options))
        return F.normalize(mapped.float().cpu(), dim=-1)

    def audio_condition(self, path: str | Path) -> torch.Tensor:
        """[512] CLAP embedding of an audio file, prepared as AudioLDM prepares its audio conditions."""
        from v2a_cli.embeddings.clap import load_audio_for_clap

        return self.clap.encode_audio([load_audio_for_clap(path)])[0]

    def text_condition(self, text: str) -> torch.Tensor:
        if text not in self._text_conditions:
            self._text_conditions[text] = F.normalize(self.generator.encode_texts([text])[0].float(), dim=-1)
        return self._text_conditions[text]

    def condition(self, source: str | Path, options: GenerateOptions = GenerateOptions(), *,
                  seed: int | None = None) -> Condition:
        """One source (image, video, audio file or `text:...`) -> its CLAP condition."""
        return self.conditions(source, options, [options.seed if seed is None else seed])[0]

    def conditions(self, source: str | Path, options: GenerateOptions, seeds: Sequence[int]) -> list[Condition]:
        """One source's CLAP condition for each seed. The file is decoded and embedded once; only a
        generative mapper's sampling depends on the seed."""
        text = str(source)
        if text.startswith("text:"):
            return [Condition(text, self.text_condition(text[5:].strip()), {"kind": "text"})] * len(seeds)
        from v2a_cli.media.inputs import media_kind

        path = Path(source)
        if not path.exists():
            from v2a_cli.errors import InputError

            raise InputError(path, "no such file; check the path")
        kind = media_kind(path)
        if kind == "audio":
            return [Condition(str(path), self.audio_condition(path), {"kind": kind})] * len(seeds)
        if options.sources == "detect" or (kind == "video" and getattr(self.mapper, "has_aggregator", False)):
            from v2a_cli.generation.detect import visual_conditions

            return visual_conditions(self, path, options, seeds)
        clip = self.clip_embedding(path, options)[None].expand(len(seeds), -1)
        mapped = self.map_visual(clip, seeds=seeds, guidance=options.mapper_guidance,
                                 steps=options.mapper_steps, options=options)
        return [Condition(str(path), row, {"kind": kind}) for row in mapped]

    def with_prompt(self, embedding: torch.Tensor, options: GenerateOptions) -> torch.Tensor:
        """Mix `--prompt` into a condition: normalise((1-w)·e + w·text)."""
        if not options.prompt:
            return embedding
        text = self.text_condition(options.prompt)
        w = options.prompt_weight
        return F.normalize((1 - w) * embedding + w * text, dim=-1)

    # -- conditions -> audio ----------------------------------------------------------------------
    def synthesize(self, embeddings: torch.Tensor, seeds: Sequence[int], options: GenerateOptions,
                   progress: ProgressCallback | None = None, *, report: list[dict] | None = None) -> np.ndarray:
        """[N,512] CLAP conditions -> [N, samples] float32 audio at `self.generator.sample_rate`.

        With options.candidates = C > 1 each row is drawn C times (candidate seeds from `candidate_seed`)
        and the candidate whose CLAP audio embedding has the highest cosine to the row's condition is
        kept, as AudioLDM's `n_candidate_gen_per_text`. `report`, when given, receives one dict per row
        (chosen candidate, its seed, every candidate's cosine).
        """
        options = self.settle(options)
        count = options.candidates
        if count == 1:
            waves = self._generate(embeddings, list(seeds), options, progress)
            if report is not None:
                report.extend({"candidates": 1, "seed": int(seed)} for seed in seeds)
            return waves
        rows = embeddings.repeat_interleave(count, dim=0)
        row_seeds = [candidate_seed(seed, c) for seed in seeds for c in range(count)]
        batch_size = self.batch_size(options)
        parts = [self._generate(rows[first:first + batch_size], row_seeds[first:first + batch_size],
                                options, progress) for first in range(0, len(rows), batch_size)]
        waves = np.concatenate(parts)
        cosines = self.clap_audio_cosine(waves, rows).view(len(embeddings), count)
        chosen = cosines.argmax(dim=1)
        if report is not None:
            for item, best in enumerate(chosen.tolist()):
                report.append({"candidates": count, "chosen": best, "seed": row_seeds[item * count + best],
                               "clap_cosines": [round(float(c), 6) for c in cosines[item]]})
        return np.stack([waves[item * count + best] for item, best in enumerate(chosen.tolist())])

    def _generate(self, embeddings: torch.Tensor, seeds: list[int], options: GenerateOptions,
                  progress: ProgressCallback | None) -> np.ndarray:
        return self.generator.generate(embeddings, **self._sampling_kwargs(embeddings, seeds, options),
                                       progress=progress)

    def sample_latents(self, embeddings: torch.Tensor, seeds: Sequence[int], options: GenerateOptions, *,
                       duration: float, known: torch.Tensor | None = None,
                       progress: ProgressCallback | None = None) -> torch.Tensor:
        """`synthesize` up to the final latents (one window of a long sound; decode with generator.decode)."""
        return self.generator.sample_latents(embeddings, **self._sampling_kwargs(embeddings, seeds, options, duration),
                                             known=known, progress=progress)

    def _sampling_kwargs(self, embeddings: torch.Tensor, seeds: Sequence[int], options: GenerateOptions,
                         duration: float | None = None) -> dict:
        negative = None
        if options.negative_prompt:
            negative = self.text_condition(options.negative_prompt)[None].expand(len(embeddings), -1)
        return {"seeds": list(seeds), "steps": options.steps, "guidance": options.guidance,
                "duration": options.duration if duration is None else duration, "negative": negative,
                "scheduler": options.scheduler, "eta": options.eta, "compile": options.compile}

    def clap_audio_cosine(self, waves: np.ndarray, conditions: torch.Tensor) -> torch.Tensor:
        """Cosine between each generated wave's CLAP audio embedding (as AudioLDM's reranking embeds it:
        resampled to 48 kHz, first 10 s, no normalisation) and its condition row."""
        from v2a_cli.embeddings.clap import clap_input_from_generated

        inputs = [clap_input_from_generated(wave, self.sample_rate) for wave in waves]
        audio = self.clap.encode_audio(inputs)
        return F.cosine_similarity(audio.float(), F.normalize(conditions.float().cpu(), dim=-1), dim=-1)

    def batch_size(self, options: GenerateOptions) -> int:
        """options.batch_size, with "auto" resolved: the largest batch that fits on CUDA, else AUTO_CPU_BATCH."""
        if options.batch_size != "auto":
            return int(options.batch_size)
        fitting = self.generator.max_batch_size(options.duration, guided=options.guidance > 1.0)
        return AUTO_CPU_BATCH if fitting is None else fitting

    def synthesize_batched(self, embeddings: torch.Tensor, seeds: Sequence[int], options: GenerateOptions,
                           progress: ProgressCallback | None = None, *,
                           report: list[dict] | None = None) -> list[np.ndarray]:
        """One waveform per condition (row i with seeds[i]), generated `batch_size(options)` at a time."""
        options = self.settle(options)
        waves: list[np.ndarray] = []
        batch_size = self.batch_size(options)
        for first in range(0, len(embeddings), batch_size):
            last = first + batch_size
            waves.extend(self.synthesize(embeddings[first:last], list(seeds[first:last]), options, progress,
                                         report=report))
        return waves

    @property
    def sample_rate(self) -> int:
        return self.generator.sample_rate

    def render(self, source: str | Path, options: GenerateOptions, seeds: Sequence[int], *,
               progress: Callable[[int], None] | None = None, on_plan: Callable | None = None):
        """One source -> a `Soundtrack` (its sound for each seed over its whole timeline; see longform.py).

        A video is covered from options.start to options.end (default: all of it), an image, text or
        sound for options.duration seconds; longer than one generator window, it is windowed and joined."""
        from v2a_cli.generation.longform import render

        return render(self, source, self.settle(options), seeds, progress=progress, on_plan=on_plan)

    def generate_audio(self, sources: Sequence[str | Path], options: GenerateOptions = GenerateOptions(),
                       progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        """Python API: one waveform per source and variation (source-major), errors raised."""
        options = self.settle(options.validate())
        waves: list[np.ndarray] = []
        for source in sources:
            seeds = [options.seed + variation for variation in range(options.variations)]
            waves.extend(self.render(source, options, seeds, progress=progress).waveforms)
        return waves


def ssv2a_sampling(mapper: object, options: GenerateOptions | None) -> dict:
    """SSV2A's sampling knobs from the options, for a mapper that takes them (else nothing)."""
    if options is None or getattr(mapper, "kind", None) != "ssv2a":
        return {}
    return {"var_samples": options.var_samples, "cycle_its": options.cycle_its,
            "cycle_samples": options.cycle_samples}


def generate(sources: Sequence[str | Path], options: GenerateOptions = GenerateOptions(), *,
             models: ModelsConfig | None = None, device: str = "auto", dtype: str = "auto") -> list[np.ndarray]:
    """One-call Python API: `generate(["dog.jpg"])` -> list of 16 kHz float32 waveforms."""
    return Pipeline(models, device=device, dtype=dtype).generate_audio(sources, options)

