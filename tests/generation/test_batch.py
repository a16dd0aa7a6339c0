"""Many inputs -> many files on the tiny zoo: generator calls shared across inputs, per-input errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from v2a_cli.generation.batch import generate_files, plan_outputs
from v2a_cli.generation.pipeline import GenerateOptions
from v2a_cli.testing.media import make_image, make_video

FAST = GenerateOptions(steps=2, duration=1.0)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    return [make_image(folder / f"pic{i}.png", color=(40 * i, 200 - 30 * i, 90)) for i in range(5)]


def run(pipeline, inputs, out_dir, options, **kwargs):
    return generate_files(pipeline, plan_outputs(inputs, options, out_dir=out_dir), options, **kwargs)


def test_inputs_share_generator_calls_and_each_sound_is_the_same_as_alone(pipeline, images, tmp_path,
                                                                          generator_calls):
    alone = run(pipeline, images, tmp_path / "one", replace(FAST, batch_size=1))
    calls_alone = len(generator_calls)
    generator_calls.clear()
    ticks = []
    together = run(pipeline, images, tmp_path / "four", replace(FAST, batch_size=4),
                   progress=lambda done, total: ticks.append((done, total)))
    assert alone.ok and together.ok and len(together.written) == 5
    assert calls_alone == 5
    assert [seeds for _, seeds in generator_calls] == [[0, 0, 0, 0], [0]]  # every input's variation 0: seed 0
    for one, four in zip(alone.written, together.written):
        # The same sound; CPU kernels may sum a batch of 4 in another order than a batch of 1, which can
        # move a 16-bit sample by one step (seen: 1 sample in 8000), never more.
        a, b = (np.frombuffer(path.read_bytes(), dtype="<i2", offset=44) for path in (one, four))
        assert one.name == four.name and one.read_bytes()[:44] == four.read_bytes()[:44]
        assert len(a) == len(b) and np.abs(a.astype(int) - b).max() <= 1 and np.mean(a != b) < 0.01
    assert ticks[-1] == (5 * FAST.steps, 5 * FAST.steps)


def test_a_bad_input_fails_alone_and_the_others_of_its_group_are_written(pipeline, images, tmp_path,
                                                                         generator_calls):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    failed = []
    report = run(pipeline, [images[0], broken, images[1]], tmp_path / "out", FAST,
                 on_error=lambda source, message: failed.append(source))
    assert failed == [str(broken)]
    assert sorted(path.name for path in report.written) == ["pic0.wav", "pic1.wav"]
    assert [seeds for _, seeds in generator_calls] == [[0, 0]]


def test_windows_of_different_lengths_never_share_a_call(pipeline, images, tmp_path, generator_calls):
    video = make_video(tmp_path / "clip.mp4", seconds=2.0)
    options = GenerateOptions(steps=1, duration=1.0, variations=2)
    report = run(pipeline, [images[0], video, images[1]], tmp_path / "out", options)
    assert report.ok and len(report.written) == 6
    # Pictures: 1 s windows (both variations of both pictures share one call); the 2 s clip has its own.
    assert [seeds for _, seeds in generator_calls] == [[0, 1, 0, 1], [0, 1]]


def test_the_free_space_check_counts_a_videos_whole_length(tmp_path, monkeypatch):
    """A 40 s video writes 40 s of WAV (1.28 MB), not --duration's 10 s: refused before any model loads."""
    import shutil
    from collections import namedtuple

    from v2a_cli.errors import OutputWriteError
    from v2a_cli.generation.batch import plan_outputs, preflight_plans
    from v2a_cli.generation.pipeline import GenerateOptions
    from v2a_cli.testing.media import make_scene_video

    video = make_scene_video(tmp_path / "long.mp4", scenes=(40.0,), fps=1, size=(16, 16))
    options = GenerateOptions()
    plans = plan_outputs([video], options, out_dir=tmp_path / "out")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1_000_000, 1_000_000))
    with pytest.raises(OutputWriteError, match=r"1\.0 MB free, about 1\.3 MB needed"):
        preflight_plans(plans, options)
    kept, failed = preflight_plans(plans, GenerateOptions(end=20.0))  # 20 s fit
    assert failed == [] and kept == plans
