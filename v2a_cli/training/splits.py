"""Train/test split of a video folder: from a VGGSound-style CSV, or a stable hash of each file's path.

VGGSound's CSV has no header and one clip per row: ``youtube_id,start_seconds,label,split`` with
split ``train`` or ``test``. Downloaded clips are named ``<youtube_id>_<start:06d>.mp4`` (e.g.
``--0PQM4-hqg_000030.mp4``); ``<youtube_id>_<start>.mp4`` (``--0PQM4-hqg_30.mp4``) is accepted too.
YouTube ids may contain ``_`` and ``-``, so the start is what follows the *last* underscore.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from v2a_cli.errors import InputError

SPLITS = ("train", "test")
DEFAULT_TEST_FRACTION = 0.05  # without a CSV: 95 % train, 5 % test


@dataclass(frozen=True)
class SplitEntry:
    split: str  # "train" or "test"
    label: str | None = None  # the CSV's class label, when there is one


def vggsound_key(file_name: str) -> tuple[str, int] | None:
    """``"abc_def_000030.mp4"`` -> ``("abc_def", 30)``; None when the name has no ``_<digits>`` tail."""
    stem = PurePosixPath(file_name).stem
    youtube_id, sep, start = stem.rpartition("_")
    if not sep or not youtube_id or not start.isdigit():
        return None
    return youtube_id, int(start)


def read_vggsound_csv(path: str | Path) -> dict[tuple[str, int], SplitEntry]:
    """(youtube_id, start_seconds) -> SplitEntry. A malformed row raises InputError naming the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "split CSV not found; pass an existing file to --split-csv")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the split CSV ({exc})")
    entries: dict[tuple[str, int], SplitEntry] = {}
    for line_number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip():
            continue
        fields = [field.strip() for field in row]
        if len(fields) != 4:
            raise InputError(path, f"line {line_number}: expected youtube_id,start_seconds,label,split "
                                   f"(VGGSound format), got {len(fields)} fields")
        youtube_id, start, label, split = fields
        try:
            start_seconds = int(float(start))
        except ValueError:
            raise InputError(path, f"line {line_number}: start_seconds {start!r} is not a number")
        if split not in SPLITS:
            raise InputError(path, f"line {line_number}: split {split!r} is not one of {', '.join(SPLITS)}")
        entries[(youtube_id, start_seconds)] = SplitEntry(split=split, label=label or None)
    if not entries:
        raise InputError(path, "the split CSV has no rows; expected youtube_id,start_seconds,label,split lines")
    return entries


def hash_split(relative_path: str, *, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> str:
    """"train" or "test", decided by a hash of the path alone: adding files never moves existing ones."""
    digest = hashlib.sha256(f"{seed}:{relative_path}".encode("utf-8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if position < test_fraction else "train"


def assign_splits(relative_paths: Iterable[str], *, split_csv: str | Path | None = None,
                  test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> dict[str, SplitEntry | None]:
    """relative path -> SplitEntry; None for a file the CSV does not list (it is skipped, not guessed)."""
    if split_csv is None:
        return {path: SplitEntry(hash_split(path, test_fraction=test_fraction, seed=seed)) for path in relative_paths}
    table = read_vggsound_csv(split_csv)
    assigned: dict[str, SplitEntry | None] = {}
    for path in relative_paths:
        key = vggsound_key(path)
        assigned[path] = table.get(key) if key is not None else None
    return assigned
