"""`load_model(kind, spec)`: the model of a kind, by the module that owns that kind.

Above every model module and below the code that runs them (generation's stages, evaluation, training,
doctor, the CLI): `LOADER_MODULES` is a declared table of imports, each pointing down
(tests/test_layers.py reads it as import edges). Finding a model's files is `registry.py`'s job.
"""

from __future__ import annotations

import importlib
from typing import Any

from v2a_cli.registry import LOADERS, quiet_library_loading

# kind -> the module that registers its loader (`registry.register_loader`), imported lazily so
# `import v2a_cli` stays light.
LOADER_MODULES: dict[str, str] = {
    "clip": "v2a_cli.embeddings.clip",
    "clap": "v2a_cli.embeddings.clap",
    "generator": "v2a_cli.audioldm.generator",
    "mapper": "v2a_cli.mapper",
    "detector": "v2a_cli.sources.detector",
    "panns": "v2a_cli.evaluation.panns",
    "vggish": "v2a_cli.evaluation.vggish",
    "wav2clip": "v2a_cli.evaluation.wav2clip",
    "passt": "v2a_cli.evaluation.passt",
    "imagebind": "v2a_cli.evaluation.imagebind",
    "synchformer": "v2a_cli.evaluation.synchformer",
}




def load_model(kind: str, spec: str, **kwargs: Any) -> Any:
    """Load the model of `kind` named by `spec` (Hub id, local path or URL)."""
    if kind not in LOADERS and kind in LOADER_MODULES:
        importlib.import_module(LOADER_MODULES[kind])
    if kind not in LOADERS:
        raise KeyError(f"no loader registered for model kind {kind!r}; known: {sorted(LOADER_MODULES)}")
    with quiet_library_loading():
        return LOADERS[kind](spec, **kwargs)
