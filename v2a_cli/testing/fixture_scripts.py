"""Reference tests read their inputs from the committed script that made their fixture, so the test and
the fixture can never disagree on what went in."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load_fixture_script(path: str | Path) -> ModuleType:
    """Import a fixture script (`tests/**/data/make_*.py`) by path. Its module level only defines the
    inputs; the original packages it runs are imported inside its `main()`."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
