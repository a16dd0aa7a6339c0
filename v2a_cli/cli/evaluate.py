"""`v2a eval`: the paper's metrics (FD, FAD, CS, KL, IS) and av-benchmark's (FD/KL/IS with PaSST, PANNs,
VGGish; ImageBind score; DeSync) of a folder of generated sounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand

from v2a_cli.cli import options
from v2a_cli.cli.app import (
    BATCH_SIZE_RENAMED, app, command_line_checks, global_options, progress_bars, renamed_option, report_error, stderr,
    stdout,
)

METRIC_LABELS: dict[str, str] = {
    "fd": "FD (PANNs) ↓", "fad": "FAD (VGGish) ↓", "cs": "CS (CLIP×Wav2CLIP) ↑", "kl": "KL softmax ↓",
    "kl_sigmoid": "KL sigmoid ↓", "is": "IS ↑", "is_std": "IS std",
    "fd_passt": "FD_PaSST ↓", "fd_panns": "FD_PANNs ↓", "fd_vgg": "FD_VGG ↓", "kl_panns": "KL_PANNs ↓",
    "kl_passt": "KL_PaSST ↓", "is_panns": "IS_PANNs ↑", "is_panns_std": "IS_PANNs std", "is_passt": "IS_PaSST ↑",
    "is_passt_std": "IS_PaSST std", "ib_score": "IB-score ↑", "desync": "DeSync (s) ↓",
}
MAX_LISTED = 10  # unpaired files named on stderr before "... and N more"


class _EvalCommand(TyperCommand):
    """`eval --json FILE` used to write the results to FILE; now --json is a flag and FILE an extra argument.
    Say where the file went (--save-json) instead of click's "unexpected extra argument"."""

    def parse_args(self, ctx, args):
        from v2a_cli.cli.params import click

        after = [value for flag, value in zip(args, args[1:]) if flag == "--json" and not value.startswith("-")]
        old_file = next((value for value in after if value.lower().endswith(".json") and not Path(value).is_dir()), None)
        try:
            parsed = super().parse_args(ctx, args)
        except click.exceptions.UsageError:
            if not after:
                raise
            old_file = after[0]
        if old_file is not None:
            raise click.exceptions.UsageError(
                f"--json {old_file}: --json now prints the results on stdout; write them to a file with "
                f"--save-json {old_file}", ctx)
        return parsed


