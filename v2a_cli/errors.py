"""Errors the user can act on. The CLI prints them as one line (no traceback unless V2A_DEBUG=1)."""

from __future__ import annotations

from pathlib import Path


class V2AError(Exception):
    """A known, user-facing failure. The message is one line that says what to do."""


class ModelUnavailableError(V2AError):
    """Weights are neither cached nor reachable (offline, no network, wrong id or path)."""


class InputError(V2AError):
    """An input file cannot be used. The message names the file."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class OutputExistsError(V2AError):
    """An output file exists and --overwrite was not given."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        super().__init__(f"{self.path}: output exists; pass --overwrite to replace it or choose another name")


class CheckpointError(V2AError):
    """A checkpoint folder is missing files or does not match its config."""


def first_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as a short reason for a one-line message: its first line, or its class name."""
    text = str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."
