"""Data-parallel training: 2 CPU processes (torchrun, gloo) match 1 process with the same global batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import torch
import torch.nn.functional as F


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_gloo_ranks_match_one_process(tmp_path):
    from safetensors.torch import load_file, save_file

    from v2a_cli.training.train import TrainConfig, train_mapper

    g = torch.Generator().manual_seed(0)
    clip = F.normalize(torch.randn(300, 512, generator=g), dim=-1)
    clap = F.normalize(clip @ torch.randn(512, 512, generator=g), dim=-1)
    pairs = tmp_path / "pairs.safetensors"
    save_file({"clip": clip, "clap": clap}, str(pairs))
    # 285 train pairs, batch 64: the last batch (29) splits unevenly over the ranks (14 + 15).
    settings = ["--kind", "regression", "--arch", "mlp", "--expansion", "1", "--epochs", "2", "--train-batch-size", "64",
                "--lr", "1e-3", "--device", "cpu"]

    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(free_port()), "-m", "v2a_cli", "-q", "train", "--pairs", str(pairs),
               "--out", str(tmp_path / "ddp"), *settings]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines() == [str(tmp_path / "ddp" / "mapper")]  # rank 0 alone reports

    single = train_mapper(TrainConfig(out=tmp_path / "single", pairs=pairs, kind="regression", arch="mlp", expansion=1,
                                      epochs=2, batch_size=64, lr=1e-3, device="cpu"))
    a = load_file(str(single / "model.safetensors"))
    b = load_file(str(tmp_path / "ddp" / "mapper" / "model.safetensors"))
    gap = max((a[k] - b[k]).abs().max().item() for k in a)
    assert gap < 1e-4, gap  # float summation order differs; training moved the weights by ~1e-2

    state = json.loads((tmp_path / "ddp/checkpoints/epoch-0002/trainer_state.json").read_text())
    assert state["world_size"] == 2
