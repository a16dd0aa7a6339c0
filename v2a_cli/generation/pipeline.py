"""`Pipeline`: warm models plus the whole path, plan -> condition -> sample; the top of generation.

    from v2a_cli import Pipeline, GenerateOptions
    pipe = Pipeline.from_models()                  # models from $V2A_MODELS or the defaults
    audio = pipe.generate_audio(["dog.jpg", "street.mp4"], GenerateOptions(steps=25, scheduler="dpm"))

The stages (docs/architecture.md): plan.py (timeline of windows, seeds) -> condition.py (CLIP + mapper,
sources, prompt -> one CLAP condition per window; compose.py and interpolate.py are producers too) ->
sample.py (one batching loop, joins, best-of-N) -> batch.py / sidecar.py (WAV, mux, provenance).
`Pipeline` adds the Python API's entry points to `WarmModels` (models.py); nothing below imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from v2a_cli.generation import condition as _condition
from v2a_cli.generation import sample as _sample
from v2a_cli.generation.models import FRAME_CHUNK, Condition, WarmModels  # noqa: F401
from v2a_cli.generation.options import (  # noqa: F401  (the names callers import from here)
    AGGREGATORS, AUTO_CPU_BATCH, DEFAULT_PRESET, JOINS, PRESETS, SAMPLER_FIELDS, SCENE_MODES, SOURCE_MODES,
    GenerateOptions, ProgressCallback, aggregate_frames, settle_options,
)
from v2a_cli.generation.plan import Soundtrack, Timeline
from v2a_cli.generation.sample import candidate_seed  # noqa: F401
from v2a_cli.models_config import ModelsConfig
from v2a_cli.validation import MAX_CANDIDATES  # noqa: F401  (--candidates' limit; kept importable here)


class Pipeline(WarmModels):
    """Warm models (loaded on first use, kept) and the Python API over the one generation path."""

    def condition(self, source: str | Path, options: GenerateOptions = GenerateOptions(), *,
                  seed: int | None = None) -> Condition:
        """One source (image, video, audio file or `text:...`) -> its CLAP condition."""
        with self.call():
            return _condition.condition(self, source, options, seed=seed)

    def conditions(self, source: str | Path, options: GenerateOptions, seeds: Sequence[int]) -> list[Condition]:
        """One source's CLAP condition for each seed (the file decoded and embedded once)."""
        with self.call():
            return _condition.conditions(self, source, options, seeds)

    def synthesize(self, embeddings: torch.Tensor, seeds: Sequence[int], options: GenerateOptions,
                   progress: Callable[[int], None] | None = None, *,
                   report: list[dict] | None = None) -> list[np.ndarray]:
        """[N,512] CLAP conditions -> N waveforms of options.timeline.duration seconds at `sample_rate`
        (`sample.synthesize`: best-of-N with options.sampler.candidates, one dict per row in `report`)."""
        with self.call():
            return _sample.synthesize(self, embeddings, seeds, self.settle(options), progress, report=report)

    def render(self, source: str | Path, options: GenerateOptions, seeds: Sequence[int], *,
               progress: Callable[[int], None] | None = None,
               on_plan: Callable[[Timeline], None] | None = None) -> Soundtrack:
        """One source -> a `Soundtrack` (its sound for each seed over its whole timeline).

        A video is covered from options.timeline.start to options.timeline.end (default: all of it), an image, text or
        sound for options.timeline.duration seconds; longer than one generator window, it is windowed and joined.
        `on_plan` sees the timeline before any window is generated (e.g. to size a progress bar)."""
        options = self.settle(options)
        with self.call():
            planned = _condition.plan_sound(self, source, options, seeds)
            if on_plan is not None:
                on_plan(planned.track.timeline)
            _sample.synthesize_sounds(self, [planned], options, progress=progress)
            return planned.track

    def generate_audio(self, sources: Sequence[str | Path], options: GenerateOptions = GenerateOptions(),
                       progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        """Python API: one waveform per source and variation (source-major), errors raised.

        Inputs are batched as `v2a generate` batches them: planned a generator batch's worth at a time
        and generated together (independent windows of one length share generator calls)."""
        options = self.settle(options.validate())
        seeds = [options.seed + variation for variation in range(options.variations)]
        with self.call():
            planned = _sample.in_groups(self, (_condition.plan_sound(self, source, options, seeds)
                                               for source in sources), options, progress=progress)
            return [wave for sound in planned for wave in sound.track.waveforms]


def generate(sources: Sequence[str | Path], options: GenerateOptions = GenerateOptions(), *,
             models: ModelsConfig | None = None, device: str = "auto", dtype: str = "auto") -> list[np.ndarray]:
    """One-call Python API: `generate(["dog.jpg"])` -> list of 16 kHz float32 waveforms."""
    return Pipeline(models, device=device, dtype=dtype).generate_audio(sources, options)
