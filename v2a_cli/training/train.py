"""Mapper training: regression or diffusion, MLP or Transformer; resumable bit for bit; data-parallel.

Layout of `out/`:
    checkpoints/epoch-0007/   model.safetensors + config.json (a loadable mapper), optimizer.safetensors +
                              optimizer.json, rng.safetensors, trainer_state.json; written atomically
    mapper/                   the exported mapper: the last epoch, or with select="best" the epoch with the
                              lowest validation loss; config.json + model.safetensors
    embeddings/               the extraction cache, when training from --data

Everything random in the loop (shuffling, diffusion timesteps and noise, condition dropout) comes from
one generator on the training device, saved with each checkpoint, so a resumed run repeats exactly what
the uninterrupted run would have done. The embeddings stay on the device for the whole run.

Validation rows are a seeded share (`val_fraction`) of the TRAINING rows. Rows a split CSV or the
extraction cache marks "test" are never read here, so numbers later reported on the test split were not
tuned on it (docs/training.md).

Data-parallel: launch with torchrun (`torchrun --nproc_per_node N -m v2a_cli train ...`). Every rank
holds all pairs and the same generator, draws the same global batch, and trains on its contiguous
slice of it; DistributedDataParallel averages the gradients. Losses are weighted so the update equals
one process training on the global batch.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from v2a_cli.errors import InputError, V2AError
from v2a_cli.mapper.checkpoint import MapperConfig, build_network, write_mapper_folder
from v2a_cli.mapper.diffusion import GaussianDiffusion

CHECKPOINTS_DIR = "checkpoints"
MAPPER_DIR = "mapper"
EMBEDDINGS_DIR = "embeddings"
TRAINER_STATE = "trainer_state.json"
OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_JSON = "optimizer.json"
RNG_TENSORS = "rng.safetensors"

# Settings that must not change when a run is resumed (epochs may grow; device and world size may change).
RESUME_INVARIANTS = ("kind", "arch", "depth", "expansion", "heads", "dim_head", "ff_mult", "batch_size", "lr", "weight_decay", "seed", "aggregate",
                     "val_fraction", "select")
SELECTIONS = ("last", "best")  # which epoch becomes out/mapper


@dataclass
class TrainConfig:
    out: Path
    pairs: Path | None = None  # a pairs file (clip [N,512], clap [N,512])
    data: Path | None = None  # a folder of videos (extracted into out/embeddings first)
    split_csv: Path | None = None  # VGGSound-style train/test CSV
    kind: str = "diffusion"  # regression | diffusion
    arch: str = "transformer"  # mlp | transformer
    depth: int | None = None  # None: the paper's best for the variant
    expansion: int | None = None
    heads: int | None = None  # transformer width settings; None: the paper's (12 heads x 64, FF x4)
    dim_head: int | None = None
    ff_mult: int | None = None
    aggregate: str = "average"  # how a video's frame embeddings become one (average | middle | random)
    epochs: int = 100
    batch_size: int = 448
    lr: float = 1.1e-4
    weight_decay: float = 0.01  # AdamW's default; the paper gives none
    seed: int = 0
    resume: bool = False
    guidance: float = 0.9  # stored as the mapper's default classifier-free guidance
    device: str = "auto"
    val_fraction: float = 0.05  # validation = this seeded share of the training rows (0: no validation)
    select: str = "last"  # exported mapper: the last epoch, or "best" by validation loss
    val_sampling_steps: int = 25  # diffusion validation cosine: sampling steps (fewer than inference's 200)
    val_max_samples: int = 1024
    keep_checkpoints: int = 2  # newest epoch checkpoints kept (each holds weights + Adam moments)
    models: str | None = None  # models TOML for extraction (CLIP, CLAP)
    extract_options: dict[str, Any] = field(default_factory=dict)
    push_to_hub: str | None = None

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.pairs = Path(self.pairs) if self.pairs else None
        self.data = Path(self.data) if self.data else None
        self.split_csv = Path(self.split_csv) if self.split_csv else None

    def mapper_config(self, dim: int) -> MapperConfig:
        return MapperConfig.for_variant(self.kind, self.arch, depth=self.depth, expansion=self.expansion, dim=dim,
                                        heads=self.heads, dim_head=self.dim_head, ff_mult=self.ff_mult,
                                        guidance=self.guidance)

    def summary(self) -> dict[str, Any]:
        return {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(self).items()}


@dataclass
class TrainUpdate:
    """What `progress` is told: after extracting --data (`phase="data"`), after each step (`phase="step"`)
    and after each epoch (`phase="epoch"`)."""
    phase: str
    epoch: int  # 1-based
    epochs: int
    step: int = 0
    steps: int = 0
    train_loss: float | None = None
    val_loss: float | None = None
    val_cosine: float | None = None
    best: bool = False
    note: str | None = None  # phase="data": what extraction kept and skipped


ProgressCallback = Callable[[TrainUpdate], None]


@dataclass
class Split:
    clip: torch.Tensor
    clap: torch.Tensor

    def __len__(self) -> int:
        return len(self.clip)

    def to(self, device: torch.device) -> "Split":
        return Split(self.clip.to(device), self.clap.to(device))


# -- data ---------------------------------------------------------------------------------------------

def load_training_data(config: TrainConfig, device: torch.device, progress: ProgressCallback | None = None
                       ) -> tuple[Split, Split, dict[str, Any]]:
    """(train, validation, info) on CPU, from --pairs or --data (extracting first)."""
    if (config.pairs is None) == (config.data is None):
        raise V2AError("give exactly one of --pairs FILE or --data DIR")
    if config.pairs is not None:
        train, val, info = _pairs_file_splits(config)
    else:
        train, val, info = _cache_splits(config, device, progress or (lambda update: None))
    if len(train) == 0:
        raise V2AError("no training pairs left after the split; add data or change --split-csv")
    if train.clip.shape[1] != train.clap.shape[1]:
        raise V2AError(f"CLIP ({train.clip.shape[1]}-d) and CLAP ({train.clap.shape[1]}-d) embeddings differ in width")
    info.update(n_train=len(train), n_val=len(val), dim=train.clip.shape[1],
                fingerprint=_fingerprint(train, val))
    return train, val, info


def _pairs_file_splits(config: TrainConfig) -> tuple[Split, Split, dict[str, Any]]:
    from v2a_cli.training.pairs import load_pair_names, load_pairs

    clip, clap = load_pairs(config.pairs)
    info = {"data": str(config.pairs), "validation": _validation_label(config)}
    if config.split_csv is not None:
        from v2a_cli.training.splits import assign_splits

        names = load_pair_names(config.pairs)
        if names is None:
            raise InputError(config.pairs, "has no clip names, so --split-csv cannot be applied; "
                                           "export it with names (v2a extract) or drop --split-csv")
        entries = assign_splits(names, split_csv=config.split_csv)
        rows = [i for i, path in enumerate(names) if entries[path] and entries[path].split == "train"]
        clip, clap = clip[rows], clap[rows]  # the test rows are dropped before anything looks at them
        info["split"] = f"train rows of {config.split_csv}"
    train, val = seeded_split(clip, clap, config.val_fraction, config.seed)
    return train, val, info


def _cache_splits(config: TrainConfig, device: torch.device, progress: ProgressCallback
                  ) -> tuple[Split, Split, dict[str, Any]]:
    from v2a_cli.models_config import ModelsConfig
    from v2a_cli.training.extract import extract_folder, report_summary, require_clips
    from v2a_cli.training.pairs import load_cached_pairs

    cache = config.out / EMBEDDINGS_DIR
    if is_main_process():  # finished shards are kept, so this only embeds what is missing
        report = extract_folder(config.data, cache, models=ModelsConfig.load(config.models),
                                split_csv=config.split_csv, device=str(device), rank=0, world_size=1,
                                **config.extract_options)
        require_clips(report, config.data)
        progress(TrainUpdate("data", 0, config.epochs, note=report_summary(report)))
    barrier()
    # Only the cache's train split is read; its test split stays unseen until evaluation.
    clip, clap = load_cached_pairs(cache, split="train", aggregate=config.aggregate, seed=config.seed)
    train, val = seeded_split(clip, clap, config.val_fraction, config.seed)
    return train, val, {"data": str(config.data), "cache": str(cache), "aggregate": config.aggregate,
                        "split": "train split of the cache", "validation": _validation_label(config)}


def _validation_label(config: TrainConfig) -> str:
    if config.val_fraction == 0:
        return "none"
    return f"seeded {config.val_fraction:.1%} of the training rows (seed {config.seed})"


def seeded_split(clip: torch.Tensor, clap: torch.Tensor, val_fraction: float, seed: int) -> tuple[Split, Split]:
    """(train, validation): `val_fraction` of the rows (at least one, when asked for any) in a seeded order."""
    order = torch.randperm(len(clip), generator=torch.Generator().manual_seed(seed))
    wanted = val_fraction > 0 and len(clip) > 1
    n_val = min(len(clip) - 1, max(1, round(len(clip) * val_fraction))) if wanted else 0
    val_rows, train_rows = order[:n_val], order[n_val:]
    return Split(clip[train_rows], clap[train_rows]), Split(clip[val_rows], clap[val_rows])


def _fingerprint(train: Split, val: Split) -> str:
    digest = hashlib.sha256()
    for tensor in (train.clip, train.clap, val.clip, val.clap):
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


# -- distributed ----------------------------------------------------------------------------------------

def world() -> tuple[int, int]:
    """(rank, world size) of the running group (`distributed.current_ranks`)."""
    from v2a_cli.distributed import current_ranks

    ranks = current_ranks()
    return ranks.rank, ranks.world_size


def is_main_process() -> bool:
    from v2a_cli.distributed import is_main_process as main

    return main()


def barrier() -> None:
    import torch.distributed as dist

    if world()[1] > 1:
        dist.barrier()


def _start_distributed(device_name: str) -> tuple[bool, torch.device]:
    """Join the torchrun group when WORLD_SIZE > 1; returns (we started it, this rank's device)."""
    import torch.distributed as dist

    from v2a_cli.device import pick_device

    from v2a_cli.distributed import current_ranks

    device = pick_device(device_name)
    ranks = current_ranks()
    if not ranks.distributed or dist.is_initialized():
        return False, device
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return True, device


# -- checkpoints ----------------------------------------------------------------------------------------

def checkpoint_dirs(out: Path) -> list[Path]:
    """Finished epoch checkpoints, oldest first (temp folders start with '.' and are ignored)."""
    root = out / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [p for p in root.glob("epoch-*") if (p / TRAINER_STATE).is_file()]
    return sorted(found, key=lambda p: p.name)


def optimizer_to_files(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """AdamW's state as safetensors tensors + JSON (param_groups and any non-tensor state)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_files(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = tensor
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    groups = [{**group, "betas": tuple(group["betas"])} if "betas" in group else group
              for group in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def rng_tensors(generator: torch.Generator) -> dict[str, torch.Tensor]:
    states = {"train_generator": generator.get_state(), "torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["torch_cuda"] = torch.cuda.get_rng_state()
    return states


def save_checkpoint(out: Path, *, epoch: int, network: nn.Module, mapper_config: MapperConfig,
                    optimizer: torch.optim.Optimizer, generator: torch.Generator, trainer_state: dict[str, Any],
                    keep: int) -> Path:
    from safetensors.torch import save

    optimizer_tensors, optimizer_meta = optimizer_to_files(optimizer)
    folder = write_mapper_folder(
        out / CHECKPOINTS_DIR / f"epoch-{epoch:04d}", network, mapper_config,
        extra_files={
            OPTIMIZER_TENSORS: save(optimizer_tensors),
            OPTIMIZER_JSON: json.dumps(optimizer_meta, indent=1).encode(),
            RNG_TENSORS: save(rng_tensors(generator)),
            TRAINER_STATE: json.dumps(trainer_state, indent=2).encode(),
        },
    )
    for old in checkpoint_dirs(out)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def load_checkpoint(folder: Path, *, network: nn.Module, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator) -> dict[str, Any]:
    from safetensors.torch import load_file

    from v2a_cli.mapper.checkpoint import read_state_dict

    network.load_state_dict(read_state_dict(folder / "model.safetensors"), strict=True)
    meta = json.loads((folder / OPTIMIZER_JSON).read_text())
    optimizer.load_state_dict(optimizer_from_files(load_file(str(folder / OPTIMIZER_TENSORS)), meta))
    rng = load_file(str(folder / RNG_TENSORS))
    generator.set_state(rng["train_generator"])
    torch.set_rng_state(rng["torch_cpu"])
    if "torch_cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["torch_cuda"])
    return json.loads((folder / TRAINER_STATE).read_text())


def _check_resumable(saved: dict[str, Any], config: TrainConfig, data_info: dict[str, Any], folder: Path) -> None:
    before = saved["train_config"]
    defaults = {"select": "best"}  # runs from before the choice existed exported the best epoch
    changed = [key for key in RESUME_INVARIANTS if before.get(key, defaults.get(key)) != getattr(config, key)]
    if saved["data"]["fingerprint"] != data_info["fingerprint"]:
        changed.append("training data")
    if changed:
        raise V2AError(f"{folder}: cannot resume, {', '.join(changed)} changed since this run started; "
                       "use the same settings or a new --out")


# -- the loop ---------------------------------------------------------------------------------------------

class Objective:
    """Sum of squared errors over a slice of the global batch, for one variant (regression or diffusion)."""

    def __init__(self, mapper_config: MapperConfig):
        self.scale = mapper_config.embed_scale
        self.diffusion = GaussianDiffusion(mapper_config.diffusion_settings()) if mapper_config.is_generative else None

    def draw(self, batch: int, dim: int, device: torch.device, generator: torch.Generator):
        if self.diffusion is None:
            return None
        return self.diffusion.draw_training_noise(batch, dim, device=device, generator=generator)

    def squared_error(self, network: nn.Module, clip: torch.Tensor, clap: torch.Tensor, noise) -> torch.Tensor:
        if self.diffusion is None:
            target = F.normalize(clap, dim=-1) * self.scale
            return F.mse_loss(network(F.normalize(clip, dim=-1) * self.scale), target, reduction="sum")
        return self.diffusion.training_loss(network, clip, clap, noise, reduction="sum")


def train_epoch(network: nn.Module, objective: Objective, optimizer: torch.optim.Optimizer, data: Split,
                batch_size: int, generator: torch.Generator, on_step: Callable[[int, int], None]) -> torch.Tensor:
    """One pass in a seeded order; returns the mean loss (a device tensor; summed over ranks by the caller)."""
    rank, world_size = world()
    n, dim = data.clip.shape
    device = data.clip.device
    order = torch.randperm(n, generator=generator, device=device)
    total = torch.zeros((), device=device)
    steps = math.ceil(n / batch_size)
    for step in range(steps):
        rows = order[step * batch_size:(step + 1) * batch_size]
        noise = objective.draw(len(rows), dim, device, generator)  # drawn for the global batch on every rank
        lo, hi = len(rows) * rank // world_size, len(rows) * (rank + 1) // world_size
        mine = rows[lo:hi]
        squared = objective.squared_error(network, data.clip[mine], data.clap[mine],
                                          noise.rows(slice(lo, hi)) if noise is not None else None)
        # DDP averages gradients over ranks, so world_size * (local sum / global count) = global mean.
        loss = squared * (world_size / (len(rows) * dim))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += squared.detach()
        on_step(step + 1, steps)
    return total / (n * dim)


@torch.inference_mode()
def validate(network: nn.Module, objective: Objective, mapper_config: MapperConfig, data: Split, *,
             batch_size: int, seed: int, sampling_steps: int, max_samples: int) -> tuple[float, float]:
    """(validation loss, mean cosine to the targets). Diffusion: the loss at fixed seeded noise; the cosine
    of guided samples (`sampling_steps`) for the first `max_samples` pairs."""
    network.eval()
    n, dim = data.clip.shape
    device = data.clip.device
    generator = torch.Generator(device=device).manual_seed(seed + 1)
    total = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(0, n, batch_size):
        clip, clap = data.clip[start:start + batch_size], data.clap[start:start + batch_size]
        total += objective.squared_error(network, clip, clap, objective.draw(len(clip), dim, device, generator)).double()
    clip, clap = data.clip[:max_samples], data.clap[:max_samples]
    if objective.diffusion is None:
        predicted = network(F.normalize(clip, dim=-1) * objective.scale)
    else:
        predicted = objective.diffusion.sample(network, clip, guidance=mapper_config.guidance,
                                               seeds=[seed + row for row in range(len(clip))], steps=sampling_steps)
    cosine = F.cosine_similarity(predicted.float(), clap, dim=-1).mean()
    network.train()
    return float(total) / (n * dim), float(cosine)


def train_mapper(config: TrainConfig, progress: ProgressCallback | None = None) -> Path:
    """Train a mapper into `config.out` and return the exported mapper folder (`out/mapper`)."""
    from v2a_cli.mapper.networks import NETWORKS

    if (config.kind, config.arch) not in NETWORKS:
        raise V2AError(f"--kind {config.kind} --arch {config.arch}: expected kind regression|diffusion "
                       "and arch mlp|transformer")
    if config.aggregate not in ("average", "middle", "random"):
        raise V2AError(f"--aggregate {config.aggregate}: expected average, middle or random")
    from v2a_cli.validation import check_option, check_options

    check_options(config, ("epochs", "batch_size", "lr", "depth", "expansion", "heads", "dim_head", "ff_mult",
                           "seed", "val_fraction"), command="train")
    check_option("mapper_guidance", config.guidance)
    if config.select not in SELECTIONS:
        raise V2AError(f"--select {config.select}: expected one of {', '.join(SELECTIONS)}")
    if config.select == "best" and config.val_fraction == 0:
        raise V2AError("--select best needs validation rows; give --val-fraction > 0 (e.g. 0.05)")
    started_group, device = _start_distributed(config.device)
    try:
        return _train(config, device, progress or (lambda update: None))
    finally:
        if started_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(config: TrainConfig, device: torch.device, progress: ProgressCallback) -> Path:
    out = config.out
    existing = checkpoint_dirs(out)
    if not config.resume and (existing or (out / MAPPER_DIR).exists()):
        raise V2AError(f"{out}: already holds a training run; pass --resume to continue it or choose another --out")
    if config.resume and not existing:
        raise V2AError(f"{out}: no checkpoint to resume from under {out / CHECKPOINTS_DIR}; run without --resume")

    train_cpu, val_cpu, data_info = load_training_data(config, device, progress)
    train, val = train_cpu.to(device), val_cpu.to(device)
    mapper_config = config.mapper_config(dim=data_info["dim"])
    mapper_config.training = {**{k: v for k, v in config.summary().items() if k not in ("resume", "extract_options")},
                              "data": data_info}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        network = build_network(mapper_config)
    network.to(device).train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    objective = Objective(mapper_config)

    state: dict[str, Any] = {"epoch": 0, "best_val_loss": None, "best_epoch": None, "history": []}
    if config.resume:
        saved = json.loads((existing[-1] / TRAINER_STATE).read_text())
        _check_resumable(saved, config, data_info, existing[-1])
        state = load_checkpoint(existing[-1], network=network, optimizer=optimizer, generator=generator)

    rank, world_size = world()
    trainable: nn.Module = network
    if world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        trainable = DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)

    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        started = time.perf_counter()

        def on_step(step: int, steps: int) -> None:
            progress(TrainUpdate("step", epoch, config.epochs, step=step, steps=steps))

        train_loss = train_epoch(trainable, objective, optimizer, train, config.batch_size, generator, on_step)
        if world_size > 1:
            import torch.distributed as dist

            dist.all_reduce(train_loss)
        record: dict[str, Any] = {"epoch": epoch, "train_loss": float(train_loss),
                                  "seconds": round(time.perf_counter() - started, 3)}
        if len(val):
            record["val_loss"], record["val_cosine"] = validate(
                network, objective, mapper_config, val, batch_size=config.batch_size, seed=config.seed,
                sampling_steps=config.val_sampling_steps, max_samples=config.val_max_samples)
        metric = record.get("val_loss", record["train_loss"])
        is_best = state["best_val_loss"] is None or metric < state["best_val_loss"]
        if is_best:
            state["best_val_loss"], state["best_epoch"] = metric, epoch
        state["epoch"] = epoch
        state["history"].append(record)
        state["train_config"] = config.summary()
        state["data"] = data_info
        state["world_size"] = world_size
        if rank == 0:
            # "last": every epoch replaces the export, so an interrupted run still has one.
            if config.select == "last" or is_best:
                export_config = MapperConfig(**{**mapper_config.to_dict(), "training": {
                    **mapper_config.training, "epoch": epoch, "selected": config.select,
                    "val_loss": record.get("val_loss"), "val_cosine": record.get("val_cosine"),
                    "train_loss": record["train_loss"]}})
                write_mapper_folder(out / MAPPER_DIR, network, export_config)
            save_checkpoint(out, epoch=epoch, network=network, mapper_config=mapper_config, optimizer=optimizer,
                            generator=generator, trainer_state=state, keep=config.keep_checkpoints)
        barrier()
        progress(TrainUpdate("epoch", epoch, config.epochs, train_loss=record["train_loss"],
                             val_loss=record.get("val_loss"), val_cosine=record.get("val_cosine"), best=is_best))

    if config.push_to_hub and rank == 0:
        push_mapper_to_hub(out / MAPPER_DIR, config.push_to_hub)
    return out / MAPPER_DIR


def push_mapper_to_hub(folder: Path, repo_id: str) -> str:
    """Upload the exported mapper folder to a Hub model repo (created if missing). Needs network + login."""
    from v2a_cli.registry import hub_offline

    if hub_offline():
        raise V2AError(f"--push-to-hub {repo_id}: HF_HUB_OFFLINE=1 is set; unset it to upload")
    from huggingface_hub import HfApi

    api = HfApi(library_name="v2a_cli")
    try:
        api.create_repo(repo_id, repo_type="model", exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="Upload v2a mapper")
    except Exception as exc:  # hub errors come in many classes
        raise V2AError(f"--push-to-hub {repo_id}: upload failed ({str(exc).splitlines()[0] if str(exc) else exc}); "
                       "check `hf auth login` and the repo name")
    return str(getattr(commit, "commit_url", commit))
