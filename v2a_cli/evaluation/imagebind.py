"""ImageBind (Girdhar et al. 2023), vision and audio towers of `imagebind_huge`, for the IB-score.

The IB-score of av-benchmark (hkchengrex/av-benchmark, MMAudio's evaluation) is the cosine between the
ImageBind embedding of the *video* and that of the *generated sound*, averaged over pairs:

- video (`extract_video.py`, `VideoDataset`): frames at 0.5 fps (FFmpeg `fps=0.5`) over the first
  `duration` seconds (av-benchmark's `--audio_length`, 8 s for MMAudio's VGGSound numbers), i.e. 4 frames;
  each resized to 224 on its short side (torchvision v2 bicubic, antialiased, uint8), scaled to [0, 1],
  normalised with CLIP's mean/std; three 224 crops (left/centre/right or top/centre/bottom, ImageBind's
  `SpatialCrop`); every two consecutive frames form a clip (3 crops x (T-1) clips), each clip embedded,
  L2-normalised, and the clips averaged (ImageBind's `reduce_list`).
- sound (`ImageBindAudioDataset`, ImageBind's `load_and_transform_audio_data`): the whole file at 16 kHz,
  three 2-s clips placed by pytorchvideo's `ConstantClipsPerVideoSampler` (starts at k * (duration - 2) / 2),
  each a Kaldi fbank (128 mel bins, 25 ms Hanning windows every 10 ms, dither 0) padded or cut to 204
  frames and normalised with mean -4.268, std 9.138; embedded, L2-normalised, scaled by 20 (ImageBind's
  fixed audio logit scale) and averaged.
- score: `torch.cosine_similarity(video, audio).mean()` (not scaled by 100).

Our own definition in the checkpoint's key layout (`imagebind_huge.pth`, a plain state dict of all six
modalities; the vision and audio keys are kept). Widths and depths are read from the tensors; the head
counts are the architecture's (16 vision, 12 audio), so a narrow test model keeps them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from v2a_cli.errors import V2AError
from v2a_cli.evaluation.checkpoints import KnownCheckpoint, load_state, load_strict
from v2a_cli.evaluation.layers import Mlp
from v2a_cli.registry import register_loader

KNOWN_CHECKPOINTS: dict[str, KnownCheckpoint] = {
    "imagebind-huge": KnownCheckpoint("https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth"),
}
CHECKPOINT_FILENAME = "imagebind_huge.pth"

VISION_HEADS = 16
AUDIO_HEADS = 12
MLP_RATIO = 4
VISION_KERNEL = (2, 14, 14)
AUDIO_KERNEL, AUDIO_STRIDE = 16, 10
AUDIO_LOGIT_SCALE_MAX = 100.0

# Video side (av-benchmark's VideoDataset).
VIDEO_FPS = 0.5
CROP_SIZE = 224
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_DURATION = 8.0  # av-benchmark's --audio_length as MMAudio ran it on VGGSound

# Audio side (ImageBind's load_and_transform_audio_data, as av-benchmark copies it).
SAMPLE_RATE = 16000
MEL_BINS = 128
TARGET_FRAMES = 204
CLIP_SECONDS = 2
CLIPS_PER_FILE = 3
FBANK_MEAN, FBANK_STD = -4.268, 9.138
FRAME_LENGTH, FRAME_SHIFT, PADDED_WINDOW = 400, 160, 512  # 25 ms, 10 ms at 16 kHz; next power of two
PREEMPHASIS = 0.97
LOW_FREQ = 20.0
FLOAT_EPS = torch.finfo(torch.float).eps

VISION = "vision"
AUDIO = "audio"
PREFIXES = tuple(f"{part}.{modality}." for part in ("modality_preprocessors", "modality_trunks", "modality_heads",
                                                    "modality_postprocessors") for modality in (VISION, AUDIO))


# ---------------------------------------------------------------------------------------------- network

class PatchStem(nn.Module):
    """ImageBind's PatchEmbedGeneric: conv stem, tokens [B, L, D], optional LayerNorm."""

    def __init__(self, proj: nn.Module, norm_layer: nn.Module | None = None):
        super().__init__()
        self.proj = proj
        self.norm_layer = norm_layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).flatten(2).transpose(1, 2)
        return x if self.norm_layer is None else self.norm_layer(x)


