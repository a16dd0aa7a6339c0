"""A tiny random-weight AudioLDM CLAP, written as an original AudioLDM `.ckpt` (laion-CLAP layout).

The model is a transformers `ClapModel` (HTSAT + RoBERTa, unfused) with the real audio front end
(48 kHz, 64 mel bins, hop 480, 256-px spectrogram image, window 8) and the real 512-d projections,
shrunk in width and depth. `write_audioldm_ckpt` stores it under `cond_stage_model.model.*` with the
laion names, plus the laion-only tensors the converter must drop and a few non-CLAP keys it must
ignore, so tests run the real conversion path.
"""

from __future__ import annotations

from pathlib import Path

import torch

from v2a_cli.files import atomic_output

CKPT_NAME = "audioldm-tiny.ckpt"
# Non-CLAP keys of a real AudioLDM checkpoint (UNet, VAE): present so that tests prove they are ignored.
OTHER_KEYS = ("model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.encoder.conv_in.weight")


def tiny_clap_config():
    from transformers import ClapConfig

    from v2a_cli.testing.tiny_tokenizer import tiny_vocab_size

    text_config = {
        "vocab_size": tiny_vocab_size(), "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 256, "max_position_embeddings": 514, "type_vocab_size": 1, "hidden_act": "gelu",
        "layer_norm_eps": 1e-5, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        "projection_dim": 512, "projection_hidden_act": "relu",
    }
    audio_config = {
        "spec_size": 256, "patch_size": 4, "patch_stride": [4, 4], "num_mel_bins": 64, "window_size": 8,
        "patch_embeds_hidden_size": 16, "hidden_size": 128, "depths": [2, 1, 1, 1],
        "num_attention_heads": [1, 2, 2, 4], "mlp_ratio": 4.0, "enable_fusion": False, "hidden_act": "gelu",
        "layer_norm_eps": 1e-5, "projection_dim": 512, "projection_hidden_act": "relu",
    }
    return ClapConfig(text_config=text_config, audio_config=audio_config, projection_dim=512,
                      projection_hidden_act="relu")


def build_tiny_clap_model(seed: int = 0):
    """A seeded tiny `transformers.ClapModel` in eval mode."""
    from transformers import ClapModel

    torch.manual_seed(seed)
    model = ClapModel(tiny_clap_config()).eval()
    # Non-trivial batch-norm statistics and logit scales, so a mapping slip would show.
    with torch.no_grad():
        norm = model.audio_model.audio_encoder.batch_norm
        norm.running_mean.copy_(torch.randn_like(norm.running_mean) * 5 - 30)
        norm.running_var.copy_(torch.rand_like(norm.running_var) * 50 + 10)
        model.logit_scale_a.fill_(3.1)
        model.logit_scale_t.fill_(2.9)
    return model


def _laion_only_tensors(model, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The tensors a real laion-CLAP checkpoint has and transformers does not (see clap_convert.DROPPED_KEYS)."""
    import numpy as np

    from v2a_cli.embeddings.clap_convert import make_feature_extractor

    audio = model.config.audio_config
    extractor = make_feature_extractor()
    n_fft = extractor.fft_window_size
    # torchlibrosa's STFT kernels: Hann-windowed DFT rows, shape (n_fft // 2 + 1, 1, n_fft).
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)
    angle = 2 * np.pi * k * n / n_fft
    extras = {
        "audio_branch.spectrogram_extractor.stft.conv_real.weight": torch.tensor(np.cos(angle) * window, dtype=torch.float32)[:, None],
        "audio_branch.spectrogram_extractor.stft.conv_imag.weight": torch.tensor(-np.sin(angle) * window, dtype=torch.float32)[:, None],
        "audio_branch.logmel_extractor.melW": torch.tensor(extractor.mel_filters_slaney, dtype=torch.float32),
    }
    # Shifted blocks (odd ones, where the stage is wider than a window) carry their attention mask.
    resolution = audio.spec_size // audio.patch_size
    for i, depth in enumerate(audio.depths):
        windows = (resolution // 2 ** i // audio.window_size) ** 2
        for j in range(1, depth, 2):
            if resolution // 2 ** i > audio.window_size:
                size = audio.window_size ** 2
                extras[f"audio_branch.layers.{i}.blocks.{j}.attn_mask"] = torch.zeros(windows, size, size)
    final_freq = audio.spec_size // 2 ** (len(audio.depths) - 1) // audio.patch_stride[0] // (audio.spec_size // audio.num_mel_bins)
    extras["audio_branch.tscam_conv.weight"] = torch.randn(audio.num_classes, audio.hidden_size, final_freq, 3, generator=generator)
    extras["audio_branch.tscam_conv.bias"] = torch.randn(audio.num_classes, generator=generator)
    extras["audio_branch.head.weight"] = torch.randn(audio.num_classes, audio.num_classes, generator=generator)
    extras["audio_branch.head.bias"] = torch.randn(audio.num_classes, generator=generator)
    dim = model.config.projection_dim
    for branch in ("audio", "text"):
        for index in (0, 3):  # MLPLayers([512, 512, 512]): Linear, ReLU, Dropout, Linear
            extras[f"{branch}_transform.sequential.{index}.weight"] = torch.randn(dim, dim, generator=generator) * 0.02
            extras[f"{branch}_transform.sequential.{index}.bias"] = torch.zeros(dim)
    return extras


def write_audioldm_ckpt(clap_model, path: str | Path) -> Path:
    """Save `clap_model` as AudioLDM's Lightning checkpoint would hold it: {"state_dict": {...}} (atomic)."""
    from v2a_cli.embeddings.clap_convert import CKPT_PREFIX, convert_hf_to_audioldm_layout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(1234)
    laion = convert_hf_to_audioldm_layout(clap_model.state_dict())
    laion.update(_laion_only_tensors(clap_model, generator))
    state = {CKPT_PREFIX + name: tensor.detach().clone().contiguous() for name, tensor in laion.items()}
    for key in OTHER_KEYS:
        state[key] = torch.randn(4, 4, generator=generator)
    with atomic_output(path, overwrite=True) as tmp:
        torch.save({"state_dict": state, "epoch": 0, "global_step": 0}, tmp)
    return path


def text_encoder_from(clap_model):
    """A `ClapTextModelWithProjection` with `clap_model`'s text tower and projection (the same weights)."""
    from transformers import ClapTextModelWithProjection

    encoder = ClapTextModelWithProjection(clap_model.config.text_config).eval()
    state = {name: tensor for name, tensor in clap_model.state_dict().items()
             if name.startswith(("text_model.", "text_projection."))}
    encoder.load_state_dict(state, strict=True)
    return encoder


def build_clap(folder: str | Path, seed: int = 0) -> Path:
    """Write `folder/audioldm-tiny.ckpt` and `folder/tokenizer/` (tiny RoBERTa BPE); return the ckpt path."""
    from v2a_cli.testing.tiny_tokenizer import write_tiny_roberta_tokenizer

    folder = Path(folder)
    ckpt = write_audioldm_ckpt(build_tiny_clap_model(seed=seed), folder / CKPT_NAME)
    write_tiny_roberta_tokenizer(folder / "tokenizer")
    return ckpt
