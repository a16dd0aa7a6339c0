"""The installed version, `v2a_cli.__version__`: its own module so any layer can name it without
importing the package's lazy top-level API."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("v2a-cli")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"
