"""`torchrun --nproc_per_node 2 -m v2a_cli generate|eval` on CPU (gloo): the same files and scores as one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from v2a_cli.testing.media import make_image, make_video, make_wav


def run(args: list[str], *, ranks: int, cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    # One thread per process in both runs (torchrun's default), so the arithmetic is the same.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "V2A_CACHE": str(cache)}
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
                if ranks > 1 else [sys.executable])
    return subprocess.run([*launcher, "-m", "v2a_cli", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("torchrun-inputs")
    # Three inputs (an odd count: the ranks' shares differ), a picture and a video among them.
    make_image(root / "a.png", color=(200, 30, 30))
    make_video(root / "c.mp4", seconds=1.0, fps=5)
    make_image(root / "sub" / "a.png", color=(30, 30, 200))  # same stem: named a-2 in both runs
    return root


def test_generate_with_two_ranks_writes_the_files_one_process_writes(inputs, zoo_models_toml, tmp_path):
    common = ["--models", str(zoo_models_toml), "--quiet", "generate", str(inputs), "--steps", "2", "--duration", "0.5",
              "--variations", "2", "--batch-size", "1", "--device", "cpu"]
    single = run([*common, "-d", str(tmp_path / "one")], ranks=1, cache=tmp_path / "cache", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    double = run([*common, "-d", str(tmp_path / "two")], ranks=2, cache=tmp_path / "cache", cwd=tmp_path)
    assert double.returncode == 0, double.stderr

    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert len(names) == 6 and sorted(p.name for p in (tmp_path / "two").iterdir()) == names
    for name in names:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    # rank 0 prints every written path once, in the single run's order
    assert double.stdout.splitlines() == [line.replace("/one/", "/two/") for line in single.stdout.splitlines()]


def test_eval_with_two_ranks_gives_the_scores_of_one_process(zoo_models_toml, tmp_path):
    for i in range(3):  # an odd count: the ranks' shares differ in size
        make_wav(tmp_path / "gen" / f"clip{i}.wav", seconds=1.5, frequency=300 + 150 * i)
        make_wav(tmp_path / "refs" / f"clip{i}.wav", seconds=1.5, frequency=320 + 140 * i)
        make_video(tmp_path / "videos" / f"clip{i}.mp4", seconds=4.0, frequency=330 + 120 * i)  # ImageBind's share too
    scores, cached = {}, {}
    for ranks in (1, 2):
        out = tmp_path / f"scores{ranks}.json"
        done = run(["--models", str(zoo_models_toml), "--quiet", "eval", str(tmp_path / "gen"), "--refs",
                    str(tmp_path / "refs"), "--metrics", "fd,kl,is,fd_passt,kl_panns,ib_score", "--videos", str(tmp_path / "videos"),
                    "--audio-length", "4", "--save-json", str(out), "--device", "cpu"],
                   ranks=ranks, cache=tmp_path / f"cache{ranks}", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        scores[ranks] = json.loads(out.read_text())
        cached[ranks] = {p.relative_to(tmp_path / f"cache{ranks}") for p in (tmp_path / f"cache{ranks}").rglob("*")}
    assert cached[2] == cached[1]  # the two ranks' shares together: every file's embeddings
    assert scores[2]["counts"] == scores[1]["counts"]
    assert {"fd", "kl", "fd_passt", "kl_panns", "ib_score"} <= set(scores[1]["metrics"])  # sounds and videos sharded
    # A rank embeds its share in other batches than one process does (float32 rounding, ~1e-7), and FD on a
    # few clips (singular covariances) amplifies that: 1.3e-6 relative measured with 3 clips. A file lost or
    # counted twice moves every score by far more than 1e-4.
    for name, value in scores[1]["metrics"].items():
        assert scores[2]["metrics"][name] == pytest.approx(value, rel=1e-4, abs=1e-9), name
