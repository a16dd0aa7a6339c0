"""Tiny random-weight open_clip ViT in the Hub layout (`open_clip_config.json` + `open_clip_model.safetensors`).

Same family as ViT-B-32/openai (QuickGELU, patch 32, 224 px, OpenAI mean/std, open_clip's built-in BPE
tokenizer) with the real 512-d embedding, shrunk in width and depth.
"""

from __future__ import annotations

import json
from pathlib import Path

# As in timm/vit_base_patch32_clip_224.openai's open_clip_config.json, except widths and depths.
TINY_CLIP_CONFIG = {
    "model_cfg": {
        "embed_dim": 512,
        "quick_gelu": True,
        "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
    },
    "preprocess_cfg": {
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    },
}


def build_clip(folder: str | Path, seed: int = 0) -> Path:
    """Write the tiny CLIP into `folder` (created) and return the folder."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CLIP_CONFIG["model_cfg"])
    # open_clip initialises logit_scale to log(1/0.07); random everything else is what we want.
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    (folder / "open_clip_config.json").write_text(json.dumps(TINY_CLIP_CONFIG, indent=2))
    return folder
