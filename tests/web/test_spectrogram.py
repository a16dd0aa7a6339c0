"""Spectrogram pictures: a tone is a bright horizontal line at its frequency; silence is dark."""

from __future__ import annotations

import numpy as np

from v2a_cli.web.spectrogram import HEIGHT, spectrogram_db, spectrogram_image


def test_a_tone_peaks_in_its_frequency_bin():
    sample_rate = 16000
    t = np.arange(sample_rate) / sample_rate
    db = spectrogram_db(np.sin(2 * np.pi * 1000 * t), sample_rate)
    assert db.max() == 0.0 and db.min() >= -80.0
    peak_bin = int(db.mean(axis=1).argmax())
    assert abs(peak_bin * sample_rate / 512 - 1000) <= sample_rate / 512


def test_the_image_has_low_frequencies_at_the_bottom():
    sample_rate = 16000
    t = np.arange(sample_rate) / sample_rate
    image = np.asarray(spectrogram_image(np.sin(2 * np.pi * 200 * t), sample_rate).convert("L"), dtype=float)
    assert image.shape[0] == HEIGHT
    assert image[-HEIGHT // 10:].mean() > image[:HEIGHT // 10].mean()


def test_silence_and_very_short_sounds_still_make_a_picture():
    assert spectrogram_image(np.zeros(10, dtype=np.float32), 16000).size[1] == HEIGHT
