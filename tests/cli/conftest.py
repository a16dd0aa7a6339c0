"""CLI fixtures: run `v2a` in-process (fast) through the real entry point `v2a_cli.cli.main`."""

from __future__ import annotations

import pytest


@pytest.fixture
def v2a(capsys, zoo_models_toml):
    """Run `v2a --models <zoo> --quiet ARGS...` -> (exit code, stdout, stderr)."""
    from v2a_cli.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(["--models", str(zoo_models_toml), "--quiet", *map(str, args)])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run
