"""`v2a extract`: (CLIP frames, CLAP audio) embeddings of a folder of videos into a resumable cache."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import (
    BATCH_SIZE_RENAMED, app, command_line_checks, global_options, progress_bars, renamed_option, stderr, stdout,
)


@app.command()
def extract(
    ctx: typer.Context,
    data: Path = options.DATA_REQUIRED,
    out: Path = options.OUT,
    split_csv: Optional[Path] = options.SPLIT_CSV,
    fps: float = options.FPS,
    max_seconds: float = options.MAX_SECONDS,
    min_seconds: float = typer.Option(1.0, "--min-seconds", help="Skip clips shorter than this."),
    shard_size: int = typer.Option(256, "--shard-size", help="Clips per shard (fixed for a cache)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Decoding processes (0: decode in the main process; default: cores - 1, at most 8)."),
    batch_size: int = typer.Option(64, "--embed-batch-size", help="Frames / clips per CLIP or CLAP call."),
    old_batch_size: Optional[int] = typer.Option(None, "--batch-size", hidden=True, help="Old name of --embed-batch-size."),
    device: str = options.DEVICE,
    clip: Optional[str] = typer.Option(None, "--clip", help="open_clip model (hf-hub: id or folder)."),
    clap: Optional[str] = typer.Option(None, "--clap", help="AudioLDM's CLAP: original .ckpt (path/URL) or converted folder."),
    pairs_out: Optional[Path] = typer.Option(None, "--pairs-out", help="Also write the train pairs (frames averaged) to this .safetensors file."),
    overwrite: bool = options.OVERWRITE,
) -> None:
    """Embed every video of a folder (per-frame CLIP, per-clip CLAP) into shards; killed runs resume."""

    from v2a_cli.media.preflight import check_output_folder, preflight_all
    from v2a_cli.models_config import ModelsConfig
    from v2a_cli.training.extract import check_settings, extract_folder, report_summary, require_clips

    batch_size = renamed_option(ctx, "batch_size", "--batch-size", old_batch_size, BATCH_SIZE_RENAMED)
    opts = global_options(ctx)
    with command_line_checks(ctx):  # --min-seconds above --max-seconds: exit 2
        check_settings(fps=fps, max_seconds=max_seconds, min_seconds=min_seconds, shard_size=shard_size,
                       batch_size=batch_size, workers=workers)
    models = ModelsConfig.load(opts.models).with_overrides(clip=clip, clap=clap)
    # Before hours of extraction, not after: the cache folder and --pairs-out can be written.
    check_output_folder(out)
    pairs_done = False  # a rerun of a finished job: --pairs-out exists and is what this run would write
    if pairs_out is not None:
        from v2a_cli.training.pairs import pairs_up_to_date

        pairs_done = not overwrite and pairs_out.is_file() and pairs_up_to_date(out, pairs_out)
        preflight_all([pairs_out], overwrite=overwrite or pairs_done, bytes_each=0)

    bars = progress_bars(opts.quiet)
    with bars:
        task = bars.add_task("videos", total=None)
        report = extract_folder(
            data, out, models=models, split_csv=split_csv, fps=fps, max_seconds=max_seconds,
            min_seconds=min_seconds, shard_size=shard_size, workers=workers, batch_size=batch_size,
            device=device, progress=lambda done, total: bars.update(task, completed=done, total=total),
        )

    require_clips(report, data)  # nothing usable: exit 1, not a cache of nothing
    rank_note = f" (rank {report.rank} of {report.world_size})" if report.world_size > 1 else ""
    stderr.print(
        f"{report_summary(report)}{rank_note}. Shards: {report.shards_written} written, "
        f"{report.shards_reused} already done, {report.shards_total} in the cache. "
        f"Skipped clips and reasons: {report.skipped_path}",
        highlight=False, markup=False, soft_wrap=True,
    )
    stdout.print(str(out))
    if pairs_out is not None:
        from v2a_cli.training.pairs import export_pairs

        if report.world_size > 1:
            stderr.print("--pairs-out is written once every rank has finished: run v2a extract again without "
                         "torchrun (it only re-reads the cache)", highlight=False)
        elif pairs_done and pairs_up_to_date(out, pairs_out):
            stderr.print(f"note: {pairs_out}: up to date with the cache; left as it is", highlight=False,
                         markup=False, soft_wrap=True)
            stdout.print(str(pairs_out))
        else:
            stdout.print(str(export_pairs(out, pairs_out, split="train", overwrite=overwrite)))
