"""`v2a sources`: list the sound sources found in a picture or video (table, or JSON with --json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import app, global_options, report_error, report_note, stdout


def boxes_path(boxes: Path, source: Path, count: int) -> Path:
    """One input: `boxes` itself; several: `boxes/<stem>.png`."""
    return boxes if count == 1 else boxes / f"{source.stem}.png"


def write_boxes_for(pipeline, sources: Sequence[Path], gen_options, boxes: Path, *, overwrite: bool) -> list[Path]:
    """Draw each input's detected sources; returns the inputs that worked (errors reported per input)."""
    from v2a_cli.errors import InputError, OutputExistsError
    from v2a_cli.generation.detect import sourced_visual
    from v2a_cli.sources.draw import write_boxes

    done = []
    for source in sources:
        try:
            sourced = sourced_visual(pipeline, source, gen_options)
            drawn = write_boxes(boxes_path(boxes, source, len(sources)), sourced.scan.picture, sourced.found,
                                overwrite=overwrite)
        except (InputError, OutputExistsError) as exc:
            report_error(str(exc))
            continue
        report_note(f"boxes of {source.name} drawn in {drawn}")
        done.append(source)
    return done


@app.command()
def sources(
    ctx: typer.Context,
    input: Path = typer.Argument(..., help="A picture or a video."),
    as_json: bool = options.JSON,
    boxes: Optional[Path] = options.BOXES,
    overwrite: bool = options.OVERWRITE,
    max_sources: int = options.MAX_SOURCES,
    detect_threshold: float = options.DETECT_THRESHOLD,
    detector: Optional[str] = options.DETECTOR,
    fps: float = options.FPS,
    max_seconds: float = options.MAX_SECONDS,
    device: str = options.DEVICE,
) -> None:
    """List the sound sources found in a picture or video: class, score, box (pixels) and weight in the mix.

    The first row is the whole picture (box null); weights sum to 1. See docs/sources.md.
    """
    from v2a_cli.device import pick_device
    from v2a_cli.errors import InputError
    from v2a_cli.generation.pipeline import GenerateOptions
    from v2a_cli.models_config import ModelsConfig
    from v2a_cli.loaders import load_model
    from v2a_cli.sources.draw import write_boxes
    from v2a_cli.sources.scan import scan_file

    GenerateOptions(sources="detect", max_sources=max_sources, detect_threshold=detect_threshold, fps=fps,
                    max_seconds=max_seconds).validate()
    if not input.is_file():
        raise InputError(input, "no such file; check the path")
    if boxes is not None and boxes.exists() and not overwrite:
        from v2a_cli.errors import OutputExistsError

        raise OutputExistsError(boxes)
    models = ModelsConfig.load(global_options(ctx).models).with_overrides(detector=detector)
    model = load_model("detector", models.detector, device=pick_device(device))
    scan = scan_file(model, input, max_sources=max_sources, threshold=detect_threshold, fps=fps,
                     max_seconds=max_seconds)
    if boxes is not None:
        report_note(f"boxes drawn in {write_boxes(boxes, scan.picture, scan.found, overwrite=overwrite)}")
    if as_json:
        stdout.print(json.dumps({"sources": [s.to_json() for s in scan.found]}), markup=False)
        return
    from rich.table import Table

    table = Table("class", "score", "box (x0, y0, x1, y1)", "weight")
    for s in scan.found:
        box = "whole" if s.box is None else ", ".join(f"{v:.0f}" for v in s.box)
        table.add_row(s.label, f"{s.score:.3f}", box, f"{s.weight:.3f}")
    stdout.print(table)
    if scan.detected and len(scan.found) == 1:
        from v2a_cli.cli.app import stderr

        stderr.print(f"note: no sound source found above --detect-threshold {detect_threshold:g}; "
                     "the whole picture is the only source")
