"""Regenerate clap_network_reference.npz: the CLAP audio tower as AudioLDM 0.1.1's own code computes it.

Not a test and not run by CI (v2a depends on none of this). Usage:

    pip download --no-deps audioldm==0.1.1                                     # unpack into SRC
    pip install --no-deps --target DEPS torchaudio torchlibrosa librosa numba llvmlite lazy_loader \\
        decorator audioread soxr joblib cloudpickle msgpack pooch platformdirs
    PYTHONPATH=<v2a checkout> python make_clap_network_reference.py SRC DEPS

AudioLDM's `audioldm/clap/open_clip` builds `CLAP(HTSAT, roberta)` from `model_configs/HTSAT-tiny.json` with
one change: the HTSAT is built at the tiny zoo's size (embed_dim 16, depths [2,1,1,1], heads [1,2,2,4];
`create_htsat_model` only knows the full sizes) and `embed_dim` (its output width) is 128 to match. The
tiny zoo CLAP checkpoint (`v2a_cli.testing.zoo_clap.build_clap(seed=0)`, AudioLDM's own layout) is loaded
into it: every audio-branch and audio-projection tensor except the shifted-window attention masks, which
the zoo stores as zeros and the reference computes itself (the text branch, roberta-base sized in this
code, is not compared here). Waveforms go through `get_audio_features(..., 480000, "fusion", "repeatpad")` and
`get_audio_embedding`, as `CLAPAudioEmbeddingClassifierFreev2.forward` does after its resampling, with
the random crop offset of longer inputs fixed at 0 (v2a takes the first 10 s).
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import numpy as np

ROBERTA_TINY = {"vocab_size": 100, "hidden_size": 768, "num_hidden_layers": 1, "num_attention_heads": 12,
                "intermediate_size": 64, "max_position_embeddings": 514, "type_vocab_size": 1,
                "layer_norm_eps": 1e-5, "pad_token_id": 1}
ZOO_HTSAT = {"embed_dim": 16, "depths": [2, 1, 1, 1], "num_heads": [1, 2, 2, 4], "window_size": 8}


def waveforms() -> dict[str, np.ndarray]:
    """48 kHz test signals: exactly 10 s, 3 s (repeat-padded), 12 s (first 10 s kept), near silence."""
    rng = np.random.default_rng(77)
    t = np.arange(480000) / 48000
    return {
        "ten": (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(t.size)).astype(np.float32),
        "three": (0.5 * np.sin(2 * np.pi * 1500 * t[:144000]) * np.exp(-t[:144000])).astype(np.float32),
        "twelve": (0.2 * rng.standard_normal(576000)).astype(np.float32),
        "quiet": (1e-4 * rng.standard_normal(480000)).astype(np.float32),
    }


def main(src: str, deps: str) -> None:
    import json
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    sys.path[:0] = [deps, src]
    import torch
    import transformers

    def offline_roberta(cls, name, *args, **kwargs):
        return cls(transformers.RobertaConfig(**ROBERTA_TINY))

    transformers.RobertaModel.from_pretrained = classmethod(offline_roberta)
    transformers.RobertaTokenizer.from_pretrained = classmethod(lambda cls, *a, **k: None)
    # Bare packages: AudioLDM's package __init__ imports the whole LDM.
    for name in ("audioldm", "audioldm.clap", "audioldm.clap.open_clip", "audioldm.clap.training"):
        package = types.ModuleType(name)
        package.__path__ = [str(Path(src) / name.replace(".", "/"))]
        sys.modules[name] = package
    sys.modules["audioldm.clap.open_clip"].tokenize = None  # data.py imports it for text datasets only
    from audioldm.clap.open_clip import htsat, model as clap_model
    from audioldm.clap.training import data

    def tiny_htsat(audio_cfg, enable_fusion=False, fusion_type="None"):
        return htsat.HTSAT_Swin_Transformer(spec_size=256, patch_size=4, patch_stride=(4, 4),
                                            num_classes=audio_cfg.class_num, config=audio_cfg,
                                            enable_fusion=enable_fusion, fusion_type=fusion_type, **ZOO_HTSAT)

    clap_model.create_htsat_model = tiny_htsat
    data.np.random.randint = lambda low, high=None, *args, **kwargs: 0
    cfg = json.loads((Path(src) / "audioldm/clap/open_clip/model_configs/HTSAT-tiny.json").read_text())
    cfg["embed_dim"] = ZOO_HTSAT["embed_dim"] * 2 ** (len(ZOO_HTSAT["depths"]) - 1)
    cfg["text_cfg"]["model_type"] = "roberta"
    model = clap_model.CLAP(**cfg, enable_fusion=False, fusion_type="aff_2d").eval()

    from v2a_cli.testing.zoo_clap import build_clap

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = torch.load(build_clap(Path(tmp), seed=0), weights_only=True)["state_dict"]
    prefix = "cond_stage_model.model."
    state = {k[len(prefix):]: v for k, v in ckpt.items() if k.startswith(prefix)}
    audio_keys = {k for k in model.state_dict() if k.startswith(("audio_branch.", "audio_projection."))}
    # The zoo writes zeros for the shifted windows' attention masks (v2a's converter drops them; transformers
    # derives its own); the reference keeps the masks its constructor computed, as a real checkpoint holds.
    audio_state = {k: v for k, v in state.items() if k in audio_keys and not k.endswith("attn_mask")}
    missing = {k for k in audio_keys - set(audio_state) if not k.endswith("attn_mask")}
    assert not missing, f"zoo checkpoint lacks {sorted(missing)[:5]}"
    model.load_state_dict(audio_state, strict=False)

    # float64: the reference without its own float32 round-off (tensors its forward creates follow it).
    precision = torch.float64
    torch.set_default_dtype(precision)
    model = model.to(precision)
    arrays = {}
    with torch.no_grad():
        for key, wave in waveforms().items():
            features = data.get_audio_features({}, torch.from_numpy(wave).to(precision), 480000,
                                               data_truncating="fusion", data_filling="repeatpad",
                                               audio_cfg=cfg["audio_cfg"])
            arrays[key] = model.get_audio_embedding([features])[0].float().numpy()
    out = Path(__file__).with_name("clap_network_reference.npz")
    np.savez_compressed(out, **arrays)
    print(f"{out}: {sorted(arrays)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
