"""Sound-source composition (after SSV2A): several images, texts and sounds -> one scene's sound.

    from v2a_cli.generation.compose import Source, compose
    waves = compose(pipe, [Source("image", "dog.png", 2.0), Source("text", "heavy rain")], options)

Each source becomes a CLAP embedding through its own tower: images and videos through CLIP and the
mapper, texts through CLAP's text tower, audio files through CLAP's audio tower. They are combined
by a normalised weighted mean, normalise(Σ wᵢ·eᵢ / Σ wᵢ): a source with weight 2 counts as two
copies of itself. (SSV2A mixes its sources with a learned attention "Cycle Mix"; V2A-Mapper has no
such module, and a weighted mean in CLAP space is the operation that `--prompt` mixing and the paper's
interpolation already rely on.) With a generative mapper, each image can be the mean of several
variational samples (SSV2A's `var_samples`): more samples, closer to the image's typical sound, less
diversity between variations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from v2a_cli.errors import InputError, V2AError
from v2a_cli.generation.mixing import unit, weighted_mean  # noqa: F401  (importable from here)
from v2a_cli.generation.models import WarmModels
from v2a_cli.generation.options import GenerateOptions, ProgressCallback
from v2a_cli.generation.plan import PlannedSound, generator_timeline, planned_sound
from v2a_cli.generation.sample import counting, step_total, synthesize_sounds
from v2a_cli.mapper.diffusion import spread_seeds

MAX_SOURCES = 64  # as SSV2A


@dataclass(frozen=True)
class Source:
    kind: str  # "image" (images and videos, through the mapper) | "text" | "audio"
    value: str  # a file path, or the text itself
    weight: float = 1.0
    box: tuple[float, float, float, float] | None = None  # image: only this part (x0, y0, x1, y1 px); None = all


def _visual_embeddings(pipeline: WarmModels, source: Source, options: GenerateOptions, seeds: Sequence[int],
                       var_samples: int) -> torch.Tensor:
    from v2a_cli.media.inputs import media_kind

    path = _existing_file(source)
    if media_kind(path) == "audio":
        raise InputError(path, "is an audio file; pass it with --audio")
    if source.box is not None:
        from v2a_cli.media.images import load_image
        from v2a_cli.sources.find import crop_source

        picture = load_image(path)
        clip = pipeline.clip.encode_images([crop_source(picture, source.box, pipeline.mapper_settings().crops)])[0]
    else:
        clip = pipeline.clip_embedding(path, options)
    sampling = options.mapper
    averages_inside = pipeline.mapper.averages_own_draws
    if averages_inside and var_samples > 1:
        # A mapper that averages its own variational draws inside each step (SSV2A) takes --var-samples
        # (1, the default here, leaves the preset's number).
        sampling = replace(sampling, var_samples=var_samples)
    samples = var_samples if pipeline.mapper.is_generative and not averages_inside else 1
    # Every (seed, sample) row in one batched mapper call; a seed's samples use seeds spread from it.
    row_seeds = [row for seed in seeds for row in spread_seeds(seed, samples)]
    mapped = pipeline.map_visual(clip[None].expand(len(row_seeds), -1), seeds=row_seeds,
                                 sampling=sampling).view(len(seeds), samples, -1)
    return mapped[:, 0] if samples == 1 else F.normalize(mapped.mean(dim=1), dim=-1)


def _audio_embeddings(pipeline: WarmModels, source: Source, options: GenerateOptions, seeds: Sequence[int],
                      var_samples: int) -> torch.Tensor:
    from v2a_cli.media.inputs import media_kind

    path = _existing_file(source)
    if media_kind(path) == "image":
        raise InputError(path, "is an image; pass it with --image")
    return pipeline.audio_condition(path)[None].expand(len(seeds), -1)  # an audio file, or a video's soundtrack


def _text_embeddings(pipeline: WarmModels, source: Source, options: GenerateOptions, seeds: Sequence[int],
                     var_samples: int) -> torch.Tensor:
    text = source.value.strip()
    if not text:
        raise V2AError("--text: empty text; give a description such as --text \"heavy rain\"")
    return pipeline.text_condition(text)[None].expand(len(seeds), -1)


# Source kind -> [len(seeds), 512] unit CLAP embeddings through that kind's tower.
EMBEDDERS: dict[str, Callable[[WarmModels, Source, GenerateOptions, Sequence[int], int], torch.Tensor]] = {
    "image": _visual_embeddings,
    "audio": _audio_embeddings,
    "text": _text_embeddings,
}


def _existing_file(source: Source) -> Path:
    path = Path(source.value).expanduser()
    if not path.is_file():
        raise InputError(path, "no such file; check the path")
    return path


def validate_sources(sources: Sequence[Source]) -> None:
    """Count, kinds and weights; raises V2AError with one line for the first problem."""
    if not sources:
        raise V2AError("no sources; give at least one --image, --text or --audio")
    if len(sources) > MAX_SOURCES:
        raise V2AError(f"{len(sources)} sources given; at most {MAX_SOURCES} are supported")
    for source in sources:
        if source.kind not in EMBEDDERS:
            raise V2AError(f"unknown source kind {source.kind!r}; expected one of {', '.join(EMBEDDERS)}")
        if not (math.isfinite(source.weight) and source.weight > 0):
            raise V2AError(f"{source.value}: weight {source.weight:g} must be a positive number")


@torch.inference_mode()
def mixed_conditions(pipeline: WarmModels, sources: Sequence[Source], options: GenerateOptions, seeds: Sequence[int],
                     *, var_samples: int = 1) -> torch.Tensor:
    """[len(seeds), 512]: the mix for each seed (images through a generative mapper differ per seed).

    Every file is read and decoded here, once, before anything is generated.
    """
    validate_sources(sources)
    if var_samples < 1:
        raise V2AError(f"--var-samples {var_samples}: must be at least 1")
    per_source = torch.stack([EMBEDDERS[s.kind](pipeline, s, options, seeds, var_samples).float()
                              for s in sources])  # [S, len(seeds), 512]
    weights = [s.weight for s in sources]
    return torch.stack([pipeline.with_prompt(weighted_mean(per_source[:, row], weights), options)
                        for row in range(len(seeds))])


def expand_detected(pipeline: WarmModels, sources: Sequence[Source], options: GenerateOptions) -> list[Source]:
    """Each picture source becomes its sound sources (`--detect`): the whole picture and its boxes, the
    source's weight shared among them by their weights (sources/find.py); other sources stay."""
    from v2a_cli.media.inputs import media_kind
    from v2a_cli.sources.scan import scan_file

    expanded: list[Source] = []
    for source in sources:
        if source.kind != "image" or source.box is not None:
            expanded.append(source)
            continue
        path = _existing_file(source)
        if media_kind(path) != "image":
            raise InputError(path, "--detect splits pictures; for a video use `v2a generate --sources detect`")
        scan = scan_file(pipeline.detector, path, max_sources=options.condition.max_sources,
                         threshold=options.condition.detect_threshold)
        expanded += [Source("image", source.value, source.weight * found.weight, found.box) for found in scan.found]
    return expanded


