"""Synchformer (Iashin et al. 2024), the audio-visual offset classifier behind DeSync.

av-benchmark (hkchengrex/av-benchmark, MMAudio's evaluation) loads Synchformer's AudioSet model
`24-01-04T16-39-21` as the state dict `synchformer_state_dict.pth` (MMAudio's release v0.1) and computes:

- video (`extract_video.py`): frames at 25 fps (FFmpeg `fps=25`) over the first `duration` seconds
  (`--audio_length`, 8 s for MMAudio's VGGSound numbers), resized to 224 on the short side (torchvision v2
  bicubic, antialiased), centre-cropped to 224, scaled to [0, 1] and normalised to [-1, 1]; segments of
  16 frames every 8 frames (0.64 s every 0.32 s); MotionFormer features per segment [S, 8, D].
- sound (`extract.py`): mono 16 kHz, the first int(16000 * duration) samples (shorter files are left out);
  segments of 10240 samples every 5120; torchaudio MelSpectrogram (n_fft 1024, win 400, hop 160, 128 mels,
  power 2, HTK scale, no norm), log(x + 1e-6), padded/cut to 66 frames, (x + 4.2677393) / (2 * 4.5689974);
  AST features per segment [S, 6, D].
- DeSync (`evaluate.py`): for each pair, the offset class (argmax of 21 logits on the grid
  linspace(-2, 2, 21) s, i.e. 0.2-s steps) of the first 14 segments (4.8 s) and of the last 14 segments,
  |offset| of each; the mean over all of them (two per pair).

Our own definition in the state dict's key layout. Widths and depths are read from the tensors; head
counts are the architecture's (12 in MotionFormer and AST and their aggregation layers, 8 in the
synchronisation transformer), so a narrow test model keeps them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    "synchformer": KnownCheckpoint("https://github.com/hkchengrex/MMAudio/releases/download/v0.1/synchformer_state_dict.pth"),
}
CHECKPOINT_FILENAME = "synchformer_state_dict.pth"

ENCODER_HEADS = 12  # MotionFormer (divided_224_16x4.yaml), AST (ASTConfig) and their aggregation layers
SYNC_HEADS = 8  # GlobalTransformer(n_head=8)
PATCH, PATCH_TIME = 16, 2
FRAMES_PER_SEGMENT, FRAME_STEP = 16, 8
TIME_TOKENS = FRAMES_PER_SEGMENT // PATCH_TIME  # 8
SPATIAL_TOKENS = (224 // PATCH) ** 2  # 196

VIDEO_FPS = 25.0
CROP_SIZE = 224
DEFAULT_DURATION = 8.0

SAMPLE_RATE = 16000
SEGMENT_SAMPLES, SEGMENT_STEP = 10240, 5120
N_FFT, WIN_LENGTH, HOP = 1024, 400, 160
MEL_BINS = 128
SPEC_FRAMES = 66
LOG_OFFSET = 1e-6
SPEC_MEAN, SPEC_STD = -4.2677393, 4.5689974
AST_STRIDE = 10

# DeSync (av-benchmark evaluate.py)
SEGMENTS_COMPARED = 14  # 14 segments = 4.8 s
OFFSET_CLASSES = 21
MAX_OFFSET = 2.0


def offset_grid() -> torch.Tensor:
    """The 21 offset classes in seconds, as make_class_grid(-2, 2, 21) builds them (float32)."""
    return torch.from_numpy(np.linspace(-MAX_OFFSET, MAX_OFFSET, OFFSET_CLASSES)).float()


# ---------------------------------------------------------------------------------------------- network

class DividedAttention(nn.Module):
    """MotionFormer's divided attention: the CLS token attends to all tokens; the others attend within
    a frame (space) or across frames at one position (time), with the CLS token's key and value added."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.num_heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    @staticmethod
    def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        attn = torch.einsum("b i d, b j d -> b i j", q, k).softmax(dim=-1)
        return torch.einsum("b i j, b j d -> b i d", attn, v)

    def forward(self, x: torch.Tensor, *, over_time: bool, frames: int, positions: int) -> torch.Tensor:
        batch, tokens, dim = x.shape
        h = self.num_heads
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        # "b n (h d) -> (b h) n d"
        q, k, v = (t.reshape(batch, tokens, h, dim // h).permute(0, 2, 1, 3).reshape(batch * h, tokens, dim // h)
                   for t in (q, k, v))
        q = q * self.scale
        (cls_q, q_), (cls_k, k_), (cls_v, v_) = ((t[:, 0:1], t[:, 1:]) for t in (q, k, v))
        cls_out = self._attend(cls_q, k, v)
        bh, d = q_.shape[0], q_.shape[-1]
        if over_time:  # "b (f n) d -> (b n) f d"
            def split(t):
                return t.reshape(bh, frames, positions, d).permute(0, 2, 1, 3).reshape(bh * positions, frames, d)

            def merge(t):
                return t.reshape(bh, positions, frames, d).permute(0, 2, 1, 3).reshape(bh, frames * positions, d)
            repeats = positions
        else:  # "b (f n) d -> (b f) n d"
            def split(t):
                return t.reshape(bh * frames, positions, d)

            def merge(t):
                return t.reshape(bh, frames * positions, d)
            repeats = frames
        q_, k_, v_ = split(q_), split(k_), split(v_)
        cls_k = cls_k.repeat_interleave(repeats, dim=0)  # "b () d -> (b r) () d"
        cls_v = cls_v.repeat_interleave(repeats, dim=0)
        out = self._attend(q_, torch.cat((cls_k, k_), dim=1), torch.cat((cls_v, v_), dim=1))
        out = torch.cat((cls_out, merge(out)), dim=1)
        out = out.reshape(batch, h, tokens, d).permute(0, 2, 1, 3).reshape(batch, tokens, h * d)  # "(b h) n d -> b n (h d)"
        return self.proj(out)


class DividedSpaceTimeBlock(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = DividedAttention(dim, heads)
        self.timeattn = DividedAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.timeattn(self.norm3(x), over_time=True, frames=TIME_TOKENS, positions=SPATIAL_TOKENS)
        x = x + self.attn(self.norm1(x), over_time=False, frames=TIME_TOKENS, positions=SPATIAL_TOKENS)
        return x + self.mlp(self.norm2(x))


class ConvEmbed(nn.Module):
    def __init__(self, conv: nn.Module):
        super().__init__()
        self.proj = conv


def _aggregation_layer(dim: int, hidden: int) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(d_model=dim, nhead=ENCODER_HEADS, dim_feedforward=hidden, dropout=0.0,
                                      activation=nn.GELU(), layer_norm_eps=1e-6, batch_first=True, norm_first=True)


class MotionFormer(nn.Module):
    """MotionFormer feature extractor as Synchformer uses it: [N, 3, 16, 224, 224] -> [N, 8, D]."""

    def __init__(self, dim: int, depth: int, hidden: int, agg_hidden: int):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, SPATIAL_TOKENS + 1, dim))
        self.temp_embed = nn.Parameter(torch.zeros(1, TIME_TOKENS, dim))
        self.patch_embed = ConvEmbed(nn.Conv2d(3, dim, PATCH, stride=PATCH))  # in the checkpoint, unused
        self.patch_embed_3d = ConvEmbed(nn.Conv3d(3, dim, (PATCH_TIME, PATCH, PATCH), stride=(PATCH_TIME, PATCH, PATCH)))
        self.blocks = nn.ModuleList([DividedSpaceTimeBlock(dim, ENCODER_HEADS, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.spatial_attn_agg = _aggregation_layer(dim, agg_hidden)
        self.spatial_attn_agg.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = self.patch_embed_3d.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(n, -1, -1), x), dim=1)
        positions = self.pos_embed[:, 1:, :].repeat(1, TIME_TOKENS, 1) + self.temp_embed.repeat_interleave(SPATIAL_TOKENS, 1)
        x = x + torch.cat([self.pos_embed[:, 0, :].unsqueeze(1), positions], dim=1)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x[:, 1:, :])
        dim = x.shape[-1]
        side = int(math.isqrt(SPATIAL_TOKENS))
        x = x.permute(0, 2, 1).reshape(n, dim, TIME_TOKENS, side, side)  # (N, D, t, h, w)
        x = x.permute(0, 2, 3, 4, 1).reshape(n * TIME_TOKENS, side * side, dim)  # "BS D t h w -> (BS t) (h w) D"
        x = _with_cls(self.spatial_attn_agg, x)
        return x.reshape(n, TIME_TOKENS, dim)


