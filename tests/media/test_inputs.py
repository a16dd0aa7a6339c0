from __future__ import annotations

from pathlib import Path

import pytest

from v2a_cli.errors import InputError, OutputExistsError
from v2a_cli.media.inputs import atomic_output, expand_inputs, media_kind


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.mark.parametrize("name, kind", [
    ("a.jpg", "image"), ("a.JPEG", "image"), ("a.webp", "image"), ("a.bmp", "image"), ("a.png", "image"),
    ("a.mp4", "video"), ("a.MKV", "video"), ("a.webm", "video"), ("a.avi", "video"), ("a.mov", "video"),
    ("a.m4v", "video"), ("a.wav", "audio"), ("a.flac", "audio"), ("a.mp3", "audio"), ("a.ogg", "audio"),
    ("a.m4a", "audio"),
])
def test_media_kind(name, kind):
    assert media_kind(name) == kind


def test_unknown_extension_names_the_file():
    with pytest.raises(InputError, match=r"notes\.txt.*unknown file type"):
        media_kind("notes.txt")


def test_folders_are_recursive_sorted_and_only_media(tmp_path):
    folder = tmp_path / "shots"
    for name in ["b.jpg", "a.mp4", "sub/c.png", "sub/deeper/d.wav", "readme.txt", "._a.jpg", "sub/e.PNG"]:
        touch(folder / name)

    paths, errors = expand_inputs([str(folder)])

    assert errors == []
    assert [p.relative_to(folder).as_posix() for p in paths] == [
        "a.mp4", "b.jpg", "sub/c.png", "sub/deeper/d.wav", "sub/e.PNG"]


def test_globs_files_and_duplicates(tmp_path):
    for name in ["x1.jpg", "x2.jpg", "clips/one.mp4", "clips/deep/two.mp4", "clips/skip.txt"]:
        touch(tmp_path / name)

    paths, errors = expand_inputs([
        str(tmp_path / "x2.jpg"),
        str(tmp_path / "*.jpg"),
        str(tmp_path / "**" / "*.mp4"),
        str(tmp_path / "clips"),
    ])

    assert errors == []
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "x2.jpg", "x1.jpg", "clips/deep/two.mp4", "clips/one.mp4"]


def test_problems_are_reported_per_item(tmp_path):
    good = touch(tmp_path / "good.png")
    touch(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    items = [str(tmp_path / "missing.jpg"), str(good), str(tmp_path / "*.webm"), str(tmp_path / "notes.txt"),
             str(tmp_path / "empty")]

    paths, errors = expand_inputs(items)

    assert paths == [good]
    assert [error.path for error in errors] == [items[0], items[2], items[3], items[4]]
    assert "no such file" in str(errors[0]) and "matches no" in str(errors[1])
    assert "unknown file type" in str(errors[2]) and "no media files" in str(errors[3])


def test_atomic_output_replaces_only_on_success(tmp_path):
    target = tmp_path / "out" / "sound.wav"

    with pytest.raises(RuntimeError):
        with atomic_output(target) as temp:
            temp.write_bytes(b"half")
            raise RuntimeError("encoder failed")
    assert list((tmp_path / "out").iterdir()) == []

    with atomic_output(target) as temp:
        temp.write_bytes(b"done")
    assert target.read_bytes() == b"done"
    with pytest.raises(OutputExistsError, match="sound.wav"):
        with atomic_output(target):
            pass
    with atomic_output(target, overwrite=True) as temp:
        temp.write_bytes(b"again")
    assert target.read_bytes() == b"again"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["sound.wav"]


def test_package_exports_are_lazy_aliases():
    import v2a_cli.media as media
    from v2a_cli.media import images, video

    assert media.load_image is images.load_image
    assert media.sample_frames is video.sample_frames
    with pytest.raises(AttributeError):
        media.no_such_name


def test_oga_sound_only_mp4_gif_tif_and_nameless_files_are_known_by_content(tmp_path, make_audio, sine):
    from PIL import Image

    ogg = make_audio("library.ogg", sine(0.5, 48000), 48000, "libopus")
    oga = ogg.rename(tmp_path / "library.oga")
    sound_only = make_audio("voice.mp4", sine(0.5, 16000), 16000, "aac")
    m4a = make_audio("voice.m4a", sine(0.5, 16000), 16000, "aac")
    frames = [Image.new("RGB", (16, 16), (90 * i, 0, 0)) for i in range(2)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (16, 16)).save(tmp_path / "scan.tif")
    Image.new("RGB", (16, 16)).save(tmp_path / "download", format="PNG")
    (tmp_path / "sound.bin").write_bytes(oga.read_bytes())

    assert media_kind(oga) == "audio" and media_kind(m4a) == "audio"
    assert media_kind(sound_only) == "audio"  # a .mp4 with no picture is a sound
    assert media_kind(tmp_path / "anim.gif") == "image" and media_kind(tmp_path / "scan.tif") == "image"
    assert media_kind(tmp_path / "download") == "image" and media_kind(tmp_path / "sound.bin") == "audio"
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="not an image, video or sound file"):
        media_kind(tmp_path / "notes.txt")