class PositionHelper(nn.Module):
    def __init__(self, tokens: int, dim: int):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim))


class Preprocessor(nn.Module):
    """RGBDTPreprocessor / AudioPreprocessor: stem, CLS token, learnt positions (no interpolation:
    inputs always have the trained size)."""

    def __init__(self, stem: PatchStem, tokens: int, dim: int):
        super().__init__()
        self.rgbt_stem = stem
        self.pos_embedding_helper = PositionHelper(tokens + 1, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.rgbt_stem(x)
        tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        return tokens + self.pos_embedding_helper.pos_embed


class Block(nn.Module):
    """BlockWithMasking without mask, layer scale or drop path (inference)."""

    def __init__(self, dim: int, heads: int, hidden: int, add_bias_kv: bool):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, bias=True, add_bias_kv=add_bias_kv)
        self.norm_1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)
        self.norm_2 = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [L, B, D], as nn.MultiheadAttention without batch_first
        h = self.norm_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=None)[0]
        return x + self.mlp(self.norm_2(x))


class Trunk(nn.Module):
    """SimpleTransformer: optional pre-LayerNorm, blocks on [L, B, D]."""

    def __init__(self, dim: int, depth: int, heads: int, hidden: int, *, pre_ln: bool, add_bias_kv: bool):
        super().__init__()
        self.pre_transformer_layer = nn.Sequential(nn.LayerNorm(dim, eps=1e-6) if pre_ln else nn.Identity())
        self.blocks = nn.Sequential(*[Block(dim, heads, hidden, add_bias_kv) for _ in range(depth)])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.pre_transformer_layer(tokens).permute(1, 0, 2)  # "b l d -> l b d"
        for block in self.blocks:
            x = block(x)
        return x.permute(1, 0, 2)


class SelectFirst(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, ...]


class L2Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1, p=2)