def _with_cls(layer: nn.TransformerEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    x = torch.cat((layer.cls_token.expand(x.shape[0], -1, -1), x), dim=-2)
    return layer(src=x, src_mask=None)[:, 0, :]


class ASTSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.num_heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, dim = x.shape
        head = dim // self.num_heads

        def split(t):
            return t.view(b, n, self.num_heads, head).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head)
        context = torch.matmul(F.softmax(scores, dim=-1), v)
        return context.permute(0, 2, 1, 3).contiguous().view(b, n, dim)


class _Dense(nn.Module):
    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)


class ASTAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attention = ASTSelfAttention(dim, heads)
        self.output = _Dense(dim, dim)


class ASTLayer(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int, eps: float):
        super().__init__()
        self.attention = ASTAttention(dim, heads)
        self.intermediate = _Dense(dim, hidden)
        self.output = _Dense(hidden, dim)
        self.layernorm_before = nn.LayerNorm(dim, eps=eps)
        self.layernorm_after = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention.output.dense(self.attention.attention(self.layernorm_before(x))) + x
        h = F.gelu(self.intermediate.dense(self.layernorm_after(x)))
        return self.output.dense(h) + x


class ASTEmbeddings(nn.Module):
    def __init__(self, dim: int, tokens: int):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.distillation_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position_embeddings = nn.Parameter(torch.zeros(1, tokens + 2, dim))
        self.patch_embeddings = nn.Module()
        self.patch_embeddings.projection = nn.Conv2d(1, dim, PATCH, stride=(AST_STRIDE, AST_STRIDE))


