"""Loading pictures as upright, fully decoded RGB images."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from v2a_cli.errors import InputError, first_line
from v2a_cli.media.inputs import check_readable

# Transparent pixels are shown on white, as image viewers and web pages usually show them; keeping
# the hidden RGB values instead often turns a logo on a transparent background into a black square.
BACKGROUND = (255, 255, 255)

# Pictures whose short side is at least twice this are decoded reduced (CLIP looks at 224 px).
REDUCED_SIDE = 1024
REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}

# 16/32-bit greyscale and float images (F is taken as 0..255).
HIGH_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "P":
        # A palette image with a transparent index has alpha; "RGBA" keeps it for the composite.
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, BACKGROUND)
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode in HIGH_BIT_MODES:
        image = _high_bit_to_grey(image)
    return image.convert("RGB")


def _high_bit_to_grey(image: Image.Image) -> Image.Image:
    """16/32-bit greyscale as 8-bit "L", scaled (65535 -> 255; F taken as 0..255). PIL's own convert
    clips these to 0..255 instead of scaling: 16-bit pictures (0..65535) would turn white."""
    pixels = np.asarray(image, dtype=np.float32)
    if image.mode != "F":
        pixels = pixels / 257.0
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), mode="L")


def load_image(path: str | Path) -> Image.Image:
    """RGB image with its EXIF orientation applied; transparency composited on white; the first frame of
    an animation. A very large picture is decoded reduced (it only feeds a 224-px CLIP): JPEG at a
    smaller DCT scale, others shrunk right after decoding, so that its short side stays >= REDUCED_SIDE.

    The whole file is decoded here, so a truncated or corrupt file fails with InputError now and not
    later inside a model.
    """
    path = check_readable(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns about big pictures (DecompressionBombWarning); we decode them reduced instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                factor = min(opened.size) // REDUCED_SIDE
                if factor >= 2 and opened.format == "JPEG":
                    opened.draft(opened.mode, (opened.width // factor, opened.height // factor))
                opened.load()
                upright = ImageOps.exif_transpose(_reduced(opened))
                return _to_rgb(upright)
    except UnidentifiedImageError:
        still = _still_from_ffmpeg(path)  # a picture FFmpeg reads and Pillow does not (HEIC, a 1-frame clip)
        if still is not None:
            return still
        raise InputError(path, "not an image that can be read (is the extension right?); re-export it as JPEG or PNG") from None
    except Image.DecompressionBombError:
        raise InputError(path, "image is too large to load safely; scale it down") from None
    except (OSError, SyntaxError, ValueError) as exc:
        # PIL reports truncated data as OSError ("image file is truncated") and some corrupt headers
        # as SyntaxError/ValueError.
        raise InputError(path, f"truncated or corrupt image ({first_line(exc)}); re-export it") from None


def _still_from_ffmpeg(path: Path) -> Image.Image | None:
    """The first picture of a file that FFmpeg decodes (HEIC/AVIF photos, a 1-frame video) as RGB, reduced
    like any other large picture; None when FFmpeg does not read a picture from it."""
    import av

    try:
        with av.open(str(path), metadata_errors="replace") as container:
            if not container.streams.video:
                return None
            for frame in container.decode(container.streams.video[0]):
                return _to_rgb(_reduced(frame.to_image()))
    except (av.FFmpegError, OSError, ValueError):
        return None
    return None


def _reduced(image: Image.Image) -> Image.Image:
    """`image` shrunk by a whole factor while its short side stays >= REDUCED_SIDE (as it is when small)."""
    factor = min(image.size) // REDUCED_SIDE
    if factor < 2:
        return image
    if image.mode in HIGH_BIT_MODES and image.mode not in REDUCIBLE_MODES:  # I;16: scaled, not clipped
        image = _high_bit_to_grey(image)
    elif image.mode not in REDUCIBLE_MODES:
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    return image.reduce(factor)
