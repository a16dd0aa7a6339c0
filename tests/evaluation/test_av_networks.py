"""ImageBind and Synchformer (IB-score, DeSync): the tiny zoo's files (the released .pth layouts)
through the real loaders, front ends and scores. Reference values: test_imagebind_reference.py and
test_synchformer_reference.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from v2a_cli.errors import CheckpointError, ModelUnavailableError, V2AError
from v2a_cli.loaders import load_model

DURATION = 4.8  # the shortest DeSync accepts (14 segments); keeps the test videos small


@pytest.fixture(scope="module")
def imagebind(zoo_models):
    return load_model("imagebind", zoo_models.imagebind, device="cpu", duration=DURATION)


@pytest.fixture(scope="module")
def synchformer(zoo_models):
    return load_model("synchformer", zoo_models.synchformer, device="cpu", duration=DURATION)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from v2a_cli.testing.media import make_video

    return make_video(tmp_path_factory.mktemp("av") / "clip.mp4", seconds=5.2, fps=25, size=(64, 48))


def test_imagebind_embeds_both_sides_and_scores_cosines(imagebind, clip):
    from v2a_cli.evaluation.imagebind import imagebind_score, imagebind_scores

    video = imagebind.embed_video(clip)["embedding"]
    rng = np.random.default_rng(0)
    sounds = imagebind.embed([(0.1 * rng.standard_normal(16000 * 3)).astype(np.float32),
                              (0.1 * rng.standard_normal(12000)).astype(np.float32)])  # a file under 2 s too
    assert video.shape == sounds[0]["embedding"].shape == (32,)
    assert torch.isfinite(video).all() and all(torch.isfinite(s["embedding"]).all() for s in sounds)
    audio = torch.stack([s["embedding"] for s in sounds])
    scores = imagebind_scores(video.expand(2, -1), audio)
    assert scores.shape == (2,) and (scores.abs() <= 1 + 1e-6).all()
    assert imagebind_score(imagebind, [clip], [clip])[0] == pytest.approx(
        float(imagebind_scores(video[None], imagebind.embed([_sound_of(clip)])[0]["embedding"][None])[0]), abs=1e-6)


def test_imagebind_audio_clips_follow_the_sampler():
    from v2a_cli.evaluation.imagebind import clip_starts

    assert clip_starts(8 * 16000) == [(0, 32000), (48000, 80000), (96000, 128000)]  # starts 0, 3, 6 s
    assert clip_starts(16000) == [(0, 32000)] * 3  # under 2 s: three clips at 0
    assert clip_starts(4 * 16000) == [(0, 32000), (16000, 48000), (32000, 64000)]  # overlapping


def test_synchformer_features_and_offsets(synchformer, clip):
    from v2a_cli.evaluation.synchformer import desync, desync_score, offset_grid

    video = synchformer.embed_video(clip)["features"]
    audio = synchformer.embed([_sound_of(clip)])[0]["features"]
    assert video.shape == (14, 8, 48) and audio.shape == (14, 6, 48)  # 4.8 s: 14 segments of 0.64 s every 0.32 s
    first, last = synchformer.offsets(video, audio)
    grid = offset_grid()
    assert len(grid) == 21 and grid[0] == -2 and grid[-1] == 2 and float(grid[11] - grid[10]) == pytest.approx(0.2)
    assert first in grid.tolist() and last in grid.tolist()
    assert desync(synchformer, [clip], [clip]) == [(first, last)]
    assert desync_score([(first, last), (0.0, -0.4000000059604645)]) == pytest.approx((abs(first) + abs(last) + 0.4) / 4)
    short = synchformer.embed([np.zeros(16000, dtype=np.float32)])[0]["features"]
    assert short.shape[0] == 0  # shorter than the duration: left out, as av-benchmark does
    with pytest.raises(ValueError, match="4.8 s"):
        synchformer.offsets(video, short)


def _sound_of(path: Path) -> np.ndarray:
    from v2a_cli.media.audio import load_audio

    return load_audio(path, sample_rate=16000)


def test_short_video_and_duration_limits(zoo_models, clip):
    from v2a_cli.errors import InputError

    network = load_model("synchformer", zoo_models.synchformer, device="cpu", duration=6.0)
    with pytest.raises(InputError, match="too short"):
        network.embed_video(clip)
    with pytest.raises(V2AError, match="4.8 s"):
        load_model("synchformer", zoo_models.synchformer, device="cpu", duration=4.0)
    with pytest.raises(V2AError, match="4 s"):
        load_model("imagebind", zoo_models.imagebind, device="cpu", duration=3.9)


def test_known_names_offline_and_bad_files(monkeypatch, tmp_path, zoo_models):
    from v2a_cli.evaluation import imagebind, synchformer
    from v2a_cli.models_config import ModelsConfig

    assert imagebind.KNOWN_CHECKPOINTS["imagebind-huge"].url.endswith("/imagebind/imagebind_huge.pth")
    assert synchformer.KNOWN_CHECKPOINTS["synchformer"].url.endswith("/v0.1/synchformer_state_dict.pth")
    defaults = ModelsConfig()
    assert defaults.imagebind in imagebind.KNOWN_CHECKPOINTS and defaults.synchformer in synchformer.KNOWN_CHECKPOINTS
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for kind, name in (("imagebind", "imagebind-huge"), ("synchformer", "synchformer")):
        with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
            load_model(kind, name)
    wrong = tmp_path / "imagebind-as-synchformer.pth"
    wrong.write_bytes(Path(zoo_models.imagebind).read_bytes())
    with pytest.raises(CheckpointError, match="not a Synchformer state dict"):
        load_model("synchformer", str(wrong))
    with pytest.raises(CheckpointError, match="not an ImageBind checkpoint"):
        load_model("imagebind", zoo_models.synchformer)


def test_desync_of_a_sound_delayed_by_0_6_s_differs(synchformer, tmp_path):
    """Done-when of issue 21: DeSync of a video's own sound and of a copy delayed by 0.6 s differ.
    With the zoo's random weights only the mechanics are checked: the sound reaches the offset decision
    through the real decoding, front end and windows; the offsets themselves mean nothing."""
    from v2a_cli.evaluation.synchformer import desync, desync_score
    from v2a_cli.media.audio import write_wav
    from v2a_cli.testing.media import make_av_clip

    video = make_av_clip(tmp_path / "flash.mkv", seconds=5.0)
    sound = _sound_of(video)
    own = write_wav(tmp_path / "own.wav", sound, 16000)
    delayed = write_wav(tmp_path / "delayed.wav", np.concatenate([np.zeros(9600, np.float32), sound[:-9600]]), 16000)
    unshifted, shifted = desync(synchformer, [video, video], [own, delayed])
    assert desync_score([unshifted]) != desync_score([shifted])
