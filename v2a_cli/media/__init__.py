"""Files in and out: expanding inputs, loading images, sampling video frames, audio I/O, muxing.

Names are imported lazily (PyAV and PIL load on first use), so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "IMAGE_EXTS": "inputs", "VIDEO_EXTS": "inputs", "AUDIO_EXTS": "inputs",
    "media_kind": "inputs", "expand_inputs": "inputs", "atomic_output": "inputs",
    "load_image": "images",
    "VideoInfo": "video", "SampledFrame": "video", "probe_video": "video", "sample_frames": "video",
    "load_audio": "audio", "write_wav": "audio",
    "mux_audio_into_video": "mux",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
