"""`v2a train`: train a V2A-Mapper on (CLIP, CLAP) pairs. Data-parallel: `torchrun --nproc_per_node N -m v2a_cli train ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import BATCH_SIZE_RENAMED, announce_seed, app, global_options, renamed_option, stderr, stdout
from v2a_cli.distributed import is_main_process


@app.command("train")
def train_command(
    ctx: typer.Context,
    out: Path = options.OUT,
    data: Optional[Path] = options.DATA,
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="Pairs file (safetensors: clip [N,512], clap [N,512])."),
    split_csv: Optional[Path] = options.SPLIT_CSV,
    val_fraction: float = typer.Option(0.05, "--val-fraction", help="Validation: this seeded share of the training rows (0: none). Test rows are never used."),
    select: str = typer.Option("last", "--select", help="Exported mapper: last (the final epoch) | best (lowest validation loss)."),
    kind: str = typer.Option("diffusion", "--kind", help="regression | diffusion (paper's best: diffusion)."),
    arch: str = typer.Option("transformer", "--arch", help="mlp | transformer (paper's best: transformer)."),
    depth: Optional[int] = typer.Option(None, "--depth", help="Layers (default: the paper's best, 1 MLP / 8 or 12 Transformer)."),
    expansion: Optional[int] = typer.Option(None, "--expansion", help="MLP width = 512 x expansion (default 4)."),
    heads: Optional[int] = typer.Option(None, "--heads", help="Transformer attention heads (default 12)."),
    dim_head: Optional[int] = typer.Option(None, "--dim-head", help="Transformer head width (default 64)."),
    ff_mult: Optional[int] = typer.Option(None, "--ff-mult", help="Transformer feed-forward width multiplier (default 4)."),
    aggregate: str = options.AGGREGATE,
    epochs: int = typer.Option(100, "--epochs", help="Epochs (paper: 100)."),
    batch_size: int = typer.Option(448, "--train-batch-size", help="Training pairs per optimiser step, all ranks together (paper: 448)."),
    old_batch_size: Optional[int] = typer.Option(None, "--batch-size", hidden=True, help="Old name of --train-batch-size."),
    lr: float = typer.Option(1.1e-4, "--lr", help="AdamW learning rate (paper: 1.1e-4)."),
    seed: int = options.SEED,
    resume: bool = typer.Option(False, "--resume", help="Continue the run in OUT from its newest checkpoint."),
    mapper_guidance: float = typer.Option(0.9, "--stored-mapper-guidance", help="The guidance a diffusion mapper stores as its default (paper: 0.9); generate's --mapper-guidance overrides it per run."),
    device: str = options.DEVICE,
    push_to_hub: Optional[str] = typer.Option(None, "--push-to-hub", help="Upload the exported mapper to this Hub repo (online)."),
) -> None:
    """Train a CLIP -> CLAP mapper; prints the exported mapper folder (for `v2a generate --mapper`)."""
    batch_size = renamed_option(ctx, "batch_size", "--batch-size", old_batch_size, BATCH_SIZE_RENAMED)
    from v2a_cli.media.preflight import check_output_folder
    from v2a_cli.training.train import TrainConfig, train_mapper

    options = global_options(ctx)
    check_output_folder(out)  # the run folder can be written: found now, not after an epoch
    from v2a_cli.distributed import current_ranks
    from v2a_cli.errors import V2AError
    from v2a_cli.validation import RANDOM_SEED, resolve_seed

    if seed == RANDOM_SEED and current_ranks().distributed:
        raise V2AError("--seed -1 under torchrun: each process would draw its own seed; give a seed")
    asked, seed = seed, resolve_seed(seed)
    announce_seed(asked, seed)
    config = TrainConfig(
        out=out, pairs=pairs, data=data, split_csv=split_csv, kind=kind, arch=arch, depth=depth, expansion=expansion,
        heads=heads, dim_head=dim_head, ff_mult=ff_mult, aggregate=aggregate, epochs=epochs, batch_size=batch_size,
        lr=lr, seed=seed, resume=resume, guidance=mapper_guidance, device=device, models=options.models,
        push_to_hub=push_to_hub, val_fraction=val_fraction, select=select,
    )
    with TrainProgress(enabled=not options.quiet) as progress:
        mapper_dir = train_mapper(config, progress=progress)
    if is_main_process():  # under torchrun only rank 0 reports
        stdout.print(str(mapper_dir))


class TrainProgress:
    """Rich progress on stderr (rank 0 only): a bar per epoch with the last train/val loss and val cosine.

    The bar starts with the first step, so an error before training (bad data, bad options) is printed
    alone, not after an empty bar's blank line."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and is_main_process()
        self.bar = None
        self.task = None
        self.last = ""

    def __enter__(self) -> "TrainProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _start(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), TextColumn("{task.fields[metrics]}"), console=stderr,
                            transient=False)
        self.bar.start()

    def __call__(self, update) -> None:
        if not self.enabled:
            return
        if update.phase == "data":
            stderr.print(f"data: {update.note}", highlight=False, markup=False, soft_wrap=True)
            return
        if self.bar is None:
            self._start()
        if update.phase == "step":
            label = f"{update.epoch}/{update.epochs}"
            if self.task is None:
                self.task = self.bar.add_task("train", total=update.steps, epoch=label, metrics=self.last)
            self.bar.update(self.task, completed=update.step, total=update.steps, epoch=label, metrics=self.last)
            return
        parts = [f"loss {update.train_loss:.4f}"]
        if update.val_loss is not None:
            parts.append(f"val {update.val_loss:.4f}")
        if update.val_cosine is not None:
            parts.append(f"cos {update.val_cosine:.3f}")
        self.last = "  ".join(parts) + ("  (best)" if update.best else "")
        if self.task is not None:
            self.bar.update(self.task, metrics=self.last)
        self.bar.console.print(f"epoch {update.epoch}/{update.epochs}  {self.last}")