def test_a_quoted_double_star_glob_does_not_follow_symlink_loops(tmp_path):
    """A folder argument does not follow linked folders; a `**` pattern now walks the same way (glob's own
    `**` gave one picture 41 times for one loop, and never ended for two)."""
    touch(tmp_path / "shots" / "dog.png")
    touch(tmp_path / "shots" / "sub" / "cat.jpg")
    (tmp_path / "shots" / "loop").symlink_to(tmp_path / "shots", target_is_directory=True)
    (tmp_path / "shots" / "sub" / "back").symlink_to(tmp_path / "shots", target_is_directory=True)

    paths, errors = expand_inputs([str(tmp_path / "shots" / "**" / "*.*"), str(tmp_path / "shots" / "**")])
    assert errors == []
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["shots/dog.png", "shots/sub/cat.jpg"]
    folder, _ = expand_inputs([str(tmp_path / "shots")])
    assert folder == paths


def test_double_star_globs_match_as_glob_does(tmp_path, monkeypatch):
    for name in ["a.png", "x/b.png", "x/y/c.png", "x/y/d.jpg", "x/.hidden/e.png", "x/.f.png", "z/[1].png"]:
        touch(tmp_path / name)
    monkeypatch.chdir(tmp_path)
    for pattern in ["**/*.png", "x/**/*.png", "x/**", "**/y/*.*", "*/**/c.png", "**/*.[pj][np]g", "z/**/[[]1].png"]:
        import glob

        expected = sorted(m for m in glob.glob(pattern, recursive=True) if Path(m).is_file())
        paths, _ = expand_inputs([pattern])
        assert [str(p) for p in paths] == expected, pattern
        absolute, _ = expand_inputs([str(tmp_path / pattern)])
        assert [p.relative_to(tmp_path).as_posix() for p in absolute] == expected, pattern


def test_a_pipe_and_an_unreadable_folder_say_what_they_are(tmp_path, monkeypatch):
    import os

    os.mkfifo(tmp_path / "stream.mp4")
    touch(tmp_path / "locked" / "a.png")
    real_access = os.access
    # As if the folder had mode 000 for this user (a test run as root could read it anyway).
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == tmp_path / "locked"
                        else real_access(path, mode))

    _, errors = expand_inputs([str(tmp_path / "stream.mp4"), str(tmp_path / "locked")])
    assert [error.path for error in errors] == [str(tmp_path / "stream.mp4"), str(tmp_path / "locked")]
    assert "not a regular file (a pipe, socket or device)" in str(errors[0])
    assert "folder cannot be read (permission denied)" in str(errors[1])


def test_still_pictures_ffmpeg_opens_are_pictures_not_1_frame_videos(tmp_path):
    """A PNG named .mp4 (png_pipe) and a clip of exactly one frame (as FFmpeg reads a HEIC photo) are
    pictures: they get --duration of sound, not 0.04 s; Pillow or FFmpeg decodes them."""
    import shutil

    import av
    import numpy as np

    from v2a_cli.media.images import load_image
    from v2a_cli.testing.media import make_image

    shutil.copy(make_image(tmp_path / "p.png"), tmp_path / "picture.mp4")
    with av.open(str(tmp_path / "one-frame.mov"), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 200, np.uint8), format="rgb24")))
        container.mux(stream.encode())

    assert media_kind(tmp_path / "picture.mp4") == "image"
    assert media_kind(tmp_path / "one-frame.mov") == "image"
    assert load_image(tmp_path / "picture.mp4").size == (96, 64)
    still = load_image(tmp_path / "one-frame.mov")  # Pillow cannot read it; FFmpeg's first picture
    assert still.size == (64, 48) and abs(np.asarray(still, dtype=float).mean() - 200) < 4
