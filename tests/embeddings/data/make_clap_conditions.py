"""Regenerate clap_conditions.npz: CLAP conditions made from audio files exactly as AudioLDM 0.1.1 makes them.

Not a test and not run by CI: it runs AudioLDM's own code, which v2a does not depend on. Usage:

    pip download --no-deps audioldm==0.1.1 torchaudio    # unpack the audioldm wheel into SRC,
    pip install --no-deps --target DEPS torchaudio        # the torchaudio wheel into DEPS
    PYTHONPATH=<v2a checkout> python make_clap_conditions.py SRC DEPS

For each synthesised file (`write_signals`, which the test calls too): AudioLDM's
`audio/tools.read_wav_file(path, 163840)` (10.24 s at 16 kHz, as `text_to_audio` calls it for
duration 10), then what `CLAPAudioEmbeddingClassifierFreev2.forward` does before its network:
`torchaudio.functional.resample(16000 -> 48000)` and `clap/training/data.get_audio_features(...,
480000, data_truncating="fusion", data_filling="repeatpad")`. Two stand-ins, both measured as
equivalent: `torchaudio.load` (which now needs torchcodec) is soundfile's float32 read, and the random
10 s crop offset inside the 10.24 s is fixed at 0 (v2a takes the first 10 s; docs/fidelity.md).
AudioLDM's own package `__init__`s import the whole LDM, so only the modules used are loaded.

The prepared 48 kHz waveforms are embedded with the tiny zoo CLAP (seed 0, the test zoo's): the CLAP
network itself is pinned separately (transformers' CLAP vs AudioLDM's, docs/fidelity.md); this
fixture pins the preparation. `probe` is the embedding of a fixed waveform, so the test can tell a
changed zoo CLAP from a changed preparation.
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import numpy as np

SEGMENT = 163840  # int(10 * 102.4) * 160


def write_signals(folder: Path) -> dict[str, Path]:
    """Small deterministic test files: stereo, short, long (loudest after 10.24 s), silent, 16 kHz mono."""
    import soundfile

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    files = {}

    rate = 44100
    t = np.arange(int(3.0 * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size) + 0.1
    right = 0.6 * rng.standard_normal(t.size).clip(-1.5, 1.5) / 1.5
    files["stereo"] = folder / "stereo_44k.wav"
    soundfile.write(files["stereo"], np.stack([left, right], axis=1).astype(np.float32), rate, subtype="PCM_16")

    rate = 22050
    t = np.arange(int(0.7 * rate)) / rate
    chirp = 0.8 * np.sin(2 * np.pi * (300 + 2000 * t) * t) - 0.2
    files["short"] = folder / "short_22k.wav"
    soundfile.write(files["short"], chirp.astype(np.float32), rate, subtype="FLOAT")

    rate = 48000
    t = np.arange(int(13.0 * rate)) / rate
    envelope = 0.05 + 0.9 * (t / t[-1]) ** 3  # the peak comes after 10.24 s: normalisation uses the whole file
    tone = envelope * (0.6 * np.sin(2 * np.pi * 1000 * t) + 0.3 * rng.standard_normal(t.size).clip(-3, 3) / 3)
    files["long"] = folder / "long_48k.wav"
    soundfile.write(files["long"], tone.astype(np.float32), rate, subtype="PCM_16")

    files["silent"] = folder / "silent_16k.wav"
    soundfile.write(files["silent"], np.zeros(2 * 16000, dtype=np.float32), 16000, subtype="PCM_16")

    rate = 16000
    t = np.arange(int(5.0 * rate)) / rate
    bursts = (np.sin(2 * np.pi * 3 * t) > 0.5) * 0.4 * rng.standard_normal(t.size).clip(-2, 2) / 2
    files["mono16k"] = folder / "mono_16k.wav"
    soundfile.write(files["mono16k"], bursts.astype(np.float32), rate, subtype="PCM_16")
    return files


def probe_waveform() -> np.ndarray:
    """A fixed 10 s, 48 kHz waveform: its embedding pins the zoo CLAP the fixture was made with."""
    t = np.arange(480000) / 48000
    return (0.4 * np.sin(2 * np.pi * 700 * t) * np.sin(2 * np.pi * 0.5 * t)).astype(np.float32)


def _load_module(name: str, path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def reference_conditions(src: Path, files: dict[str, Path]) -> dict[str, np.ndarray]:
    """AudioLDM's 48 kHz, 10 s CLAP input for each file (NaN-free: silent files give NaN in AudioLDM)."""
    import json

    import soundfile
    import torch
    import torchaudio

    def soundfile_load(path):
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return torch.from_numpy(np.ascontiguousarray(data.T)), rate

    torchaudio.load = soundfile_load
    # Bare packages, so importing a submodule does not run AudioLDM's package __init__s.
    for name in ("audioldm", "audioldm.clap", "audioldm.clap.open_clip", "audioldm.clap.training"):
        package = types.ModuleType(name)
        package.__path__ = [str(src / name.replace(".", "/"))]
        sys.modules[name] = package
    sys.modules["audioldm.clap.open_clip"].tokenize = None  # data.py imports it for text datasets only
    tools = _load_module("audioldm_audio_tools", src / "audioldm/audio/tools.py")
    data = __import__("audioldm.clap.training.data", fromlist=["get_audio_features"])
    audio_cfg = json.loads((src / "audioldm/clap/open_clip/model_configs/HTSAT-tiny.json").read_text())["audio_cfg"]
    data.np.random.randint = lambda low, high=None, *args, **kwargs: 0  # the 10 s crop: offset 0

    out = {}
    for key, path in files.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            waveform = tools.read_wav_file(str(path), SEGMENT)  # [1, T] numpy
        batch = torch.FloatTensor(waveform)  # as make_batch_for_text_to_audio: [batch=1, T]
        batch = torchaudio.functional.resample(batch, orig_freq=16000, new_freq=48000)
        features = data.get_audio_features({}, batch[0], 480000, data_truncating="fusion",
                                           data_filling="repeatpad", audio_cfg=audio_cfg)
        out[key] = features["waveform"].numpy().astype(np.float32)
    return out


