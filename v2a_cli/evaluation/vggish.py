"""VGGish (Hershey et al. 2017): the network behind FAD (Kilgour et al. 2019), one 128-d vector per 0.96 s.

Our own definition in the key layout of harritaylor/torchvggish's `vggish-10086976.pth` (a plain
state dict: `features.{0,3,6,8,11,13}`, `embeddings.{0,2,4}`), so that file loads unchanged. The
torchvggish package is not used: it downloads weights on construction and needs resampy.

FAD uses the raw 128-d output of the last layer: no final ReLU and no PCA/8-bit quantisation, as in
Google's FAD (the `vggish/embedding` tensor) and `frechet-audio-distance`'s defaults. The PCA file
(`vggish_pca_params-970ea276.pth`) is therefore not needed.

Front end (VGGish's own): 16 kHz mono, 25 ms periodic-Hann frames every 10 ms, |FFT 512|, 64 HTK-mel
bands 125-7500 Hz, log(mel + 0.01), cut into non-overlapping 96-frame patches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from v2a_cli.evaluation.checkpoints import KnownCheckpoint, load_state, load_strict
from v2a_cli.registry import register_loader

KNOWN_CHECKPOINTS: dict[str, KnownCheckpoint] = {
    "vggish": KnownCheckpoint("https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
                              sha256_prefix="10086976"),
}
CHECKPOINT_FILENAME = "vggish-10086976.pth"

SAMPLE_RATE = 16000
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
FFT_SIZE = 512
MEL_BANDS = 64
MEL_MIN_HZ, MEL_MAX_HZ = 125.0, 7500.0
LOG_OFFSET = 0.01
PATCH_FRAMES = 96  # 0.96 s, no overlap
MIN_SAMPLES = WINDOW + (PATCH_FRAMES - 1) * HOP  # one full patch; shorter clips are zero-padded to it
CONV_INDICES = (0, 3, 6, 8, 11, 13)  # Conv2d positions in `features` (ReLU / MaxPool between)
POOL_AFTER = {0, 3, 8, 13}


def _hertz_to_mel(hertz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(hertz, dtype=np.float64) / 700.0)


def mel_matrix() -> np.ndarray:
    """[FFT_SIZE // 2 + 1, MEL_BANDS] HTK triangles spaced evenly in mel; the DC bin gets no weight."""
    bins_mel = _hertz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, FFT_SIZE // 2 + 1))
    edges = np.linspace(_hertz_to_mel(MEL_MIN_HZ), _hertz_to_mel(MEL_MAX_HZ), MEL_BANDS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def log_mel_patches(waveform: np.ndarray) -> torch.Tensor:
    """16 kHz mono -> [patches, 1, 96, 64] (at least one patch: short clips are zero-padded)."""
    waveform = np.pad(waveform.astype(np.float64), (0, max(0, MIN_SAMPLES - waveform.shape[0])))
    frames = torch.from_numpy(waveform).unfold(0, WINDOW, HOP)  # [frames, 400]
    window = 0.5 - 0.5 * torch.cos(2 * torch.pi * torch.arange(WINDOW, dtype=torch.float64) / WINDOW)  # periodic
    magnitude = torch.fft.rfft(frames * window, n=FFT_SIZE).abs()
    log_mel = torch.log(magnitude @ torch.from_numpy(mel_matrix()) + LOG_OFFSET)
    patches = log_mel[: (log_mel.shape[0] // PATCH_FRAMES) * PATCH_FRAMES].reshape(-1, PATCH_FRAMES, MEL_BANDS)
    return patches[:, None].float()


class Vgg(nn.Module):
    """VGGish: 6 conv layers (4 max-pools) on a 96x64 patch, then 3 fully connected layers."""

    def __init__(self, channels: tuple[int, ...] = (64, 128, 256, 256, 512, 512), hidden: int = 4096, embedding_dim: int = 128):
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 1
        for position, out_channels in zip(CONV_INDICES, channels):
            layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU()]
            if position in POOL_AFTER:
                layers.append(nn.MaxPool2d(2, 2))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(nn.Linear(channels[-1] * 6 * 4, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                        nn.ReLU(), nn.Linear(hidden, embedding_dim))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.features(patches)  # [N, C, 6, 4]
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # flatten as TensorFlow's NHWC did
        return self.embeddings(x)


def vgg_config(tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "channels": tuple(tensors[f"features.{i}.weight"].shape[0] for i in CONV_INDICES),
        "hidden": tensors["embeddings.0.weight"].shape[0],
        "embedding_dim": tensors["embeddings.4.weight"].shape[0],
    }


class VggishNetwork:
    """A loaded VGGish: `.embed(waveforms)` -> per file {"frames": [patches, 128]}."""

    kind = "vggish"
    sample_rate = SAMPLE_RATE

    def __init__(self, model: Vgg, *, identity: str, device: torch.device, batch_size: int = 64):
        self.model = model
        self.identity = identity
        self.device = device
        self.batch_size = batch_size

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu") -> "VggishNetwork":
        from v2a_cli.errors import CheckpointError

        state = load_state(spec, kind="vggish", known=KNOWN_CHECKPOINTS, filename=CHECKPOINT_FILENAME)
        # torchvggish's model file may carry the PCA parameters too; FAD does not use them.
        tensors = {name: value for name, value in state.tensors.items() if name.startswith(("features.", "embeddings."))}
        try:
            model = Vgg(**vgg_config(tensors))
        except KeyError as exc:
            raise CheckpointError(f"{state.source}: not a VGGish checkpoint (no {exc.args[0]})") from None
        load_strict(model, tensors, source=state.source, kind="VGGish")
        device = torch.device(device)
        return cls(model.to(device).eval(), identity=state.identity, device=device)

    @torch.inference_mode()
    def embed(self, waveforms: list[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        patches = [log_mel_patches(waveform) for waveform in waveforms]
        stacked = torch.cat(patches)
        outputs = [self.model(stacked[start:start + self.batch_size].to(self.device)).float().cpu()
                   for start in range(0, stacked.shape[0], self.batch_size)]
        frames = torch.cat(outputs).split([p.shape[0] for p in patches])
        return [{"frames": item.clone()} for item in frames]


@register_loader("vggish")
def load_vggish(spec: str, **kwargs: Any) -> VggishNetwork:
    return VggishNetwork.load(spec, **kwargs)
