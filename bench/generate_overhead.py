"""How much does AudioLDMGenerator.generate() add on top of the model forward passes it makes?

    .venv/bin/python bench/generate_overhead.py                      # tiny zoo AudioLDM
    V2A_BENCH_MODEL=full .venv/bin/python bench/generate_overhead.py # real AudioLDM-S sizes, random weights

Prints two ratios (not a test):
  overhead = generate() time / (steps x guided UNet call + VAE decode + vocoder), same inputs (target <= 1.3)
  batching = 16 x batch-1 time / one batch-16 time (throughput gain of batching; > 1 is a gain)

Environment: V2A_BENCH_MODEL (zoo|full), V2A_BENCH_DEVICE (auto|cpu|cuda), V2A_BENCH_DTYPE (auto|float32|
float16|bfloat16), V2A_BENCH_STEPS (default 25), V2A_BENCH_DURATION (10), V2A_BENCH_BATCH (16 on CUDA, 4 on
CPU), V2A_BENCH_REPEATS (3; the best run counts), V2A_BENCH_SCHEDULER (ddim).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from v2a_cli.device import pick_device, pick_dtype
from v2a_cli.audioldm.generator import AudioLDMGenerator
from v2a_cli.audioldm.schedulers import build_scheduler
from v2a_cli.testing.zoo_generator import build_generator


def timed(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def best_times(fns: list[Callable[[], object]], device: torch.device, repeats: int) -> list[float]:
    """Best time of each function, runs interleaved so that load changes on a shared machine hit all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for index, fn in enumerate(fns):
            best[index] = min(best[index], timed(fn, device))
    return best


@torch.inference_mode()
def forward_passes(generator: AudioLDMGenerator, *, count: int, steps: int, duration: float,
                   scheduler: str) -> Callable[[], None]:
    """The model calls generate() makes for `count` items, with the same shapes and dtypes, and nothing else."""
    frames = generator.latent_frames(duration)
    shape = (count, generator.unet.config.in_channels, frames // generator.vae_scale_factor,
             generator.mel_bins // generator.vae_scale_factor)
    latents = torch.randn(shape, device=generator.device)
    model_input = torch.cat([latents, latents]).to(generator.dtype)
    class_labels = torch.randn(2 * count, generator.embed_dim, device=generator.device).to(generator.dtype)
    sampler = build_scheduler(scheduler, generator.scheduler_config)
    sampler.set_timesteps(steps, device=generator.device)
    timesteps = list(sampler.timesteps)
    scaled = (latents / generator.vae.config.scaling_factor).to(generator.dtype)

    def run() -> None:
        with torch.inference_mode():
            for timestep in timesteps:
                generator.unet(model_input, timestep, encoder_hidden_states=None, class_labels=class_labels)
            mel = generator.vae.decode(scaled).sample
            generator.vocoder(mel.squeeze(1))

    return run


def main() -> None:
    which = os.environ.get("V2A_BENCH_MODEL", "zoo")
    device = pick_device(os.environ.get("V2A_BENCH_DEVICE", "auto"))
    dtype = pick_dtype(os.environ.get("V2A_BENCH_DTYPE", "auto"), device)
    steps = int(os.environ.get("V2A_BENCH_STEPS", "25"))
    duration = float(os.environ.get("V2A_BENCH_DURATION", "10"))
    batch = int(os.environ.get("V2A_BENCH_BATCH", "16" if device.type == "cuda" else "4"))
    repeats = int(os.environ.get("V2A_BENCH_REPEATS", "3"))
    scheduler = os.environ.get("V2A_BENCH_SCHEDULER", "ddim")

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_generator(Path(tmp) / "generator", full_size=(which == "full"))
        generator = AudioLDMGenerator.load(str(folder), device=device, dtype=dtype)
    print(f"model={which} device={device} dtype={dtype} steps={steps} duration={duration} s scheduler={scheduler}")

    def generate(count: int) -> None:
        embeddings = torch.randn(count, generator.embed_dim)
        generator.generate(embeddings, seeds=list(range(count)), steps=steps, duration=duration,
                           scheduler=scheduler)

    generate(1)  # warm-up: kernels, allocator, cached empty embedding
    forwards = forward_passes(generator, count=1, steps=steps, duration=duration, scheduler=scheduler)
    forwards()
    generate_time, forward_time = best_times([lambda: generate(1), forwards], device, repeats)
    print(f"generate(1):        {generate_time * 1000:9.1f} ms")
    print(f"forward passes:     {forward_time * 1000:9.1f} ms  ({steps} guided UNet calls + VAE + vocoder)")
    print(f"overhead ratio:     {generate_time / forward_time:9.3f}  (target <= 1.3)")

    generate(batch)  # warm-up at the batch shape
    batched, singles = best_times([lambda: generate(batch), lambda: [generate(1) for _ in range(batch)]],
                                  device, max(1, repeats - 1))
    print(f"batch-{batch}:          {batched * 1000:9.1f} ms   {batch} x batch-1: {singles * 1000:9.1f} ms")
    print(f"batching throughput ratio: {singles / batched:6.2f}  (batch-{batch} vs {batch} x batch-1)")


if __name__ == "__main__":
    main()