class ASTModel(nn.Module):
    """HF ASTModel (as Synchformer patches it: 66 spectrogram frames -> 12 x 6 patches)."""

    LAYER_NORM_EPS = 1e-12  # ASTConfig's default

    def __init__(self, dim: int, depth: int, hidden: int):
        super().__init__()
        self.freq_patches = (MEL_BINS - PATCH) // AST_STRIDE + 1  # 12
        self.time_patches = (SPEC_FRAMES - PATCH) // AST_STRIDE + 1  # 6
        self.embeddings = ASTEmbeddings(dim, self.freq_patches * self.time_patches)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([ASTLayer(dim, ENCODER_HEADS, hidden, self.LAYER_NORM_EPS) for _ in range(depth)])
        self.layernorm = nn.LayerNorm(dim, eps=self.LAYER_NORM_EPS)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:  # [N, T=66, F=128] -> last hidden state [N, 2 + 72, D]
        e = self.embeddings
        x = e.patch_embeddings.projection(spec.unsqueeze(1).transpose(2, 3)).flatten(2).transpose(1, 2)
        n = x.shape[0]
        x = torch.cat((e.cls_token.expand(n, -1, -1), e.distillation_token.expand(n, -1, -1), x), dim=1)
        x = x + e.position_embeddings
        for layer in self.encoder.layer:
            x = layer(x)
        return self.layernorm(x)


class AudioFeatures(nn.Module):
    """Synchformer's AST wrapper: [N, 66, 128] -> [N, 6, D] (frequency aggregated by a CLS layer)."""

    def __init__(self, dim: int, depth: int, hidden: int, agg_hidden: int):
        super().__init__()
        self.ast = ASTModel(dim, depth, hidden)
        self.freq_attn_agg = _aggregation_layer(dim, agg_hidden)
        self.freq_attn_agg.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x = self.ast(spec)[:, 2:, :]
        n, _, dim = x.shape
        f, t = self.ast.freq_patches, self.ast.time_patches
        x = x.permute(0, 2, 1).reshape(n, dim, f, t)  # (N, D, f, t)
        x = x.permute(0, 3, 2, 1).reshape(n * t, f, dim)
        return _with_cls(self.freq_attn_agg, x).view(n, t, dim)


class SyncAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.n_head = heads
        self.key = nn.Linear(dim, dim)
        self.query = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.size()
        k = self.key(x).view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        q = self.query(x).view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        v = self.value(x).view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        att = F.softmax((q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1))), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.proj(y)


class SyncBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.ln2 = nn.LayerNorm(dim)
        self.attn = SyncAttention(dim, SYNC_HEADS)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class PositionalEncoding(nn.Module):
    def __init__(self, length: int, dim: int):
        super().__init__()
        self.pos_emb = nn.Parameter(torch.zeros(1, length, dim))


class GlobalTransformer(nn.Module):
    """[OFF] v-tokens [MOD] a-tokens -> minGPT-style blocks -> offset logits of the OFF token."""

    def __init__(self, dim: int, depth: int, classes: int, length: int):
        super().__init__()
        self.vis_in_lnorm = nn.LayerNorm(dim)
        self.aud_in_lnorm = nn.LayerNorm(dim)
        self.OFF_tok = nn.Parameter(torch.zeros(1, 1, dim))
        self.MOD_tok = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_emb_cfg = PositionalEncoding(length, dim)
        self.blocks = nn.Sequential(*[SyncBlock(dim) for _ in range(depth)])
        self.ln_f = nn.LayerNorm(dim)
        self.off_head = nn.Linear(dim, classes)

    def forward(self, v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        b = v.shape[0]
        v, a = self.vis_in_lnorm(v), self.aud_in_lnorm(a)
        x = torch.cat((self.OFF_tok.expand(b, 1, -1), v, self.MOD_tok.expand(b, 1, -1), a), dim=1)
        x = self.ln_f(self.blocks(x + self.pos_emb_cfg.pos_emb))
        return self.off_head(x[:, 0, :])


class Synchformer(nn.Module):
    def __init__(self, *, dim: int, video_depth: int, video_hidden: int, audio_depth: int, audio_hidden: int,
                 agg_hidden: int, sync_depth: int, classes: int = OFFSET_CLASSES, sync_length: int = 198):
        super().__init__()
        self.vfeat_extractor = MotionFormer(dim, video_depth, video_hidden, agg_hidden)
        self.afeat_extractor = AudioFeatures(dim, audio_depth, audio_hidden, agg_hidden)
        self.vproj = nn.Linear(dim, dim)
        self.aproj = nn.Linear(dim, dim)
        self.transformer = GlobalTransformer(dim, sync_depth, classes, sync_length)

    def video_features(self, segments: torch.Tensor) -> torch.Tensor:
        """[S, 16, 3, 224, 224] -> [S, 8, D]."""
        return self.vfeat_extractor(segments.permute(0, 2, 1, 3, 4))

    def audio_features(self, specs: torch.Tensor) -> torch.Tensor:
        """[S, 128, 66] -> [S, 6, D]."""
        return self.afeat_extractor(specs.permute(0, 2, 1))

    def compare_v_a(self, vis: torch.Tensor, aud: torch.Tensor) -> torch.Tensor:
        """[B, 14, 8, D], [B, 14, 6, D] -> offset logits [B, 21]."""
        vis, aud = self.vproj(vis), self.aproj(aud)
        b, s, tv, d = vis.shape
        return self.transformer(vis.reshape(b, s * tv, d), aud.reshape(b, aud.shape[1] * aud.shape[2], d))


def synchformer_config(tensors: dict[str, torch.Tensor]) -> dict[str, int]:
    def count(prefix: str) -> int:
        return len({name[len(prefix):].split(".")[0] for name in tensors if name.startswith(prefix)})

    return {
        "dim": tensors["vproj.weight"].shape[0],
        "video_depth": count("vfeat_extractor.blocks."),
        "video_hidden": tensors["vfeat_extractor.blocks.0.mlp.fc1.weight"].shape[0],
        "audio_depth": count("afeat_extractor.ast.encoder.layer."),
        "audio_hidden": tensors["afeat_extractor.ast.encoder.layer.0.intermediate.dense.weight"].shape[0],
        "agg_hidden": tensors["vfeat_extractor.spatial_attn_agg.linear1.weight"].shape[0],
        "sync_depth": count("transformer.blocks."),
        "classes": tensors["transformer.off_head.weight"].shape[0],
        "sync_length": tensors["transformer.pos_emb_cfg.pos_emb"].shape[1],
    }


# ---------------------------------------------------------------------------------------------- front ends

def video_segments(frames: np.ndarray) -> torch.Tensor:
    """uint8 [T, H, W, 3] at 25 fps -> [S, 16, 3, 224, 224] (segments of 16 frames every 8)."""
    from torchvision.transforms import v2

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    x = v2.functional.resize(x, [CROP_SIZE], interpolation=v2.InterpolationMode.BICUBIC, antialias=True)
    x = v2.functional.center_crop(x, [CROP_SIZE])
    x = v2.functional.to_dtype(x, torch.float32, scale=True)
    x = v2.functional.normalize(x, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    count = (x.shape[0] - FRAMES_PER_SEGMENT) // FRAME_STEP + 1
    return torch.stack([x[i * FRAME_STEP:i * FRAME_STEP + FRAMES_PER_SEGMENT] for i in range(count)])


def htk_mel_filters() -> torch.Tensor:
    """torchaudio.functional.melscale_fbanks(513, 0, 8000, 128, 16000, norm=None, mel_scale="htk"): [513, 128]."""
    n_freqs = N_FFT // 2 + 1
    all_freqs = torch.linspace(0, SAMPLE_RATE // 2, n_freqs)
    m_min = 2595.0 * math.log10(1.0 + 0.0 / 700.0)
    m_max = 2595.0 * math.log10(1.0 + (SAMPLE_RATE / 2) / 700.0)
    m_pts = torch.linspace(m_min, m_max, MEL_BINS + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.max(torch.zeros(1), torch.min(down, up))


def audio_specs(waveform: np.ndarray, filters: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """16 kHz mono (exactly duration long) -> normalised log-mel segments [S, 128, 66]."""
    x = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))
    count = (x.shape[0] - SEGMENT_SAMPLES) // SEGMENT_STEP + 1
    segments = torch.stack([x[i * SEGMENT_STEP:i * SEGMENT_STEP + SEGMENT_SAMPLES] for i in range(count)])
    spec = torch.stft(segments, N_FFT, hop_length=HOP, win_length=WIN_LENGTH, window=window, center=True,
                      pad_mode="reflect", normalized=False, onesided=True, return_complex=True).abs().pow(2.0)
    mel = torch.matmul(spec.transpose(-1, -2), filters).transpose(-1, -2)  # [S, 128, frames]
    mel = torch.log(mel + LOG_OFFSET)
    missing = SPEC_FRAMES - mel.shape[-1]
    mel = F.pad(mel, (0, missing), "constant", 0.0) if missing > 0 else mel[..., :SPEC_FRAMES]
    return (mel - SPEC_MEAN) / (2 * SPEC_STD)


# ---------------------------------------------------------------------------------------------- loaded network

class SynchformerNetwork:
    """A loaded Synchformer. `.embed(waveforms)` -> per file {"features": [S, 6, D]} (audio side, the
    evaluator's AudioNetwork protocol; S = 0 for a file shorter than `duration`), `.embed_video(path)`
    -> {"features": [S, 8, D]}, `.offsets(video_features, audio_features)` -> the two offsets (s)."""

    kind = "synchformer"
    sample_rate = SAMPLE_RATE

    def __init__(self, model: Synchformer, *, identity: str, device: torch.device, duration: float = DEFAULT_DURATION):
        video_segments = (int(VIDEO_FPS * duration) - FRAMES_PER_SEGMENT) // FRAME_STEP + 1
        audio_segments = (int(SAMPLE_RATE * duration) - SEGMENT_SAMPLES) // SEGMENT_STEP + 1
        if min(video_segments, audio_segments) < SEGMENTS_COMPARED:
            raise V2AError(f"DeSync needs at least 4.8 s of video and sound; --audio-length is {duration:g} s")
        self.model = model
        self.identity = f"{identity}-{duration:g}s"
        self.device = device
        self.duration = duration
        self.filters = htk_mel_filters()
        self.window = torch.hann_window(WIN_LENGTH)

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu", duration: float = DEFAULT_DURATION) -> "SynchformerNetwork":
        from v2a_cli.errors import CheckpointError

        state = load_state(spec, kind="synchformer", known=KNOWN_CHECKPOINTS, filename=CHECKPOINT_FILENAME)
        tensors = dict(state.tensors)
        try:
            config = synchformer_config(tensors)
        except KeyError as exc:
            raise CheckpointError(f"{state.source}: not a Synchformer state dict (no {exc.args[0]})") from None
        model = Synchformer(**config)
        load_strict(model, tensors, source=state.source, kind="Synchformer")
        device = torch.device(device)
        return cls(model.to(device).eval(), identity=state.identity, device=device, duration=duration)

    @property
    def samples(self) -> int:
        return int(SAMPLE_RATE * self.duration)

    @property
    def video_identity(self) -> str:
        return f"{self.identity}-video"

    @torch.inference_mode()
    def embed(self, waveforms: Sequence[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        results = []
        for waveform in waveforms:
            if waveform.shape[0] < self.samples:  # av-benchmark leaves such files out ("too short")
                dim, patches = self.model.vproj.weight.shape[0], self.model.afeat_extractor.ast.time_patches
                results.append({"features": torch.zeros(0, patches, dim)})
                continue
            specs = audio_specs(waveform[:self.samples], self.filters, self.window).to(self.device)
            results.append({"features": self.model.audio_features(specs).float().cpu()})
        return results

    @torch.inference_mode()
    def embed_frames(self, frames: np.ndarray) -> dict[str, torch.Tensor]:
        return {"features": self.model.video_features(video_segments(frames).to(self.device)).float().cpu()}

    def embed_video(self, path: str | Path) -> dict[str, torch.Tensor]:
        from v2a_cli.evaluation.video_frames import decode_frames

        return self.embed_frames(decode_frames(path, fps=VIDEO_FPS, seconds=self.duration))

    @torch.inference_mode()
    def logits(self, video_features: torch.Tensor, audio_features: torch.Tensor) -> torch.Tensor:
        """[2, 21]: offset logits of the first and of the last 14 segments."""
        v = video_features.to(self.device)[None]
        a = audio_features.to(self.device)[None]
        first = self.model.compare_v_a(v[:, :SEGMENTS_COMPARED], a[:, :SEGMENTS_COMPARED])
        last = self.model.compare_v_a(v[:, -SEGMENTS_COMPARED:], a[:, -SEGMENTS_COMPARED:])
        return torch.cat([first, last]).float().cpu()

    def offsets(self, video_features: torch.Tensor, audio_features: torch.Tensor) -> tuple[float, float]:
        """Predicted offsets (s, signed) of the first and the last 4.8 s."""
        if video_features.shape[0] < SEGMENTS_COMPARED or audio_features.shape[0] < SEGMENTS_COMPARED:
            raise ValueError(f"needs {self.duration:g} s of video and sound")
        grid = offset_grid()
        first, last = torch.argmax(self.logits(video_features, audio_features), dim=-1).tolist()
        return grid[first].item(), grid[last].item()


def desync_score(offsets: Sequence[tuple[float, float]]) -> float:
    """av-benchmark's DeSync: mean |offset| over both windows of every pair."""
    values = [abs(value) for pair in offsets for value in pair]
    return float(np.mean(values))


def desync(network: SynchformerNetwork, video_paths: Sequence[str | Path], audio_paths: Sequence[str | Path]) -> list[tuple[float, float]]:
    """Per-pair (first, last) offsets of videos and the sounds made for them (no cache; the evaluator caches)."""
    from v2a_cli.media.audio import load_audio

    results = []
    for video, audio in zip(video_paths, audio_paths):
        v = network.embed_video(video)["features"]
        a = network.embed([load_audio(audio, sample_rate=SAMPLE_RATE)])[0]["features"]
        results.append(network.offsets(v, a))
    return results


@register_loader("synchformer")
def load_synchformer(spec: str, **kwargs: Any) -> SynchformerNetwork:
    return SynchformerNetwork.load(spec, **kwargs)
