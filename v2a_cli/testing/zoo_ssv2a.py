"""A random-weight SSV2A checkpoint written in SSV2A's own layout: ssv2a.json + ssv2a.pth (+ agg.pth).

`ssv2a.pth` is `torch.save` of {'timestamp', 'manifold_state', 'generator_state', 'remixer_state'},
as SSV2A's `Pipeline.save` writes it; `agg.pth` is its Aggregator's state dict. The config holds every
key SSV2A's code reads, with small widths; clip_dim matches the zoo's CLIP (512).
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_SSV2A_CONFIG = {
    "clip_dim": 512,
    "clap_dim": 512,
    "manifold_dim": 32,
    "checkpoints": "./checkpoints",
    "audioldm_version": "audioldm-s-full-v2",
    "detector": {"detection_model": "yolov8x-oi7.pt", "conf": 0.5, "iou": 0.5, "max_det": 64, "crop": True},
    "manifold": {"arch": "mlp", "variational": True, "layers": [32, 32], "resnet": False, "dropout": 0.1,
                 "kl_weight": 0.001, "cr_weight": 0.0},
    "generator": {"disabled": False, "arch": "mlp", "variational": True, "layers": [32, 32], "resnet": False,
                  "dropout": 0.1, "kl_weight": 0.001},
    "remixer": {"slot": 8, "guidance": "manifold+generator", "cfg": 0.1,
                "styler": {"arch": "transformer", "variational": True, "embed_dim": 32, "num_layers": 1,
                           "nhead": 2, "dropout": 0.1, "exp_rate": 1, "kl_weight": 0.001}},
}


def build_ssv2a(folder: str | Path, *, seed: int = 0, aggregator: bool = True, clip_dim: int = 512) -> Path:
    """Write ssv2a.json, ssv2a.pth (and agg.pth) into `folder`; return the folder."""
    import torch

    from v2a_cli.mapper.ssv2a.networks import SSV2ANetworks

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads(json.dumps(TINY_SSV2A_CONFIG))
    config["clip_dim"] = clip_dim
    torch.manual_seed(seed)
    networks = SSV2ANetworks(config, with_aggregator=aggregator)
    with torch.no_grad():  # SSV2A starts some tokens at zero; random everywhere exercises every weight
        for param in networks.parameters():
            param.copy_(torch.randn_like(param) * (0.3 if param.ndim > 1 else 0.1))
    state, agg_state = networks.original_state()
    (folder / "ssv2a.json").write_text(json.dumps(config, indent=2) + "\n")
    torch.save(state, folder / "ssv2a.pth")
    if agg_state is not None:
        torch.save(agg_state, folder / "agg.pth")
    return folder


if __name__ == "__main__":  # python -m v2a_cli.testing.zoo_ssv2a DIR
    import sys

    print(build_ssv2a(sys.argv[1]))
