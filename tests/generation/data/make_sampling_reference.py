"""Regenerate sampling_reference.npz: AudioLDM sampled by diffusers' own `AudioLDMPipeline` on the tiny zoo folder.

Not a test and not run by CI. diffusers is a v2a dependency, but its (deprecated) `AudioLDMPipeline` is the
reference here, not something v2a runs. Usage:

    PYTHONPATH=<v2a checkout> python make_sampling_reference.py

The folder is `v2a_cli.testing.zoo_generator.build_generator(seed=0)`, the tests' `audioldm_dir`; the
pipeline gets the same initial latents v2a draws (one `torch.Generator("cpu").manual_seed(seed)` per
item), the CLAP embeddings as `prompt_embeds`, and "" as the unconditional side (its default). DDIM with
eta 0. Stored: the inputs, the unconditional embedding the pipeline built, the final latents and the
waveforms, plus a checksum of the UNet's weights so the test can tell a changed zoo from a changed
sampling loop.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

SEEDS = [0, 5, 11]
STEPS = 4
SECONDS = 0.32  # 32 mel frames: a whole number of latent frames for both v2a and diffusers


def inputs():
    import torch

    embeddings = torch.randn(len(SEEDS), 512, generator=torch.Generator().manual_seed(42))
    return torch.nn.functional.normalize(embeddings, dim=-1)


def unet_checksum(unet) -> float:
    return float(sum(p.detach().double().abs().sum() for p in unet.parameters()))


def main() -> None:
    import torch
    from diffusers import AudioLDMPipeline

    from v2a_cli.testing.zoo_generator import build_generator

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_generator(Path(tmp) / "generator", seed=0)
        pipe = AudioLDMPipeline.from_pretrained(str(folder), torch_dtype=torch.float32)
        embeddings = inputs()
        # The unconditional side the pipeline builds (the embedding of ""), as it passes it to the UNet.
        both = pipe._encode_prompt(None, "cpu", 1, True, None, prompt_embeds=embeddings)
        arrays = {"embeddings": embeddings.numpy(), "unet_checksum": np.array(unet_checksum(pipe.unet)),
                  "unconditional": both[:len(SEEDS)].detach().numpy()}
        for guidance in (2.5, 1.0):
            frames = int(SECONDS * 100)
            shape = (pipe.unet.config.in_channels, frames // 4, pipe.vocoder.config.model_in_dim // 4)
            latents = torch.stack([torch.randn(shape, generator=torch.Generator("cpu").manual_seed(s)) for s in SEEDS])
            final = {}

            def keep(step, timestep, current):
                final["latents"] = current.clone()

            audio = pipe(prompt_embeds=embeddings, num_inference_steps=STEPS, guidance_scale=guidance,
                         audio_length_in_s=SECONDS, latents=latents, eta=0.0, callback=keep, callback_steps=1,
                         output_type="np").audios
            key = f"guidance_{guidance:g}"
            arrays[f"{key}/latents"] = final["latents"].numpy()
            if guidance > 1:  # the decoder is the same either way; one set of waveforms keeps the file small
                arrays[f"{key}/audio"] = np.asarray(audio, dtype=np.float32)
    out = Path(__file__).with_name("sampling_reference.npz")
    np.savez_compressed(out, **arrays)
    print(f"{out}: {sorted(arrays)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
