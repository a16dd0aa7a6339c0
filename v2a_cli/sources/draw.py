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
    for i, source in enumerate(boxed):
        color = COLORS[i % len(COLORS)]
        draw.rectangle(source.box, outline=color, width=width)
        text = f"{source.label} {source.score:.2f} w={source.weight:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text)
        x, y = source.box[0], max(0.0, source.box[1] - (bottom - top) - 2)
        draw.rectangle((x, y, x + right - left + 4, y + bottom - top + 2), fill=color)
        draw.text((x + 2, y), text, fill="black")
    return out


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
