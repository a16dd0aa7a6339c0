"""`v2a` command line. `main()` turns known errors into one line and exit code 1 (V2A_DEBUG=1: traceback)."""

from __future__ import annotations

import importlib
import sys

from v2a_cli.cli.app import app, debug_enabled, report_error
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


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="v2a", standalone_mode=True)
    except SystemExit:
        raise
    except V2AError as exc:
        if debug_enabled():
            raise
        report_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        report_error("interrupted")
        sys.exit(130)
