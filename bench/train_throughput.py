"""Training throughput (pairs/s) of the four mapper variants at the paper's sizes, on random data.

    python bench/train_throughput.py [--steps 200] [--batch-size 448] [--device auto] [--variants regression/mlp,...]

Runs the real training loop (`v2a_cli.training.train.train_epoch`: device-resident embeddings, seeded
device-side shuffling, AdamW) after a few warm-up steps, and prints pairs/s plus the implied time for
one epoch of VGGSound's 183,730 training pairs and for the paper's 100 epochs.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from v2a_cli.device import pick_device
from v2a_cli.mapper.checkpoint import MapperConfig, build_network
from v2a_cli.mapper.networks import NETWORKS, count_parameters
from v2a_cli.training.train import Objective, Split, train_epoch

VGGSOUND_TRAIN_PAIRS = 183_730


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def measure(kind: str, arch: str, *, steps: int, batch_size: int, device: torch.device, warmup: int = 5,
            **overrides) -> float:
    """pairs/s of the real training loop; `overrides`: MapperConfig sizes (default: the paper's)."""
    config = MapperConfig.for_variant(kind, arch, **overrides)
    torch.manual_seed(0)
    network = build_network(config).to(device).train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1.1e-4)
    objective = Objective(config)
    generator = torch.Generator(device=device).manual_seed(0)
    g = torch.Generator().manual_seed(0)

    def data(n: int) -> Split:
        clip = F.normalize(torch.randn(n, config.dim, generator=g), dim=-1)
        clap = F.normalize(torch.randn(n, config.dim, generator=g), dim=-1)
        return Split(clip, clap).to(device)

    train_epoch(network, objective, optimizer, data(warmup * batch_size), batch_size, generator, lambda s, n: None)
    timed = data(steps * batch_size)
    synchronize(device)
    started = time.perf_counter()
    loss = train_epoch(network, objective, optimizer, timed, batch_size, generator, lambda s, n: None)
    float(loss)  # waits for the device
    seconds = time.perf_counter() - started
    print(f"{kind:>10}/{arch:<11} {count_parameters(network) / 1e6:6.2f}M  {steps * batch_size / seconds:12,.0f} pairs/s"
          f"  epoch {VGGSOUND_TRAIN_PAIRS / (steps * batch_size / seconds):8.1f} s"
          f"  100 epochs {100 * VGGSOUND_TRAIN_PAIRS / (steps * batch_size / seconds) / 3600:7.2f} h", flush=True)
    return steps * batch_size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=448)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--variants", default=",".join(f"{k}/{a}" for k, a in NETWORKS))
    args = parser.parse_args()
    device = pick_device(args.device)
    print(f"device {device}  torch {torch.__version__}  batch {args.batch_size}  steps {args.steps}")
    for variant in args.variants.split(","):
        kind, arch = variant.split("/")
        measure(kind, arch, steps=args.steps, batch_size=args.batch_size, device=device)


if __name__ == "__main__":
    main()
