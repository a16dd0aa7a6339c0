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


class OutputWriteError(V2AError):
    """An output could not be written (read-only file system, no permission, full disk, not a folder)."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def write_problem(exc: OSError) -> str:
    """An OSError from writing as a reason and what to do: 'read-only file system; choose another folder'."""
    import errno

    advice = {
        errno.EROFS: "read-only file system; choose an output folder on a writable disk",
        errno.EACCES: "permission denied; choose an output folder you can write to",
        errno.EPERM: "permission denied; choose an output folder you can write to",
        errno.ENOSPC: "no space left on the disk; free some space or choose another disk",
        errno.EDQUOT: "disk quota exceeded; free some space or choose another disk",
        errno.ENOTDIR: "a part of the path is a file, not a folder; choose another output folder",
        errno.EISDIR: "is a folder; give a file name for the output",
    }
    return advice.get(exc.errno, f"cannot write ({exc.strerror or exc}); choose another output location")


class CheckpointError(V2AError):
    """A checkpoint folder is missing files or does not match its config."""


def first_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as a short reason for a one-line message: its first line (see `shorten`), or its class name."""
    text = str(exc).strip()
    text = text.splitlines()[0].strip() if text else type(exc).__name__
    return shorten(text, limit)


def shorten(text: str, limit: int = 160) -> str:
    """`text` on one line; when longer than `limit`, its first sentences that fit, else cut at a word
    ending with "...", never in the middle of a word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    sentence_end = max(head.rfind(". "), head.rfind("; "))
    if sentence_end >= limit // 3:
        return head[:sentence_end + 1] if head[sentence_end] == "." else head[:sentence_end]
    word_end = head[:limit - 3].rfind(" ")
    cut = head[:word_end] if word_end > 0 else head[:limit - 3]
    return cut.rstrip(" ,;:") + "..."
