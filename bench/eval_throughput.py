"""Embedding extraction speed of `v2a eval`: files per second on a first (cold) run and a cached run.

    python bench/eval_throughput.py                       # tiny random-weight networks, 24 clips of 10 s
    python bench/eval_throughput.py --models models.toml --files 100 --device cuda

Uses a fresh temporary cache (V2A_CACHE), so the first run really computes every embedding.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="models TOML (default: the tiny zoo's evaluation networks)")
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["V2A_CACHE"] = str(root / "cache")
        import numpy as np
        import soundfile

        from v2a_cli.device import pick_device
        from v2a_cli.evaluation.evaluator import extract_embeddings
        from v2a_cli.models_config import ModelsConfig
        from v2a_cli.loaders import load_model

        if args.models:
            models = ModelsConfig.from_toml(args.models)
            specs = {kind: getattr(models, kind) for kind in ("panns", "vggish", "wav2clip", "passt")}
        else:
            from v2a_cli.testing.zoo_eval import build_eval_models

            specs = build_eval_models(root / "zoo")
        rng = np.random.default_rng(0)
        paths = []
        for index in range(args.files):
            t = np.arange(int(args.seconds * 16000)) / 16000
            wave = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t) + 0.05 * rng.standard_normal(t.shape)
            path = root / "sounds" / f"clip{index:04d}.wav"
            path.parent.mkdir(exist_ok=True)
            soundfile.write(path, wave.astype(np.float32), 16000)
            paths.append(path)

        device = pick_device(args.device)
        networks = [load_model(kind, spec, device=device) for kind, spec in specs.items()]
        timings = []
        for label in ("first run", "cached run"):
            start = time.perf_counter()
            _, problems = extract_embeddings(paths, networks, batch_size=args.batch_size)
            if device.type == "cuda":
                import torch

                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            timings.append(elapsed)
            print(f"{label:>10}: {len(paths) / elapsed:8.1f} files/s ({elapsed:.2f} s, {len(problems)} problems)")
        print(f"cached / first speed-up: {timings[0] / timings[1]:.1f}x "
              f"({args.files} files of {args.seconds:g} s, networks: {', '.join(specs)}, device {device})")


if __name__ == "__main__":
    sys.exit(main())
