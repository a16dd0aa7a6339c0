"""Generative mapper sampling throughput: rows/s one row per call vs all rows in one batched call.

    python bench/mapper_throughput.py [--arch transformer] [--steps 200] [--rows 256] [--tiny] [--device auto]

Both ways run `TrainedMapper.map` with per-row seeds (row i's result does not depend on its batch, which the
bench checks too); prints rows/s at batch 1, at batch `--rows`, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from v2a_cli.device import pick_device
from v2a_cli.mapper.checkpoint import MapperConfig
from v2a_cli.mapper.model import TrainedMapper
from v2a_cli.testing.zoo_mapper import TINY_SETTINGS
from v2a_cli.mapper.protocol import MapperSampling


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(*, arch: str = "transformer", steps: int = 200, rows: int = 256, single_rows: int = 8,
            tiny: bool = False, device: str | torch.device = "auto") -> dict:
    """rows/s at batch 1 (over `single_rows` rows) and at batch `rows`, for a random diffusion mapper."""
    device = pick_device(str(device)) if not isinstance(device, torch.device) else device
    config = MapperConfig.for_variant("diffusion", arch, **(TINY_SETTINGS if tiny else {}))
    mapper = TrainedMapper.random(config, seed=0)
    mapper.network.to(device)
    clip = torch.randn(rows, config.dim, generator=torch.Generator().manual_seed(0))
    seeds = list(range(rows))
    mapper.map(clip[:2], seeds=seeds[:2], sampling=MapperSampling(steps=2))  # warm-up
    sampling = MapperSampling(steps=steps)
    synchronize(device)
    started = time.perf_counter()
    singles = [mapper.map(clip[i:i + 1], seeds=[i], sampling=sampling) for i in range(single_rows)]
    synchronize(device)
    single_rate = single_rows / (time.perf_counter() - started)
    started = time.perf_counter()
    batched = mapper.map(clip, seeds=seeds, sampling=sampling)
    synchronize(device)
    batch_rate = rows / (time.perf_counter() - started)
    difference = float((torch.cat(singles) - batched[:single_rows]).abs().max())
    return {"variant": f"diffusion/{arch}", "tiny": tiny, "steps": steps, "device": str(device),
            "rows_per_s_batch_1": single_rate, f"rows_per_s_batch_{rows}": batch_rate,
            "ratio": batch_rate / single_rate, "max_abs_difference_batched_vs_single": difference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="transformer", choices=["mlp", "transformer"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--single-rows", type=int, default=8, help="rows timed one at a time")
    parser.add_argument("--tiny", action="store_true", help="the test zoo's tiny mapper instead of the paper's size")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    result = measure(arch=args.arch, steps=args.steps, rows=args.rows, single_rows=args.single_rows,
                     tiny=args.tiny, device=args.device)
    print(f"{result['variant']} ({'tiny' if args.tiny else 'paper size'}, {args.steps} steps, {result['device']}): "
          f"batch 1 {result['rows_per_s_batch_1']:.1f} rows/s, batch {args.rows} "
          f"{result[f'rows_per_s_batch_{args.rows}']:.1f} rows/s, ratio {result['ratio']:.1f}x "
          f"(max |batched - single| {result['max_abs_difference_batched_vs_single']:.1e})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
