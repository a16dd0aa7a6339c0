"""`v2a` command line. `main()` turns known errors into one line and exit code 1 (V2A_DEBUG=1: traceback)."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator

from v2a_cli.cli.app import app, debug_enabled, library_warnings_captured, report_error, report_note
from v2a_cli.errors import V2AError

# Each module registers its commands on `app`. A module that is not there yet is skipped, so the
# command set grows with the package without an if-chain here.
_COMMAND_MODULES = [
    "v2a_cli.cli.generate",
    "v2a_cli.cli.doctor",
    "v2a_cli.cli.extract",
    "v2a_cli.cli.train",
    "v2a_cli.cli.interpolate",
    "v2a_cli.cli.compose",
    "v2a_cli.cli.evaluate",
    "v2a_cli.cli.sources",
    "v2a_cli.cli.web",
]

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise


INTERRUPTED = 130  # the shell's code for a process ended by Ctrl-C (128 + SIGINT)
TERMINATED = 143  # ... and by SIGTERM (128 + 15): kill, timeout, systemd, docker stop


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that every `finally` runs (no hidden .part file is
    left behind) as for Ctrl-C. A BaseException: no `except Exception` swallows it."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While a command runs (main thread only), SIGTERM raises Terminated instead of ending the process
    on the spot; the previous handler comes back afterwards (a command may install its own, e.g. `v2a app`)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    """Run `v2a ARGS`: known errors and usage errors as one line (exit 1 and 2), ^C as exit 130."""
    import typer
    import typer.main

    from v2a_cli.cli.params import click, prepare_commands
    from v2a_cli.notes import notes_to

    command = prepare_commands(typer.main.get_command(app))
    try:
        with library_warnings_captured(), notes_to(report_note), _sigterm_unwinds():
            code = command.main(args=argv, prog_name="v2a", standalone_mode=False)
    except click.exceptions.UsageError as exc:  # bad option values, missing arguments, unknown options
        if debug_enabled():
            raise
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        report_error(_usage_message(exc) + hint)
        sys.exit(2)
    except click.exceptions.ClickException as exc:
        if debug_enabled():
            raise
        report_error(exc.format_message())
        sys.exit(exc.exit_code or 1)
    except V2AError as exc:
        if debug_enabled():
            raise
        report_error(str(exc))
        sys.exit(1)
    except (KeyboardInterrupt, typer.Abort):  # typer >= 0.2x keeps Abort out of its copy of click
        code = INTERRUPTED
    except Terminated:
        report_error("terminated (SIGTERM); finished outputs are kept, the one being written was removed")
        sys.exit(TERMINATED)
    if code == INTERRUPTED:  # typer turns Ctrl-C into exit code 130 without a word
        report_error("interrupted")
    sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc) -> str:
    """click's message on one line, without a trailing full stop before our hint."""
    text = " ".join(exc.format_message().split())
    return text.rstrip(".")
