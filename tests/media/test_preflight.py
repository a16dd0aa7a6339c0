"""`preflight`: output problems found before any model loads, folder-wide ones raised, per-output ones returned."""

from __future__ import annotations

import errno
import tempfile

import pytest

from v2a_cli.errors import OutputWriteError
from v2a_cli.media import preflight as preflight_module
from v2a_cli.media.preflight import preflight, video_container_problem
from v2a_cli.testing.media import make_video


def test_output_folder_that_is_a_file_is_one_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputWriteError, match="afile: is a file, not a folder"):
        preflight([tmp_path / "afile" / "sub" / "out.wav"])


def test_read_only_output_folder_is_found_before_work(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(OutputWriteError, match="read-only file system; choose an output folder"):
        preflight([tmp_path / "out" / "a.wav"])
    assert not (tmp_path / "out").exists()


def test_full_disk_is_found_before_work(tmp_path, monkeypatch):
    class Usage:
        free = 1000

    monkeypatch.setattr(preflight_module.shutil, "disk_usage", lambda folder: Usage())
    with pytest.raises(OutputWriteError, match="no space left"):
        preflight([tmp_path / "a.wav", tmp_path / "b.wav"])


def test_existing_output_and_folder_are_per_output_problems(tmp_path):
    (tmp_path / "old.wav").write_bytes(b"keep")
    (tmp_path / "dir.wav").mkdir()
    problems = preflight([tmp_path / "old.wav", tmp_path / "dir.wav", tmp_path / "new.wav"])
    assert set(problems) == {tmp_path / "old.wav", tmp_path / "dir.wav"}
    assert "--overwrite" in problems[tmp_path / "old.wav"]
    assert preflight([tmp_path / "old.wav"], overwrite=True) == {}


def test_h264_into_webm_is_found_before_work_under_copy_only(tmp_path):
    video = make_video(tmp_path / "street.mp4", seconds=1.0)
    assert "a .webm file cannot hold h264 video as it is; use --video-codec auto" in video_container_problem(
        video, tmp_path / "s.webm", "copy")
    assert video_container_problem(video, tmp_path / "s.webm") is None  # auto: re-encoded to VP9
    assert video_container_problem(video, tmp_path / "s.mkv", "copy") is None
    problems = preflight([tmp_path / "s.webm"], video_sources={tmp_path / "s.webm": video}, video_codec="copy")
    assert list(problems) == [tmp_path / "s.webm"]
