"""CLAP conditions from audio files match AudioLDM 0.1.1's `read_wav_file` + CLAP preparation.

The fixture comes from tests/embeddings/data/make_clap_conditions.py, which runs AudioLDM's own code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from v2a_cli.testing.fixture_scripts import load_fixture_script
from v2a_cli.testing.tolerance import assert_close_in_float32

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "clap_conditions.npz")
KEYS = ("stereo", "short", "long", "silent", "mono16k")


def _script():
    return load_fixture_script(DATA / "make_clap_conditions.py")


@pytest.fixture(scope="module")
def signals(tmp_path_factory):
    return _script().write_signals(tmp_path_factory.mktemp("signals"))


@pytest.fixture(scope="module")
def zoo_clap(zoo_models):
    from v2a_cli.loaders import load_model

    clap = load_model("clap", zoo_models.clap, device="cpu")
    probe = clap.encode_audio([_script().probe_waveform()])[0].numpy()
    # The same CLAP on the same waveform: float32 kernel differences only (up to 5 ulps measured across
    # kernels); a changed zoo moves it by far more than 512 ulps.
    if not np.abs(probe - FIXTURE["probe/embedding"]).max() <= 512 * np.spacing(np.float32(0.14)):
        pytest.fail("the zoo CLAP changed since the fixture was made; rerun tests/embeddings/data/make_clap_conditions.py")
    return clap


@pytest.mark.parametrize("key", KEYS)
def test_condition_from_file_matches_audioldm(key, signals, zoo_clap):
    from v2a_cli.embeddings.clap import load_audio_for_clap

    wave = load_audio_for_clap(signals[key])
    assert wave.dtype == np.float32 and len(wave) == int(FIXTURE[f"{key}/length"]) == 480000
    assert np.abs(wave).max() == pytest.approx(float(FIXTURE[f"{key}/peak"]), abs=1e-4)
    assert wave.mean(dtype=np.float64) == pytest.approx(float(FIXTURE[f"{key}/mean"]), abs=1e-5)
    rms = np.sqrt((wave.reshape(100, -1).astype(np.float64) ** 2).mean(axis=1))
    assert np.abs(rms - FIXTURE[f"{key}/block_rms"]).max() <= 1e-4
    ours = zoo_clap.encode_audio([wave])[0]
    reference = torch.from_numpy(FIXTURE[f"{key}/embedding"])
    assert float(torch.nn.functional.cosine_similarity(ours, reference, dim=0)) >= 0.9999


def test_silent_file_gives_silence_not_nan(signals):
    from v2a_cli.embeddings.clap import load_audio_for_clap

    assert bool(FIXTURE["silent/reference_nan"])  # AudioLDM divides 0 by 0 here
    wave = load_audio_for_clap(signals["silent"])
    assert np.isfinite(wave).all() and not wave.any()


def test_condition_waveform_is_a_pure_function_of_the_samples(signals):
    """Workers call it on decoded samples: the same samples give the same bits, whatever the path."""
    from v2a_cli.embeddings.clap import condition_waveform, load_audio_for_clap
    from v2a_cli.media.audio import load_audio_native

    samples, rate = load_audio_native(signals["stereo"])
    assert samples.shape[0] == 2
    assert np.array_equal(condition_waveform(samples, rate), load_audio_for_clap(signals["stereo"]))
    # Channel 0 only, as AudioLDM.
    assert np.array_equal(condition_waveform(samples, rate), condition_waveform(samples[:1], rate))
    assert np.array_equal(condition_waveform(samples[0], rate), condition_waveform(samples[:1], rate))


@pytest.mark.parametrize("rates", [(16000, 48000), (44100, 16000), (22050, 16000), (48000, 16000)])
def test_resampler_matches_torchaudios(rates):
    """resample_sinc against torchaudio.functional.resample (AudioLDM's resampler), from the fixture."""
    from v2a_cli.media.audio import resample_sinc

    orig, new = rates
    ours = resample_sinc(FIXTURE["resample/signal"], orig, new)
    reference = FIXTURE[f"resample/{orig}_{new}"]
    # Both float32 sinc filters of ~100 taps; 2 ulps of the signal's scale (~3) measured, whatever the kernels.
    # 64 ulps (2e-5) leaves 30x; a wrong window, rolloff or phase is off by 1e-2 or more.
    assert_close_in_float32(ours, reference, ulps=64, what=f"{orig} -> {new}")
