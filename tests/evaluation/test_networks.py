"""PANNs, VGGish and Wav2CLIP: the tiny zoo's checkpoints (authors' .pth layouts) through the real loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from v2a_cli.errors import CheckpointError, ModelUnavailableError
from v2a_cli.evaluation.checkpoints import file_key
from v2a_cli.registry import cache_dir
from v2a_cli.loaders import load_model


def test_each_network_embeds_with_the_expected_shapes(networks, sounds):
    panns = networks["panns"].embed(sounds)
    assert networks["panns"].sample_rate == 16000  # read from the checkpoint's STFT size (16 kHz CNN14)
    assert [tuple(o["logits"].shape) for o in panns] == [(527,)] * 3
    assert panns[0]["embedding"].shape == panns[2]["embedding"].shape
    vggish = networks["vggish"].embed(sounds)
    assert [tuple(o["frames"].shape) for o in vggish] == [(2, 128), (2, 128), (1, 128)]  # one per 0.96 s
    wav2clip = networks["wav2clip"].embed(sounds)
    assert [tuple(o["embedding"].shape) for o in wav2clip] == [(512,)] * 3
    for outputs in (panns, vggish, wav2clip):
        assert all(torch.isfinite(t).all() for o in outputs for t in o.values())
        assert not torch.allclose(next(iter(outputs[0].values())), next(iter(outputs[1].values())))


def test_results_do_not_depend_on_the_batch(networks, sounds):
    for net in networks.values():
        together = net.embed(sounds)
        alone = [net.embed([sound])[0] for sound in sounds]
        for a, b in zip(together, alone):
            for key in a:
                torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)


def test_panns_stft_front_end_is_the_power_spectrogram(networks, sounds):
    model = networks["panns"].model
    waveform = torch.from_numpy(sounds[0])[None]
    ours = model.spectrogram_extractor.stft(waveform)[0, 0]  # [frames, bins]
    expected = torch.stft(waveform, 512, hop_length=160, window=torch.hann_window(512), center=True,
                          pad_mode="reflect", return_complex=True).abs()[0].T ** 2
    torch.testing.assert_close(ours, expected, rtol=1e-3, atol=1e-2)


def test_vggish_log_mel_patches():
    from v2a_cli.evaluation.vggish import log_mel_patches, mel_matrix

    t = np.arange(48000) / 16000
    patches = log_mel_patches(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert patches.shape == (3, 1, 96, 64)  # 1 + (48000 - 400) // 160 = 298 frames -> 3 whole patches
    weights = mel_matrix()
    peak_band = int(patches[0, 0].mean(dim=0).argmax())
    centres = (weights * np.linspace(0, 8000, 257)[:, None]).sum(0) / weights.sum(0)
    assert abs(centres[peak_band] - 1000) < 60
    assert (weights[0] == 0).all()  # DC bin carries no weight


def test_checkpoints_are_converted_once_to_safetensors(zoo_models, sounds):
    panns = load_model("panns", zoo_models.panns)
    # this checkpoint's own conversion (other tests convert other files, e.g. a wrong one, into the same folder)
    converted = cache_dir() / "converted" / "panns" / f"{file_key(Path(zoo_models.panns))}.safetensors"
    assert converted.is_file()
    direct = load_model("panns", str(converted))  # a converted file is itself a valid spec
    torch.testing.assert_close(panns.embed(sounds[:1])[0]["logits"], direct.embed(sounds[:1])[0]["logits"])


def test_bad_checkpoints_fail_with_one_line_naming_the_file(tmp_path, zoo_models):
    truncated = tmp_path / "Cnn14_16k_mAP=0.438.pth"
    truncated.write_bytes(Path(zoo_models.panns).read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=str(truncated)):
        load_model("panns", str(truncated))
    wrong = tmp_path / "vggish-as-panns.pth"
    wrong.write_bytes(Path(zoo_models.vggish).read_bytes())
    with pytest.raises(CheckpointError, match="not a PANNs CNN14 checkpoint"):
        load_model("panns", str(wrong))
    with pytest.raises(ModelUnavailableError):
        load_model("wav2clip", str(tmp_path / "missing.pt"))


def test_short_names_map_to_the_published_files_and_respect_offline(monkeypatch):
    from v2a_cli.evaluation import panns, vggish, wav2clip

    assert panns.KNOWN_CHECKPOINTS["panns-cnn14"].url.endswith("Cnn14_16k_mAP%3D0.438.pth")  # the 16 kHz one
    assert panns.KNOWN_CHECKPOINTS["panns-cnn14-32k"].url.endswith("Cnn14_mAP%3D0.431.pth")
    assert vggish.KNOWN_CHECKPOINTS["vggish"].url.endswith("vggish-10086976.pth")
    assert wav2clip.KNOWN_CHECKPOINTS["wav2clip"].url.endswith("Wav2CLIP.pt")
    from v2a_cli.models_config import ModelsConfig

    defaults = ModelsConfig()
    assert defaults.panns in panns.KNOWN_CHECKPOINTS and defaults.vggish in vggish.KNOWN_CHECKPOINTS
    assert defaults.wav2clip in wav2clip.KNOWN_CHECKPOINTS
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        load_model("vggish", "vggish")
