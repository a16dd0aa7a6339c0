"""Which files are media, turning command-line items into file lists, and atomic output files."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from v2a_cli.errors import InputError
from v2a_cli.files import atomic_output  # noqa: F401  (re-exported: media writers use it)

if TYPE_CHECKING:
    import av  # imported for real inside open_input: this module stays light

MediaKind = Literal["image", "video", "audio"]

# Names taken at their word when a folder is listed. A file named on the command line is probed by its
# content when its name says nothing (or says "video" and it holds only sound): see `media_kind`.
IMAGE_EXTS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
VIDEO_EXTS: frozenset[str] = frozenset({".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".ogv",
                                        ".wmv", ".flv", ".3gp"})  # not .ts: TypeScript shares it (probed when named)
AUDIO_EXTS: frozenset[str] = frozenset({".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac",
                                        ".aif", ".aiff", ".wma", ".mka"})

KIND_BY_EXT: dict[str, MediaKind] = {
    **{ext: "image" for ext in IMAGE_EXTS},
    **{ext: "video" for ext in VIDEO_EXTS},
    **{ext: "audio" for ext in AUDIO_EXTS},
}

GLOB_CHARS = ("*", "?", "[")


def _supported_list() -> str:
    return ", ".join(sorted(ext.lstrip(".") for ext in KIND_BY_EXT))


def media_kind(path: str | Path) -> MediaKind:
    """"image", "video" or "audio": by extension for images and sounds; by content for a file whose
    extension is unknown (Pillow, then PyAV) or says video (a sound-only .mp4 is "audio")."""
    path = Path(path)
    kind = KIND_BY_EXT.get(path.suffix.lower())
    if kind in ("image", "audio"):
        return kind
    probed = probe_kind(path) if path.is_file() else None
    if probed is not None:
        return probed
    if kind is None:
        raise InputError(path, "not an image, video or sound file that Pillow or FFmpeg can read "
                               f"(unknown file type); use one of: {_supported_list()}")
    return kind


_PROBED: dict[tuple[str, int, int], MediaKind | None] = {}


def probe_kind(path: Path) -> MediaKind | None:
    """What the file holds, by its content: an image Pillow opens, else a video (a video stream that is
    not a single picture) or a sound that PyAV opens; None when neither reads it. Cached per file state."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
    if key not in _PROBED:
        _PROBED[key] = _probe(path)
    return _PROBED[key]


def _probe(path: Path) -> MediaKind | None:
    import warnings

    if path.suffix.lower() not in VIDEO_EXTS:
        from PIL import Image

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a decompression-bomb warning on a huge picture: still an image
                with Image.open(path):
                    return "image"
        except Image.DecompressionBombError:
            return "image"
        except Exception:  # Pillow raises many kinds for "not an image"
            pass
    import av

    try:
        with av.open(str(path), metadata_errors="replace") as container:
            if container.streams.video and not container.streams.audio and _still_picture(container):
                return "image"  # a PNG named .mp4, a HEIC photo: a picture, not a 1-frame video
            if container.streams.video:
                return "video"
            if container.streams.audio:
                return "audio"
    except (av.FFmpegError, OSError, ValueError):
        pass
    return None


def _still_picture(container: "av.container.InputContainer") -> bool:
    """Whether FFmpeg reads the file as a single picture: an image demuxer (png_pipe, image2, ...) or a
    video stream that declares exactly one frame."""
    name = container.format.name or ""
    return name.endswith("_pipe") or name.startswith("image2") or container.streams.video[0].frames == 1


def is_media_file(path: Path) -> bool:
    # Dot files are skipped: macOS "._name.jpg" resource forks look like media but are not.
    return path.is_file() and path.suffix.lower() in KIND_BY_EXT and not path.name.startswith(".")


def _folder_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.rglob("*") if is_media_file(p)), key=lambda p: str(p))


def _glob_files(pattern: str) -> list[Path]:
    pattern = os.path.expanduser(pattern)
    if "**" in pattern:
        matches = _recursive_glob(pattern)
    else:  # no recursion, so no symbolic-link loops to follow
        matches = glob.glob(pattern)
    return sorted((Path(m) for m in matches if is_media_file(Path(m))), key=lambda p: str(p))


