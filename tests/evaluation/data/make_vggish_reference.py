"""Regenerate vggish_reference.npz: VGGish frames as torchvggish computes them, as audioldm_eval's FAD uses it.

Not a test and not run by CI. Usage:

    pip download --no-deps torchvggish==0.2                                     # unpack into SRC
    PYTHONPATH=<v2a checkout> python make_vggish_reference.py SRC/torchvggish-0.2

torchvggish's `vggish_input.waveform_to_examples` (VGGish's numpy front end) and its `VGG` network, with
the final ReLU removed and no PCA (audioldm_eval's `FrechetAudioDistance(use_pca=False,
use_activation=False)`). The network is built at the tiny zoo's width (the only change: `make_layers`'
conv widths and the fully connected sizes are mapped to the zoo's) and the tiny zoo checkpoint
(`v2a_cli.testing.zoo_eval.build_vggish(seed=1)`, torchvggish's layout) is loaded strictly. Its inputs
are 16 kHz, so `resampy` (imported by `vggish_input`, used only to resample) is not needed.
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import numpy as np


def waveforms() -> dict[str, np.ndarray]:
    """16 kHz signals of whole and partial 0.96 s patches."""
    rng = np.random.default_rng(9)
    t = np.arange(48000) / 16000
    return {
        "tone": (0.5 * np.sin(2 * np.pi * 600 * t[:16000]) + 0.05 * rng.standard_normal(16000)).astype(np.float32),
        "noise": (0.3 * rng.standard_normal(48000)).astype(np.float32),
        "sweep": (0.4 * np.sin(2 * np.pi * (100 + 2000 * t[:31000]) * t[:31000])).astype(np.float32),
    }


def main(src: str) -> None:
    sys.modules["resampy"] = types.ModuleType("resampy")  # only used for other sample rates
    sys.path[:0] = [src]
    import torch
    from torch import nn

    from torchvggish import torchvggish as tv
    from torchvggish import vggish_input

    from v2a_cli.evaluation.checkpoints import _read_pth
    from v2a_cli.testing import zoo_eval

    channels = dict(zip((64, 128, 256, 512), (zoo_eval.VGGISH_CHANNELS[0], zoo_eval.VGGISH_CHANNELS[1],
                                             zoo_eval.VGGISH_CHANNELS[2], zoo_eval.VGGISH_CHANNELS[4])))
    channels[1] = 1
    features = {512 * 4 * 6: zoo_eval.VGGISH_CHANNELS[-1] * 4 * 6, 4096: zoo_eval.VGGISH_HIDDEN, 128: 128}

    def conv(in_channels, out_channels, **kwargs):
        return nn.Conv2d(channels[in_channels], channels[out_channels], **kwargs)

    def linear(in_features, out_features, *args, **kwargs):
        return nn.Linear(features[in_features], features[out_features], *args, **kwargs)

    tv.nn = types.SimpleNamespace(**{**vars(nn), "Conv2d": conv, "Linear": linear})
    model = tv._vgg(postprocess=False)
    model.embeddings = nn.Sequential(*list(model.embeddings.children())[:-1])  # audioldm_eval: no final ReLU
    with tempfile.TemporaryDirectory() as tmp:
        state = _read_pth(zoo_eval.build_vggish(Path(tmp) / "vggish.pth", seed=1), kind="vggish", subkey=None)
    model.load_state_dict(state, strict=True)
    model.eval()
    arrays = {}
    with torch.no_grad():
        for key, wave in waveforms().items():
            examples = vggish_input.waveform_to_examples(wave, 16000, return_tensor=True)
            arrays[key] = model(examples).numpy()
    out = Path(__file__).with_name("vggish_reference.npz")
    np.savez_compressed(out, **arrays)
    print(f"{out}: {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}")


if __name__ == "__main__":
    main(sys.argv[1])
