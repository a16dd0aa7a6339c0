"""Regenerate passt_reference.npz: PaSST as hear21passt 0.0.26 (av-benchmark's `passt` network) computes it.

Not a test and not run by CI (v2a does not depend on hear21passt or torchaudio). Usage:

    pip download --no-deps hear21passt==0.0.26                    # unpack the wheel into SRC
    pip install --no-deps --target DEPS torchaudio                 # 2.11.1 imports beside torch 2.14
    PYTHONPATH=<v2a checkout> python make_passt_reference.py SRC DEPS

`hear21passt.base.get_basic_model(mode="all")` is run as av-benchmark's extract.py runs it, except that its
network factory (which downloads the AudioSet weights) is replaced by hear21passt's own `PaSST` class with the
arguments `get_model()` gives `passt_s_swa_p16_128_ap476` (128 x 998 input, 16 x 16 patches, stride 10,
distilled, 527 classes) at the tiny zoo's width and depth (embed_dim 128, depth 2, 2 heads: the only change).
The tiny zoo checkpoint (`v2a_cli.testing.zoo_eval.build_passt(seed=3)`, the released file's layout) is loaded
into it strictly. Inputs are cut or padded to 10 s at 32 kHz as extract.py does, and the [527 logits | 128
embedding] output is stored, split as extract.py splits it. float32, as av-benchmark runs it. (av-benchmark
pins the fork hkchengrex/passt_hear21 1ab7789, which differs from PyPI 0.0.26 only in removed prints and
deprecation fixes with the same arithmetic.)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np


def waveforms() -> dict[str, np.ndarray]:
    """32 kHz test signals: 3 s tone + noise (padded to 10 s), 10 s chirp, 12 s noise bursts (cut to 10 s)."""
    rng = np.random.default_rng(7)
    t = np.arange(384000) / 32000
    return {
        "tone": (0.4 * np.sin(2 * np.pi * 440 * t[:96000]) + 0.05 * rng.standard_normal(96000)).astype(np.float32),
        "chirp": (0.5 * np.sin(2 * np.pi * (100 + 600 * t[:320000]) * t[:320000])).astype(np.float32),
        "bursts": ((np.sin(2 * np.pi * 1.5 * t) > 0.2) * 0.3 * rng.standard_normal(384000)).astype(np.float32),
    }


def fit(wave: np.ndarray) -> np.ndarray:
    """extract.py: wav[..., :320000] if longer, else zero-padded to 320000."""
    return wave[:320000] if wave.size >= 320000 else np.pad(wave, (0, 320000 - wave.size))


def main(src: str, deps: str) -> None:
    sys.path[:0] = [deps, src]
    import torch

    from hear21passt import base
    from hear21passt.models import passt

    from v2a_cli.testing import zoo_eval

    def tiny_passt(arch="passt_s_swa_p16_128_ap476"):
        return passt.PaSST(img_size=(128, 998), patch_size=16, stride=(10, 10), in_chans=1, num_classes=527,
                           embed_dim=zoo_eval.PASST_DIM, depth=zoo_eval.PASST_DEPTH,
                           num_heads=zoo_eval.PASST_DIM // 64, mlp_ratio=zoo_eval.PASST_HIDDEN / zoo_eval.PASST_DIM,
                           distilled=True)

    base.get_model_passt = tiny_passt
    model = base.get_basic_model(mode="all")  # av-benchmark's call; its mel front end unchanged
    with tempfile.TemporaryDirectory() as tmp:
        path = zoo_eval.build_passt(Path(tmp) / "passt.pt", seed=3)
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.net.load_state_dict(state, strict=True)
    model.eval()
    arrays = {}
    with torch.no_grad():
        for key, wave in waveforms().items():
            out = model(torch.from_numpy(fit(wave)).float()[None])
            arrays[f"{key}/logits"] = out[0, :527].numpy()
            arrays[f"{key}/embedding"] = out[0, 527:].numpy()
    path = Path(__file__).with_name("passt_reference.npz")
    np.savez_compressed(path, **arrays)
    print(f"{path}: {sorted(arrays)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
