"""The sound-class vocabularies (AudioSet, VGGSound; `v2a_cli/vocab/`): the zero-shot bridge's classes
and the source detector's queries. Plain data, below both."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from v2a_cli.errors import V2AError

VOCAB_DIR = Path(__file__).with_name("vocab")
VOCABULARIES: dict[str, str] = {
    "audioset": "audioset.txt",  # the 527 AudioSet classes (display names)
    "vggsound": "vggsound.txt",  # the 309 VGGSound classes
}


def read_vocabulary(name: str) -> list[str]:
    """The class names of one packaged vocabulary, in file order."""
    if name not in VOCABULARIES:
        raise V2AError(f"bridge vocabulary {name!r}: expected one of {', '.join(VOCABULARIES)}")
    lines = (VOCAB_DIR / VOCABULARIES[name]).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def _dedupe_key(name: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", name.lower()))


def combined_vocabulary(names: Sequence[str]) -> list[str]:
    """The class names of several vocabularies, first spelling kept where two name the same class."""
    seen: set[str] = set()
    combined: list[str] = []
    for vocabulary in names:
        for class_name in read_vocabulary(vocabulary):
            key = _dedupe_key(class_name)
            if key not in seen:
                seen.add(key)
                combined.append(class_name)
    return combined
