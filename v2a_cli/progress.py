"""Stages of long work (loading a model, a mapper's sampling steps), told to whoever shows progress.

A library function calls `stage("mapping", step, steps)`; the CLI shows it on a progress bar
(`stages_to(callback)` around a command), so a user sees what the time is spent on: which model is
loading, the mapper's sampling steps, before the first window's steps start. Outside any
`stages_to`, a stage costs one context-variable read and says nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

StageCallback = Callable[[str, "int | None", "int | None"], None]

_LISTENER: ContextVar[StageCallback | None] = ContextVar("v2a_stage_listener", default=None)


def stage(name: str, done: int | None = None, total: int | None = None) -> None:
    """Tell the listener that `name` is under way (`done` of `total` steps, when counted)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(name, done, total)


@contextmanager
def stages_to(callback: StageCallback) -> Iterator[None]:
    """Within the block, every `stage(...)` calls `callback(name, done, total)`."""
    token = _LISTENER.set(callback)
    try:
        yield
    finally:
        _LISTENER.reset(token)
