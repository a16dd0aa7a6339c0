"""An SSV2A mapper's inputs prepared as SSV2A's own code prepares them (fixtures: make_ssv2a_preprocessing.py).

Crops: the box resized to the whole picture's size before CLIP (pixel-equal to SSV2A's `yolo_detect`
followed by OpenAI CLIP's `_transform`); frames: 64 evenly spaced 512x512 frames per window for the
aggregator (the indices SSV2A's `extract_frames` takes). Pixels and indices are integers and PIL's
8-bit resampling is fixed-point arithmetic, so every comparison here is exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from v2a_cli.testing.fixture_scripts import load_fixture_script

DATA = Path(__file__).parent / "data"
FIXTURES = DATA / "preprocessing"
SCRIPT = load_fixture_script(DATA / "make_ssv2a_preprocessing.py")
REFERENCE = json.loads((FIXTURES / "reference.json").read_text())


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


@pytest.fixture(scope="module")
def ssv2a_pipeline(zoo_models, zoo_models_toml):
    from v2a_cli.generation.pipeline import Pipeline

    return Pipeline(zoo_models.with_overrides(mapper=str(zoo_models_toml.parent / "ssv2a")), device="cpu")


def test_the_picture_is_the_fixtures():
    with Image.open(FIXTURES / "picture.png") as committed:
        assert np.array_equal(pixels(committed), pixels(SCRIPT.make_picture()))


@pytest.mark.parametrize("name", list(SCRIPT.BOXES))
def test_a_stretched_crop_reaches_clip_as_ssv2a_crops_it(name, ssv2a_pipeline):
    from v2a_cli.embeddings.clip import image_to_uint8
    from v2a_cli.sources.find import crop_source

    picture, box = SCRIPT.make_picture(), SCRIPT.BOXES[name]
    assert ssv2a_pipeline.mapper_settings().crops == "stretch"
    crop = crop_source(picture, box, ssv2a_pipeline.mapper_settings().crops)
    with Image.open(FIXTURES / f"crop_{name}.png") as original:
        assert crop.size == original.size == picture.size
        assert np.array_equal(pixels(crop), pixels(original))
    # what CLIP's network receives (before ToTensor/Normalize): OpenAI CLIP's own transform of SSV2A's crop
    clip = ssv2a_pipeline.clip
    ours = image_to_uint8(clip.pixel_transform, crop)
    with Image.open(FIXTURES / f"crop_{name}_clip_input.png") as original:
        assert np.array_equal(ours, pixels(original).transpose(2, 0, 1))
    # v2a's own geometry (the box at its aspect, centre-cropped by CLIP) loses the ends of the box
    boxed = image_to_uint8(clip.pixel_transform, crop_source(picture, box, "box"))
    assert not np.array_equal(boxed, ours)


def test_detected_sources_reach_clip_stretched(ssv2a_pipeline, tmp_path, monkeypatch):
    from v2a_cli.generation.detect import sourced_visual
    from v2a_cli.generation.pipeline import GenerateOptions
    from v2a_cli.sources.find import stretched_crop

    path = tmp_path / "picture.png"
    SCRIPT.make_picture().save(path)
    seen: list = []
    real = ssv2a_pipeline.clip.encode_images
    monkeypatch.setattr(ssv2a_pipeline.clip, "encode_images", lambda images, **k: seen.extend(images) or real(images, **k))
    sourced = sourced_visual(ssv2a_pipeline, path, GenerateOptions(sources="detect", detect_threshold=0.0,
                                                                   max_sources=3))
    boxes = [s.box for s in sourced.found]
    assert boxes[0] is None and len(boxes) > 1
    picture = SCRIPT.make_picture()
    for image, box in zip(seen, boxes):
        assert image.size == picture.size
        assert np.array_equal(pixels(image), pixels(stretched_crop(picture, box)))


def test_frame_indices_are_ssv2a_s():
    from v2a_cli.media.video import evenly_spaced_indices

    frames = REFERENCE["frames"]
    assert frames["count"] == 64 and frames["sizes"] == [[512, 512]]
    for available, indices in frames["indices"].items():
        assert evenly_spaced_indices(int(available), 64) == indices, available


def test_a_12s_video_gives_the_aggregator_64_frames_per_window_at_512x512(ssv2a_pipeline, tmp_path, monkeypatch):
    from v2a_cli.generation.condition import plan_sound
    from v2a_cli.generation.pipeline import GenerateOptions
    from v2a_cli.media.video import evenly_spaced_frames, frame_times
    from v2a_cli.testing.media import make_video

    video = make_video(tmp_path / "walk.mp4", seconds=12.0, fps=10, size=(64, 48), with_audio=False)
    mapper = ssv2a_pipeline.mapper
    assert mapper.has_aggregator
    aggregated, embedded = [], []
    real_aggregate, real_encode = mapper.aggregate, ssv2a_pipeline.clip.encode_images
    monkeypatch.setattr(mapper, "aggregate", lambda claps, **k: aggregated.append(claps.shape) or
                        real_aggregate(claps, **k))
    monkeypatch.setattr(ssv2a_pipeline.clip, "encode_images", lambda images, **k: embedded.append(
        [image.size for image in images]) or real_encode(images, **k))
    options = GenerateOptions.from_preset("fast", var_samples=1, cycle_its=0, cycle_samples=1, scenes="off")
    planned = plan_sound(ssv2a_pipeline, video, options, [0])
    windows = planned.track.timeline.windows
    assert len(windows) == 2
    assert planned.track.info["aggregator_frames"] == {"per_window": 64, "size": [512, 512]}  # the sidecar's input
    assert aggregated == [torch.Size([64, 512])] * len(windows)
    window_sizes = [sizes for sizes in embedded if len(sizes) == 64]  # (the plan's --fps frames come first)
    assert len(window_sizes) == len(windows) and {s for sizes in window_sizes for s in sizes} == {(512, 512)}
    for window in windows:  # the frames: SSV2A's indices over the window's own decoded frames
        times = frame_times(video, start=window.frames_from, end=window.frames_to)
        assert times == pytest.approx([round(t * 10) / 10 for t in times])  # every decoded frame, 10 per second
        expected = [times[i] for i in REFERENCE["frames"]["indices"][str(len(times))]]
        picked = evenly_spaced_frames(video, 64, start=window.frames_from, end=window.frames_to, size=(512, 512))
        assert [f.time for f in picked] == expected and {f.image.size for f in picked} == {(512, 512)}
