"""Mapper training on a synthetic ground truth: it learns, resumes bit for bit, exports a loadable mapper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from v2a_cli.errors import V2AError
from v2a_cli.mapper import load_mapper
from v2a_cli.training.train import TrainConfig, TrainUpdate, checkpoint_dirs, train_mapper
from v2a_cli.mapper.protocol import MapperSampling

TINY_TRANSFORMER = {"heads": 2, "dim_head": 32, "ff_mult": 1}



def synthetic_pairs(n: int, *, seed: int = 0, hidden: int = 16, noise: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """x: normalised Gaussian [n, 512]; y = normalise(W2 silu(W1 x) + noise) with hidden random W1, W2.

    The same (W1, W2) for every call (fixed seed); `seed` draws different x and noise.
    """
    weights = torch.Generator().manual_seed(1234)
    w1 = torch.randn(hidden, 512, generator=weights)  # x is unit-norm, so W1 x has unit-variance entries
    w2 = torch.randn(512, hidden, generator=weights) / hidden**0.5
    g = torch.Generator().manual_seed(seed)
    x = F.normalize(torch.randn(n, 512, generator=g), dim=-1)
    y = F.normalize(F.silu(x @ w1.T) @ w2.T + noise * torch.randn(n, 512, generator=g), dim=-1)
    return x, y


def write_pairs(path: Path, clip: torch.Tensor, clap: torch.Tensor) -> Path:
    """The pairs format (safetensors: clip [N,512], clap [N,512] float32)."""
    from safetensors.torch import save_file

    save_file({"clip": clip.contiguous(), "clap": clap.contiguous()}, str(path))
    return path


@pytest.fixture(scope="module")
def learning_pairs(tmp_path_factory):
    """6000 pairs (95/5 split): enough for the synthetic mapping to generalise."""
    return write_pairs(tmp_path_factory.mktemp("learn") / "pairs.safetensors", *synthetic_pairs(6000))


@pytest.fixture(scope="module")
def small_pairs(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("small") / "pairs.safetensors", *synthetic_pairs(400, seed=5))


def held_out(n: int = 300):
    return synthetic_pairs(n, seed=99)  # same hidden W1, W2, fresh inputs


def mean_cosine(mapper, clip, clap, seed=0) -> float:
    mapped = mapper.map(clip, seeds=[seed + row for row in range(len(clip))], sampling=MapperSampling(steps=25))
    return float(torch.nn.functional.cosine_similarity(mapped, clap, dim=-1).mean())


def epoch_reports(updates: list[TrainUpdate]) -> list[TrainUpdate]:
    return [u for u in updates if u.phase == "epoch"]


def test_regression_mlp_learns_the_mapping(tmp_path, learning_pairs):
    updates: list[TrainUpdate] = []
    mapper_dir = train_mapper(TrainConfig(out=tmp_path / "run", pairs=learning_pairs, kind="regression", arch="mlp",
                                          expansion=1, epochs=5, batch_size=128, lr=2e-3, device="cpu"),
                              progress=updates.append)
    reports = epoch_reports(updates)
    assert [u.epoch for u in reports] == [1, 2, 3, 4, 5]
    assert reports[-1].val_cosine >= 0.95 and reports[-1].val_loss < reports[0].val_loss
    mapper = load_mapper(str(mapper_dir))
    assert not mapper.is_generative
    assert mean_cosine(mapper, *held_out()) >= 0.95
    config = json.loads((mapper_dir / "config.json").read_text())
    assert config["training"]["epoch"] == 5 and config["training"]["data"]["n_val"] == 300


def test_regression_transformer_learns(tmp_path, learning_pairs):
    mapper_dir = train_mapper(TrainConfig(out=tmp_path / "run", pairs=learning_pairs, kind="regression",
                                          arch="transformer", depth=2, epochs=3, batch_size=128, lr=3e-3,
                                          device="cpu", **TINY_TRANSFORMER))
    assert mean_cosine(load_mapper(str(mapper_dir)), *held_out()) >= 0.85


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().numpy(), b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.from_numpy(a).T.cov().numpy(), torch.from_numpy(b).T.cov().numpy()
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + (cov_a + cov_b - 2 * covmean).trace())


def test_diffusion_mapper_matches_the_target_distribution(tmp_path, learning_pairs):
    config = TrainConfig(out=tmp_path / "run", pairs=learning_pairs, kind="diffusion", arch="mlp", expansion=1,
                         epochs=3, batch_size=128, lr=2e-3, device="cpu", val_sampling_steps=10, val_max_samples=64)
    trained = load_mapper(str(train_mapper(config)))
    assert trained.is_generative and trained.guidance == 0.9
    untrained = load_mapper(str(_untrained_like(tmp_path / "untrained", config)))
    clip, clap = held_out()
    seeds = list(range(len(clip)))
    fd_trained = frechet_distance(trained.map(clip, seeds=seeds, sampling=MapperSampling(steps=25)), clap)
    fd_untrained = frechet_distance(untrained.map(clip, seeds=seeds, sampling=MapperSampling(steps=25)), clap)
    assert fd_trained < 0.25 * fd_untrained
    assert mean_cosine(trained, clip, clap) > 0.8

    # one-to-many: one input, several seeds -> different samples around the target
    samples = trained.map(clip[:1].expand(6, -1), seeds=range(6))
    assert samples.std(dim=0).sum() > 0
    assert torch.equal(trained.map(clip[:4], seeds=[3] * 4), trained.map(clip[:4], seeds=[3] * 4))


def _untrained_like(folder, config: TrainConfig):
    from v2a_cli.mapper.model import TrainedMapper

    return TrainedMapper.random(config.mapper_config(dim=512), seed=1).save_pretrained(folder)


class Killed(Exception):
    pass


def kill_after_epoch(epoch: int):
    def progress(update: TrainUpdate) -> None:
        if update.phase == "epoch" and update.epoch == epoch:
            raise Killed

    return progress


@pytest.mark.parametrize(("kind", "arch", "settings"), [
    ("diffusion", "mlp", {"expansion": 1}),
    ("regression", "transformer", {"depth": 1, **TINY_TRANSFORMER}),
])
def test_resume_is_bit_for_bit(tmp_path, small_pairs, kind, arch, settings):
    def config(out, **extra):
        return TrainConfig(out=out, pairs=small_pairs, kind=kind, arch=arch, epochs=3, batch_size=64, lr=1e-3,
                           device="cpu", val_sampling_steps=2, val_max_samples=8, **settings, **extra)

    straight = train_mapper(config(tmp_path / "straight"))
    with pytest.raises(Killed):
        train_mapper(config(tmp_path / "killed"), progress=kill_after_epoch(2))
    assert [p.name for p in checkpoint_dirs(tmp_path / "killed")] == ["epoch-0001", "epoch-0002"]
    resumed = train_mapper(config(tmp_path / "killed", resume=True))  # fresh objects, as a new process would

    from safetensors.torch import load_file

    for name in ("checkpoints/epoch-0003/model.safetensors", "checkpoints/epoch-0003/optimizer.safetensors"):
        a, b = load_file(str(tmp_path / "straight" / name)), load_file(str(tmp_path / "killed" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    state = json.loads((tmp_path / "killed/checkpoints/epoch-0003/trainer_state.json").read_text())
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3]


def test_checkpoints_are_complete_loadable_and_pruned(tmp_path, small_pairs):
    out = tmp_path / "run"
    train_mapper(TrainConfig(out=out, pairs=small_pairs, kind="regression", arch="mlp", expansion=1, epochs=3,
                             batch_size=128, device="cpu", keep_checkpoints=2))
    assert [p.name for p in checkpoint_dirs(out)] == ["epoch-0002", "epoch-0003"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch-0002", "epoch-0003"]  # no temp dirs
    newest = checkpoint_dirs(out)[-1]
    assert sorted(p.name for p in newest.iterdir()) == [
        "config.json", "model.safetensors", "optimizer.json", "optimizer.safetensors", "rng.safetensors",
        "trainer_state.json"]
    assert load_mapper(str(newest)).map(torch.randn(2, 512)).shape == (2, 512)  # a checkpoint is a mapper too
    state = json.loads((newest / "trainer_state.json").read_text())
    assert state["epoch"] == 3 and state["best_epoch"] in (1, 2, 3)


def test_rerun_and_resume_misuse_are_one_line_errors(tmp_path, small_pairs):
    base = dict(pairs=small_pairs, kind="regression", arch="mlp", expansion=1, epochs=1, batch_size=128, device="cpu")
    with pytest.raises(V2AError, match="no checkpoint to resume"):
        train_mapper(TrainConfig(out=tmp_path / "run", resume=True, **base))
    train_mapper(TrainConfig(out=tmp_path / "run", **base))
    with pytest.raises(V2AError, match="pass --resume"):
        train_mapper(TrainConfig(out=tmp_path / "run", **base))
    with pytest.raises(V2AError, match="lr changed"):
        train_mapper(TrainConfig(out=tmp_path / "run", resume=True, **{**base, "epochs": 2, "lr": 0.5}))
    with pytest.raises(V2AError, match="exactly one of --pairs"):
        train_mapper(TrainConfig(out=tmp_path / "other", **{**base, "pairs": None}))
    with pytest.raises(V2AError, match="--kind"):
        train_mapper(TrainConfig(out=tmp_path / "other", **{**base, "kind": "gan"}))


def test_validation_comes_from_the_training_rows_never_the_test_rows(tmp_path):
    """Rows the split CSV marks test are never read: here they hold NaN, and every loss stays finite."""
    from v2a_cli.training.pairs import save_pairs

    clip, clap = synthetic_pairs(120, seed=3)
    names = [f"vid{i:03d}_{i:06d}.mp4" for i in range(120)]
    test_rows = list(range(0, 120, 4))  # 30 test rows
    clip[test_rows], clap[test_rows] = float("nan"), float("nan")
    pairs = save_pairs(tmp_path / "pairs.safetensors", clip, clap, names)
    csv = tmp_path / "split.csv"
    csv.write_text("".join(f"vid{i:03d},{i},dog barking,{'test' if i in test_rows else 'train'}\n" for i in range(120)))
    updates: list[TrainUpdate] = []
    mapper_dir = train_mapper(TrainConfig(out=tmp_path / "run", pairs=pairs, split_csv=csv, kind="regression",
                                          arch="mlp", expansion=1, epochs=2, batch_size=32, device="cpu",
                                          val_fraction=0.05), progress=updates.append)
    info = json.loads((mapper_dir / "config.json").read_text())["training"]
    assert (info["data"]["n_train"], info["data"]["n_val"]) == (86, 4)  # 90 train rows, 5 % held out
    assert "training rows" in info["data"]["validation"]
    for report in epoch_reports(updates):
        assert torch.isfinite(torch.tensor([report.train_loss, report.val_loss, report.val_cosine])).all()


def test_exports_the_last_epoch_by_default_and_the_best_on_request(tmp_path, small_pairs):
    common = dict(pairs=small_pairs, kind="regression", arch="mlp", expansion=1, epochs=3, batch_size=64,
                  lr=5e-2, device="cpu")
    last = json.loads((train_mapper(TrainConfig(out=tmp_path / "last", **common)) / "config.json").read_text())
    assert (last["training"]["epoch"], last["training"]["selected"]) == (3, "last")

    best_dir = train_mapper(TrainConfig(out=tmp_path / "best", select="best", **common))
    state = json.loads((checkpoint_dirs(tmp_path / "best")[-1] / "trainer_state.json").read_text())
    best = json.loads((best_dir / "config.json").read_text())["training"]
    assert (best["epoch"], best["selected"]) == (state["best_epoch"], "best")
    assert best["val_loss"] == min(record["val_loss"] for record in state["history"])


@pytest.mark.parametrize(("settings", "message"), [
    ({"val_fraction": 0.7}, "--val-fraction"),
    ({"val_fraction": float("nan")}, "--val-fraction"),
    ({"select": "worst"}, "--select"),
    ({"select": "best", "val_fraction": 0.0}, "needs validation rows"),
])
def test_rejects_bad_validation_settings(tmp_path, small_pairs, settings, message):
    with pytest.raises(V2AError, match=message):
        train_mapper(TrainConfig(out=tmp_path / "run", pairs=small_pairs, kind="regression", arch="mlp",
                                 epochs=1, device="cpu", **settings))
