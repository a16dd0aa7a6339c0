"""A tiny random-weight AudioLDM in the diffusers folder layout of `cvssp/audioldm-s-full-v2`.

    model_index.json, unet/, vae/, vocoder/, text_encoder/, tokenizer/, scheduler/

Every component has the real structural options (8 latent channels, the 512-d CLAP embedding as a
concatenated `simple_projection` class embedding, cross-attention dims equal to the block widths, a
x4 VAE over 64 mel bins, a HiFi-GAN with upsample product 160 at 16 kHz, the repo's DDIM settings),
shrunk in width and depth. All weights are safetensors; the same seed writes the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# model_index.json as the Hub repo has it (AudioLDMPipeline saved by diffusers' conversion script).
MODEL_INDEX = {
    "_class_name": "AudioLDMPipeline",
    "_diffusers_version": "0.15.0.dev0",
    "scheduler": ["diffusers", "DDIMScheduler"],
    "text_encoder": ["transformers", "ClapTextModelWithProjection"],
    "tokenizer": ["transformers", "RobertaTokenizerFast"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
    "vocoder": ["transformers", "SpeechT5HifiGan"],
}

# The real repo's scheduler: AudioLDM's training betas (linear_start 0.0015, linear_end 0.0195, 1000
# steps, "scaled_linear") with the DDIM settings diffusers' AudioLDM conversion script writes.
SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.0015,
    "beta_end": 0.0195,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "prediction_type": "epsilon",
}

# Real: block_out_channels (128, 256, 384, 640), layers_per_block 2, attention_head_dim 8 (185 M params).
TINY_UNET_CONFIG: dict[str, Any] = {
    "sample_size": 128,
    "in_channels": 8,
    "out_channels": 8,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "block_out_channels": (8, 16, 16, 16),
    "layers_per_block": 1,
    "norm_num_groups": 8,
    # As in the real config: no text tokens, so "cross" attention attends to the block's own features.
    "cross_attention_dim": (8, 16, 16, 16),
    "attention_head_dim": 2,
    "class_embed_type": "simple_projection",
    "projection_class_embeddings_input_dim": 512,
    "class_embeddings_concat": True,
}

# Real: block_out_channels (128, 256, 512), layers_per_block 2, a learnt scaling factor.
TINY_VAE_CONFIG: dict[str, Any] = {
    "sample_size": 512,
    "in_channels": 1,
    "out_channels": 1,
    "down_block_types": ("DownEncoderBlock2D",) * 3,
    "up_block_types": ("UpDecoderBlock2D",) * 3,
    "block_out_channels": (4, 8, 8),
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "latent_channels": 8,
    "scaling_factor": 0.9227914214134216,
}

# Real: upsample_initial_channel 1024, resblock kernels (3, 7, 11); same rates, kernels, mels and rate.
TINY_VOCODER_CONFIG: dict[str, Any] = {
    "model_in_dim": 64,
    "sampling_rate": 16000,
    "upsample_initial_channel": 32,
    "upsample_rates": [5, 4, 2, 2, 2],
    "upsample_kernel_sizes": [16, 16, 8, 4, 4],
    "resblock_kernel_sizes": [3],
    "resblock_dilation_sizes": [[1, 3, 5]],
    "normalize_before": False,
}


# The real AudioLDM-S sizes (random weights; UNet 185.04 M parameters), for benchmarks: `full_size=True`.
FULL_UNET_CONFIG: dict[str, Any] = TINY_UNET_CONFIG | {
    "block_out_channels": (128, 256, 384, 640),
    "cross_attention_dim": (128, 256, 384, 640),
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "attention_head_dim": 8,
}
FULL_VAE_CONFIG: dict[str, Any] = TINY_VAE_CONFIG | {
    "block_out_channels": (128, 256, 512), "layers_per_block": 2, "norm_num_groups": 32,
}
FULL_VOCODER_CONFIG: dict[str, Any] = TINY_VOCODER_CONFIG | {
    "upsample_initial_channel": 1024, "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
}


def build_tiny_text_encoder(seed: int = 0):
    """A tiny `ClapTextModelWithProjection` (RoBERTa text tower, 512-d projection) for the tiny tokenizer."""
    import torch
    from transformers import ClapTextConfig, ClapTextModelWithProjection

    from v2a_cli.testing.tiny_tokenizer import tiny_vocab_size

    config = ClapTextConfig(
        vocab_size=tiny_vocab_size(), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, projection_dim=512, projection_hidden_act="relu",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ClapTextModelWithProjection(config).eval()


def build_generator(folder: str | Path, *, text_encoder=None, seed: int = 0, full_size: bool = False) -> Path:
    """Write the tiny AudioLDM folder into `folder` (created) and return it.

    `text_encoder` is a `ClapTextModelWithProjection` to store (the zoo passes its CLAP's text tower);
    without one a tiny one is built here. `full_size` writes the real AudioLDM-S UNet, VAE and vocoder
    sizes instead (about 1 GB; for benchmarks), still with random weights and the tiny text side.
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    from v2a_cli.testing.tiny_tokenizer import write_tiny_roberta_tokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(**(FULL_UNET_CONFIG if full_size else TINY_UNET_CONFIG))
        vae = AutoencoderKL(**(FULL_VAE_CONFIG if full_size else TINY_VAE_CONFIG))
        vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(**(FULL_VOCODER_CONFIG if full_size else TINY_VOCODER_CONFIG)))
        # Diffusers zero-initialises some output layers; random values everywhere make slips visible.
        for module in (unet, vae):
            _randomise_zeros(module)
        _rescale_convolutions(vocoder)
    if text_encoder is None:
        text_encoder = build_tiny_text_encoder(seed=seed)

    unet.save_pretrained(folder / "unet", safe_serialization=True)
    vae.save_pretrained(folder / "vae", safe_serialization=True)
    vocoder.save_pretrained(folder / "vocoder", safe_serialization=True)
    text_encoder.save_pretrained(folder / "text_encoder", safe_serialization=True)
    write_tiny_roberta_tokenizer(folder / "tokenizer")
    DDIMScheduler(**SCHEDULER_CONFIG).save_pretrained(folder / "scheduler")
    (folder / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2) + "\n")
    return folder


def _rescale_convolutions(vocoder) -> None:
    """HiFi-GAN's init (std 0.01) makes a near-silent random vocoder; unit-gain weights give audible noise."""
    import torch

    with torch.no_grad():
        for module in vocoder.modules():
            if isinstance(module, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
                fan_in = module.weight[0].numel() if isinstance(module, torch.nn.Conv1d) else module.weight[:, 0].numel()
                module.weight.normal_(0.0, fan_in ** -0.5)


def _randomise_zeros(module) -> None:
    import torch

    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.ndim > 1 and not parameter.any():
                parameter.normal_(0.0, 0.02)
