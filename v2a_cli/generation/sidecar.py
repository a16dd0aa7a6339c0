"""Provenance of a generated file: `OUTPUT.json` beside it (`--sidecar`), built in one function.

What it holds (docs/long-video.md): the v2a version, each model's spec and the revision (Hub) or
content hash (local files) it resolved to, every generation setting, the seed, and `windows`: the
windows covering the output in order, each with its seconds, scene, noise seed and, with the
zero-shot bridge, the sound classes and weights it mixed (`explain`); `settings_from` says where
each sampler setting came from (a flag, the mapper's declared settings, the preset, the default). Other parts add their keys in
`build_sidecar` (one dict, one place).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from v2a_cli.generation.models import WarmModels
    from v2a_cli.generation.options import GenerateOptions
    from v2a_cli.generation.plan import Soundtrack

SIDECAR_FORMAT = 1
HASH_CHUNK = 1 << 20


def window_records(track: "Soundtrack") -> list[list[dict]]:
    """Per variation: one dict per window, in order ({start, end, scene, seed, frames, join, overlap[, explain]})."""
    records = []
    for variation, seeds in enumerate(track.window_seeds):
        rows = []
        for index, (window, seed) in enumerate(zip(track.timeline.windows, seeds)):
            row = {**window.as_dict(), "seed": seed}
            if track.choices and track.choices[variation][index]:
                row["candidate"] = track.choices[variation][index]
            if track.explain is not None:
                row["explain"] = [{"class": name, "weight": round(weight, 6)} for name, weight in track.explain[index]]
            rows.append(row)
        records.append(rows)
    return records


def build_sidecar(pipeline: "WarmModels", options: "GenerateOptions", track: "Soundtrack", variation: int,
                  output: Path, written: dict | None = None) -> dict:
    """The sidecar of variation `variation` of `track`, written to `output`; `written`: how the file itself
    was made ({as_video, mix_original, video_codec}: batch.written_settings), recorded under "settings"."""
    from v2a_cli.version import __version__

    options = pipeline.settle(options)
    settings = {**options.flat(), "preset": options.preset}
    return {
        "format": SIDECAR_FORMAT,
        "v2a": __version__,
        "output": output.name,
        "source": track.source,
        "kind": track.kind,
        "seed": track.seeds[variation],
        "covered": {"start": round(track.timeline.start, 4), "end": round(track.timeline.end, 4)},
        "scene_cuts": [round(cut, 4) for cut in track.timeline.cuts],
        "models": model_provenance(pipeline, track.kind),
        "settings": {**settings, "device": str(pipeline.device), "dtype": str(pipeline.dtype),
                     "bridge_top_k": pipeline.bridge_top_k, "bridge_temperature": pipeline.bridge_temperature,
                     **(written or {})},
        # where each sampler setting came from: flag | mapper | preset | default (| given: Python options)
        "settings_from": options.origins,
        "input": {key: value for key, value in track.info.items() if key not in SOURCE_KEYS},
        "sources": sources_record(track.info),
        "windows": window_records(track)[variation],
    }


SOURCE_KEYS = ("sources", "note", "window_sources")  # what --sources detect found (docs/sources.md)


def sources_record(info: dict) -> list | None:
    """The sound sources: for a picture the list `v2a sources --json` prints (+ its note when nothing
    was found, as {"note": ...} last); for a video one {start, end, sources[, note]} per window;
    None when detection was off."""
    if "window_sources" in info:
        return info["window_sources"]
    if "sources" in info:
        return info["sources"] + ([{"note": info["note"]}] if "note" in info else [])
    return None


def write_sidecar(path: Path, record: dict) -> Path:
    from v2a_cli.files import atomic_output

    with atomic_output(path, overwrite=True) as temp:
        temp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def model_provenance(pipeline: "WarmModels", kind: str) -> dict:
    """Each model this kind of input used: its spec and what it resolved to (hashed once per call)."""
    roles = ["generator"]
    if kind in ("image", "video", "compose", "interpolation"):
        roles += ["clip", "mapper"]
    if kind in ("audio", "compose", "interpolation"):
        roles += ["clap"]
    cache = pipeline.call_cache("provenance")
    result = {}
    for role in roles:
        spec = getattr(pipeline.models, role)
        if spec not in cache:
            cache[spec] = resolved_identity(spec)
        result[role] = {"spec": spec, **cache[spec]}
    return result


def resolved_identity(spec: str) -> dict:
    """{"sha256": ...} for local files or folders (hash of every file's path and content), {"revision":
    commit} for a cached Hub repo, {"sha256"} for a downloaded URL, {} when nothing can be said."""
    from v2a_cli.registry import download_cache_path, parse_hub_ref

    local = Path(spec).expanduser()
    if local.exists():
        return {"sha256": content_hash(local)}
    if spec.startswith(("https://", "http://")):
        cached = download_cache_path(spec)
        return {"sha256": content_hash(cached)} if cached.is_file() else {}
    ref = parse_hub_ref(spec)
    if ref is None:
        return {}
    try:
        from huggingface_hub import constants

        folder = Path(constants.HF_HUB_CACHE) / ("models--" + ref.repo_id.replace("/", "--"))
        revision = ref.revision or "main"
        ref_file = folder / "refs" / revision
        commit = ref_file.read_text().strip() if ref_file.is_file() else revision
        return {"revision": commit}
    except OSError:
        return {}


def content_hash(path: Path) -> str:
    """sha256 over a file, or over a folder's files (relative path + content, in sorted order)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
                digest.update(chunk)
    return digest.hexdigest()
