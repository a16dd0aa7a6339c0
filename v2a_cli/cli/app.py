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


BATCH_SIZE_RENAMED = "--batch-size means sounds per AudioLDM call, as in generate"


def renamed_option(ctx: typer.Context, new: str, old_flag: str, old_value, why: str = ""):
    """The value of parameter `new`, or the one given under its old flag (a hidden option kept working for a
    while): a note says the new name (and `why`). Both flags with different values: a wrong command line."""
    from v2a_cli.cli.params import click, option_flag
    from v2a_cli.validation import option_problem, range_for

    value = ctx.params[new]
    if old_value is None:
        return value
    new_flag = option_flag(next(param for param in ctx.command.params if param.name == new))
    if ctx.get_parameter_source(new) is not click.core.ParameterSource.DEFAULT and value != old_value:
        raise click.exceptions.UsageError(
            f"{old_flag} {old_value} and {new_flag} {value}: {old_flag} is the old name of {new_flag}; give "
            f"{new_flag} only", ctx)
    problem = option_problem(old_value, range_for(new, ctx.info_name))
    if problem:
        raise click.exceptions.UsageError(f"{old_flag} {old_value}: {problem}", ctx)
    from v2a_cli.distributed import is_main_process

    if is_main_process():  # under torchrun: said once, not by every rank
        report_note(f"'v2a {ctx.info_name} {old_flag}' is now {new_flag}{f' ({why})' if why else ''}; "
                    "the old name still works for now")
    return old_value


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
        if options.sampler.scheduler not in SCHEDULERS:
            raise V2AError(f"--scheduler {options.sampler.scheduler}: expected one of {', '.join(SCHEDULERS)}")
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


def report_skipped(path, *, sidecar: bool) -> None:
    """--skip-existing: a note per existing output left alone (with --sidecar, a second one when that output
    has no sidecar)."""
    from v2a_cli.generation.batch import missing_sidecar_note

    report_note(f"skipped {path}: it exists (--skip-existing)")
    note = missing_sidecar_note(path) if sidecar else None
    if note:
        report_note(note)


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


def stage_reporters(bars, stage_task, steps_task, pipeline, options):
    """(on_stage, on_step) for `generate`'s two bars: the stage under way (loading the generator, mapping:
    step i of N, window k: step i of N) and the windows of the whole batch (window k of n). A new stage
    name is drawn at once, so a stage is seen even when it lasts less than a refresh."""
    shown: dict[str, object] = {}

    def show(task, description: str) -> None:
        bars.update(task, description=description)
        if shown.get(task) != description:
            shown[task] = description
            bars.refresh()

    def on_stage(name: str, done: int | None, total: int | None) -> None:
        bars.update(stage_task, completed=done or 0, total=total)
        show(stage_task, name if total is None else f"{name}: step {done} of {total}")

    def on_step(done: int, total: int) -> None:
        if "per_window" not in shown:  # the settled options (a mapper may declare its own steps)
            settled = pipeline.settle(options)
            shown["per_window"] = max(1, settled.sampler.steps_per_window)
            bars.start_task(steps_task)
        per = int(shown["per_window"])
        windows = max(1, -(-total // per))
        window = min(windows, done // per + 1)
        step = min(per, done - (window - 1) * per)
        bars.update(steps_task, completed=done, total=total)
        show(steps_task, f"window {window} of {windows}")
        bars.update(stage_task, completed=step, total=per)
        show(stage_task, f"sampling: step {step} of {per}" if per > 1 else "sampling")

    return on_stage, on_step


def run_generation(pipeline, plans, options, settings, *, quiet: bool, planner=None, on_generated=None):
    """The write stage as every generating command shows it: `batch.generate_files` under a progress bar,
    each written path on stdout, each failed input as one error line, skipped outputs and best-of-N picks
    as notes on stderr. Returns the BatchReport (the caller decides the exit code)."""
    from v2a_cli.cli.options import candidate_note
    from v2a_cli.generation.batch import generate_files

    from v2a_cli.progress import stages_to

    extra = {} if planner is None else {"planner": planner}
    with progress_bars(quiet) as bars:
        stage_task = bars.add_task("starting", total=None)
        steps_task = bars.add_task("windows", total=None, start=False)  # its clock starts at step 1
        on_stage, on_step = stage_reporters(bars, stage_task, steps_task, pipeline, options)

        with stages_to(on_stage):
            report = generate_files(
                pipeline, plans, options, settings,
                on_error=lambda source, message: report_error(message),
                on_written=lambda path: print_output(str(path), bars),
                on_skipped=lambda path: report_skipped(path, sidecar=settings.sidecar),
                progress=on_step,
                on_generated=on_generated, **extra,
            )
    for path, choice in report.candidates.items():
        stderr.print(candidate_note(path, choice), highlight=False, markup=False, soft_wrap=True)
    return report