def main(src: str, deps: str) -> None:
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"  # data.py asks the Hub for roberta-base's tokenizer at import; offline it moves on
    sys.path[:0] = [deps]
    import torch

    from v2a_cli.embeddings.clap import ClapEncoder
    from v2a_cli.testing.zoo_clap import build_clap

    src_path = Path(src)
    with tempfile.TemporaryDirectory() as tmp:
        files = write_signals(Path(tmp) / "signals")
        waveforms = reference_conditions(src_path, files)
        encoder = ClapEncoder.load(str(build_clap(Path(tmp) / "clap", seed=0)))
        arrays = {}
        for key, wave in waveforms.items():
            silent = not np.isfinite(wave).all()
            if silent:  # AudioLDM: 0 / 0; v2a keeps silence silent
                wave = np.zeros_like(wave)
            arrays[f"{key}/embedding"] = encoder.encode_audio([wave])[0].numpy()
            arrays[f"{key}/length"] = np.array(len(wave))
            arrays[f"{key}/peak"] = np.array(np.abs(wave).max())
            arrays[f"{key}/mean"] = np.array(wave.mean(dtype=np.float64))
            arrays[f"{key}/reference_nan"] = np.array(silent)
            # Coarse shape of the waveform: RMS of each 100 ms block.
            arrays[f"{key}/block_rms"] = np.sqrt((wave.reshape(100, -1).astype(np.float64) ** 2).mean(axis=1))
        arrays["probe/embedding"] = encoder.encode_audio([probe_waveform()])[0].numpy()
    import torchaudio

    # torchaudio's resampling (AudioLDM's) on a short random signal, for the resampler's own test.
    signal = np.random.default_rng(7).standard_normal(3001).astype(np.float32)
    arrays["resample/signal"] = signal
    for orig, new in ((16000, 48000), (44100, 16000), (22050, 16000), (48000, 16000)):
        arrays[f"resample/{orig}_{new}"] = torchaudio.functional.resample(torch.from_numpy(signal), orig, new).numpy()
    out = Path(__file__).with_name("clap_conditions.npz")
    np.savez_compressed(out, **arrays)
    print(f"{out}: {', '.join(sorted(waveforms))}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
