"""`v2a_cli.cli.main`: how the process ends when a command is stopped."""

from __future__ import annotations

import pytest
import typer

from v2a_cli.cli import INTERRUPTED, main
from v2a_cli.cli.app import app


@pytest.mark.parametrize("stop", [KeyboardInterrupt, typer.Abort])
def test_a_stopped_command_says_interrupted_in_one_line_with_exit_130(stop, monkeypatch, capsys):
    @app.command("stop-now", hidden=True)
    def stop_now() -> None:
        raise stop()

    try:
        with pytest.raises(SystemExit) as ended:
            main(["stop-now"])
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands if c.name != "stop-now"]
    assert ended.value.code == INTERRUPTED
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["error: interrupted"] and "Traceback" not in err


def test_a_closed_output_pipe_ends_without_a_traceback():
    # `v2a generate --help | head -1`: stdout's reader is gone before v2a writes.
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "v2a_cli", "generate", "--help"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr, done.stderr
