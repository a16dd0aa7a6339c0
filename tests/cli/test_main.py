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


def test_a_written_files_name_is_on_its_own_line_not_glued_to_the_progress_bar(zoo_models_toml, tmp_path,
                                                                              monkeypatch):
    """On a terminal the bars are drawn on stderr; the name printed while they are live used to land at the end
    of the bar's line (`...0:00:00dog.wav`). Both on the terminal: the name is a line of its own above the
    bars. stdout piped: the name goes to stdout alone, nothing of it to stderr."""
    import importlib
    import io

    from rich.console import Console

    cli_app = importlib.import_module("v2a_cli.cli.app")  # the module (v2a_cli.cli.app is also the Typer app's name)
    from v2a_cli.cli import main
    from v2a_cli.testing.media import make_image

    image = make_image(tmp_path / "dog.png")

    def run(stdout_is_terminal: bool, name: str) -> tuple[str, str]:
        err = io.StringIO()
        out = err if stdout_is_terminal else io.StringIO()  # a terminal: one screen for both
        monkeypatch.setattr(cli_app, "stdout", Console(file=out, force_terminal=stdout_is_terminal, width=100))
        monkeypatch.setattr(cli_app, "stderr", Console(file=err, force_terminal=True, width=100))
        try:
            main(["--models", str(zoo_models_toml), "generate", str(image), "-o", str(tmp_path / name),
                  "--steps", "2", "--duration", "2"])
        except SystemExit as exit_:
            assert not exit_.code
        return out.getvalue(), err.getvalue()

    screen, _ = run(True, "both.wav")
    assert "━" in screen  # the bars were drawn
    lines = [line for line in screen.replace("\r", "\n").splitlines() if "both.wav" in line]
    assert lines and all(line.endswith(str(tmp_path / "both.wav")) and "━" not in line and "0:00" not in line
                         for line in lines), lines
    out, err = run(False, "piped.wav")
    assert out == f"{tmp_path / 'piped.wav'}\n" and "piped.wav" not in err
