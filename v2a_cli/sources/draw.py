"""The picture with its sources' boxes and labels drawn on it (`--boxes OUT.png`), same size as the input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from v2a_cli.sources.find import FoundSource

COLORS = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6"]


def draw_sources(image: Any, sources: Sequence[FoundSource]) -> Any:
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width = max(1, round(min(out.size) / 200))
    boxed = [s for s in sources if s.box is not None]
    texts = [f"{source.label} {source.score:.2f} w={source.weight:.2f}" for source in boxed]
    sizes = []
    for text in texts:
        left, top, right, bottom = draw.textbbox((0, 0), text)
        sizes.append((right - left + 4, bottom - top + 2))
    for i, source in enumerate(boxed):
        draw.rectangle(source.box, outline=COLORS[i % len(COLORS)], width=width)
    for i, (x, y, w, h) in enumerate(label_places([s.box for s in boxed], sizes, out.size)):
        draw.rectangle((x, y, x + w, y + h), fill=COLORS[i % len(COLORS)])
        draw.text((x + 2, y), texts[i], fill="black")
    return out


def label_places(boxes: Sequence[tuple[float, float, float, float]], sizes: Sequence[tuple[float, float]],
                 picture: tuple[int, int]) -> list[tuple[float, float, float, float]]:
    """(x, y, w, h) of each box's label: above the box's top-left corner (inside it at the picture's top),
    moved left so that it ends inside the picture, and moved down past the labels placed before it so
    that labels of boxes at one place do not cover each other (while the picture has room)."""
    picture_w, picture_h = picture
    placed: list[tuple[float, float, float, float]] = []
    for (x0, y0, _, _), (w, h) in zip(boxes, sizes):
        x = max(0.0, min(float(x0), picture_w - w))
        y = max(0.0, y0 - h - 1)
        while hits := [other for other in placed if _overlap((x, y, w, h), other)]:
            below = max(other_y + other_h for _, other_y, _, other_h in hits) + 1
            if below + h > picture_h:
                break  # no room left below: overlap rather than leave the picture
            y = below
        placed.append((x, y, w, h))
    return placed


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def write_boxes(path: str | Path, image: Any, sources: Sequence[FoundSource], *, overwrite: bool = False) -> Path:
    from v2a_cli.errors import OutputExistsError, V2AError
    from v2a_cli.files import atomic_output

    path = Path(path)
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise V2AError(f"--boxes {path}: write a .png or .jpg picture")
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    picture = draw_sources(image, sources)
    with atomic_output(path, overwrite=overwrite) as tmp:
        picture.save(tmp, format="PNG" if path.suffix.lower() == ".png" else "JPEG")
    return path
