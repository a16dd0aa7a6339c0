"""PANNs CNN14 (Kong et al. 2020): the network behind FD (2048-d embedding), KL and IS (527 logits).

Our own definition in the key layout of the authors' checkpoints (qiuqiangkong/audioset_tagging_cnn,
`Cnn14_16k_mAP=0.438.pth` / `Cnn14_mAP=0.431.pth`: {"model": state dict, ...}), so those files load
unchanged. `panns_inference` is not used: it downloads a label CSV at import and the 32 kHz
checkpoint on construction, and needs librosa + torchlibrosa. The STFT kernels and mel filter bank are
weights of the checkpoint (torchlibrosa stores them), so the front end needs no librosa either.

Which variant a checkpoint is follows from its STFT size (`STFT_VARIANTS`); channel widths are read
from the tensors, which also lets the tiny zoo ship a narrow CNN14 in the same layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from v2a_cli.evaluation.checkpoints import KnownCheckpoint, load_state, load_strict
from v2a_cli.registry import register_loader

ZENODO = "https://zenodo.org/records/3987831/files"
KNOWN_CHECKPOINTS: dict[str, KnownCheckpoint] = {
    # The default: AudioLDM's evaluation (haoheliu/audioldm_eval) scores 16 kHz audio with this one.
    "panns-cnn14": KnownCheckpoint(f"{ZENODO}/Cnn14_16k_mAP%3D0.438.pth"),
    "panns-cnn14-32k": KnownCheckpoint(f"{ZENODO}/Cnn14_mAP%3D0.431.pth"),  # panns_inference's model
}
CHECKPOINT_FILENAME = "Cnn14_16k_mAP=0.438.pth"  # looked for inside a folder spec

# STFT size -> (sample rate, hop) of the published CNN14 variants (8, 16 and 32 kHz).
STFT_VARIANTS: dict[int, tuple[int, int]] = {256: (8000, 80), 512: (16000, 160), 1024: (32000, 320)}
MIN_SAMPLES = 32000  # audioldm_eval pads shorter clips with zeros to this many samples
LOG_AMIN = 1e-10


class _Stft(nn.Module):
    """torchlibrosa's STFT as two Conv1d layers holding the windowed DFT (real, imaginary)."""

    def __init__(self, n_fft: int, hop: int):
        super().__init__()
        self.n_fft = n_fft
        self.conv_real = nn.Conv1d(1, n_fft // 2 + 1, n_fft, stride=hop, bias=False)
        self.conv_imag = nn.Conv1d(1, n_fft // 2 + 1, n_fft, stride=hop, bias=False)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        padded = F.pad(waveforms[:, None, :], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        power = self.conv_real(padded) ** 2 + self.conv_imag(padded) ** 2  # [B, bins, frames]
        return power.transpose(1, 2)[:, None]  # [B, 1, frames, bins]


class _Spectrogram(nn.Module):
    def __init__(self, n_fft: int, hop: int):
        super().__init__()
        self.stft = _Stft(n_fft, hop)


class _LogMel(nn.Module):
    def __init__(self, bins: int, mel_bins: int):
        super().__init__()
        self.melW = nn.Parameter(torch.zeros(bins, mel_bins), requires_grad=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(torch.clamp(power @ self.melW, min=LOG_AMIN))  # ref=1, top_db=None


class ConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, kernel_size=pool)


class Cnn14(nn.Module):
    """CNN14 inference path: log-mel -> 6 conv blocks -> max+mean pooling -> fc1 (embedding) -> logits."""

    def __init__(self, *, n_fft: int, hop: int, mel_bins: int = 64, widths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048),
                 embedding_dim: int = 2048, classes: int = 527):
        super().__init__()
        self.spectrogram_extractor = _Spectrogram(n_fft, hop)
        self.logmel_extractor = _LogMel(n_fft // 2 + 1, mel_bins)
        self.bn0 = nn.BatchNorm2d(mel_bins)
        channels = (1, *widths)
        for index in range(6):
            setattr(self, f"conv_block{index + 1}", ConvBlock(channels[index], channels[index + 1]))
        self.fc1 = nn.Linear(widths[-1], embedding_dim)
        self.fc_audioset = nn.Linear(embedding_dim, classes)

    def forward(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, samples] -> (embedding [B, D], logits [B, classes])."""
        x = self.logmel_extractor(self.spectrogram_extractor.stft(waveforms))  # [B, 1, frames, mels]
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        for index in range(6):
            x = getattr(self, f"conv_block{index + 1}")(x, (2, 2) if index < 5 else (1, 1))
        x = x.mean(dim=3)
        x = x.amax(dim=2) + x.mean(dim=2)
        embedding = F.relu(self.fc1(x))
        return embedding, self.fc_audioset(embedding)


def cnn14_config(tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Cnn14 constructor arguments read from a state dict's shapes."""
    n_fft = tensors["spectrogram_extractor.stft.conv_real.weight"].shape[-1]
    if n_fft not in STFT_VARIANTS:
        raise KeyError(f"STFT size {n_fft} is not one of the published CNN14 variants {sorted(STFT_VARIANTS)}")
    return {
        "n_fft": n_fft,
        "hop": STFT_VARIANTS[n_fft][1],
        "mel_bins": tensors["logmel_extractor.melW"].shape[1],
        "widths": tuple(tensors[f"conv_block{i}.conv1.weight"].shape[0] for i in range(1, 7)),
        "embedding_dim": tensors["fc1.weight"].shape[0],
        "classes": tensors["fc_audioset.weight"].shape[0],
    }


class PannsNetwork:
    """A loaded CNN14: `.embed(waveforms)` -> per file {"embedding": [D], "logits": [classes]}."""

    kind = "panns"

    def __init__(self, model: Cnn14, *, sample_rate: int, identity: str, device: torch.device):
        self.model = model
        self.sample_rate = sample_rate
        self.identity = identity
        self.device = device

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu") -> "PannsNetwork":
        from v2a_cli.errors import CheckpointError

        state = load_state(spec, kind="panns", known=KNOWN_CHECKPOINTS, filename=CHECKPOINT_FILENAME, subkey="model")
        try:
            config = cnn14_config(state.tensors)
        except KeyError as exc:
            raise CheckpointError(f"{state.source}: not a PANNs CNN14 checkpoint ({exc.args[0]})") from None
        model = Cnn14(**config)
        load_strict(model, state.tensors, source=state.source, kind="PANNs CNN14")
        device = torch.device(device)
        return cls(model.to(device).eval(), sample_rate=STFT_VARIANTS[config["n_fft"]][0],
                   identity=state.identity, device=device)

    @staticmethod
    def prepare(waveform: np.ndarray) -> np.ndarray:
        """As audioldm_eval: DC offset removed, zero-padded to MIN_SAMPLES."""
        waveform = waveform - waveform.mean() if waveform.size else waveform
        return np.pad(waveform, (0, max(0, MIN_SAMPLES - waveform.shape[0]))).astype(np.float32)

    @torch.inference_mode()
    def embed(self, waveforms: list[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        """Equal-length clips share one forward pass; each result is float32 on CPU."""
        prepared = [self.prepare(waveform) for waveform in waveforms]
        results: list[dict[str, torch.Tensor]] = [{} for _ in prepared]
        by_length: dict[int, list[int]] = {}
        for index, waveform in enumerate(prepared):
            by_length.setdefault(waveform.shape[0], []).append(index)
        for indices in by_length.values():
            batch = torch.from_numpy(np.stack([prepared[i] for i in indices])).to(self.device)
            embeddings, logits = self.model(batch)
            for row, index in enumerate(indices):
                results[index] = {"embedding": embeddings[row].float().cpu(), "logits": logits[row].float().cpu()}
        return results


@register_loader("panns")
def load_panns(spec: str, **kwargs: Any) -> PannsNetwork:
    return PannsNetwork.load(spec, **kwargs)
