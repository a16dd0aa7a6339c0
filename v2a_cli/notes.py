"""Notes from deep in the library (a skipped undecodable packet, a clamped range) to whoever runs it.

A library function calls `note("file: what happened")`; the CLI routes notes to stderr as one
`note:` line each (`notes_to(report_note)` around a command), the web service to its log. Outside
any `notes_to`, a note is a Python warning (`V2ANote`), so library callers see it by default.
The same message is given once per `notes_to` (a file decoded twice is not noted twice).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class V2ANote(UserWarning):
    """A note from v2a: not an error, something the user may want to know."""


_SINK: ContextVar[tuple[Callable[[str], None], set[str]] | None] = ContextVar("v2a_note_sink", default=None)


def note(message: str) -> None:
    """Say `message` (one line) to the current sink, once; a `V2ANote` warning when there is none."""
    sink = _SINK.get()
    if sink is None:
        warnings.warn(message, V2ANote, stacklevel=2)
        return
    callback, given = sink
    if message not in given:
        given.add(message)
        callback(message)


@contextmanager
def notes_to(callback: Callable[[str], None]) -> Iterator[None]:
    """Within the block, every `note(...)` calls `callback(message)` (each distinct message once)."""
    token = _SINK.set((callback, set()))
    try:
        yield
    finally:
        _SINK.reset(token)
