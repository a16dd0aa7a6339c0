"""Whole-video soundtracks: is memory flat in the video's length, and what do the joins cost?

    .venv/bin/python bench/long_video.py                       # tiny zoo (random weights), CPU
    V2A_BENCH_MODEL=full .venv/bin/python bench/long_video.py  # real AudioLDM-S sizes for the generator

Prints (not a test):
  1. peak RSS of the decode + condition path (frames decoded, CLIP-embedded, scenes found, windows
     planned and mapped) for a 10 s and a 10 min video, each in a fresh subprocess
     (resource.getrusage ru_maxrss), and their ratio (target <= 1.5);
     the same for the whole render (plus generation and joining) of a shorter and a longer video.
  2. seconds of sound per second of compute for join=continue and join=crossfade (same video, same
     steps), and their ratio.

Environment: V2A_BENCH_MODEL (zoo|full), V2A_BENCH_DEVICE (auto|cpu|cuda), V2A_BENCH_STEPS (10),
V2A_BENCH_SIZE (WxH of the test videos, 640x360), V2A_BENCH_FPS (video frame rate, 25),
V2A_BENCH_LONG (seconds of the long video, 600), V2A_BENCH_RENDER (seconds of the whole-render
videos, "20,120"), V2A_BENCH_SPEED_SECONDS (60).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import torch
from v2a_cli.generation.pipeline import GenerateOptions, Pipeline
from v2a_cli.models_config import ModelsConfig
from v2a_cli.generation import condition as conditioning, plan as planning, sample as sampling
mode, video, models, device, steps = sys.argv[1:6]
pipe = Pipeline(ModelsConfig.from_toml(models), device=device)
pipe.clip, pipe.mapper, pipe.generator  # load everything first: model weights are not what we measure
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
options = GenerateOptions(steps=int(steps))
start = time.perf_counter()
if mode == "condition":
    plan, conditions, _, _ = conditioning.plan_source(pipe, video, options, [0])
    windows = len(plan.windows)
else:
    track = pipe.render(video, options, [0])
    windows = len(track.timeline.windows)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"models_kb": before, "peak_kb": peak, "windows": windows,
                  "seconds": time.perf_counter() - start}))
"""


def make_video(path: Path, seconds: float, size: tuple[int, int], fps: int) -> Path:
    """A video of changing pictures (a new look every 7 s), written fast."""
    import av

    width, height = size
    rng = np.random.default_rng(0)
    looks = [rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8) for _ in range(8)]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(int(seconds * fps)):
            look = looks[int(index / fps / 7) % len(looks)]
            pixels = np.kron(np.roll(look, index % 8, axis=1), np.ones((8, 8, 1), dtype=np.uint8))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return path


def measure(mode: str, video: Path, models: Path, device: str, steps: int) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, mode, str(video), str(models), device, str(steps)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    from v2a_cli.device import pick_device

    which = os.environ.get("V2A_BENCH_MODEL", "zoo")
    device = str(pick_device(os.environ.get("V2A_BENCH_DEVICE", "auto")))
    steps = int(os.environ.get("V2A_BENCH_STEPS", "10"))
    width, height = (int(v) for v in os.environ.get("V2A_BENCH_SIZE", "640x360").split("x"))
    fps = int(os.environ.get("V2A_BENCH_FPS", "25"))
    long_seconds = float(os.environ.get("V2A_BENCH_LONG", "600"))
    render_seconds = [float(v) for v in os.environ.get("V2A_BENCH_RENDER", "20,120").split(",")]
    speed_seconds = float(os.environ.get("V2A_BENCH_SPEED_SECONDS", "60"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        from v2a_cli.testing.zoo import build_zoo

        models = build_zoo(root / "zoo")
        if which == "full":
            from v2a_cli.testing.zoo_generator import build_generator

            full = build_generator(root / "full-generator", full_size=True)
            text = models.read_text().replace('generator = "./generator"', f'generator = "{full}"')
            models = root / "zoo" / "models-full.toml"
            models.write_text(text)
        print(f"model={which} device={device} steps={steps} video={width}x{height}@{fps}")

        print("1. peak memory, decode + condition path (fresh process each; RSS above the loaded models):")
        short = make_video(root / "short.mp4", 10.0, (width, height), fps)
        long = make_video(root / "long.mp4", long_seconds, (width, height), fps)
        results = {}
        for name, video, seconds in (("10 s", short, 10.0), (f"{long_seconds:g} s", long, long_seconds)):
            result = measure("condition", video, models, device, steps)
            results[name] = result
            print(f"   {name:>7} video: peak RSS {result['peak_kb'] / 1024:8.1f} MiB (models loaded: "
                  f"{result['models_kb'] / 1024:8.1f} MiB), {result['windows']} windows, {result['seconds']:.1f} s")
        first, second = results.values()
        print(f"   peak ratio long/short: {second['peak_kb'] / first['peak_kb']:.3f}  (target <= 1.5); above the "
              f"loaded models: {(first['peak_kb'] - first['models_kb']) / 1024:.1f} vs "
              f"{(second['peak_kb'] - second['models_kb']) / 1024:.1f} MiB")

        print("   whole render (decode, condition, generate, join):")
        renders = []
        for seconds in render_seconds:
            video = make_video(root / f"render{seconds:g}.mp4", seconds, (width, height), fps)
            result = measure("render", video, models, device, steps)
            renders.append(result)
            print(f"   {seconds:>7g} s video: peak RSS {result['peak_kb'] / 1024:8.1f} MiB, {result['windows']} windows, "
                  f"{result['seconds']:.1f} s")
        print(f"   peak ratio {render_seconds[-1]:g} s / {render_seconds[0]:g} s: "
              f"{renders[-1]['peak_kb'] / renders[0]['peak_kb']:.3f}")

        print(f"2. speed on a {speed_seconds:g} s video ({steps} steps):")
        import torch

        from v2a_cli.generation.pipeline import GenerateOptions, Pipeline
        from v2a_cli.models_config import ModelsConfig

        video = make_video(root / "speed.mp4", speed_seconds, (width, height), fps)
        pipe = Pipeline(ModelsConfig.from_toml(models), device=device)
        pipe.render(video, GenerateOptions(steps=1, end=3.0), [0])  # warm-up
        speeds = {}
        for join in ("continue", "crossfade"):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            track = pipe.render(video, GenerateOptions(steps=steps, join=join), [0])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            speeds[join] = track.timeline.length / elapsed
            print(f"   join={join:9}: {len(track.timeline.windows)} windows, {elapsed:7.2f} s -> "
                  f"{speeds[join]:7.2f} s of sound per s of compute")
        print(f"   continue / crossfade speed ratio: {speeds['continue'] / speeds['crossfade']:.3f}")


if __name__ == "__main__":
    main()
