"""Tiny random-weight evaluation networks in the authors' on-disk formats (pickled `.pth` state dicts).

- PANNs CNN14, 16 kHz variant (`Cnn14_16k_mAP=0.438.pth` layout: {"model": ..., "iteration": ...,
  "sampler": numpy arrays}); real STFT kernels and mel filter bank, narrow conv blocks, 527 classes.
- VGGish (`vggish-10086976.pth` layout: plain state dict), narrow.
- Wav2CLIP (`Wav2CLIP.pt` layout: `audio_encoder.*`, `audio_transform.*`), narrow ResNet, 512-d output
  (the tiny CLIP's embedding size, so CS can be computed).
- PaSST (`passt-s-f128-p16-s10-ap.476-swa.pt` layout: plain state dict of the network), 128-d, 2 blocks of
  2 heads, the real patch grid (12 x 99) and 527 classes.
Files are written with `torch.save`, so the loaders' `torch.load(weights_only=True)` path runs on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PANNS_SAMPLE_RATE, PANNS_N_FFT, PANNS_HOP, PANNS_MELS, PANNS_FMIN, PANNS_FMAX = 16000, 512, 160, 64, 50.0, 8000.0
PANNS_WIDTHS = (4, 8, 8, 16, 16, 32)
PANNS_EMBEDDING = 32
VGGISH_CHANNELS = (4, 8, 8, 8, 16, 16)
VGGISH_HIDDEN = 32
WAV2CLIP_STEM, WAV2CLIP_WIDTHS, WAV2CLIP_BLOCKS = 8, (8, 8, 16, 16), (2, 2, 2, 2)
CLIP_DIM = 512
PASST_DIM, PASST_DEPTH, PASST_HIDDEN = 128, 2, 512


def _slaney_mel_filters(sample_rate: int, n_fft: int, mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa.filters.mel's default (Slaney scale, area-normalised), transposed: [n_fft//2+1, mels]."""
    def to_mel(hz):
        hz = np.asarray(hz, dtype=np.float64)
        linear = hz / (200.0 / 3)
        log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(hz >= 1000.0, log_part, linear)

    def to_hz(mel):
        mel = np.asarray(mel, dtype=np.float64)
        return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))

    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges_hz = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.T.astype(np.float32)


