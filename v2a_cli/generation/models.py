"""Warm models and what they compute: CLIP and CLAP embeddings, the mapper, AudioLDM's latents.

A *condition* is a 512-d CLAP embedding. `WarmModels` embeds sources (an image or video through
CLIP, then the mapper; an audio file through CLAP's audio tower; a text through CLAP's text tower,
the generator's own) and samples latents for conditions. It is the lowest layer of generation: the
stages above it (condition.py, sample.py) and the top (pipeline.py: `Pipeline`) call it; it calls
none of them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from v2a_cli.errors import V2AError
from v2a_cli.generation.options import AUTO_CPU_BATCH, GenerateOptions, aggregate_frames, settle_options
from v2a_cli.mapper.protocol import DEFAULT_SAMPLING, Mapper, MapperSampling
from v2a_cli.models_config import ModelsConfig

if TYPE_CHECKING:
    from v2a_cli.mapper.settings import MapperSettings

FRAME_CHUNK = 16  # video frames embedded per CLIP call


@dataclass
class Condition:
    """A CLAP embedding to generate from, and where it came from."""

    source: str  # file path or "text:..."
    embedding: torch.Tensor  # [512], L2-normalised, float32, CPU
    info: dict = field(default_factory=dict)


class WarmModels:
    """Warm models for generation and what they compute. Each model is loaded on first use and kept.

    Nothing else grows here between calls: what one call caches (encoded prompts, detected sources,
    model provenance) lives in `call()`'s scope and is dropped when the call ends."""

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
        self._call: dict[str, dict] | None = None  # the current call's caches (see `call`)

    @classmethod
    def from_models(cls, models_file: str | Path | None = None, **kwargs):
        return cls(ModelsConfig.load(models_file), **kwargs)

    # -- one call's caches ---------------------------------------------------------------------
    @contextmanager
    def call(self) -> Iterator[dict[str, dict]]:
        """The scope of one call (a batch of files, a compose, a web request): caches made inside it
        (`call_cache`) are shared by everything the call does and dropped when it ends. Nested calls
        share the outer one's."""
        if self._call is not None:
            yield self._call
            return
        self._call = {}
        try:
            yield self._call
        finally:
            self._call = None

    def call_cache(self, name: str) -> dict:
        """The current call's cache `name` (a fresh, unkept dict outside a call)."""
        if self._call is None:
            return {}
        return self._call.setdefault(name, {})

    # -- models --------------------------------------------------------------------------------
    def _model(self, role: str, load: Callable[[], object]) -> object:
        if role not in self._loaded:
            from v2a_cli.progress import stage

            stage(f"loading the {role}")
            self._loaded[role] = load()
        return self._loaded[role]

    @property
    def clip(self):
        return self._model("clip", self._load_clip)

    def _load_clip(self):
        from v2a_cli.loaders import load_model

        # A mapper trained on another CLIP (SSV2A: ViT-L/14) names it; it is used unless the models
        # file or --clip names one, which must then have the mapper's width.
        mapper = self.mapper if self.models.mapper != "bridge" else None
        wanted = mapper.clip_spec if mapper is not None else None
        spec = wanted if wanted and self.models.clip == ModelsConfig().clip else self.models.clip
        # CLIP stays float32 except on CUDA: it is small and its embeddings feed a trained mapper.
        dtype = self.dtype if self.device.type == "cuda" else torch.float32
        clip = load_model("clip", spec, device=self.device, dtype=dtype)
        needed = mapper.clip_dim if mapper is not None else None
        if needed is not None and clip.embed_dim != needed:
            raise V2AError(f"CLIP '{spec}' gives {clip.embed_dim}-d embeddings but the mapper "
                           f"'{self.models.mapper}' needs {needed}-d ones"
                           + (f" ({wanted})" if wanted else "") + "; name a CLIP of that size in the models "
                           "file or --clip, or leave clip unset to use the mapper's own")
        return clip

    @property
    def detector(self):
        from v2a_cli.loaders import load_model

        return self._model("detector", lambda: load_model("detector", self.models.detector, device=self.device))

    @property
    def clap(self):
        from v2a_cli.loaders import load_model

        return self._model(
            "clap",
            lambda: load_model("clap", self.models.clap, device=self.device, dtype=torch.float32,
                               tokenizer=self.models.generator),
        )

    @property
    def generator(self):
        from v2a_cli.loaders import load_model

        return self._model(
            "generator", lambda: load_model("generator", self.models.generator, device=self.device, dtype=self.dtype)
        )

    @property
    def mapper(self) -> Mapper:
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
        from v2a_cli.mapper.settings import NO_SETTINGS

        return NO_SETTINGS if self.models.mapper == "bridge" else self.mapper.generation_settings

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

            frames = sample_frames(path, fps=options.condition.fps, max_seconds=options.condition.max_seconds)
            embeddings = self.clip.encode_images([frame.image for frame in frames])
            return aggregate_frames(embeddings, options.condition.aggregate, options.seed)
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
        """What the mapper mixed per row (the zero-shot bridge's sound classes and weights); None when the
        mapper does not explain itself."""
        return self.mapper.explain(clip_embeddings.float()) if self.mapper.explains else None

    def map_visual(self, clip_embeddings: torch.Tensor, *, seeds: Sequence[int] | None = None,
                   sampling: MapperSampling = DEFAULT_SAMPLING) -> torch.Tensor:
        """[N,512] CLIP -> [N,512] CLAP through the mapper, all rows in one batched call (row i sampled
        with seeds[i]; `sampling`: the mapper's knobs, `options.mapper`)."""
        mapped = self.mapper.map(clip_embeddings.float(), seeds=seeds, sampling=sampling)
        return F.normalize(mapped.float().cpu(), dim=-1)

    def audio_condition(self, path: str | Path) -> torch.Tensor:
        """[512] CLAP embedding of an audio file, prepared as AudioLDM prepares its audio conditions."""
        from v2a_cli.embeddings.clap import load_audio_for_clap

        return self.clap.encode_audio([load_audio_for_clap(path)])[0]

    def text_condition(self, text: str) -> torch.Tensor:
        cache = self.call_cache("texts")  # --prompt/--negative-prompt: encoded once per call
        if text not in cache:
            cache[text] = F.normalize(self.generator.encode_texts([text])[0].float(), dim=-1)
        return cache[text]

    def with_prompt(self, embedding: torch.Tensor, options: GenerateOptions) -> torch.Tensor:
        """Mix `--prompt` into a condition: normalise((1-w)·e + w·text)."""
        if not options.condition.prompt:
            return embedding
        text = self.text_condition(options.condition.prompt)
        w = options.condition.prompt_weight
        return F.normalize((1 - w) * embedding + w * text, dim=-1)

    def sample_latents(self, embeddings: torch.Tensor, seeds: Sequence[int], options: GenerateOptions, *,
                       duration: float, known: torch.Tensor | None = None,
                       progress: ProgressCallback | None = None) -> torch.Tensor:
        """`synthesize` up to the final latents (one window of a long sound; decode with generator.decode)."""
        return self.generator.sample_latents(embeddings, **self._sampling_kwargs(embeddings, seeds, options, duration),
                                             known=known, progress=progress)

    def _sampling_kwargs(self, embeddings: torch.Tensor, seeds: Sequence[int], options: GenerateOptions,
                         duration: float | None = None) -> dict:
        negative = None
        if options.sampler.negative_prompt:
            negative = self.text_condition(options.sampler.negative_prompt)[None].expand(len(embeddings), -1)
        return {"seeds": list(seeds), "steps": options.sampler.steps, "guidance": options.sampler.guidance,
                "duration": options.timeline.duration if duration is None else duration, "negative": negative,
                "scheduler": options.sampler.scheduler, "eta": options.sampler.eta, "compile": options.sampler.compile}

    def clap_audio_cosine(self, waves: np.ndarray, conditions: torch.Tensor) -> torch.Tensor:
        """Cosine between each generated wave's CLAP audio embedding (as AudioLDM's reranking embeds it:
        resampled to 48 kHz, first 10 s, no normalisation) and its condition row."""
        from v2a_cli.embeddings.clap import clap_input_from_generated

        inputs = [clap_input_from_generated(wave, self.sample_rate) for wave in waves]
        audio = self.clap.encode_audio(inputs)
        return F.cosine_similarity(audio.float(), F.normalize(conditions.float().cpu(), dim=-1), dim=-1)

    def batch_size(self, options: GenerateOptions) -> int:
        """The sampler's batch_size, with "auto" resolved: the largest batch that fits on CUDA, else AUTO_CPU_BATCH."""
        if options.sampler.batch_size != "auto":
            return int(options.sampler.batch_size)
        fitting = self.generator.max_batch_size(options.timeline.duration, guided=options.sampler.guidance > 1.0)
        return AUTO_CPU_BATCH if fitting is None else fitting

    @property
    def sample_rate(self) -> int:
        return self.generator.sample_rate


