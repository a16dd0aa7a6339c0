"""What a generation run is asked to do: `GenerateOptions`, its presets and the names it accepts.

Defined once here; the CLI flags (`cli/options.py`), the web page's fields and the Python API take
their defaults from these dataclasses and `PRESETS`. Nothing in this module loads a model.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F

from v2a_cli.errors import V2AError
from v2a_cli.mapper.protocol import MapperSampling

if TYPE_CHECKING:
    from v2a_cli.mapper.settings import MapperSettings

ProgressCallback = Callable[[int, int], None]

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
SOURCE_MODES = ("whole", "detect")
AUTO_CPU_BATCH = 4  # --batch-size auto off CUDA: no free-memory probe there, and bigger batches gain little


def _average(frames: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return frames.mean(dim=0)


def _middle(frames: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return frames[len(frames) // 2]


def _random(frames: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return frames[int(torch.randint(len(frames), (1,), generator=generator))]


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


@dataclass(frozen=True)
class SamplerOptions:
    """The sample stage: how AudioLDM draws each sound."""

    steps: int = 25  # denoising steps (preset "fast"; the paper: 200 with ddim)
    guidance: float = 4.5  # AudioLDM classifier-free guidance scale (paper: 4.5)
    scheduler: str = "dpm"  # dpm (preset "fast") | ddim (the paper) | euler (see audioldm/schedulers.py)
    eta: float = 0.0  # DDIM eta: 0 deterministic; 1 = AudioLDM's own sampler (ancestral), ddim only
    negative_prompt: str | None = None  # replaces the empty prompt on the unconditional side
    candidates: int = 1  # sounds drawn per output, the one closest to the condition in CLAP space kept
    batch_size: int | str = 4  # conditions per generator call, or "auto" (largest fitting on CUDA; CPU: AUTO_CPU_BATCH)
    compile: bool = False  # torch.compile the generator's UNet (pays off on long runs on a GPU)

    @property
    def steps_per_window(self) -> int:
        """Denoising steps one window of one sound costs: every candidate is sampled (progress counts these)."""
        return self.steps * self.candidates


@dataclass(frozen=True)
class TimelineOptions:
    """The plan stage: the span each sound covers, its windows and how they join."""

    duration: float = 10.0  # seconds of audio for an image, text or sound input (any length; windowed)
    start: float | None = None  # video: seconds where the sound starts (None: the video's start)
    end: float | None = None  # video: seconds where it ends (None: the video's end)
    overlap: float = 2.5  # seconds shared by consecutive windows of one scene
    join: str = "continue"  # continue (latent continuation) | crossfade (independent windows)
    scenes: str = "auto"  # auto: new sound at shot changes | off
    scene_threshold: float = 0.2  # a shot change: 1 - cosine of consecutive frames' CLIP embeddings above this


@dataclass(frozen=True)
class ConditionOptions:
    """The condition stage: what of a picture, video or text becomes the CLAP condition."""

    fps: float = 1.0  # video frames sampled per second
    max_seconds: float = 10.0  # compose/interpolate: video frames sampled from the first max_seconds
    aggregate: str = "average"  # video frames -> one embedding per window: average | middle | random
    prompt: str | None = None  # text mixed into the condition in CLAP space
    prompt_weight: float = 0.3  # weight of `prompt` in the mix (0..1)
    sources: str = "whole"  # whole: the picture as one | detect: the picture plus its detected sound sources
    max_sources: int = 8  # detect: at most this many boxes (besides the whole picture)
    detect_threshold: float = 0.2  # detect: keep boxes whose detector score is above this (0..1)


# The mapper's group is the mapper protocol's own `MapperSampling`; these defaults are the "fast" preset's
# SSV2A values (None: the mapper's own default).
DEFAULT_MAPPER_SAMPLING = MapperSampling(guidance=None, steps=None, var_samples=16, cycle_its=8, cycle_samples=16)

# Every option by its flat name (the CLI flag's, the sidecar's, the presets', `validation.RANGES`') ->
# (group, field). In the order the sidecar lists them.
FLAT_FIELDS: dict[str, tuple[str, str]] = {
    "steps": ("sampler", "steps"), "guidance": ("sampler", "guidance"), "duration": ("timeline", "duration"),
    "seed": ("", "seed"), "variations": ("", "variations"), "scheduler": ("sampler", "scheduler"),
    "fps": ("condition", "fps"), "max_seconds": ("condition", "max_seconds"),
    "aggregate": ("condition", "aggregate"), "prompt": ("condition", "prompt"),
    "prompt_weight": ("condition", "prompt_weight"), "negative_prompt": ("sampler", "negative_prompt"),
    "mapper_guidance": ("mapper", "guidance"), "batch_size": ("sampler", "batch_size"),
    "compile": ("sampler", "compile"), "start": ("timeline", "start"), "end": ("timeline", "end"),
    "overlap": ("timeline", "overlap"), "join": ("timeline", "join"), "scenes": ("timeline", "scenes"),
    "scene_threshold": ("timeline", "scene_threshold"), "mapper_steps": ("mapper", "steps"),
    "eta": ("sampler", "eta"), "candidates": ("sampler", "candidates"), "sources": ("condition", "sources"),
    "max_sources": ("condition", "max_sources"), "detect_threshold": ("condition", "detect_threshold"),
    "var_samples": ("mapper", "var_samples"), "cycle_its": ("mapper", "cycle_its"),
    "cycle_samples": ("mapper", "cycle_samples"),
}


@dataclass(frozen=True, init=False)
class GenerateOptions:
    """Everything a generation run is asked to do, in one small frozen group per stage.

    Each stage reads its own group: `sampler` (sample.py), `timeline` (plan.py), `condition`
    (condition.py, detect.py, compose.py) and `mapper` (the `MapperSampling` handed to the mapper).
    For the Python API and the CLI every option also has one flat name (`FLAT_FIELDS`, the flag's):
    `GenerateOptions(steps=2, duration=5.0)`, `replace(options, steps=2)` and `options.steps` route
    it to its group.
    """

    seed: int = 0  # variation v of every input uses seed + v
    variations: int = 1  # sounds per input
    sampler: SamplerOptions = SamplerOptions()
    timeline: TimelineOptions = TimelineOptions()
    condition: ConditionOptions = ConditionOptions()
    mapper: MapperSampling = DEFAULT_MAPPER_SAMPLING
    preset: str | None = None  # the preset these options were made from (`from_preset`); None: taken as given
    flags: tuple[str, ...] = ()  # fields set explicitly in `from_preset`: they win over the preset and the mapper
    settled: tuple[tuple[str, str], ...] = ()  # after `Pipeline.settle`: (sampler field, where its value came from)

    def __init__(self, **values: object):
        # The defaults are the fields' (declared once, above); flat names are routed to their group.
        settings = {f.name: values.pop(f.name, f.default) for f in fields(self)}
        changes: dict[str, dict[str, object]] = {}
        for name, value in values.items():
            if name not in FLAT_FIELDS:
                raise TypeError(f"GenerateOptions got an unexpected option {name!r}")
            group, field_name = FLAT_FIELDS[name]
            changes.setdefault(group, {})[field_name] = value
        for group, group_values in changes.items():
            settings[group] = replace(settings[group], **group_values)
        for name, value in settings.items():
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> object:
        """`options.steps` is `options.sampler.steps` (flat names: `FLAT_FIELDS`)."""
        if name in FLAT_FIELDS and FLAT_FIELDS[name][0]:
            group, field_name = FLAT_FIELDS[name]
            return getattr(object.__getattribute__(self, group), field_name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def flat(self) -> dict[str, object]:
        """Every option by its flat name, in `FLAT_FIELDS` order (the sidecar's `settings`)."""
        return {name: getattr(self, name) for name in FLAT_FIELDS}

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

        check_options(self, list(FLAT_FIELDS))
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
