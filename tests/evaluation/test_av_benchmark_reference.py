"""ImageBind and Synchformer, IB-score and DeSync against av-benchmark's own code (and ImageBind's, and
Synchformer's as av-benchmark vendors it) on the tiny zoo's weights.

Fixture: data/make_av_benchmark_reference.py (it runs the originals; its docstring says how and with
which shims). Inputs are read from that script, so the two sides cannot disagree on them.

Tolerances, in float32 spacings (ulps) at each output's largest magnitude (v2a_cli.testing.tolerance).
The fixture is the originals' float32 output on another CPU; the same code there and here measured
0 ulps for ImageBind, Synchformer's sound side and the filter banks, and ~3e-7 of the scale (~4 ulps) for
Synchformer's picture side (einsum vs einops order). What can move more on other CPUs is the uint8
bicubic antialiased resize (torchvision picks an AVX2 or a generic kernel; they may round pixels one
level apart): with 1% of the resized pixels off by one level, ImageBind embeddings moved by 6e-5 of
their scale, Synchformer features by 3e-4 (~2.5e3 ulps) and its offset logits by 1.9e-3 (~2e4 ulps).
Hence 32768 ulps (2-4e-3 of the scale) for embeddings and features, 131072 (~1e-2) for logits, 4096
for the fbank (FFT sums only). A wrong crop, window, scale or key moves outputs by whole units. Offset
classes are compared where the reference's two best logits are further apart than twice the logits'
tolerance, and DeSync exactly when every class was comparable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from v2a_cli.testing.fixture_scripts import load_fixture_script
from v2a_cli.testing.tolerance import assert_close_in_float32

DATA = Path(__file__).with_name("data")
FIXTURE = np.load(DATA / "av_benchmark_reference.npz")
ULPS_FBANK, ULPS_FEATURES, ULPS_LOGITS = 4096, 32768, 131072  # see the module docstring


def _script():
    return load_fixture_script(DATA / "make_av_benchmark_reference.py")


@pytest.fixture(scope="module")
def imagebind(zoo_models):
    from v2a_cli.loaders import load_model

    return load_model("imagebind", zoo_models.imagebind, device="cpu")


@pytest.fixture(scope="module")
def synchformer(zoo_models):
    from v2a_cli.loaders import load_model

    return load_model("synchformer", zoo_models.synchformer, device="cpu", duration=_script().SYNC_SECONDS)


def test_imagebind_audio_front_end_matches(imagebind):
    from v2a_cli.evaluation.imagebind import audio_clips

    for name, wave in _script().imagebind_waveforms().items():
        assert_close_in_float32(audio_clips(wave, imagebind.banks)[..., ::17], FIXTURE[f"ib_audio_input_{name}"],
                                ulps=ULPS_FBANK, what=f"fbank {name}")


def test_imagebind_embeddings_and_score_match(imagebind):
    from v2a_cli.evaluation.imagebind import imagebind_scores

    script = _script()
    videos, sounds = [], []
    for name, frames in script.imagebind_frames().items():
        videos.append(imagebind.embed_frames(frames)["embedding"])
        assert_close_in_float32(videos[-1], FIXTURE[f"ib_video_{name}"], ulps=ULPS_FEATURES, what=f"ImageBind video {name}")
    for (name, wave), output in zip(script.imagebind_waveforms().items(), imagebind.embed(list(script.imagebind_waveforms().values()))):
        sounds.append(output["embedding"])
        assert_close_in_float32(sounds[-1], FIXTURE[f"ib_audio_{name}"], ulps=ULPS_FEATURES, what=f"ImageBind audio {name}")
    score = imagebind_scores(torch.stack(videos), torch.stack(sounds)).mean().item()
    # cosines of the embeddings above: their relative tolerance (<= 4e-3) bounds each cosine's change by ~2x that
    assert score == pytest.approx(float(FIXTURE["ib_score"]), abs=1e-2)


def test_synchformer_features_logits_offsets_and_desync_match(synchformer):
    from v2a_cli.evaluation.synchformer import desync_score, offset_grid

    script = _script()
    np.testing.assert_array_equal(offset_grid().numpy(), FIXTURE["offset_grid"])  # 21 classes, -2..2 s in 0.2 s
    waves = script.sync_waveforms()
    offsets, comparable = [], True
    for name, frames in script.sync_frames().items():
        video = synchformer.embed_frames(frames)["features"]
        audio = synchformer.embed([waves[name]])[0]["features"]
        assert_close_in_float32(video, FIXTURE[f"sync_video_{name}"], ulps=ULPS_FEATURES, what=f"Synchformer video {name}")
        assert_close_in_float32(audio, FIXTURE[f"sync_audio_{name}"], ulps=ULPS_FEATURES, what=f"Synchformer audio {name}")
        logits = synchformer.logits(video, audio).numpy()
        for row, window in zip(logits, ("first", "last")):
            reference = FIXTURE[f"sync_logits_{window}_{name}"]
            assert_close_in_float32(row, reference, ulps=ULPS_LOGITS, what=f"offset logits {window} {name}")
            top_two = np.sort(reference)[-2:]
            allowed = ULPS_LOGITS * float(np.spacing(np.float32(np.abs(reference).max())))
            if top_two[1] - top_two[0] > 2 * allowed:
                assert row.argmax() == reference.argmax(), f"offset class {window} {name}"
            else:
                comparable = False
        offsets.append(synchformer.offsets(video, audio))
    assert comparable, "the fixture's offset classes should be clear-cut; regenerate it with other inputs"
    assert desync_score(offsets) == pytest.approx(float(FIXTURE["desync"]), abs=1e-7)  # same classes: same float32 values
