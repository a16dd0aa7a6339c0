"""Checks on the outputs before any model loads: what can fail at write time fails first, in one line.

`preflight` is the one function every generating command (generate, compose, interpolate) calls after
planning its output paths and before building the pipeline:

- a folder-wide problem (the output folder is a file, is on a read-only disk, is not writable, or its
  disk is too full) raises one V2AError: nothing can be written, so nothing is generated;
- a problem of one output (it exists and --overwrite was not given, it is a folder, its video container
  cannot hold the source's video codec under --video-codec copy) is returned, so a batch goes on with the
  other inputs.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from v2a_cli.errors import OutputExistsError, OutputWriteError, V2AError, write_problem

WAV_RATE = 16_000  # AudioLDM's rate; the estimate of the space a WAV takes before the generator is loaded
WAV_BYTES = 400_000  # a 10 s 16-bit WAV at 16 kHz, with room to spare


def wav_bytes(seconds: float) -> int:
    """About the size of a `seconds` long 16-bit mono WAV at 16 kHz (header included)."""
    return int(seconds * WAV_RATE * 2) + 1024


def preflight(outputs: Sequence[Path], *, overwrite: bool = False,
              video_sources: Mapping[Path, Path] | None = None, bytes_each: int | Mapping[Path, int] = WAV_BYTES,
              video_codec: str = "auto") -> dict[Path, str]:
    """Check `outputs` before any work. Raises V2AError for a folder-wide problem; returns
    {output: one-line problem} for outputs that cannot be written (the others can).

    `video_sources` maps a video output to its source video (whether its stream can go into the output
    under `video_codec` is checked, its size counts towards the free space needed). `bytes_each`: the
    expected size of one sound (see `wav_bytes`).
    """
    video_sources = video_sources or {}
    problems: dict[Path, str] = {}
    needed: dict[Path, int] = {}
    for output in outputs:
        output = Path(output)
        folder = check_output_folder(output.parent)
        sound_bytes = bytes_each.get(output, WAV_BYTES) if isinstance(bytes_each, Mapping) else bytes_each
        needed[folder] = needed.get(folder, 0) + _size_estimate(video_sources.get(output), sound_bytes)
        problem = _output_problem(output, overwrite, video_sources.get(output), video_codec)
        if problem:
            problems[output] = problem
    for folder, size in needed.items():
        _check_free_space(folder, size)
    return problems


def preflight_all(outputs: Sequence[Path], *, overwrite: bool = False, bytes_each: int = WAV_BYTES) -> None:
    """`preflight` for commands whose outputs belong together (compose, interpolate): any problem raises."""
    problems = preflight(outputs, overwrite=overwrite, bytes_each=bytes_each)
    if problems:
        raise V2AError(next(iter(problems.values())))


def check_output_folder(folder: Path) -> Path:
    """The nearest existing folder of `folder` (which is created later), checked writable by a real
    test write: permissions, read-only mounts and ACLs all show up. Raises OutputWriteError."""
    folder = Path(folder) if str(folder) else Path(".")
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputWriteError(existing, "is a file, not a folder; choose another output folder")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".v2a-write-test."):
            pass
    except OSError as exc:
        raise OutputWriteError(folder, write_problem(exc)) from None
    return existing


def _check_free_space(folder: Path, size: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < size:
        raise OutputWriteError(folder, f"{write_problem(OSError(errno.ENOSPC, 'no space'))} "
                                       f"({free / 1e6:.1f} MB free, about {size / 1e6:.1f} MB needed)")


def _size_estimate(video_source: Path | None, sound_bytes: int) -> int:
    if video_source is None:
        return sound_bytes
    try:
        return Path(video_source).stat().st_size + sound_bytes
    except OSError:
        return sound_bytes


def _output_problem(output: Path, overwrite: bool, video_source: Path | None, video_codec: str) -> str | None:
    if output.is_dir():
        return f"{output}: is a folder; give a file name for the output"
    if output.exists() and not overwrite:
        return str(OutputExistsError(output))
    if video_source is not None:
        return video_container_problem(video_source, output, video_codec)
    return None


def video_container_problem(source: Path, output: Path, policy: str = "auto") -> str | None:
    """Why `source`'s video cannot go into `output` under the --video-codec `policy` (None: it can,
    copied or re-encoded; `media.mux.decide_video`). A broken or video-less source is left to the
    input checks that report it."""
    import av

    from v2a_cli.errors import InputError
    from v2a_cli.media.mux import OUTPUT_FORMATS, video_decision

    if output.suffix.lower() not in OUTPUT_FORMATS:
        return f"{output}: cannot write this video type; use one of: {', '.join(sorted(OUTPUT_FORMATS))}"
    try:
        video_decision(source, output, policy)
    except InputError as exc:
        return str(exc) if exc.path == str(output) else None
    except (av.FFmpegError, OSError):
        return None
    return None