def _dft_kernels(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """torchlibrosa's windowed DFT rows (periodic Hann): real and imaginary [n_fft//2+1, 1, n_fft]."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frequencies = np.arange(n_fft // 2 + 1)[:, None] * np.arange(n_fft)[None, :]
    angle = -2 * np.pi * frequencies / n_fft
    return ((np.cos(angle) * window)[:, None, :].astype(np.float32), (np.sin(angle) * window)[:, None, :].astype(np.float32))


def _calibration_sounds(sample_rate: int, seed: int) -> "torch.Tensor":
    import torch

    rng = np.random.default_rng(seed)
    t = np.arange(2 * sample_rate) / sample_rate
    tones = [0.3 * np.sin(2 * np.pi * rng.uniform(80, sample_rate / 3) * t) for _ in range(4)]
    noises = [rng.uniform(0.01, 0.3) * rng.standard_normal(t.shape) for _ in range(4)]
    return torch.from_numpy(np.stack(tones + noises).astype(np.float32))


def _calibrate_batchnorm(model, inputs) -> None:
    """Set BatchNorm running statistics from real activations, so that a random network stays
    sensitive to its input through all its layers (default statistics let activations fade out)."""
    import torch

    for layer in model.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.reset_running_stats()
            layer.momentum = None  # cumulative average over the calibration pass
    model.train()
    with torch.no_grad():
        model(inputs)
    for layer in model.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.momentum = 0.1
    model.eval()


def build_panns(path: str | Path, seed: int = 0) -> Path:
    import torch

    from v2a_cli.evaluation.panns import Cnn14

    torch.manual_seed(seed)
    model = Cnn14(n_fft=PANNS_N_FFT, hop=PANNS_HOP, mel_bins=PANNS_MELS, widths=PANNS_WIDTHS, embedding_dim=PANNS_EMBEDDING)
    real, imag = _dft_kernels(PANNS_N_FFT)
    model.spectrogram_extractor.stft.conv_real.weight.data = torch.from_numpy(real)
    model.spectrogram_extractor.stft.conv_imag.weight.data = torch.from_numpy(imag)
    model.logmel_extractor.melW.data = torch.from_numpy(
        _slaney_mel_filters(PANNS_SAMPLE_RATE, PANNS_N_FFT, PANNS_MELS, PANNS_FMIN, PANNS_FMAX))
    _calibrate_batchnorm(model, _calibration_sounds(PANNS_SAMPLE_RATE, seed))
    state = model.state_dict()
    # As the authors' files: the training loop's iteration and its sampler state (numpy arrays) ride along.
    checkpoint = {"iteration": 0, "model": state, "sampler": {"indexes_per_class": [np.arange(3, dtype=np.int64)]}}
    return save_checkpoint(checkpoint, path)


def build_vggish(path: str | Path, seed: int = 1) -> Path:
    import torch

    from v2a_cli.evaluation.vggish import Vgg

    torch.manual_seed(seed)
    model = Vgg(channels=VGGISH_CHANNELS, hidden=VGGISH_HIDDEN)
    for layer in model.modules():  # no BatchNorm here: He init keeps the signal alive through 9 layers
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            torch.nn.init.zeros_(layer.bias)
    return save_checkpoint(dict(model.state_dict()), path)


def build_wav2clip(path: str | Path, seed: int = 2) -> Path:
    import torch

    from v2a_cli.evaluation.wav2clip import AudioResNet, Wav2Clip

    torch.manual_seed(seed)
    model = Wav2Clip(AudioResNet(WAV2CLIP_STEM, WAV2CLIP_WIDTHS, WAV2CLIP_BLOCKS),
                     (WAV2CLIP_WIDTHS[-1], WAV2CLIP_WIDTHS[-1], CLIP_DIM))
    _calibrate_batchnorm(model.audio_encoder, _calibration_sounds(16000, seed))
    return save_checkpoint(dict(model.state_dict()), path)


def build_passt(path: str | Path, seed: int = 3) -> Path:
    import torch

    from v2a_cli.evaluation.passt import PaSST

    torch.manual_seed(seed)
    model = PaSST(dim=PASST_DIM, depth=PASST_DEPTH, hidden=PASST_HIDDEN)
    for name, parameter in model.named_parameters():
        if name.endswith("token") or "pos_embed" in name:  # zeros in the constructor; PaSST's init draws them
            torch.nn.init.trunc_normal_(parameter, std=0.02)
        elif name.startswith("head") and name.endswith("weight") and parameter.ndim == 2:
            torch.nn.init.normal_(parameter, std=0.5)  # PaSST's init zeroes the heads: logits would not vary
    return save_checkpoint(dict(model.state_dict()), path)


def save_checkpoint(checkpoint: dict, path: str | Path) -> Path:
    """Write `checkpoint` with torch.save, as the originals ship theirs (the zoo's own files only)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def build_eval_models(folder: str | Path) -> dict[str, str]:
    """Write the networks under `folder`; returns {"panns": path, "vggish": path, "wav2clip": path, "passt": path}."""
    folder = Path(folder)
    return {
        "panns": str(build_panns(folder / "panns" / "Cnn14_16k_mAP=0.438.pth")),
        "vggish": str(build_vggish(folder / "vggish" / "vggish-10086976.pth")),
        "wav2clip": str(build_wav2clip(folder / "wav2clip" / "Wav2CLIP.pt")),
        "passt": str(build_passt(folder / "passt" / "passt-s-f128-p16-s10-ap.476-swa.pt")),
    }
