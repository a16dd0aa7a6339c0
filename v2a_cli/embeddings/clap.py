"""AudioLDM's own CLAP (HTSAT-tiny + RoBERTa, unfused, 48 kHz): the space the mapper aims at.

AudioLDM's UNet was trained on this CLAP's L2-normalised 512-d audio embeddings. The weights exist only
in the original AudioLDM checkpoint, so a `.ckpt` spec (path or URL) is converted once into
`cache_dir()/clap/<sha256[:16]>/` (see clap_convert.py) and loaded from there as a transformers
`ClapModel`, with strict key checks. docs/clap.md explains why this is the right space.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from v2a_cli.embeddings import clap_convert
from v2a_cli.errors import CheckpointError, V2AError, first_line
from v2a_cli.files import atomic_output
from v2a_cli.registry import cache_dir, register_loader, resolve_dir, resolve_file

# The diffusers AudioLDM repo: its tokenizer/ folder is roberta-base's, the tokenizer AudioLDM's CLAP uses.
DEFAULT_TOKENIZER = "cvssp/audioldm-s-full-v2"
# Zenodo publishes only an md5 for audioldm-full-s-v2.ckpt, which we could not verify; see docs/clap.md.
AUDIOLDM_CKPT_SHA256: str | None = None
MAX_TEXT_TOKENS = 512  # AudioLDM's CLAP tokenizes with max_length=512 (RoBERTa's 514 positions - 2)
CONVERTED_FILES = [clap_convert.CONFIG_NAME, clap_convert.WEIGHTS_NAME, clap_convert.PREPROCESSOR_NAME]
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer_config.json")


class ClapEncoder:
    """Audio and text -> L2-normalised 512-d CLAP embeddings (float32, CPU)."""

    sample_rate = clap_convert.SAMPLE_RATE
    max_seconds = clap_convert.MAX_SECONDS

    def __init__(self, model: Any, feature_extractor: Any, tokenizer_loader: Callable[[], Any], *,
                 device: torch.device, dtype: torch.dtype, source: str = ""):
        self.model = model
        self.feature_extractor = feature_extractor
        self._tokenizer_loader = tokenizer_loader
        self._tokenizer = None
        self.device = device
        self.dtype = dtype
        self.source = source
        self.embed_dim = int(model.config.projection_dim)

    @classmethod
    def load(cls, spec: str, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
             tokenizer: str = DEFAULT_TOKENIZER) -> "ClapEncoder":
        folder = converted_folder(spec)
        model, feature_extractor = load_converted(folder)
        device = torch.device(device)
        model = model.to(device=device, dtype=dtype).eval()
        # The tokenizer is resolved on first text use: audio-only work (extraction) needs no generator repo.
        return cls(model, feature_extractor, lambda: load_tokenizer(tokenizer), device=device, dtype=dtype,
                   source=str(folder))

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = self._tokenizer_loader()
        return self._tokenizer

    def audio_features(self, waveforms: Sequence[np.ndarray]) -> torch.Tensor:
        """[N, 1, 1001, 64] log-mel inputs: each clip's first 10 s, shorter ones repeat-padded."""
        return torch.from_numpy(log_mel_features(self.feature_extractor, waveforms))

    @torch.inference_mode()
    def encode_audio(self, waveforms: Sequence[np.ndarray], batch_size: int = 16) -> torch.Tensor:
        """Mono float32 waveforms at 48 kHz -> [N, 512]."""
        chunks = [self.encode_features(self.audio_features(waveforms[start:start + batch_size]), batch_size=batch_size)
                  for start in range(0, len(waveforms), batch_size)]
        return torch.cat(chunks) if chunks else torch.zeros(0, self.embed_dim)

    @torch.inference_mode()
    def encode_features(self, features: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
        """[N, 1, 1001, 64] log-mel inputs (`audio_features` / `log_mel_features`) -> [N, 512]."""
        chunks = []
        for start in range(0, len(features), batch_size):
            batch = features[start:start + batch_size]
            if self.device.type == "cuda":
                batch = batch.pin_memory().to(self.device, non_blocking=True)
            output = self.model.audio_model(input_features=batch.to(device=self.device, dtype=self.dtype))
            embeddings = self.model.audio_projection(output.pooler_output)
            chunks.append(F.normalize(embeddings.float(), dim=-1).cpu())
        return torch.cat(chunks) if chunks else torch.zeros(0, self.embed_dim)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Texts -> [N, 512], tokenized as AudioLDM's CLAP does (RoBERTa BPE, truncated at 512 tokens)."""
        chunks = []
        max_length = min(MAX_TEXT_TOKENS, int(self.tokenizer.model_max_length))
        for start in range(0, len(texts), batch_size):
            # Padding to the batch's longest text instead of to max_length: the attention mask makes
            # the padded positions invisible, so the embeddings are the same.
            tokens = self.tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                                    max_length=max_length, return_tensors="pt")
            output = self.model.text_model(input_ids=tokens["input_ids"].to(self.device),
                                           attention_mask=tokens["attention_mask"].to(self.device))
            embeddings = self.model.text_projection(output.pooler_output)
            chunks.append(F.normalize(embeddings.float(), dim=-1).cpu())
        return torch.cat(chunks) if chunks else torch.zeros(0, self.embed_dim)


