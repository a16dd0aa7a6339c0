"""The Typer app and what every command shares: global options, one-line errors, stderr console.

Commands live one module each in this package and register on `app`; they are thin shells over the
library (parse options, call one library function, print). Progress and logs go to stderr;
machine-readable output (paths, JSON) goes to stdout.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

import typer
from rich.console import Console

from v2a_cli.cli import options as cli_options
from v2a_cli.cli.context import GlobalOptions, global_options  # noqa: F401  (commands import them from here)
from v2a_cli.version import __version__

app = typer.Typer(
    name="v2a",
    help="Sound for pictures and videos: CLIP -> V2A-Mapper -> CLAP space -> AudioLDM.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals would dump tensors
    add_completion=False,
)

stderr = Console(stderr=True)
stdout = Console(highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"v2a {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    models: Optional[str] = typer.Option(
        None, "--models", envvar="V2A_MODELS", help="TOML file naming the models (Hub ids or local paths)."
    ),
    quiet: bool = cli_options.QUIET,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    ctx.obj = GlobalOptions(models=models, quiet=quiet)



def debug_enabled() -> bool:
    return os.environ.get("V2A_DEBUG", "").strip() not in ("", "0", "false", "no")


@contextmanager
def library_warnings_captured() -> Iterator[None]:
    """Python warnings raised by libraries (PIL's DecompressionBombWarning, torch's pickle notes, ...)
    are not shown: our own one-line messages say what matters. V2A_DEBUG=1 shows them all."""
    if debug_enabled():
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def report_error(message: str) -> None:
    """One line on stderr, as every known error is shown."""
    from rich.markup import escape

    # escape: a message may hold brackets ("pip install 'v2a-cli[app]'") that are not markup.
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)


def report_note(message: str) -> None:
    """One line of information on stderr (not an error): a renamed output, a de-duplicated input."""
    stderr.print(f"note: {message}", highlight=False, markup=False, soft_wrap=True)


@contextmanager
def command_line_checks(ctx: typer.Context) -> Iterator[None]:
    """A V2AError raised inside about the options themselves (a range, a combination, an unknown name) is a
    wrong command line: exit 2 with the command's --help hint (docs/errors.md). Problems of files and
    models (InputError, OutputExistsError, ...) keep exit 1."""
    from v2a_cli.cli.params import click
    from v2a_cli.errors import (
        CheckpointError, InputError, ModelUnavailableError, OutputExistsError, OutputWriteError, V2AError,
    )

    try:
        yield
    except (InputError, OutputExistsError, OutputWriteError, ModelUnavailableError, CheckpointError):
        raise
    except V2AError as exc:
        raise click.exceptions.UsageError(str(exc), ctx) from None


def checked_generate_options(ctx: typer.Context, options):
    """`GenerateOptions.validate()` plus the scheduler's name, as command-line checks (exit 2), before any
    model loads."""
    from v2a_cli.errors import V2AError
    from v2a_cli.audioldm.schedulers import SCHEDULERS

    with command_line_checks(ctx):
        options = options.validate()
        if options.scheduler not in SCHEDULERS:
            raise V2AError(f"--scheduler {options.scheduler}: expected one of {', '.join(SCHEDULERS)}")
    return options


def announce_seed(asked: int, used: int) -> None:
    """--seed -1 draws a random seed: say which, so the run can be repeated."""
    if asked != used:
        stderr.print(f"seed: {used} (random; pass --seed {used} to repeat)", highlight=False, soft_wrap=True)


def progress_bars(quiet: bool):
    """A rich Progress on stderr (or a no-op when quiet)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(),
        # Only on a terminal: piped stderr should carry log and error lines, not bar snapshots.
        console=stderr, disable=quiet or not stderr.is_terminal, transient=True,
    )


def print_output(text: str, bars=None) -> None:
    """A written file's name on stdout, on a line of its own. While progress bars are drawn on the terminal
    and stdout is that terminal too, the name is printed through the bars' console, above them: written
    straight to stdout it would land on the bar's line (`...0:00:00dog.wav`). Piped stdout gets it as is."""
    live = bars is not None and getattr(getattr(bars, "live", None), "is_started", False)
    if live and bars.console.is_terminal and stdout.is_terminal:
        bars.console.print(text, highlight=False, markup=False, soft_wrap=True)
    else:
        stdout.print(text, highlight=False, markup=False, soft_wrap=True)


def make_pipeline(ctx: typer.Context, *, mapper: Optional[str], generator: Optional[str], clip: Optional[str],
                  clap: Optional[str], device: str, dtype: str, bridge_top_k: int, bridge_temperature: float,
                  detector: Optional[str] = None):
    """The generation core for a command: models from --models/V2A_MODELS with its flags on top."""
    from v2a_cli.generation.pipeline import Pipeline
    from v2a_cli.models_config import ModelsConfig

    from v2a_cli.registry import check_local_path

    models = ModelsConfig.load(global_options(ctx).models).with_overrides(
        mapper=mapper, generator=generator, clip=clip, clap=clap, detector=detector)
    for role in ("mapper", "generator", "clip", "clap") + (("detector",) if detector is not None else ()):
        check_local_path(getattr(models, role), kind=role)  # a wrong path: said now, not after minutes of loading
    return Pipeline(models, device=device, dtype=dtype, bridge_top_k=bridge_top_k, bridge_temperature=bridge_temperature)


def run_generation(pipeline, plans, options, settings, *, quiet: bool, planner=None, on_generated=None):
    """The write stage as every generating command shows it: `batch.generate_files` under a progress bar,
    each written path on stdout, each failed input as one error line, skipped outputs and best-of-N picks
    as notes on stderr. Returns the BatchReport (the caller decides the exit code)."""
    from v2a_cli.cli.options import candidate_note
    from v2a_cli.generation.batch import generate_files

    extra = {} if planner is None else {"planner": planner}
    with progress_bars(quiet) as bars:
        task = bars.add_task("windows × steps", total=None)
        report = generate_files(
            pipeline, plans, options, settings,
            on_error=lambda source, message: report_error(message),
            on_written=lambda path: stdout.print(str(path)),
            on_skipped=lambda path: report_note(f"skipped {path}: it exists (--skip-existing)"),
            progress=lambda done, total: bars.update(task, completed=done, total=total),
            on_generated=on_generated, **extra,
        )
    for path, choice in report.candidates.items():
        stderr.print(candidate_note(path, choice), highlight=False, markup=False, soft_wrap=True)
    return report