def _recursive_glob(pattern: str) -> list[str]:
    """A `**` pattern matched as glob does, but walking folders without following symbolic links to
    folders, as a folder argument is listed: glob's own `**` follows them, and a link loop gives the same
    files again and again (one loop) or never ends (two)."""
    import re

    parts = pattern.split(os.sep)
    fixed = []  # the folder the pattern starts from: its parts before the first wildcard
    for part in parts[:-1]:
        if any(char in part for char in GLOB_CHARS):
            break
        fixed.append(part)
    root = os.sep.join(fixed) if fixed else "."
    if pattern.startswith(os.sep) and not fixed[1:]:
        root = os.sep
    if not os.path.isdir(root):
        return []
    rest = parts[len(fixed):]
    expression = ""
    for index, part in enumerate(rest):
        last = index == len(rest) - 1
        if part == "**":
            expression += ".*" if last else "(?:[^/]+/)*"  # any number of folders (none included)
        else:
            segment = _segment_regex(part)
            expression += segment + ("" if last else "/")
    matcher = re.compile(expression + r"\Z", re.DOTALL)
    found = []
    for folder, folders, files in os.walk(root):  # followlinks=False: a linked folder is not entered
        folders[:] = sorted(name for name in folders if not name.startswith("."))  # as glob: no hidden folders
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in files:
            if matcher.match(prefix + name):
                path = os.path.join(folder, name)
                found.append(path if fixed else os.path.relpath(path))
    return found


def _segment_regex(part: str) -> str:
    import re

    out = "" if part.startswith(".") else "(?!\\.)"  # as glob: '*' does not match a leading dot
    index = 0
    while index < len(part):
        char = part[index]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = part.find("]", index + 2 if part[index + 1:index + 2] in ("!", "]") else index + 1)
            if end < 0:
                out += re.escape(char)
            else:
                inner = part[index + 1:end]
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out += "[" + inner.replace("\\", "\\\\").replace("[", "\\[") + "]"
                index = end
        else:
            out += re.escape(char)
        index += 1
    return out


def _expand_one(item: str) -> list[Path]:
    path = Path(item).expanduser()
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise InputError(item, "folder cannot be read (permission denied); check its permissions")
        files = _folder_files(path)
        if not files:
            raise InputError(item, f"folder has no media files; supported: {_supported_list()}")
        return files
    if path.is_file():
        media_kind(path)  # raises for an unknown extension
        return [path]
    if path.exists() or path.is_symlink():  # a pipe, a socket, a device, a link to nothing
        what = "a link to nothing" if not path.exists() else "not a regular file (a pipe, socket or device)"
        raise InputError(item, f"{what}; give a picture, video or sound file (save a stream to a file first)")
    if any(char in item for char in GLOB_CHARS):
        files = _glob_files(item)
        if not files:
            raise InputError(item, "pattern matches no media files; check it (and quote it so the shell does not expand it)")
        return files
    raise InputError(item, "no such file or folder; check the path")


def expand_inputs(items: Sequence[str | Path], *, on_note: Callable[[str], None] | None = None
                  ) -> tuple[list[Path], list[InputError]]:
    """Files, folders (recursive, sorted) and glob patterns -> (media files, problems).

    Each item that names nothing usable becomes one InputError; the other items still count.
    Every name gets its own output, symbolic links included; only the very same path named twice
    (directly, via a folder or a pattern) is kept once, at its first place, and `on_note` says so.
    """
    paths: list[Path] = []
    errors: list[InputError] = []
    seen: set[str] = set()
    for item in items:
        try:
            found = _expand_one(str(item))
        except InputError as error:
            errors.append(error)
            continue
        for path in found:
            key = os.path.normpath(os.path.abspath(path))  # not resolve(): a link is its own input
            if key not in seen:
                seen.add(key)
                paths.append(path)
            elif on_note is not None:
                on_note(f"{path}: named more than once; one output is made for it")
    return paths, errors


def check_readable(path: str | Path) -> Path:
    """The path, if it is a non-empty file we may read; else InputError saying which and what to do."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file; check the path")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file; re-export or re-download it")
    if not os.access(path, os.R_OK):
        raise InputError(path, "cannot be read (permission denied); check its permissions")
    return path


@contextmanager
def open_input(path: str | Path, what: str = "video or audio") -> Iterator[av.container.InputContainer]:
    """Open a file with PyAV; any FFmpeg failure while open (or while using it) becomes an InputError."""
    import av

    path = check_readable(path)
    try:
        container = av.open(str(path), metadata_errors="replace")
    except av.FFmpegError:
        article = "an" if what[:1] in "aeiou" else "a"
        raise InputError(path, f"not {article} {what} file that can be read, or truncated; re-export it") from None
    try:
        yield container
    except av.FFmpegError as exc:
        raise InputError(path, f"decoding failed ({exc.strerror or exc}); the file is damaged or truncated; re-export it") from None
    finally:
        container.close()
