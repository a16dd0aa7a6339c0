"""The sample stage: one batching loop from planned sounds to waveforms (`docs/long-video.md`).

Every command comes through here (`generate`, `compose`, `interpolate`, the web page, the Python
API): a planned sound (plan.py) is a timeline of windows with one CLAP condition per window and
variation. Windows of any number of sounds are generated together where they can be (independent
windows of one latent length share generator calls), a continuing window from its predecessor's final
latents ("continue": RePaint's scheme, `AudioLDMGenerator.sample_latents`), joined by crossfades;
best-of-N (`--candidates`) is chosen here, once, per window.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np
import torch

from v2a_cli.generation.plan import PlannedSound, StepCounter, Timeline, Window, continues, generator_timeline, planned_sound

if TYPE_CHECKING:
    from v2a_cli.generation.models import WarmModels
    from v2a_cli.generation.options import GenerateOptions

GROUP_CALLS = 4  # inputs of mixed lengths: generate once they hold this many generator calls' worth of rows


def candidate_seed(seed: int, candidate: int) -> int:
    """Seed of candidate c of an output with `seed`: c = 0 is the seed itself (so --candidates 1 changes
    nothing); the others are derived, so they never collide with the next variation's seed + 1."""
    if candidate == 0:
        return int(seed)
    state = np.random.SeedSequence([int(seed) % 2**63, candidate]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def synthesize_sounds(pipeline: "WarmModels", sounds: Sequence[PlannedSound], options: "GenerateOptions", *,
                      progress: StepCounter | None = None) -> None:
    """Generate several planned sounds together (their independent windows share generator calls)."""
    jobs = [(s.track.timeline, s.conditions, s.track.window_seeds, s.track.choices) for s in sounds]
    for sound, waves in zip(sounds, _synthesize(pipeline, jobs, options, progress=progress)):
        sound.track.waveforms = waves


def synthesize_timeline(pipeline: "WarmModels", plan: Timeline, conditions: torch.Tensor,
                        window_seeds: Sequence[Sequence[int]], options: "GenerateOptions", *,
                        progress: StepCounter | None = None,
                        on_latents: Callable[[int, torch.Tensor], None] | None = None,
                        choices: list[list[dict]] | None = None) -> list[np.ndarray]:
    """conditions [V, W, 512] -> V waveforms covering `plan` (one sound; see `_synthesize`).
    `on_latents(window_index, latents [V_batch, ...])` sees each window's final latents (tests)."""
    if choices is None:
        choices = [[{} for _ in plan.windows] for _ in window_seeds]
    relay = None if on_latents is None else (lambda job, k, latents: on_latents(k, latents))
    return _synthesize(pipeline, [(plan, conditions, window_seeds, choices)], options, progress=progress,
                       on_latents=relay)[0]


def _synthesize(pipeline: "WarmModels", jobs: Sequence[tuple], options: "GenerateOptions", *,
                progress: StepCounter | None = None,
                on_latents: Callable[[int, int, torch.Tensor], None] | None = None) -> list[list[np.ndarray]]:
    """Jobs (timeline, conditions [V, W, 512], window seeds [V][W], choices [V][W]) -> per job, V waveforms.

    Items are (job, window, variation) triples, taken in that order. The first item not yet made
    decides each generator call: a continuing window (it holds its predecessor's final latents) is
    made with the other variations of the same window; any other window (first, crossfade, scene cut)
    with every waiting non-continuing window of the same latent length, of any job, up to
    `pipeline.batch_size` rows. Each row has its own noise seed, so what a row gets does not depend
    on which rows share its call. With options.candidates = C > 1 every window is drawn C times (all
    continuing the same latents) and the draw whose CLAP audio embedding is closest to the window's
    condition is kept, as for a single clip; `choices[v][k]` receives that pick.
    """
    rate = pipeline.sample_rate
    outputs = []
    for plan, _, window_seeds, _ in jobs:
        total_units = plan.windows[-1].first_unit + plan.windows[-1].units
        outputs.append([np.zeros(total_units * int(round(plan.unit * rate)), dtype=np.float32) for _ in window_seeds])
    pending = dict.fromkeys((j, k, v) for j, (plan, _, seeds, _) in enumerate(jobs)
                            for k in range(len(plan.windows)) for v in range(len(seeds)))
    tails: dict[tuple[int, int], torch.Tensor] = {}  # (job, variation) -> the latents the next window continues from
    limits: dict[int, int] = {}  # latent length -> rows per call ("auto": what fits at this length)

    def window_of(item: tuple[int, int, int]) -> Window:
        return jobs[item[0]][0].windows[item[1]]

    while pending:
        first = next(iter(pending))
        window = window_of(first)
        unit = jobs[first[0]][0].unit
        if window.units not in limits:
            fits = pipeline.batch_size(dataclasses.replace(options, duration=window.units * unit))
            limits[window.units] = max(1, fits // options.sampler.candidates)
        if continues(window):
            batch = [item for item in pending if item[:2] == first[:2]]
        else:
            batch = [item for item in pending
                     if window_of(item).units == window.units and not continues(window_of(item))]
        batch = batch[:limits[window.units]]
        for item in batch:
            del pending[item]
        known = torch.stack([tails[(j, v)] for j, _, v in batch]) if continues(window) else None
        step_counter = None
        if progress is not None:
            count = len(batch) * options.sampler.candidates
            step_counter = lambda step, total: progress(count)  # noqa: E731
        embeddings = torch.stack([jobs[j][1][v, k] for j, k, v in batch])
        seeds = [jobs[j][2][v][k] for j, k, v in batch]
        latents, waves, picks = _sample_window(pipeline, embeddings, seeds, options, window.units * unit, known,
                                               step_counter)
        for row, ((j, k, v), pick) in enumerate(zip(batch, picks)):
            plan = jobs[j][0]
            jobs[j][3][v][k] = pick
            current = plan.windows[k]
            following = plan.windows[k + 1] if k + 1 < len(plan.windows) else None
            if following is not None and continues(following):
                offset = following.first_unit - current.first_unit
                tails[(j, v)] = latents[row, :, offset:offset + following.overlap_units].clone()
            samples_per_unit = int(round(plan.unit * rate))
            _place(outputs[j][v], waves[row][: current.units * samples_per_unit], current, following,
                   samples_per_unit)
        if on_latents is not None:
            for j, k in dict.fromkeys((j, k) for j, k, _ in batch):
                on_latents(j, k, latents[[row for row, item in enumerate(batch) if item[:2] == (j, k)]])
    return [[np.ascontiguousarray(out[:int(round(plan.length * rate))]) for out in waves]
            for (plan, *_), waves in zip(jobs, outputs)]


def _sample_window(pipeline: "WarmModels", embeddings: torch.Tensor, seeds: list[int], options: "GenerateOptions",
                   duration: float, known: torch.Tensor | None,
                   progress: Callable[[int, int], None] | None) -> tuple[torch.Tensor, np.ndarray, list[dict]]:
    """One batch of windows -> (final latents, decoded waves, best-of-N picks)."""
    count = options.sampler.candidates
    if count == 1:
        latents = pipeline.sample_latents(embeddings, seeds, options, duration=duration, known=known, progress=progress)
        return latents, pipeline.generator.decode(latents), [{} for _ in seeds]
    rows = embeddings.repeat_interleave(count, dim=0)
    row_seeds = [candidate_seed(seed, c) for seed in seeds for c in range(count)]
    latents = pipeline.sample_latents(rows, row_seeds, options, duration=duration, progress=progress,
                                      known=None if known is None else known.repeat_interleave(count, dim=0))
    waves = pipeline.generator.decode(latents)[:, : int(round(duration * pipeline.sample_rate))]
    cosines = pipeline.clap_audio_cosine(waves, rows).view(len(seeds), count)
    chosen = cosines.argmax(dim=1).tolist()
    keep = [item * count + best for item, best in enumerate(chosen)]
    picks = [{"candidates": count, "chosen": best, "seed": row_seeds[item * count + best],
              "clap_cosines": [round(float(c), 6) for c in cosines[item]]} for item, best in enumerate(chosen)]
    return latents[keep], waves[keep], picks


def _fade(count: int, join: str) -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out) gains over `count` samples. Continuation overlaps hold nearly the same signal:
    a linear fade keeps its level; independent sounds get equal power (gains squared sum to 1)."""
    position = (np.arange(count, dtype=np.float64) + 0.5) / max(count, 1)
    if join == "continue":
        return position.astype(np.float32), (1.0 - position).astype(np.float32)
    angle = position * (np.pi / 2)
    return np.sin(angle).astype(np.float32), np.cos(angle).astype(np.float32)


def _place(output: np.ndarray, wave: np.ndarray, window: Window, following: Window | None,
           samples_per_unit: int) -> None:
    """Add one window's sound to the output, faded in over its overlap and out over the next one's."""
    wave = wave.astype(np.float32, copy=True)
    fade_in = window.overlap_units * samples_per_unit
    if fade_in:
        wave[:fade_in] *= _fade(fade_in, window.join)[0]
    if following is not None and following.overlap_units:
        fade_out = following.overlap_units * samples_per_unit
        wave[len(wave) - fade_out:] *= _fade(fade_out, following.join)[1]
    begin = window.first_unit * samples_per_unit
    output[begin:begin + len(wave)] += wave


def synthesize(pipeline: "WarmModels", embeddings: torch.Tensor, seeds: Sequence[int], options: "GenerateOptions",
               progress: StepCounter | None = None, *, report: list[dict] | None = None) -> list[np.ndarray]:
    """[N, 512] CLAP conditions -> N waveforms of options.timeline.duration seconds (row i with seeds[i]), through
    the one sampler: each row is a sound of its own (windowed and joined when longer than one window).

    `report`, when given, receives one dict per row: for a one-window sound its best-of-N pick
    (`{"candidates": C, "chosen", "seed", "clap_cosines"}`, or `{"candidates": 1, "seed"}`)."""
    timeline = generator_timeline(pipeline.generator, 0.0, options.timeline.duration, options)
    sounds = [planned_sound(f"condition {i}", "condition", timeline, embeddings[i:i + 1].float(), [seed])
              for i, seed in enumerate(seeds)]
    synthesize_sounds(pipeline, sounds, options, progress=progress)
    if report is not None:
        for sound in sounds:
            pick = sound.track.choices[0][0]
            report.append(pick if pick else {"candidates": 1, "seed": int(sound.track.seeds[0])})
    return [sound.track.waveforms[0] for sound in sounds]


def rows_per_call(pipeline: "WarmModels", options: "GenerateOptions") -> int:
    """Windows (each drawn options.sampler.candidates times) per generator call at a full window's length."""
    longest = dataclasses.replace(options, duration=pipeline.generator.max_duration)  # "auto": what fits
    return max(1, pipeline.batch_size(longest) // options.sampler.candidates)


def group_full(sounds: Sequence[PlannedSound], per_call: int) -> bool:
    """Whether planned sounds are worth generating now: their independent windows of one length fill a
    call, or they hold GROUP_CALLS calls' worth of rows in all (bounds memory and what a kill loses)."""
    by_length: dict[int, int] = {}
    total = 0
    for sound in sounds:
        variations = len(sound.track.seeds)
        total += len(sound.track.timeline.windows) * variations
        for window in sound.track.timeline.windows:
            if not continues(window):
                by_length[window.units] = by_length.get(window.units, 0) + variations
    return total >= GROUP_CALLS * per_call or max(by_length.values(), default=0) >= per_call


def in_groups(pipeline: "WarmModels", sounds: Iterable[PlannedSound], options: "GenerateOptions", *,
              progress: StepCounter | None = None) -> list[PlannedSound]:
    """Plan (the iterable reads its sources lazily) and generate sounds a group at a time (`group_full`),
    as `v2a generate` batches its inputs; returns them all, waveforms filled."""
    per_call = rows_per_call(pipeline, options)
    done: list[PlannedSound] = []
    group: list[PlannedSound] = []
    for sound in sounds:
        group.append(sound)
        if group_full(group, per_call):
            synthesize_sounds(pipeline, group, options, progress=progress)
            done += group
            group = []
    if group:
        synthesize_sounds(pipeline, group, options, progress=progress)
        done += group
    return done


def step_total(sounds: Sequence[PlannedSound], options: "GenerateOptions") -> int:
    """Window-steps that generating these sounds takes (what `synthesize_sounds`' progress counts to)."""
    return sum(len(s.track.timeline.windows) * len(s.track.seeds) for s in sounds) * options.sampler.steps_per_window


def counting(progress: Callable[[int, int], None] | None, total: int) -> StepCounter | None:
    """A `StepCounter` reporting progress(done, total) in window-steps."""
    if progress is None:
        return None
    done = [0]

    def advance(count: int) -> None:
        done[0] += count
        progress(done[0], max(total, done[0]))

    return advance
