"""Regenerate panns_reference.npz: PANNs CNN14 (16 kHz) as audioldm_eval 0.0.3's own code computes it.

Not a test and not run by CI. Usage:

    pip download --no-deps audioldm-eval==0.0.3                                 # unpack into SRC
    pip install --no-deps --target DEPS torchlibrosa librosa numba llvmlite lazy_loader decorator \\
        audioread soxr joblib cloudpickle msgpack pooch platformdirs
    PYTHONPATH=<v2a checkout> python make_panns_reference.py SRC DEPS

audioldm_eval's `feature_extractors/panns/models.Cnn14` is built with the arguments its `EvaluationHelper`
uses at 16 kHz, at the tiny zoo's width: its `ConvBlock`s get the zoo's channel counts and `fc1` /
`fc_audioset` the zoo's embedding width (the only changes). The tiny zoo checkpoint
(`v2a_cli.testing.zoo_eval.build_panns(seed=0)`, the authors' layout) is loaded into it strictly, and its
"2048" (embedding) and "logits" outputs are stored for a few waveforms, prepared as v2a and audioldm_eval
prepare them (mean removed, zero-padded to 2 s). float32, as audioldm_eval runs it: in zero-padded audio the
log-mel sits at the -100 dB floor, where float32 and float64 STFTs differ (up to 5e-4 in the embedding);
v2a's float32 CNN14 gives the float32 reference's numbers exactly.
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import numpy as np


def waveforms() -> dict[str, np.ndarray]:
    """16 kHz test signals: 3 s tone + noise, 1 s chirp (padded to 2 s), 5 s noise bursts."""
    rng = np.random.default_rng(5)
    t = np.arange(80000) / 16000
    return {
        "tone": (0.4 * np.sin(2 * np.pi * 440 * t[:48000]) + 0.05 * rng.standard_normal(48000)).astype(np.float32),
        "chirp": (0.6 * np.sin(2 * np.pi * (200 + 3000 * t[:16000]) * t[:16000])).astype(np.float32),
        "bursts": ((np.sin(2 * np.pi * 2 * t) > 0.3) * 0.3 * rng.standard_normal(80000)).astype(np.float32),
    }


def prepare(wave: np.ndarray) -> np.ndarray:
    wave = wave - wave.mean()
    return np.pad(wave, (0, max(0, 32000 - wave.size)))


def main(src: str, deps: str) -> None:
    sys.path[:0] = [deps, src]
    import torch
    from torch import nn

    from v2a_cli.testing import zoo_eval

    for name in ("audioldm_eval", "audioldm_eval.feature_extractors"):  # their __init__s import everything
        package = types.ModuleType(name)
        package.__path__ = [str(Path(src) / name.replace(".", "/"))]
        sys.modules[name] = package
    from audioldm_eval.feature_extractors.panns import models

    with tempfile.TemporaryDirectory() as tmp:
        from v2a_cli.evaluation.checkpoints import _read_pth  # weights_only=True with numpy's safe globals

        state = _read_pth(zoo_eval.build_panns(Path(tmp) / "panns.pth", seed=0), kind="panns", subkey="model")
    full = (64, 128, 256, 512, 1024, 2048)
    width = dict(zip(full, zoo_eval.PANNS_WIDTHS))
    width[1] = 1
    original_init = models.ConvBlock.__init__

    def narrow_init(self, in_channels, out_channels):
        original_init(self, width[in_channels], width[out_channels])

    models.ConvBlock.__init__ = narrow_init
    # Its constructor downloads (os.system("wget ...")) and loads the authors' checkpoint; the zoo's is
    # loaded below instead, after the narrowing.
    models.os = types.SimpleNamespace(path=types.SimpleNamespace(exists=lambda path: True), makedirs=None,
                                      system=None)
    models.torch = types.SimpleNamespace(load=lambda *args, **kwargs: {"model": None})
    load_state_dict = models.Cnn14.load_state_dict
    models.Cnn14.load_state_dict = lambda self, *args, **kwargs: None
    model = models.Cnn14(features_list=["2048", "logits"], sample_rate=16000, window_size=512, hop_size=160,
                         mel_bins=64, fmin=50, fmax=8000, classes_num=527)
    models.Cnn14.load_state_dict = load_state_dict
    models.torch = torch
    model.fc1 = nn.Linear(zoo_eval.PANNS_WIDTHS[-1], zoo_eval.PANNS_EMBEDDING)
    model.fc_audioset = nn.Linear(zoo_eval.PANNS_EMBEDDING, 527)
    model.load_state_dict(state, strict=True)
    model = model.eval()
    arrays = {}
    with torch.no_grad():
        for key, wave in waveforms().items():
            out = model(torch.from_numpy(prepare(wave)).float()[None])
            arrays[f"{key}/embedding"] = out["2048"][0].numpy()
            arrays[f"{key}/logits"] = out["logits"][0].numpy()
    path = Path(__file__).with_name("panns_reference.npz")
    np.savez_compressed(path, **arrays)
    print(f"{path}: {sorted(arrays)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
