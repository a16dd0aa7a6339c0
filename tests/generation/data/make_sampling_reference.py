"""The reference side of test_sampling_reference.py: AudioLDM sampled by diffusers' own `AudioLDMPipeline` on
the tiny zoo folder, computed on the machine that runs the test (nothing is frozen: diffusers is a v2a
dependency, so the original is importable wherever the tests run).

diffusers' (deprecated) `AudioLDMPipeline` is the reference here, not something v2a runs. The folder is
`v2a_cli.testing.zoo_generator.build_generator(seed=0)`, the tests' `audioldm_dir`; the pipeline gets the same
initial latents v2a draws (one `torch.Generator("cpu").manual_seed(seed)` per item), the CLAP embeddings as
`prompt_embeds`, and "" as the unconditional side (its default). DDIM with eta 0. By hand, from a checkout:

    PYTHONPATH=$PWD python tests/generation/data/make_sampling_reference.py

prints how far v2a's loop is from the pipeline on this machine.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

SEEDS = [0, 5, 11]
STEPS = 4
SECONDS = 0.32  # 32 mel frames: a whole number of latent frames for both v2a and diffusers
GUIDANCES = (2.5, 1.0)


def inputs():
    import torch

    embeddings = torch.randn(len(SEEDS), 512, generator=torch.Generator().manual_seed(42))
    return torch.nn.functional.normalize(embeddings, dim=-1)


def load_pipeline(folder):
    import torch
    from diffusers import AudioLDMPipeline
    from diffusers.utils import logging

    logging.set_verbosity_error()  # its deprecation notice and progress bars are not the test's business
    with warnings.catch_warnings():  # newer diffusers call it `dtype`; older ones know only `torch_dtype`
        warnings.simplefilter("ignore", FutureWarning)
        pipe = AudioLDMPipeline.from_pretrained(str(folder), torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def unconditional(pipe, embeddings):
    """The unconditional side the pipeline builds (the embedding of ""), as it passes it to the UNet."""
    both = pipe._encode_prompt(None, "cpu", 1, True, None, prompt_embeds=embeddings)
    return both[:len(embeddings)].detach()


def sample(pipe, embeddings, guidance: float):
    """(final latents, waveforms) of the pipeline."""
    import numpy as np
    import torch

    frames = int(SECONDS * 100)
    shape = (pipe.unet.config.in_channels, frames // 4, pipe.vocoder.config.model_in_dim // 4)
    latents = torch.stack([torch.randn(shape, generator=torch.Generator("cpu").manual_seed(s)) for s in SEEDS])
    final = {}

    def keep(step, timestep, current):
        final["latents"] = current.clone()

    audio = pipe(prompt_embeds=embeddings, num_inference_steps=STEPS, guidance_scale=guidance,
                 audio_length_in_s=SECONDS, latents=latents, eta=0.0, callback=keep, callback_steps=1,
                 output_type="np").audios
    return final["latents"], np.asarray(audio, dtype=np.float32)


def main() -> None:
    import numpy as np
    import torch

    from v2a_cli.audioldm.generator import AudioLDMGenerator
    from v2a_cli.testing.zoo_generator import build_generator

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_generator(Path(tmp) / "generator", seed=0)
        pipe, ours = load_pipeline(folder), AudioLDMGenerator.load(str(folder), device="cpu")
        embeddings = inputs()
        negative = unconditional(pipe, embeddings)
        print(f"unconditional: {float((ours.empty_embedding() - negative).abs().max()):.3g}")
        for guidance in GUIDANCES:
            latents, audio = sample(pipe, embeddings, guidance)
            mine = ours.generate(embeddings, seeds=SEEDS, steps=STEPS, guidance=guidance, duration=SECONDS,
                                 scheduler="ddim", negative=negative)
            print(f"guidance {guidance:g}: waveforms {float(np.abs(mine - audio).max()):.3g} apart "
                  f"(largest sample {float(np.abs(audio).max()):.3g})")


if __name__ == "__main__":
    main()
