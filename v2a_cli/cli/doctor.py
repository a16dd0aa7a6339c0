"""`v2a doctor`: what is installed, which device is used, where the models are, and the CLAP space check."""

from __future__ import annotations

import json
from typing import Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import app, global_options, stderr, stdout

STATUS_STYLES: dict[str, str] = {
    "local": "green", "cached": "green", "builtin": "green", "named": "cyan", "remote": "yellow", "missing": "bold red",
}


@app.command()
def doctor(
    ctx: typer.Context,
    as_json: bool = options.JSON,
    device: str = options.DEVICE,
    check_space: bool = typer.Option(True, "--space-check/--no-space-check",
                                     help="Compare our CLAP text tower with the generator's text encoder."),
    check_audio: Optional[bool] = typer.Option(None, "--audio-check/--no-audio-check",
                                               help="Generate a sound per caption and check each caption ranks its own "
                                                    "sound first (default: on a GPU only)."),
    download: bool = typer.Option(False, "--download", help="Download models the checks need."),
) -> None:
    """Check the installation, the device and the models (exit code 1 when something is wrong)."""
    from v2a_cli.doctor import run_doctor
    from v2a_cli.models_config import ModelsConfig

    models = ModelsConfig.load(global_options(ctx).models)
    report = run_doctor(models, device=device, check_space=check_space, download=download, check_audio=check_audio)
    if as_json:  # the JSON alone on stdout; on stderr only the problems, one line each
        stdout.print(json.dumps(report.to_dict(), indent=2, default=str), markup=False, highlight=False)
        _print_problems(report)
    else:
        _print_tables(report)
    if not report.ok:
        raise typer.Exit(code=1)


def _print_tables(report) -> None:
    from rich.table import Table

    versions = Table(title="versions", show_header=False)
    for name, found in report.versions.items():
        versions.add_row(name, found or "[red]not installed[/]")
    versions.add_row("device (auto)", f"{report.device} ({report.device_name})")
    versions.add_row("dtype (auto)", report.dtype)
    stderr.print(versions)

    models = Table(title="models")
    for column in ("role", "spec", "status", "where"):
        models.add_column(column, overflow="fold")
    for entry in report.models:
        style = STATUS_STYLES.get(entry.status, "")
        models.add_row(entry.role, entry.spec, f"[{style}]{entry.status}[/]" if style else entry.status, entry.location)
    stderr.print(models)

    check = report.space_check
    if check.ran:
        space = Table(title="space check: our CLAP text tower vs the generator's text encoder")
        space.add_column("caption")
        space.add_column("cosine", justify="right")
        for caption, cosine in zip(check.captions, check.cosines):
            space.add_row(caption, f"{cosine:.4f}")
        space.add_row("[bold]mean[/]", f"[bold]{check.mean:.4f}[/]")
        stderr.print(space)
        colour = "green" if check.ok else "bold red"
        stderr.print(f"[{colour}]space check: {check.note}[/]")
    else:
        stderr.print(f"space check: {check.note}")
    audio = report.audio_check
    if audio.ran:
        table = Table(title="audio check: each caption's own sound, ranked by CLAP audio cosine")
        for column in ("caption", "cosine", "rank"):
            table.add_column(column, justify="left" if column == "caption" else "right")
        for caption, cosine, rank in zip(audio.captions, audio.own_cosines, audio.ranks):
            table.add_row(caption, f"{cosine:.4f}", str(rank))
        stderr.print(table)
        colour = {True: "green", False: "bold red"}.get(audio.ok, "yellow")
        stderr.print(f"[{colour}]audio check: {audio.note}[/]")
    else:
        stderr.print(f"audio check: {audio.note}")
    _print_problems(report)
    if report.ok:
        stderr.print("[green]no problems found[/]")


def _print_problems(report) -> None:
    from rich.markup import escape

    for problem in report.problems:
        stderr.print(f"[bold red]problem:[/] {escape(problem)}", soft_wrap=True)