class FixedLogitScale(nn.Module):
    def __init__(self, init: float):
        super().__init__()
        self.register_buffer("log_logit_scale", torch.ones([]) * np.log(init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clip(self.log_logit_scale.exp(), max=AUDIO_LOGIT_SCALE_MAX) * x


def _head(dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(dim, eps=1e-6), SelectFirst(), nn.Linear(dim, out_dim, bias=False))


class ImageBindAV(nn.Module):
    """ImageBindModel restricted to its vision and audio modalities (same module names)."""

    def __init__(self, *, vision_dim: int, vision_depth: int, vision_hidden: int, audio_dim: int, audio_depth: int,
                 audio_hidden: int, out_dim: int, vision_heads: int = VISION_HEADS, audio_heads: int = AUDIO_HEADS):
        super().__init__()
        vision_grid = (CROP_SIZE // VISION_KERNEL[1]) ** 2  # 2 frames -> 1 temporal patch
        audio_grid = ((MEL_BINS - AUDIO_KERNEL) // AUDIO_STRIDE + 1) * ((TARGET_FRAMES - AUDIO_KERNEL) // AUDIO_STRIDE + 1)
        vision_stem = PatchStem(nn.Sequential(nn.Identity(),  # PadIm2Video: a no-op on 2-frame clips
                                              nn.Conv3d(3, vision_dim, VISION_KERNEL, stride=VISION_KERNEL, bias=False)))
        audio_stem = PatchStem(nn.Conv2d(1, audio_dim, AUDIO_KERNEL, stride=AUDIO_STRIDE, bias=False),
                               norm_layer=nn.LayerNorm(audio_dim))
        self.modality_preprocessors = nn.ModuleDict({
            VISION: Preprocessor(vision_stem, vision_grid, vision_dim),
            AUDIO: Preprocessor(audio_stem, audio_grid, audio_dim),
        })
        self.modality_trunks = nn.ModuleDict({
            VISION: Trunk(vision_dim, vision_depth, vision_heads, vision_hidden, pre_ln=True, add_bias_kv=False),
            AUDIO: Trunk(audio_dim, audio_depth, audio_heads, audio_hidden, pre_ln=False, add_bias_kv=True),
        })
        self.modality_heads = nn.ModuleDict({VISION: _head(vision_dim, out_dim), AUDIO: _head(audio_dim, out_dim)})
        self.modality_postprocessors = nn.ModuleDict({
            VISION: L2Normalize(),
            AUDIO: nn.Sequential(L2Normalize(), FixedLogitScale(20.0)),
        })

    def forward(self, modality: str, clips: torch.Tensor) -> torch.Tensor:
        """clips [B, S, ...] (S clips per item) -> [B, out_dim], the mean of the S clip embeddings."""
        batch, count = clips.shape[:2]
        x = clips.reshape(batch * count, *clips.shape[2:])
        x = self.modality_preprocessors[modality](x)
        x = self.modality_trunks[modality](x)
        x = self.modality_heads[modality](x)
        x = self.modality_postprocessors[modality](x)
        return x.reshape(batch, count, -1).mean(dim=1)


def _depth(tensors: dict[str, torch.Tensor], modality: str) -> int:
    prefix = f"modality_trunks.{modality}.blocks."
    return len({name[len(prefix):].split(".")[0] for name in tensors if name.startswith(prefix)})


def imagebind_config(tensors: dict[str, torch.Tensor]) -> dict[str, int]:
    trunk = "modality_trunks.{}.blocks.0.mlp.fc1.weight"
    return {
        "vision_dim": tensors["modality_preprocessors.vision.cls_token"].shape[-1],
        "vision_depth": _depth(tensors, VISION),
        "vision_hidden": tensors[trunk.format(VISION)].shape[0],
        "audio_dim": tensors["modality_preprocessors.audio.cls_token"].shape[-1],
        "audio_depth": _depth(tensors, AUDIO),
        "audio_hidden": tensors[trunk.format(AUDIO)].shape[0],
        "out_dim": tensors["modality_heads.vision.2.weight"].shape[0],
    }


# ---------------------------------------------------------------------------------------------- video side

def uniform_crop(frames: torch.Tensor, size: int, index: int) -> torch.Tensor:
    """ImageBind's uniform_crop on [T, C, H, W]: 0/1/2 = left/centre/right (top/centre/bottom if taller)."""
    height, width = frames.shape[2], frames.shape[3]
    y_offset = int(math.ceil((height - size) / 2))
    x_offset = int(math.ceil((width - size) / 2))
    if height > width:
        y_offset = {0: 0, 1: y_offset, 2: height - size}[index]
    else:
        x_offset = {0: 0, 1: x_offset, 2: width - size}[index]
    return frames[:, :, y_offset:y_offset + size, x_offset:x_offset + size]


def video_clips(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames [T, H, W, 3] -> ImageBind vision input [3 * (T - 1), 3, 2, 224, 224] (av-benchmark's order)."""
    from torchvision.transforms import v2

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)  # [T, 3, H, W] uint8
    x = v2.functional.resize(x, [CROP_SIZE], interpolation=v2.InterpolationMode.BICUBIC, antialias=True)
    x = v2.functional.to_dtype(x, torch.float32, scale=True)
    x = v2.functional.normalize(x, mean=list(CLIP_MEAN), std=list(CLIP_STD))
    crops = torch.stack([uniform_crop(x, CROP_SIZE, index) for index in range(3)])  # [3, T, C, 224, 224]
    clips = torch.cat([crops[:, i:i + 2] for i in range(crops.shape[1] - 1)], dim=0)  # [3 (T-1), 2, C, H, W]
    return clips.permute(0, 2, 1, 3, 4)  # "n t c h w -> n c t h w"


# ---------------------------------------------------------------------------------------------- audio side

def _mel_scale(freq):
    return 1127.0 * (1.0 + freq / 700.0).log() if isinstance(freq, torch.Tensor) else 1127.0 * math.log(1.0 + freq / 700.0)


def kaldi_mel_banks() -> torch.Tensor:
    """torchaudio.compliance.kaldi.get_mel_banks for 128 bins, 512-point FFT, 20 Hz..Nyquist (float32),
    with the zero column for the Nyquist bin: [128, 257]."""
    fft_bins = PADDED_WINDOW // 2
    fft_bin_width = SAMPLE_RATE / PADDED_WINDOW
    mel_low, mel_high = _mel_scale(LOW_FREQ), _mel_scale(SAMPLE_RATE / 2)
    delta = (mel_high - mel_low) / (MEL_BINS + 1)
    index = torch.arange(MEL_BINS).unsqueeze(1)
    left = mel_low + index * delta
    center = mel_low + (index + 1.0) * delta
    right = mel_low + (index + 2.0) * delta
    mel = _mel_scale(fft_bin_width * torch.arange(fft_bins)).unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.max(torch.zeros(1), torch.min(up, down))
    return F.pad(banks, (0, 1), mode="constant", value=0)


def kaldi_fbank(waveform: torch.Tensor, banks: torch.Tensor) -> torch.Tensor:
    """torchaudio.compliance.kaldi.fbank(htk_compat=True, use_energy=False, window_type="hanning",
    num_mel_bins=128, dither=0, frame_length=25, frame_shift=10) of a 1-D float32 16 kHz signal: [frames, 128]."""
    if waveform.shape[0] < FRAME_LENGTH:  # Kaldi yields no frame at all; ImageBind would then divide by zero
        waveform = F.pad(waveform, (0, FRAME_LENGTH - waveform.shape[0]))
    frames = 1 + (waveform.shape[0] - FRAME_LENGTH) // FRAME_SHIFT
    strided = waveform.as_strided((frames, FRAME_LENGTH), (FRAME_SHIFT * waveform.stride(0), waveform.stride(0)))
    strided = strided - torch.mean(strided, dim=1).unsqueeze(1)  # remove_dc_offset
    previous = F.pad(strided.unsqueeze(0), (1, 0), mode="replicate").squeeze(0)
    strided = strided - PREEMPHASIS * previous[:, :-1]
    strided = strided * torch.hann_window(FRAME_LENGTH, periodic=False, dtype=strided.dtype).unsqueeze(0)
    strided = F.pad(strided.unsqueeze(0), (0, PADDED_WINDOW - FRAME_LENGTH), mode="constant", value=0).squeeze(0)
    spectrum = torch.fft.rfft(strided).abs().pow(2.0)
    energies = torch.mm(spectrum, banks.to(spectrum.dtype).T)
    return torch.max(energies, torch.tensor(FLOAT_EPS, dtype=energies.dtype)).log()


def clip_starts(samples: int) -> list[tuple[int, int]]:
    """Sample ranges of the three 2-s clips: pytorchvideo's ConstantClipsPerVideoSampler (the revision
    ImageBind pins), exact fractions as there."""
    duration = samples / SAMPLE_RATE
    latest_start = Fraction(max(duration - CLIP_SECONDS, 0))
    step = Fraction(latest_start, max(CLIPS_PER_FILE - 1, 1))
    ranges = []
    for index in range(CLIPS_PER_FILE):
        start = step * index
        ranges.append((int(start * SAMPLE_RATE), int((start + CLIP_SECONDS) * SAMPLE_RATE)))
        if step * (index + 1) > latest_start:  # the sampler's "end of video reached"
            break
    return ranges


def audio_clips(waveform: np.ndarray, banks: torch.Tensor) -> torch.Tensor:
    """16 kHz mono float32 -> ImageBind audio input [3, 1, 128, 204]."""
    signal = torch.from_numpy(np.array(waveform, dtype=np.float32))[None]  # a copy: changed in place below
    clips = []
    for begin, end in clip_starts(signal.shape[1]):
        clip = signal[:, begin:end]
        # ImageBind's waveform2melspec does `waveform -= waveform.mean()` on this view, i.e. in place on
        # the whole signal: clips that overlap (files under 6 s) see the earlier clips' subtraction.
        clip -= clip.mean()
        fbank = kaldi_fbank(clip[0], banks).transpose(0, 1)  # [128, frames]
        missing = TARGET_FRAMES - fbank.shape[1]
        fbank = F.pad(fbank, (0, missing), mode="constant", value=0) if missing > 0 else fbank[:, :TARGET_FRAMES]
        clips.append(((fbank.unsqueeze(0) - FBANK_MEAN) / FBANK_STD))
    return torch.stack(clips)


# ---------------------------------------------------------------------------------------------- loaded network

class ImageBindNetwork:
    """A loaded ImageBind: `.embed(waveforms)` -> per file {"embedding": [1024]} (audio side, the
    AudioNetwork protocol of the evaluator) and `.embed_video(path)` -> {"embedding": [1024]}."""

    kind = "imagebind"
    sample_rate = SAMPLE_RATE

    def __init__(self, model: ImageBindAV, *, identity: str, device: torch.device, duration: float = DEFAULT_DURATION):
        if int(VIDEO_FPS * duration) < 2:  # av-benchmark's clips are pairs of frames 2 s apart
            raise V2AError(f"the IB-score needs at least 4 s of video (two frames at 0.5 fps); --audio-length is {duration:g} s")
        self.model = model
        self.identity = identity
        self.device = device
        self.duration = duration
        self.banks = kaldi_mel_banks()

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu", duration: float = DEFAULT_DURATION) -> "ImageBindNetwork":
        from v2a_cli.errors import CheckpointError

        state = load_state(spec, kind="imagebind", known=KNOWN_CHECKPOINTS, filename=CHECKPOINT_FILENAME)
        tensors = {name: value for name, value in state.tensors.items() if name.startswith(PREFIXES)}
        try:
            config = imagebind_config(tensors)
        except KeyError as exc:
            raise CheckpointError(f"{state.source}: not an ImageBind checkpoint (no {exc.args[0]})") from None
        model = ImageBindAV(**config)
        load_strict(model, tensors, source=state.source, kind="ImageBind")
        device = torch.device(device)
        return cls(model.to(device).eval(), identity=state.identity, device=device, duration=duration)

    @property
    def video_identity(self) -> str:
        """Names the cache of video embeddings (they depend on the duration read)."""
        return f"{self.identity}-video-{self.duration:g}s"

    @torch.inference_mode()
    def embed(self, waveforms: Sequence[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        results = []
        for waveform in waveforms:  # the clip layout depends on each file's length
            clips = audio_clips(waveform, self.banks)[None].to(self.device)
            results.append({"embedding": self.model(AUDIO, clips)[0].float().cpu()})
        return results

    @torch.inference_mode()
    def embed_frames(self, frames: np.ndarray) -> dict[str, torch.Tensor]:
        clips = video_clips(frames)[None].to(self.device)
        return {"embedding": self.model(VISION, clips)[0].float().cpu()}

    def embed_video(self, path: str | Path) -> dict[str, torch.Tensor]:
        from v2a_cli.evaluation.video_frames import decode_frames

        return self.embed_frames(decode_frames(path, fps=VIDEO_FPS, seconds=self.duration))


def imagebind_scores(video_embeddings: torch.Tensor, audio_embeddings: torch.Tensor) -> torch.Tensor:
    """Per-pair cosine of [N, D] video and audio embeddings; av-benchmark's IB-score is their mean."""
    return torch.cosine_similarity(video_embeddings.float(), audio_embeddings.float(), dim=-1)


def imagebind_score(network: ImageBindNetwork, video_paths: Sequence[str | Path],
                    audio_paths: Sequence[str | Path]) -> list[float]:
    """Per-pair IB scores of videos and the sounds made for them (no cache; the evaluator caches)."""
    from v2a_cli.media.audio import load_audio

    videos = torch.stack([network.embed_video(path)["embedding"] for path in video_paths])
    sounds = torch.stack([network.embed([load_audio(path, sample_rate=SAMPLE_RATE)])[0]["embedding"]
                          for path in audio_paths])
    return imagebind_scores(videos, sounds).tolist()


@register_loader("imagebind")
def load_imagebind(spec: str, **kwargs: Any) -> ImageBindNetwork:
    return ImageBindNetwork.load(spec, **kwargs)
