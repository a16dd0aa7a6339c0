"""SSV2A mapper cost: seconds per picture at SSV2A's default sampling vs the faster settings docs/sources.md suggests.

    python bench/ssv2a_cycle_mix.py [--device auto] [--slots 64]

SSV2A's released sizes are not known without its files, so the model is a random one at widths
typical of it (CLIP 768, manifold 512, variational MLPs, a 4-layer remixer over 64 slots). Cycle
Mix's cost is linear in (cycle_its + 1) x cycle_samples, so both settings are timed at a few rounds
and scaled; prints seconds per picture for each and their ratio, measured in this one run.
(Measured on the shared 2-core development machine under load: 3218 s vs 73 s, ratio 43.8; the
remixes of a round run through the networks together, which took the default from 11899 s to 3218 s.)
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from v2a_cli.device import pick_device
from v2a_cli.mapper.ssv2a import SSV2AMapper, SSV2ASampling
from v2a_cli.mapper.ssv2a.networks import SSV2ANetworks
from v2a_cli.mapper.protocol import MapperSampling


def config(slots: int) -> dict:
    mlp = {"arch": "mlp", "variational": True, "layers": [512, 512, 512], "resnet": True, "dropout": 0.1}
    return {"clip_dim": 768, "clap_dim": 512, "manifold_dim": 512, "manifold": mlp,
            "generator": {**mlp, "disabled": False},
            "remixer": {"slot": slots, "guidance": "manifold+generator", "cfg": 0.1,
                        "styler": {"arch": "transformer", "variational": True, "embed_dim": 512, "num_layers": 4,
                                   "nhead": 8, "dropout": 0.1, "exp_rate": 2}}}


def seconds_per_picture(mapper: SSV2AMapper, slots: torch.Tensor, sampling: SSV2ASampling, rounds: int = 2,
                        samples: int = 4) -> float:
    """Time `rounds` x `samples` remixes at `sampling.var_samples` and scale to the full setting."""
    start = time.perf_counter()
    mapper.map_slots(slots, seeds=[0], sampling=MapperSampling(var_samples=sampling.var_samples, cycle_its=rounds - 1,
                                                               cycle_samples=samples))
    if slots.device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return elapsed * (sampling.cycle_its + 1) * sampling.cycle_samples / (rounds * samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    parser.add_argument("--slots", type=int, default=64)
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.manual_seed(0)
    mapper = SSV2AMapper(SSV2ANetworks(config(args.slots)).to(device), clip_spec=None)
    slots = torch.nn.functional.normalize(torch.randn(1, 4, 768), dim=-1)
    default, fast = SSV2ASampling(), SSV2ASampling(var_samples=16, cycle_its=8, cycle_samples=16)
    seconds_per_picture(mapper, slots, fast, rounds=1, samples=1)  # warm-up
    t_default = seconds_per_picture(mapper, slots, default)
    t_fast = seconds_per_picture(mapper, slots, fast)
    print(json.dumps({"device": str(device), "default_64_64_64_s": round(t_default, 2),
                      "fast_16_8_16_s": round(t_fast, 2), "default_over_fast": round(t_default / t_fast, 1)}))


if __name__ == "__main__":
    main()
