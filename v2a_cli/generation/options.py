"""What a generation run is asked to do: `GenerateOptions`, its presets and the names it accepts.

Defined once here; the CLI flags (`cli/options.py`), the web page's fields and the Python API take
their defaults from these dataclasses and `PRESETS`. Nothing in this module loads a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F

from v2a_cli.errors import V2AError

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
class GenerateOptions:
    steps: int = 25  # denoising steps (preset "fast"; the paper: 200 with ddim)
    guidance: float = 4.5  # AudioLDM classifier-free guidance scale (paper: 4.5)
    duration: float = 10.0  # seconds of audio for an image, text or sound input (any length; windowed)
    seed: int = 0  # variation v of every input uses seed + v
    variations: int = 1  # sounds per input
    scheduler: str = "dpm"  # dpm (preset "fast") | ddim (the paper) | euler (see audioldm/schedulers.py)
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