def compose_condition(pipeline: WarmModels, sources: Sequence[Source], options: GenerateOptions = GenerateOptions(),
                      *, var_samples: int = 1, seed: int | None = None) -> torch.Tensor:
    """[512] unit CLAP condition of the mix (then `options.condition.prompt` mixed in, as `generate` does)."""
    seed = options.seed if seed is None else seed
    return mixed_conditions(pipeline, sources, options, [seed], var_samples=var_samples)[0]


def describe(sources: Sequence[Source]) -> str:
    """The mix in one line (a sidecar's `source`): "dog.png:2 + text:heavy rain + thunder.wav"."""
    def one(source: Source) -> str:
        name = f"text:{source.value}" if source.kind == "text" else source.value
        return name if source.weight == 1.0 else f"{name}:{source.weight:g}"

    return " + ".join(one(source) for source in sources)


def composed_sound(pipeline: WarmModels, sources: Sequence[Source], options: GenerateOptions, seeds: Sequence[int],
                   *, var_samples: int = 1) -> PlannedSound:
    """The condition producer of `compose`: the mix for each seed over options.timeline.duration seconds (any
    length: windowed and joined by the sampler like any other sound). Every file is read here."""
    conditions = mixed_conditions(pipeline, sources, options, seeds, var_samples=var_samples)
    timeline = generator_timeline(pipeline.generator, 0.0, options.timeline.duration, options)
    return planned_sound(describe(sources), "compose", timeline, conditions, seeds,
                         info={"mix": [{"kind": s.kind, "value": s.value, "weight": s.weight,
                                        **({"box": list(s.box)} if s.box is not None else {})} for s in sources]})


@torch.inference_mode()
def compose(pipeline: WarmModels, sources: Sequence[Source], options: GenerateOptions = GenerateOptions(), *,
            var_samples: int = 1, progress: ProgressCallback | None = None) -> list[np.ndarray]:
    """One waveform per variation; variation v uses seed options.seed + v (mapper and generator alike).

    All conditions are computed (all files read) before anything is generated."""
    options = pipeline.settle(options.validate())
    seeds = [options.seed + v for v in range(options.variations)]
    with pipeline.call():
        planned = composed_sound(pipeline, sources, options, seeds, var_samples=var_samples)
        synthesize_sounds(pipeline, [planned], options, progress=counting(progress, step_total([planned], options)))
    return planned.track.waveforms


def parse_weighted(item: str, *, check_file: bool = True) -> tuple[str, float]:
    """"dog.png:2" -> ("dog.png", 2.0). Splits on the last ':' only when what follows is a number and
    the whole item is not an existing file: "C:\\x.png", "a:b.png" and an existing file "take:2" stay whole."""
    head, sep, tail = item.rpartition(":")
    if not sep or not head or (check_file and Path(item).expanduser().exists()):
        return item, 1.0
    try:
        weight = float(tail)
    except ValueError:
        return item, 1.0
    return head, weight


def parse_text_weighted(item: str) -> tuple[str, float]:
    """Texts take a weight the same way ("heavy rain:2"); a text is never a file. A text whose last ':'
    sits between digits ("clock at 10:30", "16:9") is text, with a note: its weight goes after it
    ("clock at 10:30:2")."""
    text, weight = parse_weighted(item, check_file=False)
    if text != item and text[-1:].isdigit() and ":" not in text:
        from v2a_cli.notes import note

        note(f"--text {item!r}: read as text with weight 1 (a time or ratio); to weight it, add the weight "
             f"after it, e.g. '{item}:2'")
        return item, 1.0
    return text, weight
