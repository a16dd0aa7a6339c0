"""Walking through CLAP space between two sounds (paper, "Latent Space Interpolation", Fig. 6).

    from v2a_cli.generation.interpolate import interpolate, crossfade_concat
    waves = interpolate(pipe, "frog.wav", "flute.jpg", 5, GenerateOptions(steps=25, scheduler="dpm"))

An endpoint is anything `Pipeline.condition` takes: an audio file (CLAP audio tower), an image or
video (CLIP -> mapper) or `text:...` (CLAP text tower). The path between the two conditions is a
straight line (default) or a great circle (`slerp=True`), every point re-normalised to unit length.
Every step is generated with the same seed, so the same initial noise: the change between
neighbouring steps comes from the condition alone, and the end steps equal `generate` of the ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from v2a_cli.errors import V2AError
from v2a_cli.generation.condition import condition
from v2a_cli.generation.mixing import PATHS, interpolation_path, unit  # noqa: F401  (importable from here)
from v2a_cli.generation.models import WarmModels
from v2a_cli.generation.options import GenerateOptions, ProgressCallback
from v2a_cli.generation.plan import PlannedSound, generator_timeline, planned_sound
from v2a_cli.generation.sample import counting, step_total, synthesize_sounds

@torch.inference_mode()
def interpolation_conditions(pipeline: WarmModels, start_source: str | Path, end_source: str | Path, steps: int,
                             options: GenerateOptions, *, slerp: bool = False) -> torch.Tensor:
    """[steps, 512] conditions. The ends are exactly what `generate` conditions on (seed = options.seed)."""
    if steps < 2:
        raise V2AError(f"--steps {steps}: an interpolation needs at least 2 points (the two ends)")
    ends = []
    with pipeline.call():
        for source in (start_source, end_source):
            made = condition(pipeline, source, options, seed=options.seed)
            ends.append(pipeline.with_prompt(made.embedding, options))
    return interpolation_path(ends[0], ends[1], steps, slerp=slerp)


def interpolation_sounds(pipeline: WarmModels, start_source: str | Path, end_source: str | Path, steps: int,
                         options: GenerateOptions, *, slerp: bool = False) -> list[PlannedSound]:
    """The condition producer of `interpolate`: one planned sound per point of the path, each of
    options.timeline.duration seconds (any length), all with seed options.seed: the same initial noise, so
    neighbours differ by their condition only. Both ends are read here, before anything is generated."""
    conditions = interpolation_conditions(pipeline, start_source, end_source, steps, options, slerp=slerp)
    timeline = generator_timeline(pipeline.generator, 0.0, options.timeline.duration, options)
    return [planned_sound(f"{start_source} -> {end_source} [{index}/{steps - 1}]", "interpolation", timeline,
                          conditions[index:index + 1], [options.seed], info={"point": index, "points": steps})
            for index in range(steps)]


@torch.inference_mode()
def interpolate(pipeline: WarmModels, start_source: str | Path, end_source: str | Path, steps: int,
                options: GenerateOptions = GenerateOptions(), *, slerp: bool = False,
                progress: ProgressCallback | None = None) -> list[np.ndarray]:
    """`steps` waveforms walking from the start's sound to the end's (options.variations is not used)."""
    options = pipeline.settle(options.validate())
    with pipeline.call():
        sounds = interpolation_sounds(pipeline, start_source, end_source, steps, options, slerp=slerp)
        synthesize_sounds(pipeline, sounds, options, progress=counting(progress, step_total(sounds, options)))
    return [sound.track.waveforms[0] for sound in sounds]


def crossfade_concat(waves: Sequence[np.ndarray], sample_rate: int, crossfade_seconds: float = 0.1) -> np.ndarray:
    """Join waveforms, overlapping neighbours by an equal-power crossfade.

    Equal power (cos/sin curves, gains² summing to 1) keeps the loudness steady across the join for
    unrelated sounds, which neighbouring steps mostly are; a linear fade dips ~3 dB in the middle.
    The fade is shortened to half the shortest waveform if needed (with a note). Length = sum(lengths) - (n-1)·fade.
    """
    if not waves:
        raise ValueError("nothing to concatenate")
    if crossfade_seconds < 0:
        raise V2AError(f"--crossfade {crossfade_seconds}: must be zero or positive")
    waves = [np.asarray(w, dtype=np.float32).reshape(-1) for w in waves]
    asked = int(round(crossfade_seconds * sample_rate))
    # At most half the shortest step: a longer fade would fold a step's fade-in into its fade-out and the
    # whole walk into the length of one step.
    fade = min(asked, min(len(w) for w in waves) // 2) if len(waves) > 1 else 0
    if fade < asked and len(waves) > 1:
        from v2a_cli.notes import note

        note(f"--crossfade {crossfade_seconds:g} s is longer than half a step ({min(len(w) for w in waves) / sample_rate:g} s); "
             f"crossfading {fade / sample_rate:g} s instead")
    total = sum(len(w) for w in waves) - (len(waves) - 1) * fade
    out = np.zeros(total, dtype=np.float32)
    angles = (np.arange(fade, dtype=np.float64) + 0.5) / max(fade, 1) * (np.pi / 2)
    fade_in, fade_out = np.sin(angles).astype(np.float32), np.cos(angles).astype(np.float32)
    position = 0
    for index, wave in enumerate(waves):
        wave = wave.copy()
        if fade and index > 0:
            wave[:fade] *= fade_in
        if fade and index < len(waves) - 1:
            wave[len(wave) - fade:] *= fade_out
        out[position:position + len(wave)] += wave
        position += len(wave) - fade
    return out


def step_file_names(steps: int) -> list[str]:
    """00.wav, 01.wav, ... zero-padded so that they sort in order (at least two digits)."""
    width = max(2, len(str(steps - 1)))
    return [f"{index:0{width}d}.wav" for index in range(steps)]
