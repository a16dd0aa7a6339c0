"""AudioLDM (diffusers folder layout) with our own sampling loop, conditioned on CLAP embeddings.

AudioLDM's UNet takes the L2-normalised 512-d CLAP embedding as its class embedding
(`class_labels`, `simple_projection`, concatenated to the time embedding; no text tokens). We hand in
our own embeddings (mapped from CLIP), so the text tower is only used for prompts and for the
unconditional side of classifier-free guidance (the embedding of ""), as the original pipeline does.

Latents: [B, 8, mel_frames / 4, 64 / 4]; one mel frame is 160 samples at 16 kHz (10 ms). The VAE
decodes latents to a log-mel spectrogram, the HiFi-GAN vocoder turns it into a waveform.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from v2a_cli.errors import CheckpointError, V2AError, first_line
from v2a_cli.audioldm.schedulers import FOLDER_SCHEDULERS, build_scheduler, scheduler_class
from v2a_cli.registry import quiet_library_loading, register_loader, resolve_dir

MAX_DURATION = 10.24  # seconds: AudioLDM's training clip length (1024 mel frames, a 256-frame latent)
LATENT_RATE = 25.0  # AudioLDM's latent frames per second (10 ms mel hop, x4 VAE); a loaded model says its own
COMPONENTS = ("unet", "vae", "vocoder", "text_encoder", "tokenizer", "scheduler")
WEIGHTED_COMPONENTS = ("unet", "vae", "vocoder", "text_encoder")
# What a Hub snapshot needs: configs, tokenizer files and safetensors weights (never .bin/.ckpt).
HUB_PATTERNS = ["model_index.json", "*/*.json", "*/*.txt", "*/*.safetensors"]

ProgressCallback = Callable[[int, int], None]


@register_loader("generator")
def load_generator(spec: str, *, device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32) -> "AudioLDMGenerator":
    return AudioLDMGenerator.load(spec, device=device, dtype=dtype)


class AudioLDMGenerator:
    """Warm AudioLDM components; `generate()` turns [N, 512] CLAP embeddings into [N, samples] audio."""

    def __init__(self, *, unet, vae, vocoder, text_encoder, tokenizer, scheduler_config: dict[str, Any],
                 device: torch.device, dtype: torch.dtype, folder: Path | None = None):
        self.unet = unet
        self.vae = vae
        self.vocoder = vocoder
        self.text_encoder = text_encoder
        self.tokenizer = tokenizer
        self.scheduler_config = scheduler_config
        self.device = device
        self.dtype = dtype
        self.folder = folder
        self.sample_rate = int(vocoder.config.sampling_rate)
        self.max_duration = MAX_DURATION
        self.embed_dim = int(unet.config.projection_class_embeddings_input_dim)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.unet_scale_factor = 2 ** (len(unet.config.block_out_channels) - 1)
        self.hop_length = int(np.prod(vocoder.config.upsample_rates))  # waveform samples per mel frame
        self.mel_bins = int(vocoder.config.model_in_dim)
        self._empty: torch.Tensor | None = None
        self._compiled_unet: Any = None  # torch.compile(self.unet), made on the first generate(compile=True)
        self._batch_limits: dict[tuple, int] = {}  # (frames, guided) -> peak bytes of one item (CUDA), measured once

    # -- loading ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu",
             dtype: torch.dtype = torch.float32) -> "AudioLDMGenerator":
        """Load a diffusers AudioLDM folder (local path or Hub id) through each component's own class.

        The UNet, VAE and vocoder run in `dtype`; the text encoder stays float32 (its embeddings are
        conditions, and it runs once per prompt).
        """
        folder = resolve_dir(spec, kind="generator", allow_patterns=HUB_PATTERNS)
        if not Path(spec).expanduser().exists() and _lacks_safetensors(folder):
            folder = _hub_copy_as_safetensors(spec)
        device = torch.device(device)
        _check_layout(folder)
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import AutoTokenizer, ClapTextModelWithProjection, SpeechT5HifiGan

        with quiet_library_loading():
            unet = _load_weights(UNet2DConditionModel, folder, "unet", dtype)
            vae = _load_weights(AutoencoderKL, folder, "vae", dtype)
            vocoder = _load_weights(SpeechT5HifiGan, folder, "vocoder", dtype)
            text_encoder = _load_weights(ClapTextModelWithProjection, folder, "text_encoder", torch.float32)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
        except Exception as exc:
            raise CheckpointError(f"{folder / 'tokenizer'}: cannot load the tokenizer ({first_line(exc)}); "
                                  "re-download the generator folder") from exc
        if device.type == "cuda":  # cuDNN's fastest convolutions (fp16/bf16 tensor cores) read NHWC
            unet, vae = unet.to(memory_format=torch.channels_last), vae.to(memory_format=torch.channels_last)
        generator = cls(unet=unet.to(device).eval(), vae=vae.to(device).eval(), vocoder=vocoder.to(device).eval(),
                        text_encoder=text_encoder.to(device).eval(), tokenizer=tokenizer,
                        scheduler_config=_scheduler_config(folder), device=device, dtype=dtype, folder=folder)
        return generator

    # -- text side --------------------------------------------------------------------------------
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """[N, 512] L2-normalised CLAP text embeddings (float32, CPU), as AudioLDM encodes prompts."""
        tokens = self.tokenizer(list(texts), padding="max_length", max_length=self.tokenizer.model_max_length,
                                truncation=True, return_tensors="pt")
        # Plain no_grad tensors, even when called inside generate(): these embeddings leave the generator
        # (cached, mixed into conditions, used by the bridge) and inference tensors refuse later autograd use.
        with torch.inference_mode(False), torch.no_grad():
            output = self.text_encoder(tokens.input_ids.to(self.device),
                                       attention_mask=tokens.attention_mask.to(self.device))
            return F.normalize(output.text_embeds.float(), dim=-1).cpu()

    def empty_embedding(self) -> torch.Tensor:
        """[1, 512] embedding of "": the unconditional side of classifier-free guidance (cached)."""
        if self._empty is None:
            self._empty = self.encode_texts([""])
        return self._empty

    # -- sampling ---------------------------------------------------------------------------------
    @property
    def latent_rate(self) -> float:
        """Latent frames per second (25 for AudioLDM: 10 ms mel hop, x4 VAE)."""
        return self.sample_rate / (self.hop_length * self.vae_scale_factor)

    @property
    def latent_multiple(self) -> int:
        """Latent lengths must be a multiple of this (the UNet halves them once per level)."""
        return self.unet_scale_factor

    def latent_frames(self, duration: float) -> int:
        """Mel frames of the shortest latent that covers `duration` and that the VAE and UNet can halve."""
        frames_per_second = self.sample_rate / self.hop_length
        multiple = self.vae_scale_factor * self.unet_scale_factor
        return math.ceil(duration * frames_per_second / multiple - 1e-9) * multiple

    @torch.inference_mode()
    def generate(self, embeddings: torch.Tensor, *, seeds: Sequence[int], steps: int = 200, guidance: float = 4.5,
                 duration: float = 10.0, negative: torch.Tensor | None = None, scheduler: str = "ddim",
                 eta: float = 0.0, progress: ProgressCallback | None = None, compile: bool = False,
                 known: torch.Tensor | None = None) -> np.ndarray:
        """[N, 512] CLAP embeddings -> [N, round(duration * sample_rate)] float32 audio.

        Item i starts from noise of `torch.Generator("cpu").manual_seed(seeds[i])`, so its audio does not
        depend on the batch it is in. Guidance > 1 runs [uncond, cond] in one UNet call per step; the
        unconditional side is `negative` ([N, 512]) or the embedding of "". `known`: see `sample_latents`.
        The scheduler's timesteps and tables stay on the CPU, where the scheduler reads them (no host
        sync per step). `compile=True` runs the UNet through `torch.compile` (compiled once, kept).
        """
        latents = self.sample_latents(embeddings, seeds=seeds, steps=steps, guidance=guidance, duration=duration,
                                      negative=negative, scheduler=scheduler, eta=eta, progress=progress, compile=compile,
                                      known=known)
        waveforms = self.decode(latents)
        return np.ascontiguousarray(waveforms[:, : int(round(duration * self.sample_rate))])

    @torch.inference_mode()
    def sample_latents(self, embeddings: torch.Tensor, *, seeds: Sequence[int], steps: int = 200,
                       guidance: float = 4.5, duration: float = 10.0, negative: torch.Tensor | None = None,
                       scheduler: str = "ddim", eta: float = 0.0, progress: ProgressCallback | None = None,
                       compile: bool = False, known: torch.Tensor | None = None) -> torch.Tensor:
        """The denoising loop: [N, 512] conditions -> final latents [N, C, frames, mel_bins / 4] (float32).

        `known` ([N, C, K, F], K <= frames) holds the first K latent frames (continuation of an earlier
        window): at every step that region is replaced by `known` noised to the step's noise level, and
        after the last step by `known` itself (RePaint's scheme, as AudioLDM inpaints), so the free part
        is denoised in agreement with it.
        """
        conditions = self._check_request(embeddings, seeds, steps, duration, negative)
        sampler = build_scheduler(scheduler, self.scheduler_config)
        stochastic = eta > 0
        if stochastic and not {"eta", "variance_noise"} <= set(inspect.signature(sampler.step).parameters):
            raise V2AError(f"eta applies to the ddim scheduler only (got eta={eta:g} with {scheduler!r})")
        count = len(conditions)
        use_guidance = guidance > 1.0
        if use_guidance:
            uncond = _unit(negative.float().cpu()) if negative is not None else self.empty_embedding().expand(count, -1)
            class_labels = torch.cat([uncond, conditions])
        else:
            class_labels = conditions
        class_labels = class_labels.to(self.device, self.dtype)

        sampler.set_timesteps(steps, device="cpu")
        unet = self.compiled_unet() if compile else self.unet
        frames = self.latent_frames(duration)
        generators = [torch.Generator("cpu").manual_seed(int(seed)) for seed in seeds]
        shape = (self.unet.config.in_channels, frames // self.vae_scale_factor, self.mel_bins // self.vae_scale_factor)
        # Latents stay float32 between steps (the scheduler update is precision-sensitive); the UNet runs in dtype.
        latents = self._to_device(torch.stack([torch.randn(shape, generator=g) for g in generators]))
        latents = latents * sampler.init_noise_sigma
        timesteps = sampler.timesteps
        hold = self._known_region(known, count, shape, sampler, generators)
        if hold is not None:
            latents = hold(latents, timesteps[0:1])

        total = len(timesteps)
        for index, timestep in enumerate(timesteps):
            model_input = torch.cat([latents, latents]) if use_guidance else latents
            model_input = sampler.scale_model_input(model_input, timestep).to(self.dtype)
            noise = unet(model_input, timestep, encoder_hidden_states=None, class_labels=class_labels).sample
            noise = noise.float()
            if use_guidance:
                noise_uncond, noise_cond = noise.chunk(2)
                noise = noise_uncond + guidance * (noise_cond - noise_uncond)
            step_kwargs: dict[str, Any] = {}
            if stochastic:
                # Per-item variance noise from each item's own generator keeps items batch-independent.
                step_kwargs = {"eta": eta, "variance_noise": self._to_device(torch.stack(
                    [torch.randn(shape, generator=g) for g in generators]))}
            latents = sampler.step(noise, timestep, latents, **step_kwargs).prev_sample
            if hold is not None:
                latents = hold(latents, timesteps[index + 1:index + 2])
            if progress is not None:
                progress(index + 1, total)
        return latents

    def _known_region(self, known: torch.Tensor | None, count: int, shape: tuple[int, ...], sampler: Any,
                      generators: list[torch.Generator]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
        """A function (latents, next timestep or empty) -> latents with the known frames put back."""
        if known is None:
            return None
        channels, frames, bins = shape
        if known.ndim != 4 or known.shape[0] != count or known.shape[1] != channels or known.shape[3] != bins \
                or not 0 < known.shape[2] <= frames:
            raise V2AError(f"known latents {list(known.shape)} must be [{count}, {channels}, K <= {frames}, {bins}]")
        known = known.float().to(self.device)
        held = known.shape[2]

        def hold(latents: torch.Tensor, next_timestep: torch.Tensor) -> torch.Tensor:
            if len(next_timestep) == 0:  # after the last step: the clean latents themselves
                value = known
            else:
                noise = torch.stack([torch.randn(known.shape[1:], generator=g) for g in generators]).to(self.device)
                value = sampler.add_noise(known, noise, next_timestep.repeat(count))
            latents = latents.clone()
            latents[:, :, :held] = value
            return latents

        return hold

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        """CPU-drawn noise to the device; on CUDA through pinned memory, non-blocking (a pageable copy
        would wait for the queued UNet work: a host sync per step)."""
        if self.device.type == "cuda":
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device)

    def compiled_unet(self):
        """`torch.compile` of the UNet, made once. Backend: $V2A_COMPILE_BACKEND (default inductor)."""
        if self._compiled_unet is None:
            import os

            self._compiled_unet = torch.compile(self.unet, backend=os.environ.get("V2A_COMPILE_BACKEND", "inductor"))
        return self._compiled_unet

    def max_batch_size(self, duration: float, *, guided: bool = True, memory_fraction: float = 0.85,
                       limit: int = 256) -> int | None:
        """The largest batch that fits in this CUDA device's free memory (None off CUDA).

        The peak memory of one item through the UNet (both guidance halves) and through the VAE +
        vocoder, over what is already allocated, is measured once per latent length (a property of the
        model); free memory (including PyTorch's cached blocks) is read on every call, so the answer
        follows what else holds the GPU now. Free memory times `memory_fraction`, divided by that."""
        if self.device.type != "cuda":
            return None
        frames = self.latent_frames(duration)
        key = (frames, guided)
        if key not in self._batch_limits:
            self._batch_limits[key] = self._peak_bytes_per_item(frames, guided)
        per_item = self._batch_limits[key]
        torch.cuda.synchronize(self.device)
        free, _ = torch.cuda.mem_get_info(self.device)
        free += torch.cuda.memory_reserved(self.device) - torch.cuda.memory_allocated(self.device)
        return max(1, min(limit, int(free * memory_fraction // max(per_item, 1))))

    @torch.inference_mode()
    def _peak_bytes_per_item(self, frames: int, guided: bool) -> int:
        shape = (self.unet.config.in_channels, frames // self.vae_scale_factor, self.mel_bins // self.vae_scale_factor)
        rows = 2 if guided else 1
        latents = torch.zeros((rows, *shape), device=self.device, dtype=self.dtype)
        labels = torch.zeros((rows, self.embed_dim), device=self.device, dtype=self.dtype)
        timestep = torch.tensor(1, dtype=torch.long)
        peaks = []
        for run in (lambda: self.unet(latents, timestep, encoder_hidden_states=None, class_labels=labels),
                    lambda: self.decode(latents[:1].float())):
            torch.cuda.synchronize(self.device)
            base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            run()
            torch.cuda.synchronize(self.device)
            peaks.append(torch.cuda.max_memory_allocated(self.device) - base)
        return max(peaks)

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Latents -> mel (VAE) -> waveform (vocoder), as float32 numpy [N, samples]."""
        scaled = (latents / self.vae.config.scaling_factor).to(self.dtype)
        mel = self.vae.decode(scaled).sample  # [N, 1, frames, mel_bins]
        waveform = self.vocoder(mel.squeeze(1))
        return waveform.float().cpu().numpy()

    def _check_request(self, embeddings: torch.Tensor, seeds: Sequence[int], steps: int, duration: float,
                       negative: torch.Tensor | None) -> torch.Tensor:
        if embeddings.ndim != 2 or embeddings.shape[1] != self.embed_dim:
            raise V2AError(f"generator expects [N, {self.embed_dim}] embeddings, got {list(embeddings.shape)}")
        if len(seeds) != len(embeddings):
            raise V2AError(f"got {len(seeds)} seeds for {len(embeddings)} embeddings; pass one seed per item")
        if negative is not None and negative.shape != embeddings.shape:
            raise V2AError(f"negative embeddings {list(negative.shape)} must match embeddings {list(embeddings.shape)}")
        if steps < 1:
            raise V2AError(f"steps must be at least 1 (got {steps})")
        if not 0 < duration <= self.max_duration:
            raise V2AError(f"duration {duration:g} s is outside (0, {self.max_duration:g}] s, "
                           "the longest clip this generator makes; choose a shorter duration")
        return _unit(embeddings.float().cpu())


def _unit(vectors: torch.Tensor) -> torch.Tensor:
    """L2-normalise rows; rows already of unit norm pass through bit-identical (no rounding drift)."""
    norms = vectors.norm(dim=-1, keepdim=True)
    return torch.where((norms - 1).abs() < 1e-6, vectors, F.normalize(vectors, dim=-1))


def _check_layout(folder: Path) -> None:
    if not (folder / "model_index.json").is_file():
        raise CheckpointError(f"{folder}: not a diffusers AudioLDM folder (no model_index.json); "
                              "point the generator at e.g. cvssp/audioldm-s-full-v2 or a copy of it")
    missing = [name for name in COMPONENTS if not (folder / name).is_dir()]
    if missing:
        raise CheckpointError(f"{folder}: AudioLDM folder lacks {', '.join(missing)}/; re-download it")
    for name in WEIGHTED_COMPONENTS:
        sub = folder / name
        if any(sub.glob("*.safetensors")):
            continue
        if any(sub.glob("*.bin")) or any(sub.glob("*.pt")) or any(sub.glob("*.ckpt")):
            raise CheckpointError(f"{sub}: only pickle (.bin) weights, which v2a does not load; "
                                  "convert them to safetensors or use a copy that has them")
        raise CheckpointError(f"{sub}: no safetensors weights; re-download the generator folder")


# A Hub repo's pickle weights -> the safetensors name its class loads.
SAFETENSORS_NAMES = {"diffusion_pytorch_model.bin": "diffusion_pytorch_model.safetensors",
                     "pytorch_model.bin": "model.safetensors"}


def _lacks_safetensors(folder: Path) -> bool:
    return any(not any((folder / name).glob("*.safetensors")) for name in WEIGHTED_COMPONENTS)


def _hub_copy_as_safetensors(spec: str) -> Path:
    """A Hub repo published with only .bin weights: fetched and converted once into our cache.

    Only for Hub repos (a user's own folder with .bin files is refused by `_check_layout`), and the
    pickles are opened with torch.load(weights_only=True), which restores tensors and nothing else.
    """
    import hashlib
    import shutil

    from safetensors.torch import save_file

    from v2a_cli.files import atomic_folder
    from v2a_cli.registry import cache_dir

    source = resolve_dir(spec, kind="generator", allow_patterns=HUB_PATTERNS + ["*/*.bin"])
    target = cache_dir() / "converted" / "generator" / hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    if target.is_dir():
        return target
    with atomic_folder(target) as staging:
        for item in source.rglob("*"):
            if item.is_dir():
                continue
            relative = item.relative_to(source)
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if item.suffix == ".bin":
                if (source / relative.parent / SAFETENSORS_NAMES.get(item.name, "-")).exists():
                    continue
                try:
                    state = torch.load(item, map_location="cpu", weights_only=True)
                except Exception as exc:
                    raise CheckpointError(f"{item}: cannot read these weights safely ({first_line(exc)})") from exc
                save_file({k: v.contiguous().clone() for k, v in state.items()},
                          str(destination.with_name(SAFETENSORS_NAMES.get(item.name, item.stem + ".safetensors"))))
            else:
                shutil.copyfile(item, destination)
    return target


def _load_weights(model_class: type, folder: Path, subfolder: str, dtype: torch.dtype):
    try:
        return model_class.from_pretrained(str(folder), subfolder=subfolder, use_safetensors=True, dtype=dtype)
    except Exception as exc:  # corrupt/truncated files or config mismatches surface in many classes
        raise CheckpointError(f"{folder / subfolder}: cannot load {model_class.__name__} ({first_line(exc)}); "
                              "re-download the generator folder") from exc


def _scheduler_config(folder: Path) -> dict[str, Any]:
    path = folder / "scheduler" / "scheduler_config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable scheduler config ({first_line(exc)}); re-download it") from exc
    class_name = config.get("_class_name")
    if class_name not in FOLDER_SCHEDULERS:
        raise CheckpointError(f"{path}: unknown scheduler class {class_name!r}; "
                              f"expected one of {', '.join(sorted(FOLDER_SCHEDULERS))}")
    scheduler_class(class_name).from_config(config)  # validates the config now rather than mid-run
    return config

