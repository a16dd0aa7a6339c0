from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from v2a_cli.errors import InputError
from v2a_cli.media.images import load_image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def two_halves(width: int = 40, height: int = 20) -> Image.Image:
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = RED
    pixels[:, width // 2:] = BLUE
    return Image.fromarray(pixels)


def close_to(pixel, colour, tolerance: int = 40) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, colour))


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: display rotated 90 degrees clockwise
    two_halves().save(path, exif=exif, quality=95)

    image = load_image(path)

    assert image.mode == "RGB"
    assert image.size == (20, 40)
    assert close_to(image.getpixel((10, 5)), RED)  # the left half is now on top
    assert close_to(image.getpixel((10, 35)), BLUE)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)  # fully transparent black
    rgba[:5] = (255, 0, 0, 255)  # opaque red top half
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "logo.png")
    palette = Image.fromarray(rgba, mode="RGBA").convert("P")
    palette.info["transparency"] = palette.getpixel((0, 9))
    palette.save(tmp_path / "palette.png", transparency=palette.getpixel((0, 9)))

    for name in ("logo.png", "palette.png"):
        image = load_image(tmp_path / name)
        assert image.mode == "RGB"
        assert close_to(image.getpixel((0, 0)), RED, 0)
        assert image.getpixel((0, 9)) == WHITE


def test_greyscale_and_16_bit_images(tmp_path):
    Image.fromarray(np.full((8, 8), 100, dtype=np.uint8), mode="L").save(tmp_path / "grey.png")
    Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16)).save(tmp_path / "deep.png")

    grey = load_image(tmp_path / "grey.png")
    deep = load_image(tmp_path / "deep.png")

    assert grey.mode == deep.mode == "RGB"
    assert grey.getpixel((3, 3)) == (100, 100, 100)
    assert deep.getpixel((3, 3)) == (156, 156, 156)  # 40000 / 257, not clipped to white


@pytest.mark.parametrize("name, mode", [("picture.webp", "RGB"), ("picture.bmp", "RGB"), ("print.jpg", "CMYK")])
def test_other_formats_and_modes(tmp_path, name, mode):
    source = two_halves().convert(mode)
    source.save(tmp_path / name, **({"lossless": True} if name.endswith(".webp") else {}))

    image = load_image(tmp_path / name)

    assert image.mode == "RGB" and image.size == (40, 20)
    assert close_to(image.getpixel((5, 10)), RED) and close_to(image.getpixel((35, 10)), BLUE)


def test_half_a_jpeg_is_truncated(tmp_path):
    whole = tmp_path / "whole.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(whole, quality=95)
    half = tmp_path / "half.jpg"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    with pytest.raises(InputError, match=r"half\.jpg.*truncated or corrupt"):
        load_image(half)


@pytest.mark.parametrize("name, content, problem", [
    ("empty.jpg", b"", "empty file"),
    ("notes.jpg", b"just some text, not a picture\n", "not an image"),
])
def test_non_images_are_input_errors(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(InputError, match=problem) as caught:
        load_image(path)
    assert str(path) in str(caught.value)


def test_missing_image(tmp_path):
    with pytest.raises(InputError, match="missing.png"):
        load_image(tmp_path / "missing.png")


def test_large_picture_is_decoded_reduced_without_a_library_warning(tmp_path, monkeypatch):
    import warnings

    import v2a_cli.media.images as images

    monkeypatch.setattr(images, "REDUCED_SIDE", 32)  # "large" scaled down so the test stays small
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # PIL warns above this (errs above twice): 240 x 160
    pixels = np.zeros((160, 240, 3), dtype=np.uint8)
    pixels[:, 120:] = 255
    Image.fromarray(pixels).save(tmp_path / "big.png")
    Image.fromarray(pixels).save(tmp_path / "big.jpg", quality=95)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would fail here
        png, jpg = load_image(tmp_path / "big.png"), load_image(tmp_path / "big.jpg")
    assert png.size == (48, 32)  # reduced by 5: short side 32 >= REDUCED_SIDE
    assert 32 <= min(jpg.size) < 160  # JPEG: decoded at a smaller DCT scale
    assert close_to(png.getpixel((5, 16)), (0, 0, 0)) and close_to(png.getpixel((42, 16)), (255, 255, 255))


@pytest.mark.parametrize("mode, levels", [("I;16", (0, 20000, 65535)), ("I", (0, 20000, 65535)), ("F", (0.0, 78.0, 255.0))])
def test_a_large_16_bit_greyscale_picture_keeps_its_greys_when_decoded_reduced(tmp_path, monkeypatch, mode, levels):
    """Not clipped to white before the 65535 -> 255 scaling (it was, for I;16, once reduced)."""
    import v2a_cli.media.images as images

    monkeypatch.setattr(images, "REDUCED_SIDE", 32)  # "large" scaled down so the test stays small
    dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
    pixels = np.zeros((96, 96), dtype=dtype)
    pixels[:, 32:64], pixels[:, 64:] = levels[1], levels[2]
    Image.fromarray(pixels).save(tmp_path / "deep.tif")
    with Image.open(tmp_path / "deep.tif") as opened:
        assert opened.mode == mode
    image = load_image(tmp_path / "deep.tif")
    assert image.size == (32, 32)  # reduced by 3
    expected = [round(level / 257) if mode != "F" else round(level) for level in levels]
    assert [image.getpixel((x, 16))[0] for x in (5, 16, 28)] == expected