@app.command("eval", cls=_EvalCommand)
def evaluate_command(
    ctx: typer.Context,
    generated: Path = typer.Argument(..., help="Folder of generated sounds (WAV/FLAC/MP3/..., or videos with sound)."),
    refs: Optional[Path] = typer.Option(None, "--refs", help="Folder of reference sounds, paired by file name (needed for fd, fad, kl)."),
    images: Optional[Path] = typer.Option(None, "--images", help="Folder of the visual prompts (images or videos) named like the sounds, for CS."),
    videos: Optional[Path] = typer.Option(None, "--videos", help="Folder of the videos the sounds were made for, named like them (ib_score, desync)."),
    suite: str = typer.Option("paper", "--suite", help="paper (V2A-Mapper's FD, FAD, CS, KL, IS), av-benchmark (MMAudio's), or all."),
    metrics: Optional[str] = typer.Option(None, "--metrics", help="Comma-separated, instead of the suite's: fd, fad, cs, kl, is, fd_passt, fd_panns, fd_vgg, kl_panns, kl_passt, is_panns, is_passt, ib_score, desync."),
    audio_length: float = typer.Option(8.0, "--audio-length", help="av-benchmark metrics: seconds of each sound and video scored, from the start (MMAudio's VGGSound numbers: 8)."),
    as_json: bool = options.JSON,
    json_out: Optional[Path] = typer.Option(None, "--save-json", help="Also write the results as JSON to this file (what --json prints)."),
    overwrite: bool = options.OVERWRITE,
    batch_size: int = typer.Option(16, "--eval-batch-size", help="Files per evaluation-network call."),
    old_batch_size: Optional[int] = typer.Option(None, "--batch-size", hidden=True, help="Old name of --eval-batch-size."),
    device: str = options.DEVICE,
    panns: Optional[str] = typer.Option(None, "--panns", help="PANNs CNN14 checkpoint (short name, path, URL or Hub id)."),
    vggish: Optional[str] = typer.Option(None, "--vggish", help="VGGish checkpoint."),
    wav2clip: Optional[str] = typer.Option(None, "--wav2clip", help="Wav2CLIP checkpoint."),
    passt: Optional[str] = typer.Option(None, "--passt", help="PaSST checkpoint (av-benchmark suite)."),
    imagebind: Optional[str] = typer.Option(None, "--imagebind", help="ImageBind checkpoint (ib_score)."),
    synchformer: Optional[str] = typer.Option(None, "--synchformer", help="Synchformer state dict (desync)."),
) -> None:
    """Score generated sounds: the paper's FD, FAD, CS, KL, IS and/or av-benchmark's metrics. Embeddings are
    cached per file, so reruns are fast."""

    from v2a_cli.distributed import current_ranks, gather, process_group
    from v2a_cli.evaluation.evaluator import evaluate, parse_metrics
    from v2a_cli.models_config import ModelsConfig

    batch_size = renamed_option(ctx, "batch_size", "--batch-size", old_batch_size, BATCH_SIZE_RENAMED)
    opts = global_options(ctx)
    with command_line_checks(ctx):  # a typo is a wrong command line (exit 2), before any model loads
        wanted = parse_metrics(metrics, suite)
    if json_out is not None:
        from v2a_cli.media.preflight import preflight_all

        preflight_all([json_out], overwrite=overwrite, bytes_each=0)
    models = ModelsConfig.load(opts.models).with_overrides(panns=panns, vggish=vggish, wav2clip=wav2clip, passt=passt,
                                                           imagebind=imagebind, synchformer=synchformer)

    bars = progress_bars(opts.quiet)
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    ranks = current_ranks()  # under torchrun: each rank embeds its share of the files into the cache
    with process_group(ranks):
        if ranks.distributed:
            evaluate(generated, refs, images_dir=images, videos_dir=videos, metrics=wanted, audio_length=audio_length,
                     models=models, device=ranks.device(device), batch_size=batch_size,
                     share=(ranks.rank, ranks.world_size))
            gather(None, ranks)  # waits until every share is cached
        if not ranks.is_main:
            return
        with bars:  # rank 0 (or the only process): the metrics, every embedding now a cache hit under torchrun
            result = evaluate(generated, refs, images_dir=images, videos_dir=videos, metrics=wanted,
                              audio_length=audio_length, models=models, device=ranks.device(device),
                              batch_size=batch_size, progress=progress)

    for line in result.problems:
        stderr.print(f"skipped: {line}", highlight=False, markup=False, soft_wrap=True)
    _print_unpaired("generated files without a reference", result.unpaired_generated)
    _print_unpaired("references without a generated file", result.unpaired_references)
    for note in result.notes:
        stderr.print(f"note: {note}", highlight=False, soft_wrap=True)
    for name, why in result.skipped.items():
        stderr.print(f"{name}: not computed ({why})", highlight=False, soft_wrap=True)

    results_json = json.dumps(result.to_dict(), indent=2) + "\n"
    if as_json:
        stdout.print(results_json, end="", markup=False, highlight=False)  # the JSON alone on stdout
    else:
        _print_table(result)
    if json_out is not None:
        from v2a_cli.media.inputs import atomic_output

        with atomic_output(json_out, overwrite=overwrite) as temp:
            temp.write_text(results_json)
        stderr.print(f"wrote {json_out}", highlight=False)
    if result.problems:  # scores over the rest are shown, but the run did not do all that was asked
        report_error(f"{len(result.problems)} file{'s' if len(result.problems) != 1 else ''} left out "
                     "(listed above as 'skipped'); the scores are over the other files")
        raise typer.Exit(code=1)


def _print_unpaired(title: str, paths: list[str]) -> None:
    if not paths:
        return
    shown = ", ".join(Path(p).name for p in paths[:MAX_LISTED])
    more = f" ... and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else ""
    stderr.print(f"{len(paths)} {title}: {shown}{more}", highlight=False, soft_wrap=True)


def _print_table(result) -> None:
    from rich.table import Table

    from v2a_cli.evaluation.evaluator import PAPER_TABLE1, PUBLISHED_MMAUDIO_S_16K

    paper = PAPER_TABLE1["VGGSound (ours)"]
    mmaudio = any(name in PUBLISHED_MMAUDIO_S_16K for name in result.metrics)
    table = Table(title=f"{result.counts.get('generated', 0)} generated, {result.counts.get('references', 0)} references, "
                        f"{result.counts.get('pairs', 0)} pairs")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("V2A-Mapper paper (VGGSound)", justify="right")
    if mmaudio:
        table.add_column("MMAudio-S-16k (VGGSound)", justify="right")
    for name, value in result.metrics.items():
        row = [METRIC_LABELS.get(name, name), f"{value:.4f}", f"{paper[name]:.3f}" if name in paper else ""]
        if mmaudio:
            row.append(f"{PUBLISHED_MMAUDIO_S_16K[name]:g}" if name in PUBLISHED_MMAUDIO_S_16K else "")
        table.add_row(*row)
    stdout.print(table)
