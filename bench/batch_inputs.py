"""Many pictures in one `generate_files` run: do inputs share generator calls, and what does it buy?

    .venv/bin/python bench/batch_inputs.py                       # tiny zoo (random weights), CPU
    V2A_BENCH_MODEL=full .venv/bin/python bench/batch_inputs.py  # real AudioLDM-S sizes for the generator

Prints (not a test): for N pictures (one window each), the generator calls and wall time of the
generation at --batch-size 1 and at --batch-size B, their ratios, and the largest difference
between the two runs' 16-bit samples (per-row seeds: the same sound, up to kernel rounding).

Environment: V2A_BENCH_MODEL (zoo|full), V2A_BENCH_DEVICE (auto|cpu|cuda), V2A_BENCH_INPUTS (8),
V2A_BENCH_BATCH (4), V2A_BENCH_STEPS (10), V2A_BENCH_SECONDS (5: seconds of sound per picture).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def main() -> None:
    from v2a_cli.generation.batch import generate_files, plan_outputs
    from v2a_cli.generation.pipeline import GenerateOptions, Pipeline
    from v2a_cli.models_config import ModelsConfig
    from v2a_cli.testing.media import make_image
    from v2a_cli.testing.zoo import build_zoo

    count = int(os.environ.get("V2A_BENCH_INPUTS", "8"))
    batch = int(os.environ.get("V2A_BENCH_BATCH", "4"))
    options = GenerateOptions(steps=int(os.environ.get("V2A_BENCH_STEPS", "10")),
                              duration=float(os.environ.get("V2A_BENCH_SECONDS", "5")))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        models = build_zoo(root / "zoo")
        if os.environ.get("V2A_BENCH_MODEL", "zoo") == "full":
            from v2a_cli.testing.zoo_generator import build_generator

            full = build_generator(root / "full-generator", full_size=True)
            models.with_name("models-full.toml").write_text(
                models.read_text().replace('generator = "./generator"', f'generator = "{full}"'))
            models = models.with_name("models-full.toml")
        pipe = Pipeline(ModelsConfig.from_toml(models), device=os.environ.get("V2A_BENCH_DEVICE", "auto"))
        images = [make_image(root / "in" / f"pic{i}.png", color=(30 * i % 256, 120, 200 - 20 * i % 200))
                  for i in range(count)]
        calls = []
        real = pipe.generator.sample_latents

        def counted(embeddings, **kwargs):
            calls.append(len(embeddings))
            return real(embeddings, **kwargs)

        pipe.generator.sample_latents = counted
        generate_files(pipe, plan_outputs(images[:1], options, out_dir=root / "warm"), options)  # warm-up
        results = {}
        for size in (1, batch):
            calls.clear()
            run = replace(options, batch_size=size)
            start = time.perf_counter()
            report = generate_files(pipe, plan_outputs(images, run, out_dir=root / f"b{size}"), run)
            results[size] = (len(calls), time.perf_counter() - start, report.written)
        (calls_1, time_1, files_1), (calls_b, time_b, files_b) = results[1], results[batch]
        worst = max(int(np.abs(np.frombuffer(a.read_bytes(), "<i2", offset=44).astype(int)
                               - np.frombuffer(b.read_bytes(), "<i2", offset=44)).max())
                    for a, b in zip(files_1, files_b))
        print(f"{count} pictures, {options.duration:g} s each, {options.steps} steps, device {pipe.device}:")
        print(f"  batch 1: {calls_1} generator calls, {time_1:.2f} s")
        print(f"  batch {batch}: {calls_b} generator calls, {time_b:.2f} s")
        print(f"  ratio calls {calls_1 / calls_b:.2f}x fewer, wall time {time_1 / time_b:.2f}x faster; "
              f"largest sample difference {worst} (16-bit steps)")


if __name__ == "__main__":
    main()
