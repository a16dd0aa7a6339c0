"""`v2a eval`: FD, FAD, CS, KL and IS of a folder of generated sounds, as in the paper's Table 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import app, global_options, progress_bars, report_error, stderr, stdout

METRIC_LABELS: dict[str, str] = {
    "fd": "FD (PANNs) ↓", "fad": "FAD (VGGish) ↓", "cs": "CS (CLIP×Wav2CLIP) ↑", "kl": "KL softmax ↓",
    "kl_sigmoid": "KL sigmoid ↓", "is": "IS ↑", "is_std": "IS std",
}
MAX_LISTED = 10  # unpaired files named on stderr before "... and N more"


@app.command("eval")
def evaluate_command(
    ctx: typer.Context,
    generated: Path = typer.Argument(..., help="Folder of generated sounds (WAV/FLAC/MP3/..., or videos with sound)."),
    refs: Optional[Path] = typer.Option(None, "--refs", help="Folder of reference sounds, paired by file name (needed for fd, fad, kl)."),
    images: Optional[Path] = typer.Option(None, "--images", help="Folder of the visual prompts (images or videos) named like the sounds, for CS."),
    metrics: str = typer.Option("fd,fad,cs,kl,is", "--metrics", help="Comma-separated: fd, fad, cs, kl, is."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the results as JSON to this file."),
    overwrite: bool = options.OVERWRITE,
    batch_size: int = typer.Option(16, "--batch-size", help="Files per model call."),
    device: str = options.DEVICE,
    panns: Optional[str] = typer.Option(None, "--panns", help="PANNs CNN14 checkpoint (short name, path, URL or Hub id)."),
    vggish: Optional[str] = typer.Option(None, "--vggish", help="VGGish checkpoint."),
    wav2clip: Optional[str] = typer.Option(None, "--wav2clip", help="Wav2CLIP checkpoint."),
) -> None:
    """Score generated sounds: FD, FAD, CS, KL, IS. Embeddings are cached per file, so reruns are fast."""

    from v2a_cli.distributed import current_ranks, gather, process_group
    from v2a_cli.evaluation.evaluator import evaluate, parse_metrics
    from v2a_cli.models_config import ModelsConfig

    opts = global_options(ctx)
    wanted = parse_metrics(metrics)  # a typo fails before any model loads
    if json_out is not None:
        from v2a_cli.media.preflight import preflight_all

        preflight_all([json_out], overwrite=overwrite, bytes_each=0)
    models = ModelsConfig.load(opts.models).with_overrides(panns=panns, vggish=vggish, wav2clip=wav2clip)

    bars = progress_bars(opts.quiet)
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    ranks = current_ranks()  # under torchrun: each rank embeds its share of the files into the cache
    with process_group(ranks):
        if ranks.distributed:
            evaluate(generated, refs, images_dir=images, metrics=wanted, models=models, device=ranks.device(device),
                     batch_size=batch_size, share=(ranks.rank, ranks.world_size))
            gather(None, ranks)  # waits until every share is cached
        if not ranks.is_main:
            return
        with bars:  # rank 0 (or the only process): the metrics, every embedding now a cache hit under torchrun
            result = evaluate(generated, refs, images_dir=images, metrics=wanted, models=models,
                              device=ranks.device(device), batch_size=batch_size, progress=progress)

    for line in result.problems:
        stderr.print(f"skipped: {line}", highlight=False, markup=False, soft_wrap=True)
    _print_unpaired("generated files without a reference", result.unpaired_generated)
    _print_unpaired("references without a generated file", result.unpaired_references)
    for note in result.notes:
        stderr.print(f"note: {note}", highlight=False, soft_wrap=True)
    for name, why in result.skipped.items():
        stderr.print(f"{name}: not computed ({why})", highlight=False, soft_wrap=True)

    _print_table(result)
    if json_out is not None:
        from v2a_cli.media.inputs import atomic_output

        with atomic_output(json_out, overwrite=overwrite) as temp:
            temp.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
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

    from v2a_cli.evaluation.evaluator import PAPER_TABLE1

    paper = PAPER_TABLE1["VGGSound (ours)"]
    table = Table(title=f"{result.counts.get('generated', 0)} generated, {result.counts.get('references', 0)} references, "
                        f"{result.counts.get('pairs', 0)} pairs")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("paper (VGGSound)", justify="right")
    for name, value in result.metrics.items():
        table.add_row(METRIC_LABELS.get(name, name), f"{value:.4f}", f"{paper[name]:.3f}" if name in paper else "")
    stdout.print(table)
