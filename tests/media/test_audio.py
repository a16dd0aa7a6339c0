from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import soundfile

from v2a_cli.errors import InputError, OutputExistsError, OutputWriteError
from v2a_cli.media.audio import load_audio, write_wav


def dominant_frequency(waveform: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return float(np.fft.rfftfreq(len(waveform), 1 / sample_rate)[np.argmax(spectrum)])


def test_resamples_a_wav_to_the_asked_rate(tmp_path, sine):
    path = tmp_path / "tone.wav"
    soundfile.write(path, sine(2.0, 44100), 44100)

    waveform = load_audio(path, sample_rate=16000)

    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert abs(len(waveform) - 32000) <= 2
    assert dominant_frequency(waveform, 16000) == pytest.approx(440, abs=2)
    assert np.abs(waveform).max() == pytest.approx(0.5, abs=0.02)


def test_stereo_is_averaged_and_max_seconds_cuts(tmp_path, sine):
    path = tmp_path / "stereo.wav"
    left = sine(2.0, 16000, amplitude=0.8)
    soundfile.write(path, np.stack([left, left], axis=1), 16000)

    waveform = load_audio(path, sample_rate=16000, max_seconds=0.5)

    assert len(waveform) == 8000
    assert np.abs(waveform).max() == pytest.approx(0.8, abs=0.01)  # FFmpeg's own downmix would give 1.0 (clipped)


@pytest.mark.parametrize("name, codec", [("tone.mp3", "libmp3lame"), ("tone.ogg", "libopus"), ("tone.flac", "flac")])
def test_compressed_audio_files(make_audio, sine, name, codec):
    path = make_audio(name, sine(1.5, 48000), 48000, codec)

    waveform = load_audio(path, sample_rate=16000)

    assert len(waveform) == pytest.approx(24000, abs=1200)  # codecs pad by up to a few frames
    assert dominant_frequency(waveform, 16000) == pytest.approx(440, abs=3)


def test_the_sound_of_a_video(counter_video):
    path = counter_video("clip.mp4", frames=50, audio_seconds=2.0)

    waveform = load_audio(path, sample_rate=16000)

    assert len(waveform) == pytest.approx(32000, abs=800)
    assert dominant_frequency(waveform, 16000) == pytest.approx(440, abs=3)


def test_a_video_without_sound_is_an_input_error(counter_video):
    path = counter_video("silent.mp4", frames=10)

    with pytest.raises(InputError, match=r"silent\.mp4.*no audio track"):
        load_audio(path, sample_rate=16000)


@pytest.mark.parametrize("name, content", [("empty.wav", b""), ("text.mp3", b"words, not sound\n" * 10)])
def test_unreadable_audio_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(InputError, match=name):
        load_audio(path, sample_rate=16000)
    with pytest.raises(InputError, match="nothing.wav"):
        load_audio(tmp_path / "nothing.wav", sample_rate=16000)


def test_write_wav_is_16_bit_mono_and_clipped(tmp_path):
    path = tmp_path / "new" / "folder" / "out.wav"

    returned = write_wav(path, np.array([0.0, 0.5, 2.0, -3.0], dtype=np.float32), 16000)

    info = soundfile.info(path)
    data, rate = soundfile.read(path, dtype="int16")
    assert returned == path
    assert (info.format, info.subtype, info.channels, rate) == ("WAV", "PCM_16", 1, 16000)
    assert data.tolist() == [0, 16384, 32767, -32768]


def test_write_wav_refuses_to_overwrite_and_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "out.wav"
    write_wav(path, np.zeros(100, dtype=np.float32), 16000)

    with pytest.raises(OutputExistsError, match="out.wav"):
        write_wav(path, np.ones(100, dtype=np.float32), 16000)
    assert soundfile.read(path)[0].max() == 0

    write_wav(path, np.full(50, 0.25, dtype=np.float32), 16000, overwrite=True)
    assert len(soundfile.read(path)[0]) == 50

    def failing_write(self, data):
        with open(self, "wb") as handle:
            handle.write(b"RIFF partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(OutputWriteError, match="broken.wav: no space left on the disk"):
        write_wav(tmp_path / "broken.wav", np.zeros(10, dtype=np.float32), 16000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_a_file_that_is_not_sound_is_called_not_an_audio_file(tmp_path):
    path = tmp_path / "text.wav"
    path.write_bytes(b"words, not sound\n" * 10)
    with pytest.raises(InputError) as caught:
        load_audio(path, sample_rate=16000)
    assert "not an audio file" in str(caught.value) and "a audio" not in str(caught.value)


def test_a_damaged_first_audio_packet_is_skipped_with_a_counted_note(tmp_path):
    """As FFmpeg plays it: the undecodable packet is left out, the rest of the sound is kept, one note."""
    from v2a_cli.media.audio import load_audio_native
    from v2a_cli.notes import notes_to
    from v2a_cli.testing.media import make_video_with_damaged_audio

    path = make_video_with_damaged_audio(tmp_path / "first.avi", damaged=(0,), seconds=2.0)
    notes: list[str] = []
    with notes_to(notes.append):
        waveform = load_audio(path, sample_rate=16000)
        native, rate = load_audio_native(path)

    assert len(waveform) == pytest.approx(32000 - 512, abs=600)  # one AC-3 packet (1536 samples at 48 kHz) fewer
    assert dominant_frequency(waveform, 16000) == pytest.approx(440, abs=3)
    assert rate == 48000 and native.shape[1] == pytest.approx(96000 - 1536, abs=1600)
    assert len(notes) == 1  # the same file read twice is noted once
    assert notes[0].startswith(f"{path}: 1 of ") and "audio packets do not decode; skipped them" in notes[0]


def test_a_sound_track_that_does_not_decode_is_refused_in_one_line(tmp_path):
    from v2a_cli.media.audio import check_audio_decodes
    from v2a_cli.testing.media import make_video_with_damaged_audio

    nothing = make_video_with_damaged_audio(tmp_path / "nothing.avi", damaged=tuple(range(1000)), seconds=1.0)
    with pytest.raises(InputError, match=r"nothing\.avi: audio track does not decode .*re-export it"):
        load_audio(nothing, sample_rate=16000)
    mostly = make_video_with_damaged_audio(tmp_path / "mostly.avi", damaged=tuple(range(0, 40, 4)) + tuple(
        range(1, 40, 4)) + tuple(range(2, 40, 4)), seconds=1.0)
    with pytest.raises(InputError, match=r"mostly\.avi: most of the audio track does not decode \(\d+ of \d+ packets"):
        check_audio_decodes(mostly)
