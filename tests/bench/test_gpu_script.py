"""`bench/gpu.sh --smoke`: the GPU figures script runs end to end on CPU with the tiny models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_script_smoke_writes_every_figure(tmp_path):
    out = tmp_path / "smoke.json"
    env = {**os.environ, "PYTHON": sys.executable, "V2A_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), "--smoke", "--out", str(out)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True and report["device"] == "cpu"
    generation = report["generation"]
    for key in ("s_per_clip_batch1_paper", "s_per_clip_batch1_fast", "clips_per_s_batch2", "unet_gflop_per_guided_step"):
        assert generation[key] > 0, key
    assert report["mapper"]["rows_per_s_batch_8"] > 0 and report["mapper"]["max_abs_difference_batched_vs_single"] < 1e-5
    assert report["extraction"]["extract_clips_per_s"] > 0 and report["extraction"]["decode_clips_per_s"] > 0
    assert set(report["training"]) - {"wall_s"} == {"regression/mlp", "regression/transformer", "diffusion/mlp",
                                                    "diffusion/transformer"}
    assert all(part["pairs_per_s"] > 0 for name, part in report["training"].items() if name != "wall_s")


def test_gpu_script_smoke_leaves_nothing_in_the_checkout(monkeypatch):
    """`bench/gpu.sh --smoke` without --out writes into the temp folder, not an untracked bench/results/."""
    import datetime
    import importlib.util
    import tempfile

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("gpu_bench_for_test", ROOT / "bench" / "gpu_bench.py")
    gpu_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_bench)
    stamp = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    smoke = gpu_bench.default_out(True, stamp)
    assert smoke.parent == Path(tempfile.gettempdir())
    assert gpu_bench.default_out(False, stamp) == ROOT / "bench" / "results" / "gpu-2026-01-02.json"