AUDIOLDM_SAMPLE_RATE = 16000
# AudioLDM's condition segment: int(10 s * 102.4) latent frames * hop 160 = 163840 samples = 10.24 s at 16 kHz.
AUDIOLDM_SEGMENT = 163840
AUDIOLDM_PEAK = 0.5  # read_wav_file scales the peak to 0.5
# Mean and peak come from the whole file, as in AudioLDM; past this many seconds only from its start
# (bounded memory for hour-long soundtracks; see docs/fidelity.md).
NORMALISE_MAX_SECONDS = 600.0


def condition_waveform(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Decoded samples -> the 48 kHz, 10 s waveform AudioLDM's CLAP embeds for an audio condition.

    A pure function (worker processes call it): `samples` is [channels, T] or [T] at `sample_rate`.
    As AudioLDM 0.1.1 (`audio/tools.read_wav_file`, then its CLAP's forward): resample to 16 kHz (keeping
    channel 0), subtract the mean, scale the peak to 0.5, zero-pad to 10.24 s, scale the peak to 0.5
    again, resample to 48 kHz, keep the first 10 s (AudioLDM crops 10 s at a random offset within
    the 10.24 s; we take offset 0 so the same file always gives the same condition). A silent
    file stays silent (AudioLDM divides 0 by 0 there).
    """
    from v2a_cli.media.audio import resample_sinc

    samples = np.asarray(samples, dtype=np.float32)
    channel = samples[0] if samples.ndim == 2 else samples
    if channel.ndim != 1:
        raise ValueError(f"expected [channels, samples] or [samples], got shape {samples.shape}")
    if channel.size == 0:
        raise V2AError("the audio is empty; give at least a few milliseconds of sound")
    wave = resample_sinc(channel, sample_rate, AUDIOLDM_SAMPLE_RATE).astype(np.float64)
    wave = wave - wave.mean()
    wave = wave / (np.abs(wave).max() + 1e-8) * AUDIOLDM_PEAK
    # Zero-pad to 10.24 s; longer audio keeps 10.24 s plus the resampler's reach into what follows,
    # which is all the first 10 s at 48 kHz depend on.
    segment = np.zeros(max(AUDIOLDM_SEGMENT, min(len(wave), AUDIOLDM_SEGMENT + 64)))
    segment[:min(len(wave), len(segment))] = wave[:len(segment)]
    peak = np.abs(wave).max()
    if peak > 0:
        segment = segment / peak * AUDIOLDM_PEAK
    upsampled = resample_sinc(segment.astype(np.float32), AUDIOLDM_SAMPLE_RATE, clap_convert.SAMPLE_RATE)
    return np.ascontiguousarray(upsampled[:clap_convert.SAMPLE_RATE * clap_convert.MAX_SECONDS], dtype=np.float32)


def load_audio_for_clap(path) -> np.ndarray:
    """A file's audio as AudioLDM makes a condition from it (see `condition_waveform`): 48 kHz, 10 s.

    Raises InputError for a file without audio or with an empty audio track.
    """
    from v2a_cli.errors import InputError
    from v2a_cli.media.audio import load_audio_native

    samples, rate = load_audio_native(path, max_seconds=NORMALISE_MAX_SECONDS)
    if samples.shape[-1] == 0:
        raise InputError(path, "audio track is empty; give a file with sound in it")
    return condition_waveform(samples, rate)


def clap_input_from_generated(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """A generated waveform as AudioLDM's CLAP sees it when it reranks candidates: resampled to 48 kHz,
    not normalised (the first 10 s are taken, shorter sound repeat-padded, by `encode_audio`)."""
    from v2a_cli.media.audio import resample_sinc

    return resample_sinc(np.asarray(waveform, dtype=np.float32), sample_rate, clap_convert.SAMPLE_RATE)


def log_mel_features(feature_extractor: Any, waveforms: Sequence[np.ndarray]) -> np.ndarray:
    """[N, 1, 1001, 64] float32 log-mel CLAP inputs of 48 kHz waveforms (first 10 s, repeat-padded).

    A plain function of the (picklable) feature extractor, so extraction workers compute it next to
    the decoding. For AudioLDM's unfused CLAP the frames go through one vectorised FFT (`_fast_log_mel`:
    the same float64 arithmetic as transformers' per-frame loop, about 5x faster, pinned to it by
    tests/embeddings/test_clap.py); any other extractor setting uses the extractor itself."""
    rate = clap_convert.SAMPLE_RATE
    clips = [_first_seconds(w, rate * clap_convert.MAX_SECONDS, i) for i, w in enumerate(waveforms)]
    if _fast_log_mel_applies(feature_extractor, rate):
        return np.stack([_fast_log_mel(feature_extractor, clip)[None] for clip in clips]).astype(np.float32)
    features = feature_extractor(clips, sampling_rate=rate, return_tensors="np")
    return np.ascontiguousarray(features["input_features"], dtype=np.float32)


def _fast_log_mel_applies(feature_extractor: Any, rate: int) -> bool:
    return (getattr(feature_extractor, "truncation", None) == "rand_trunc"
            and getattr(feature_extractor, "padding", None) == "repeatpad"
            and getattr(feature_extractor, "sampling_rate", None) == rate
            and getattr(feature_extractor, "mel_filters_slaney", None) is not None)


def _fast_log_mel(feature_extractor: Any, clip: np.ndarray) -> np.ndarray:
    """[frames, mels] as ClapFeatureExtractor gives for a clip no longer than its max length:
    repeat-pad to the max length, centred reflect-padded Hann frames, |rfft|^2 (stored as complex64,
    as transformers' `spectrogram` does), Slaney mel filters, floor 1e-10, 10 log10."""
    from numpy.lib.stride_tricks import sliding_window_view
    from transformers.audio_utils import window_function

    max_length = int(feature_extractor.nb_max_samples)
    n_fft, hop = int(feature_extractor.fft_window_size), int(feature_extractor.hop_length)
    waveform = np.asarray(clip, dtype=np.float64)
    if len(waveform) < max_length:  # "repeatpad": whole repeats, then zeros
        waveform = np.tile(waveform, int(max_length / len(waveform)))
        waveform = np.pad(waveform, (0, max_length - len(waveform)))
    waveform = np.pad(waveform, (n_fft // 2, n_fft // 2), mode="reflect")
    frames = sliding_window_view(waveform, n_fft)[::hop] * window_function(n_fft, "hann").astype(np.float64)
    spectrum = np.fft.rfft(frames, axis=-1).astype(np.complex64)
    power = np.abs(spectrum, dtype=np.float64) ** 2.0
    mel = np.maximum(1e-10, np.dot(feature_extractor.mel_filters_slaney.T, power.T))
    return (10.0 * np.log10(np.clip(mel, a_min=1e-10, a_max=None))).T


def _first_seconds(waveform: np.ndarray, max_samples: int, index: int) -> np.ndarray:
    audio = np.asarray(waveform, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"CLAP audio #{index}: expected a mono waveform [samples], got shape {audio.shape}")
    if audio.size == 0:
        raise V2AError(f"CLAP audio #{index} is empty; give at least a few milliseconds of sound")
    # Deterministic: the first 10 s (AudioLDM's training took a random 10 s crop of longer clips).
    return audio[:max_samples]


# -- where the converted folder comes from -------------------------------------------------------------

def is_ckpt_spec(spec: str) -> bool:
    return spec.startswith(("https://", "http://")) or spec.split("?")[0].endswith(".ckpt")


def converted_folder(spec: str) -> Path:
    """A folder with config.json, model.safetensors and preprocessor_config.json for `spec`."""
    if is_ckpt_spec(spec):
        ckpt = resolve_file(spec, kind="clap", sha256=AUDIOLDM_CKPT_SHA256)
        return cached_conversion(ckpt)
    folder = resolve_dir(spec, kind="clap", allow_patterns=CONVERTED_FILES)
    if folder.is_file():
        raise CheckpointError(f"{folder}: expected an AudioLDM .ckpt or a converted CLAP folder")
    missing = [name for name in CONVERTED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder}: missing {', '.join(missing)}; point `clap` at an AudioLDM .ckpt "
                              "or a folder written by v2a's CLAP conversion")
    return folder


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so a 2.6 GB checkpoint is hashed once."""
    stat = path.stat()
    memo_path = cache_dir() / "clap" / "sha256.json"
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 22):
            digest.update(chunk)
    memo[key] = digest.hexdigest()
    _write_json_atomic(memo_path, memo)
    return memo[key]


def cached_conversion(ckpt: Path) -> Path:
    """`cache_dir()/clap/<sha256[:16]>/`, converted from `ckpt` unless already there."""
    target = cache_dir() / "clap" / file_sha256(ckpt)[:16]
    if all((target / name).is_file() for name in CONVERTED_FILES):
        return target
    return clap_convert.convert_audioldm_ckpt(ckpt, target)


def _write_json_atomic(path: Path, data: Any) -> None:
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(data))


def load_converted(folder: Path):
    """(ClapModel, ClapFeatureExtractor) from a converted folder, every key checked."""
    from safetensors.torch import load_file
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    try:
        config = ClapConfig.from_pretrained(folder)
        feature_extractor = ClapFeatureExtractor.from_pretrained(folder)
        state = load_file(str(folder / clap_convert.WEIGHTS_NAME))
    except Exception as exc:  # truncated safetensors, bad JSON: the folder is broken
        first = first_line(exc)
        raise CheckpointError(f"{folder}: cannot read the converted CLAP ({first}); delete it and convert again")
    if feature_extractor.sampling_rate != clap_convert.SAMPLE_RATE or config.audio_config.enable_fusion:
        raise CheckpointError(f"{folder}: expected an unfused 48 kHz CLAP (AudioLDM's); convert the AudioLDM .ckpt")
    model = ClapModel(config)
    clap_convert.load_into(model, state, folder / clap_convert.WEIGHTS_NAME)
    return model.eval(), feature_extractor


def load_tokenizer(spec: str):
    """RoBERTa tokenizer: a folder of tokenizer files, or a folder/Hub repo with a `tokenizer/` subfolder."""
    from transformers import AutoTokenizer

    local = Path(spec).expanduser()
    if local.is_dir():
        folder = local / "tokenizer" if (local / "tokenizer").is_dir() else local
    else:
        folder = resolve_dir(spec, kind="clap tokenizer", allow_patterns=["tokenizer/*"]) / "tokenizer"
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise CheckpointError(f"{folder}: no tokenizer files; pass the generator folder (it has tokenizer/) "
                              "or a RoBERTa tokenizer folder")
    return AutoTokenizer.from_pretrained(str(folder))


@register_loader("clap")
def load_clap(spec: str, **kwargs: Any) -> ClapEncoder:
    return ClapEncoder.load(spec, **kwargs)
