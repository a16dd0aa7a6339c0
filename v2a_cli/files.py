"""Atomic writes: a file or folder appears whole under its name, or not at all (kills, full disks).

Every writer in v2a (outputs, caches, checkpoints, shards) goes through these two context managers,
so no reader ever sees a partial file and outputs get the permissions a plain open()/mkdir gives.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from v2a_cli.errors import InputError, OutputExistsError, OutputWriteError, write_problem


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path` in one rename.

    Raises OutputExistsError up front when `path` exists and not `overwrite`. Parent folders are
    created. On any error the temporary file is removed, so no partial output is ever left. A failing
    write to the output itself (read-only disk, full disk, no permission) is an OutputWriteError.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    if path.is_dir():
        raise InputError(path, "is a folder; give a file name for the output")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder (so os.replace is a rename on one file system), same suffix (so format guessing works).
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
    except OSError as exc:
        raise OutputWriteError(path, write_problem(exc)) from None
    os.close(handle)
    temp = Path(temp_name)
    os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the modes a plain open() gives
    try:
        yield temp
        # Again: a writer may have put a new file at the temp path (safetensors' save_file does), with 0600.
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except Exception as exc:  # an OSError, or a library's own error around one (safetensors' SafetensorError)
        os_error = os_error_of(exc)
        if os_error is None or not _is_write_failure(os_error, temp, path):
            raise
        raise OutputWriteError(path, write_problem(os_error)) from None
    finally:
        temp.unlink(missing_ok=True)


WRITE_FAILURE_ERRNOS = ("ENOSPC", "EDQUOT", "EROFS", "EFBIG")


def os_error_of(exc: BaseException) -> OSError | None:
    """`exc` as an OSError: itself, or the operating-system error a library wrapped into its own type and
    message (safetensors raises `SafetensorError: ... No space left on device (os error 28)`)."""
    import re

    if isinstance(exc, OSError):
        return exc
    match = re.search(r"\(os error (\d+)\)|code: (\d+)", str(exc))
    if match is None:
        return None
    code = int(match.group(1) or match.group(2))
    return OSError(code, os.strerror(code))


def _is_write_failure(exc: OSError, *ours: Path) -> bool:
    """An error of writing our file (and not, say, of reading an input inside the with block)."""
    import errno

    if exc.errno in [getattr(errno, name) for name in WRITE_FAILURE_ERRNOS]:
        return True
    return exc.filename is not None and Path(exc.filename) in ours


@contextmanager
def atomic_folder(folder: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder next to `folder`; on success it replaces `folder` (an old one is
    moved aside first, then removed). On any error the staging folder is removed."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    except OSError as exc:
        raise OutputWriteError(folder, write_problem(exc)) from None
    try:
        yield staging
        _apply_default_permissions(staging)
        _replace_dir(staging, folder)
    except Exception as exc:  # a full disk while writing into the staging folder: one line, nothing left
        os_error = os_error_of(exc)
        if os_error is None or not _is_write_failure(os_error, staging, folder):
            raise
        raise OutputWriteError(folder, write_problem(os_error)) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _apply_default_permissions(folder: Path) -> None:
    """mkdtemp makes a private (0700) folder; give the result the modes a plain mkdir/open would have."""
    umask = _umask()
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _replace_dir(src: Path, dst: Path) -> None:
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
