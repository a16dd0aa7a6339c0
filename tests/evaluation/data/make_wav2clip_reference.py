"""Regenerate wav2clip_reference.npz: Wav2CLIP embeddings as the wav2clip package computes them.

Not a test and not run by CI. Usage:

    pip download --no-deps wav2clip==0.1.0 torchaudio                           # unpack into SRC
    pip install --no-deps --target DEPS librosa numba llvmlite lazy_loader decorator audioread soxr \\
        joblib cloudpickle msgpack pooch platformdirs                           # wav2clip imports librosa
    PYTHONPATH=<v2a checkout> python make_wav2clip_reference.py SRC DEPS

wav2clip's `ResNetExtractor(checkpoint, scenario="frozen", transform=True)` (what `get_model()` builds
around the released `Wav2CLIP.pt`), at the tiny zoo's width: its ResNet's conv and batch-norm channel
counts are mapped to the zoo's and `mlp_layers_units` is the zoo's (the only changes). The tiny zoo
checkpoint (`v2a_cli.testing.zoo_eval.build_wav2clip(seed=2)`, the released file's layout) is what it
loads. Each clip is embedded alone, as `embed_audio` does (signals of at least 1 s, v2a's minimum).
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import numpy as np


def waveforms() -> dict[str, np.ndarray]:
    """16 kHz signals, each at least 1 s."""
    rng = np.random.default_rng(21)
    t = np.arange(64000) / 16000
    return {
        "tone": (0.5 * np.sin(2 * np.pi * 330 * t[:16000])).astype(np.float32),
        "noise": (0.2 * rng.standard_normal(40000)).astype(np.float32),
        "mix": (0.3 * np.sin(2 * np.pi * 90 * t) + 0.1 * rng.standard_normal(64000)).astype(np.float32),
    }


def main(src: str, deps: str) -> None:
    sys.path[:0] = [deps, src]
    import torch
    from torch import nn

    from v2a_cli.evaluation.checkpoints import _read_pth
    from v2a_cli.testing import zoo_eval

    with tempfile.TemporaryDirectory() as tmp:
        state = _read_pth(zoo_eval.build_wav2clip(Path(tmp) / "Wav2CLIP.pt", seed=2), kind="wav2clip", subkey=None)
    for name in ("wav2clip", "wav2clip.model"):  # the package __init__ would download the released weights
        package = types.ModuleType(name)
        package.__path__ = [str(Path(src) / name.replace(".", "/"))]
        sys.modules[name] = package
    from wav2clip.model import encoder, resnet

    stem, widths = zoo_eval.WAV2CLIP_STEM, zoo_eval.WAV2CLIP_WIDTHS
    channels = {1: 1, 64: stem, 128: widths[1], 256: widths[2], 512: widths[3]}
    assert widths[0] == stem

    class Conv(nn.Conv2d):
        def __init__(self, in_channels, out_channels, *args, **kwargs):
            super().__init__(channels[in_channels], channels[out_channels], *args, **kwargs)

    class BatchNorm(nn.BatchNorm2d):
        def __init__(self, features, *args, **kwargs):
            super().__init__(channels[features], *args, **kwargs)

    resnet.nn = types.SimpleNamespace(**{**vars(nn), "Conv2d": Conv, "BatchNorm2d": BatchNorm})
    model = encoder.ResNetExtractor(checkpoint=state, scenario="frozen", transform=True,
                                    mlp_layers_units=[widths[-1], widths[-1], zoo_eval.CLIP_DIM])
    model.eval()
    arrays = {}
    with torch.no_grad():
        for key, wave in waveforms().items():
            arrays[key] = model(torch.from_numpy(np.expand_dims(wave, axis=0)))[0].numpy()
    out = Path(__file__).with_name("wav2clip_reference.npz")
    np.savez_compressed(out, **arrays)
    print(f"{out}: {sorted(arrays)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
