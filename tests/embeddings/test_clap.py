from __future__ import annotations

import numpy as np
import pytest
import torch

from v2a_cli.embeddings import clap as clap_module
from v2a_cli.embeddings import clap_convert
from v2a_cli.errors import CheckpointError, ModelUnavailableError
from v2a_cli.loaders import load_model

SR = 48_000


def noise(seconds: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1).astype(np.float32)


@pytest.fixture(scope="module")
def clap(tiny_clap_ckpt):
    return load_model("clap", str(tiny_clap_ckpt), tokenizer=str(tiny_clap_ckpt.parent))


def test_converted_checkpoint_gives_the_embeddings_of_the_model_it_came_from(clap, tiny_clap_model, tiny_clap_ckpt):
    from transformers import AutoTokenizer

    waves = [noise(3.0, 1), noise(10.0, 2)]
    features = clap.feature_extractor(waves, sampling_rate=SR, return_tensors="pt")["input_features"].float()
    texts = ["a dog barking", "rain falling on a tin roof", ""]
    # AudioLDM's own tokenization: padding to max_length, truncation.
    tokens = AutoTokenizer.from_pretrained(str(tiny_clap_ckpt.parent / "tokenizer"))(
        texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    with torch.no_grad():
        audio_reference = tiny_clap_model.get_audio_features(input_features=features).pooler_output
        text_reference = tiny_clap_model.get_text_features(**tokens).pooler_output
    assert torch.allclose(clap.encode_audio(waves), audio_reference, atol=1e-5)
    assert torch.allclose(clap.encode_texts(texts), text_reference, atol=1e-5)
    converted = clap.model.state_dict()
    assert all(torch.equal(tensor, converted[name]) for name, tensor in tiny_clap_model.state_dict().items())


def test_embeddings_are_normalised_float32_cpu(clap):
    audio = clap.encode_audio([noise(1.0, 3), noise(4.5, 4), noise(12.0, 5)], batch_size=2)
    text = clap.encode_texts(["birds chirping", "a car engine revving"])
    for embeddings, count in ((audio, 3), (text, 2)):
        assert embeddings.shape == (count, 512) and embeddings.dtype == torch.float32 and embeddings.device.type == "cpu"
        assert torch.allclose(embeddings.norm(dim=-1), torch.ones(count), atol=1e-5)
    assert clap.sample_rate == 48_000


def test_short_clip_is_repeat_padded_as_audioldm_does(clap):
    clip = noise(3.0, 6)
    # AudioLDM (get_audio_features, data_filling="repeatpad"): repeat int(480000 / n) times, then zero-pad.
    manual = np.concatenate([np.tile(clip, 3), np.zeros(480_000 - 3 * clip.size, np.float32)])
    assert torch.equal(clap.audio_features([clip]), clap.audio_features([manual]))
    assert torch.allclose(clap.encode_audio([clip]), clap.encode_audio([manual]), atol=1e-6)


def test_long_clip_uses_its_first_ten_seconds_deterministically(clap):
    clip = noise(13.0, 7)
    first = clap.encode_audio([clip])
    assert torch.equal(first, clap.encode_audio([clip]))
    assert torch.allclose(first, clap.encode_audio([clip[: 10 * SR]]), atol=1e-6)
    assert not torch.allclose(first, clap.encode_audio([clip[3 * SR:]]), atol=1e-3)


@pytest.mark.parametrize("seconds", [10.0, 12.5, 2.0, 1.0 + 1 / SR, 0.0002])
def test_workers_log_mel_is_the_feature_extractors_bit_for_bit(clap, seconds):
    """Extraction workers compute the log-mel with one vectorised FFT; it must equal transformers'
    ClapFeatureExtractor (the front end the fixtures compare with AudioLDM's) exactly."""
    wave = noise(seconds, 8)
    reference = clap.feature_extractor([wave[: 10 * SR]], sampling_rate=SR, return_tensors="np")["input_features"]
    ours = clap_module.log_mel_features(clap.feature_extractor, [wave])
    assert ours.dtype == np.float32 and ours.shape == (1, 1, 1001, 64)
    np.testing.assert_array_equal(ours, reference.astype(np.float32))


def test_conversion_is_cached_by_checkpoint_hash(tiny_clap_ckpt, tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    calls = []
    real_convert = clap_convert.convert_audioldm_ckpt
    monkeypatch.setattr(clap_convert, "convert_audioldm_ckpt", lambda *a: calls.append(a) or real_convert(*a))
    first = load_model("clap", str(tiny_clap_ckpt))
    second = load_model("clap", str(tiny_clap_ckpt))
    assert len(calls) == 1
    digest = hashlib.sha256(tiny_clap_ckpt.read_bytes()).hexdigest()[:16]
    assert first.source == second.source == str(tmp_path / "cache" / "clap" / digest)


def test_a_converted_folder_is_a_spec_too(clap, tiny_clap_ckpt):
    again = load_model("clap", clap.source, tokenizer=str(tiny_clap_ckpt.parent / "tokenizer"))
    wave = [noise(2.0, 8)]
    assert torch.equal(again.encode_audio(wave), clap.encode_audio(wave))
    assert torch.equal(again.encode_texts(["a dog"]), clap.encode_texts(["a dog"]))


def test_generator_text_tower_is_the_clap_text_tower(clap, tiny_clap_model, tiny_clap_ckpt):
    from transformers import AutoTokenizer

    from v2a_cli.testing.zoo_clap import text_encoder_from

    encoder = text_encoder_from(tiny_clap_model)
    tokens = AutoTokenizer.from_pretrained(str(tiny_clap_ckpt.parent / "tokenizer"))(
        ["a dog barking", "waves"], padding=True, return_tensors="pt")
    with torch.no_grad():
        embeds = torch.nn.functional.normalize(encoder(**tokens).text_embeds, dim=-1)
    assert torch.allclose(embeds, clap.encode_texts(["a dog barking", "waves"]), atol=1e-5)


def test_unavailable_and_broken_specs(tiny_clap_ckpt, tmp_path, monkeypatch, clap):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError):
        load_model("clap", str(tmp_path / "missing.ckpt"))
    with pytest.raises(ModelUnavailableError):
        load_model("clap", "nobody-v2a-test/no-such-clap")
    with pytest.raises(ModelUnavailableError, match="not in the cache"):
        load_model("clap", "https://example.invalid/audioldm-full-s-v2.ckpt")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_model("clap", str(tmp_path / "half"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in clap_module.CONVERTED_FILES:
        data = (clap_module.Path(clap.source) / name).read_bytes()
        (broken / name).write_bytes(data[: len(data) // 2] if name.endswith(".safetensors") else data)
    with pytest.raises(CheckpointError, match="cannot read the converted CLAP"):
        load_model("clap", str(broken))


def test_tokenizer_is_resolved_on_first_text_use(tiny_clap_ckpt, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = load_model("clap", str(tiny_clap_ckpt), tokenizer="nobody-v2a-test/no-such-generator")
    assert encoder.encode_audio([noise(1.0, 9)]).shape == (1, 512)
    with pytest.raises(ModelUnavailableError, match="no-such-generator"):
        encoder.encode_texts(["a dog"])


def test_audio_for_clap_is_band_limited_like_audioldms_conditions(tmp_path):
    """16 kHz decode then x3 upsampling: 48 kHz samples, nothing above AudioLDM's 8 kHz Nyquist."""
    import soundfile

    from v2a_cli.embeddings.clap import load_audio_for_clap

    rate = 48000
    t = np.arange(rate * 2) / rate
    path = tmp_path / "two_tones.wav"
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 12000 * t)).astype(np.float32), rate)
    audio = load_audio_for_clap(path)
    assert audio.dtype == np.float32 and len(audio) == 10 * rate  # zero-padded to 10.24 s, first 10 s kept
    assert not audio[2 * rate + 100:].any()
    audio = audio[:2 * rate]
    spectrum = np.abs(np.fft.rfft(audio))
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    assert spectrum[np.argmin(np.abs(freqs - 1000))] > 100 * spectrum[np.argmin(np.abs(freqs - 12000))]
