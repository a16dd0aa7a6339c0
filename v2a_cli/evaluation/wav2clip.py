"""Wav2CLIP (Wu et al. 2022): an audio encoder distilled into CLIP ViT-B/32's image space, for CS.

The `wav2clip` package's pretrained model is a ResNet-18 (BasicBlock, [2, 2, 2, 2]) on a log power
spectrogram (torchaudio `Spectrogram(n_fft=512, hop_length=353)`, log(x + 1e-7), standardised by the
mean and std of the whole input), average-pooled to 512-d, then a 512-512-512 MLP ("audio_transform")
into CLIP space. Its checkpoint `Wav2CLIP.pt` (GitHub release v0.1.0-alpha) is a flat state dict with
`audio_encoder.*` and `audio_transform.sequential.{0,3}.*` keys. Our own definition loads that file;
the package is not used because it downloads on `get_model()` and imports librosa and torchaudio.

The standardisation spans the whole batch in the original, so every file is embedded on its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from v2a_cli.evaluation.checkpoints import KnownCheckpoint, load_state, load_strict
from v2a_cli.registry import register_loader

KNOWN_CHECKPOINTS: dict[str, KnownCheckpoint] = {
    "wav2clip": KnownCheckpoint("https://github.com/descriptinc/lyrebird-wav2clip/releases/download/v0.1.0-alpha/Wav2CLIP.pt"),
}
CHECKPOINT_FILENAME = "Wav2CLIP.pt"

SAMPLE_RATE = 16000  # VGGSound audio as Wav2CLIP was trained (im2wav's WAV2CLIP_SAMPLERATE)
N_FFT = 512
HOP = 353
LOG_EPS = 1e-7
STD_EPS = 1e-9
MIN_SAMPLES = N_FFT  # reflect padding needs more than n_fft // 2 samples
ENCODER_PREFIX = "audio_encoder."
TRANSFORM_PREFIX = "audio_transform."


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class AudioResNet(nn.Module):
    """Wav2CLIP's audio encoder: spectrogram -> ResNet (4 stages) -> global average pool."""

    def __init__(self, stem: int = 64, widths: tuple[int, ...] = (64, 128, 256, 512), blocks: tuple[int, ...] = (2, 2, 2, 2)):
        super().__init__()
        self.spectrogram = nn.Module()
        self.spectrogram.register_buffer("window", torch.hann_window(N_FFT))  # torchaudio keeps it in the state dict
        self.conv1 = nn.Conv2d(1, stem, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        in_channels = stem
        for stage, (width, count) in enumerate(zip(widths, blocks)):
            stride = 1 if stage == 0 else 2
            layers = [BasicBlock(in_channels, width, stride)] + [BasicBlock(width, width, 1) for _ in range(count - 1)]
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
            in_channels = width
        self.out_dim = in_channels

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(waveforms, N_FFT, hop_length=HOP, win_length=N_FFT, window=self.spectrogram.window,
                          center=True, pad_mode="reflect", return_complex=True).abs() ** 2
        x = torch.log(spec[:, None] + LOG_EPS)  # [B, 1, 257, frames]
        x = (x - x.mean()) / (x.std() + STD_EPS)
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), kernel_size=3, stride=2, padding=1)
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return x.mean(dim=(2, 3))


class Wav2Clip(nn.Module):
    def __init__(self, encoder: AudioResNet, transform_dims: tuple[int, int, int]):
        super().__init__()
        self.audio_encoder = encoder
        self.audio_transform = nn.Module()
        # MLPLayers([512, 512, 512]): Linear, ReLU, Dropout, Linear -> indices 0 and 3 hold weights.
        self.audio_transform.sequential = nn.Sequential(
            nn.Linear(transform_dims[0], transform_dims[1]), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(transform_dims[1], transform_dims[2]),
        )

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        return self.audio_transform.sequential(self.audio_encoder(waveforms))


def wav2clip_config(tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    blocks = tuple(len({name.split(".")[2] for name in tensors if name.startswith(f"{ENCODER_PREFIX}layer{stage}.")})
                   for stage in range(1, 5))
    return {
        "stem": tensors[f"{ENCODER_PREFIX}conv1.weight"].shape[0],
        "widths": tuple(tensors[f"{ENCODER_PREFIX}layer{stage}.0.conv1.weight"].shape[0] for stage in range(1, 5)),
        "blocks": blocks,
        "transform_dims": (tensors[f"{TRANSFORM_PREFIX}sequential.0.weight"].shape[1],
                           tensors[f"{TRANSFORM_PREFIX}sequential.0.weight"].shape[0],
                           tensors[f"{TRANSFORM_PREFIX}sequential.3.weight"].shape[0]),
    }


class Wav2ClipNetwork:
    """A loaded Wav2CLIP: `.embed(waveforms)` -> per file {"embedding": [512]} (CLIP space, not normalised)."""

    kind = "wav2clip"
    sample_rate = SAMPLE_RATE

    def __init__(self, model: Wav2Clip, *, identity: str, device: torch.device):
        self.model = model
        self.identity = identity
        self.device = device

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu") -> "Wav2ClipNetwork":
        from v2a_cli.errors import CheckpointError

        state = load_state(spec, kind="wav2clip", known=KNOWN_CHECKPOINTS, filename=CHECKPOINT_FILENAME)
        tensors = {name: value for name, value in state.tensors.items() if name.startswith((ENCODER_PREFIX, TRANSFORM_PREFIX))}
        tensors.setdefault(f"{ENCODER_PREFIX}spectrogram.window", torch.hann_window(N_FFT))
        try:
            config = wav2clip_config(tensors)
        except KeyError as exc:
            raise CheckpointError(f"{state.source}: not a Wav2CLIP checkpoint (no {exc.args[0]})") from None
        model = Wav2Clip(AudioResNet(config["stem"], config["widths"], config["blocks"]), config["transform_dims"])
        load_strict(model, tensors, source=state.source, kind="Wav2CLIP")
        device = torch.device(device)
        return cls(model.to(device).eval(), identity=state.identity, device=device)

    @torch.inference_mode()
    def embed(self, waveforms: list[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        results = []
        for waveform in waveforms:
            padded = np.pad(waveform, (0, max(0, MIN_SAMPLES - waveform.shape[0]))).astype(np.float32)
            embedding = self.model(torch.from_numpy(padded)[None].to(self.device))[0]
            results.append({"embedding": embedding.float().cpu()})
        return results


@register_loader("wav2clip")
def load_wav2clip(spec: str, **kwargs: Any) -> Wav2ClipNetwork:
    return Wav2ClipNetwork.load(spec, **kwargs)
