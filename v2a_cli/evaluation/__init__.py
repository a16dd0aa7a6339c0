"""The paper's objective metrics: FD (PANNs), FAD (VGGish), CS (CLIP vs Wav2CLIP), KL and IS (PANNs).

`evaluate(generated_dir, refs_dir, ...)` does the work (evaluation/evaluator.py); the networks are the
registry's kinds "panns", "vggish" and "wav2clip" (one module each). Names load lazily: importing this
package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "evaluate": "evaluator", "EvalResult": "evaluator", "METRICS": "evaluator", "PAPER_TABLE1": "evaluator",
    "parse_metrics": "evaluator", "extract_embeddings": "evaluator",
    "frechet_distance": "frechet", "gaussian_stats": "frechet", "frechet_distance_of": "frechet", "frechet_report": "frechet",
    "kl_divergence": "scores", "inception_score": "scores", "clip_score": "scores",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
