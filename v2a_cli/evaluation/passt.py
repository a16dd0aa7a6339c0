"""PaSST (Koutini et al. 2022), the HEAR 2021 `passt` network behind av-benchmark's FD_PaSST, KL_PaSST and IS_PaSST.

av-benchmark (hkchengrex/av-benchmark, MMAudio's evaluation) builds `hear21passt.base.get_basic_model(mode="all")`
and calls it on each sound: mono, mean removed, 32 kHz, the first `--audio_length` seconds, then cut or
zero-padded to exactly 10 s (320000 samples). The output is [527 AudioSet logits | 768-d embedding]; the
embedding is the mean of the class and distillation tokens after the final norm ("before the prediction
head"), the logits the head on it (no sigmoid).

The front end is hear21passt's `AugmentMelSTFT` in eval mode: pre-emphasis (y[t] = x[t+1] − 0.97 x[t]),
|STFT|² (n_fft 1024, hop 320, a 800-sample symmetric Hann window, centred, reflect padding), 128 Kaldi mel
bands 0–15000 Hz (`torchaudio.compliance.kaldi.get_mel_banks`, plus a zero row for the Nyquist bin),
log(x + 1e-5), then (x + 4.5) / 5. The network (`passt_s_swa_p16_128_ap476`) is a distilled ViT: 16×16
patches every 10 bins/frames (12 × 99 patches for 10 s), separate frequency and time position embeddings
(the time ones cut to the input's length), 12 blocks of 12 heads, LayerNorm ε 1e-6 (the head's own
LayerNorm has PyTorch's default 1e-5), exact GELU.

Our own definition in the key layout of the released checkpoint (`passt-s-f128-p16-s10-ap.476-swa.pt`, a plain
state dict of the network; the mel front end has no weights). Widths and depth are read from the tensors; the
head count follows the architecture's 64-dim heads, so a narrow test model keeps the layout. hear21passt is
not used: it needs torchaudio and timm, prints the model on construction and downloads on construction.
av-benchmark installs the fork hkchengrex/passt_hear21 (1ab7789); its model, wrapper and front end are PyPI
hear21passt 0.0.26's but for removed prints and deprecation fixes (`return_complex=True` + `view_as_real`,
`torch.amp.autocast`): the same numbers (checked by diff).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from v2a_cli.evaluation.checkpoints import KnownCheckpoint, load_state, load_strict
from v2a_cli.evaluation.layers import Mlp
from v2a_cli.registry import register_loader

KNOWN_CHECKPOINTS: dict[str, KnownCheckpoint] = {
    "passt": KnownCheckpoint("https://github.com/kkoutini/PaSST/releases/download/v0.0.1-audioset/"
                             "passt-s-f128-p16-s10-ap.476-swa.pt"),
}
CHECKPOINT_FILENAME = "passt-s-f128-p16-s10-ap.476-swa.pt"

SAMPLE_RATE = 32000
CLIP_SAMPLES = 320000  # av-benchmark cuts or pads every sound to 10 s
N_FFT, HOP, WIN_LENGTH = 1024, 320, 800
MEL_BINS, FMIN, FMAX = 128, 0.0, 15000.0  # hear21passt: fmax=None -> sr // 2 - fmax_aug_range // 2
PREEMPHASIS = 0.97
LOG_OFFSET = 1e-5
PATCH, STRIDE = 16, 10
HEAD_DIM = 64  # 768 / 12 heads (PaSST-S), the ViT-B layout
BLOCK_EPS, HEAD_EPS = 1e-6, 1e-5


def kaldi_mel_banks(bins: int = MEL_BINS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                    fmin: float = FMIN, fmax: float = FMAX) -> torch.Tensor:
    """`torchaudio.compliance.kaldi.get_mel_banks(bins, n_fft, sr, fmin, fmax, 100, -500, 1.0)` padded with a
    zero column for the Nyquist bin, as hear21passt does: [bins, n_fft // 2 + 1], float32 as torchaudio."""
    def mel(freq):
        return 1127.0 * torch.log(1.0 + freq / 700.0)

    low, high = 1127.0 * math.log(1.0 + fmin / 700.0), 1127.0 * math.log(1.0 + fmax / 700.0)
    delta = (high - low) / (bins + 1)
    index = torch.arange(bins).unsqueeze(1)
    left, center, right = low + index * delta, low + (index + 1.0) * delta, low + (index + 2.0) * delta
    fft_mel = mel(sample_rate / n_fft * torch.arange(n_fft // 2)).unsqueeze(0)
    up = (fft_mel - left) / (center - left)
    down = (right - fft_mel) / (right - center)
    banks = torch.max(torch.zeros(1), torch.min(up, down))
    return F.pad(banks, (0, 1)).float()


class MelFrontEnd(nn.Module):
    """hear21passt's AugmentMelSTFT in eval mode (no weights: window and filters are rebuilt)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(WIN_LENGTH, periodic=False), persistent=False)
        self.register_buffer("banks", kaldi_mel_banks(), persistent=False)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """[B, samples] -> [B, 1, mels, frames]."""
        x = waveforms[:, 1:] - PREEMPHASIS * waveforms[:, :-1]
        spec = torch.stft(x, N_FFT, hop_length=HOP, win_length=WIN_LENGTH, center=True, normalized=False,
                          window=self.window, return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2
        mel = torch.matmul(self.banks, power)
        return ((torch.log(mel + LOG_OFFSET) + 4.5) / 5.0)[:, None]


class PatchEmbed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=PATCH, stride=STRIDE)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        attention = ((q @ k.transpose(-2, -1)) * (dim // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attention @ v).transpose(1, 2).reshape(batch, tokens, dim))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=BLOCK_EPS)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=BLOCK_EPS)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PaSST(nn.Module):
    """Inference path of hear21passt's distilled PaSST: [B, 1, mels, frames] -> (logits, embedding)."""

    def __init__(self, *, dim: int = 768, depth: int = 12, hidden: int = 3072, classes: int = 527,
                 freq_patches: int = 12, time_patches: int = 99):
        super().__init__()
        self.patch_embed = PatchEmbed(dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.new_pos_embed = nn.Parameter(torch.zeros(1, 2, dim))
        self.freq_new_pos_embed = nn.Parameter(torch.zeros(1, dim, freq_patches, 1))
        self.time_new_pos_embed = nn.Parameter(torch.zeros(1, dim, 1, time_patches))
        self.blocks = nn.Sequential(*[Block(dim, max(1, dim // HEAD_DIM), hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=BLOCK_EPS)
        self.head = nn.Sequential(nn.LayerNorm(dim, eps=HEAD_EPS), nn.Linear(dim, classes))
        self.head_dist = nn.Linear(dim, classes)  # trained with the distillation token; unused at inference

    def forward(self, specs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.patch_embed.proj(specs)  # [B, D, F, T]
        x = x + self.time_new_pos_embed[:, :, :, :x.shape[-1]] + self.freq_new_pos_embed
        x = x.flatten(2).transpose(1, 2)
        batch = x.shape[0]
        cls = self.cls_token.expand(batch, -1, -1) + self.new_pos_embed[:, :1]
        dist = self.dist_token.expand(batch, -1, -1) + self.new_pos_embed[:, 1:]
        x = self.norm(self.blocks(torch.cat((cls, dist, x), dim=1)))
        embedding = (x[:, 0] + x[:, 1]) / 2
        return self.head(embedding), embedding


def passt_config(tensors: dict[str, torch.Tensor]) -> dict[str, int]:
    """PaSST constructor arguments read from a state dict's shapes."""
    depth = len({name.split(".")[1] for name in tensors if name.startswith("blocks.")})
    return {
        "dim": tensors["cls_token"].shape[-1],
        "depth": depth,
        "hidden": tensors["blocks.0.mlp.fc1.weight"].shape[0],
        "classes": tensors["head.1.weight"].shape[0],
        "freq_patches": tensors["freq_new_pos_embed"].shape[2],
        "time_patches": tensors["time_new_pos_embed"].shape[3],
    }


def fit_to_clip(waveform: np.ndarray) -> np.ndarray:
    """Cut or zero-pad to 10 s at 32 kHz, as av-benchmark's extract.py before the network."""
    waveform = np.asarray(waveform, dtype=np.float32)[:CLIP_SAMPLES]
    return np.pad(waveform, (0, CLIP_SAMPLES - waveform.shape[0]))


class PasstNetwork:
    """A loaded PaSST: `.embed(waveforms)` (32 kHz) -> per file {"embedding": [768], "logits": [527]}."""

    kind = "passt"
    sample_rate = SAMPLE_RATE

    def __init__(self, model: PaSST, *, identity: str, device: torch.device):
        self.model = model
        self.front_end = MelFrontEnd().to(device)
        self.identity = identity
        self.device = device

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu") -> "PasstNetwork":
        from v2a_cli.errors import CheckpointError

        state = load_state(spec, kind="passt", known=KNOWN_CHECKPOINTS, filename=CHECKPOINT_FILENAME, subkey="model")
        tensors = dict(state.tensors)
        weight = tensors.get("patch_embed.proj.weight")
        if weight is not None and weight.ndim < 4:  # hear21passt's filter: early checkpoints stored a flat patch projection
            tensors["patch_embed.proj.weight"] = weight.reshape(weight.shape[0], 1, PATCH, PATCH)
        try:
            config = passt_config(tensors)
        except KeyError as exc:
            raise CheckpointError(f"{state.source}: not a PaSST checkpoint (no {exc.args[0]})") from None
        model = PaSST(**config)
        load_strict(model, tensors, source=state.source, kind="PaSST")
        device = torch.device(device)
        return cls(model.to(device).eval(), identity=state.identity, device=device)

    @torch.inference_mode()
    def embed(self, waveforms: Sequence[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        """Every sound becomes exactly 10 s, so a batch is one forward pass; results float32 on CPU."""
        if not waveforms:
            return []
        batch = torch.from_numpy(np.stack([fit_to_clip(w) for w in waveforms])).to(self.device)
        logits, embeddings = self.model(self.front_end(batch))
        return [{"embedding": embeddings[i].float().cpu(), "logits": logits[i].float().cpu()}
                for i in range(len(waveforms))]


@register_loader("passt")
def load_passt(spec: str, **kwargs: Any) -> PasstNetwork:
    return PasstNetwork.load(spec, **kwargs)
