"""`v2a extract`: per-frame CLIP and per-clip CLAP embeddings of a folder of videos, in resumable shards.

The sorted video list is cut into fixed shards of `shard_size` files. Shard i is written once, by rank
i % world_size, as ``shard-0000i.safetensors`` (tensors) and then ``shard-0000i.json`` (its clips);
a shard counts as finished once its .json exists, so a killed run continues where it stopped.

    frame_clip     [F, D]  float16  CLIP embeddings of every sampled frame of the kept clips, concatenated
    frame_offsets  [M + 1] int64    clip m's frames are frame_clip[offsets[m]:offsets[m + 1]]
    clap           [M, D'] float32  CLAP audio embedding of each kept clip's first 10 s (48 kHz)

``manifest.json`` holds the models and settings (a rerun with other ones is refused, never mixed) and
the finished shards; ``skipped.jsonl`` lists the clips left out and why. Videos are decoded AND
preprocessed in worker processes (CLIP-ready uint8 pixels through the PIL half of open_clip's transform,
CLAP log-mel features of the waveform from `load_audio_for_clap`); the main process only copies them to
the device (pinned, non-blocking on CUDA) and runs the models batched, so extraction is bound by decoding.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import os
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from v2a_cli.errors import InputError, V2AError, shorten
from v2a_cli.files import atomic_output
from v2a_cli.models_config import ModelsConfig
from v2a_cli.training.splits import DEFAULT_TEST_FRACTION, SplitEntry, assign_splits

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")
CACHE_FORMAT = "v2a-extract/1"
FRAME_DTYPE = "float16"  # per-frame CLIP embeddings: half the disk of float32, far below CLIP's own noise
MANIFEST_NAME = "manifest.json"
SKIPPED_NAME = "skipped.jsonl"
LOCK_NAME = ".lock"
SHARD_PATTERN = re.compile(r"^shard-(\d{5,})\.json$")
# Test hook: the process ends (os._exit) right after writing this many shards, as a kill would.
EXIT_AFTER_SHARDS_ENV = "V2A_TEST_EXIT_AFTER_SHARDS"

ProgressCallback = Callable[[int, int], None]  # (files done, files to do) on this rank


@dataclass(frozen=True)
class DecodeOptions:
    fps: float
    max_seconds: float
    min_seconds: float
    sample_rate: int


@dataclass(frozen=True)
class ClipJob:
    path: str  # absolute
    relative: str  # posix path relative to the data folder: the clip's name everywhere
    split: SplitEntry | None  # None: not in the split CSV


@dataclass(frozen=True)
class Preprocess:
    """What workers need to make model inputs (picklable; sent once per worker)."""

    pixel_transform: Any  # the PIL half of open_clip's eval transform (ClipEncoder.pixel_transform)
    feature_extractor: Any  # CLAP's feature extractor (ClapEncoder.feature_extractor)


@dataclass
class DecodedClip:
    relative: str
    pixels: Any  # np.ndarray uint8 [frames, 3, H, W]: CLIP inputs before ToTensor + Normalize, in time order
    features: Any  # np.ndarray float32 [1, 1001, 64]: CLAP log-mel inputs of the first 10 s
    duration: float
    notes: list[str] = field(default_factory=list)  # e.g. damaged audio packets skipped while decoding

    @property
    def n_frames(self) -> int:
        return len(self.pixels)


@dataclass
class SkippedClip:
    relative: str
    reason: str


@dataclass
class ExtractReport:
    cache_dir: Path
    rank: int
    world_size: int
    shards_total: int  # in the whole cache
    shards_written: int  # by this call
    shards_reused: int  # of this rank's, already finished before this call
    clips_kept: int  # in this rank's shards
    clips_skipped: int
    manifest_path: Path
    skipped_path: Path
    skipped: list[dict] = field(default_factory=list)  # this rank's {"path", "reason"}


def default_workers() -> int:
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def resolve_rank(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """Explicit values, else torchrun's RANK / WORLD_SIZE, else (0, 1) (`distributed.current_ranks`)."""
    from v2a_cli.distributed import current_ranks

    ranks = current_ranks(rank, world_size)
    return ranks.rank, ranks.world_size


def scan_videos(data_dir: str | Path) -> list[str]:
    """Relative posix paths of every video under `data_dir` (recursive), sorted."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise InputError(data_dir, "data folder not found; pass an existing folder of videos to --data")
    if not data_dir.is_dir():
        raise InputError(data_dir, "not a folder; pass a folder of videos to --data")
    found = [path.relative_to(data_dir).as_posix() for path in data_dir.rglob("*")
             if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file()]
    if not found:
        raise InputError(data_dir, f"no videos ({', '.join(VIDEO_EXTENSIONS)}) in this folder or below")
    return sorted(found)


def plan_shards(relative_paths: list[str], shard_size: int) -> list[list[str]]:
    return [relative_paths[start:start + shard_size] for start in range(0, len(relative_paths), shard_size)]


def shards_for_rank(n_shards: int, rank: int, world_size: int) -> list[int]:
    return [index for index in range(n_shards) if index % world_size == rank]


def shard_stem(index: int) -> str:
    return f"shard-{index:05d}"


def read_manifest(cache_dir: str | Path) -> dict:
    path = Path(cache_dir) / MANIFEST_NAME
    if not path.is_file():
        raise V2AError(f"{path}: not found; {cache_dir} is not an extraction cache (run v2a extract first)")
    return _read_json(path)


def finished_shards(cache_dir: str | Path) -> dict[int, dict]:
    """Shard index -> its sidecar, for every finished shard in the cache."""
    finished = {}
    for path in Path(cache_dir).iterdir():
        match = SHARD_PATTERN.match(path.name)
        if match:
            finished[int(match.group(1))] = _read_json(path)
    return finished


def extract_folder(
    data_dir: str | Path,
    cache_dir: str | Path,
    *,
    models: ModelsConfig,
    split_csv: str | Path | None = None,
    fps: float = 1.0,
    max_seconds: float = 10.0,
    min_seconds: float = 1.0,
    shard_size: int = 256,
    workers: int | None = None,
    batch_size: int = 64,
    device: str = "auto",
    rank: int | None = None,
    world_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> ExtractReport:
    """Embed every video under `data_dir` into shards under `cache_dir`; finished shards are kept.

    rank / world_size default to torchrun's RANK / WORLD_SIZE: rank r does shards r, r + W, ...
    """
    check_settings(fps=fps, max_seconds=max_seconds, min_seconds=min_seconds, shard_size=shard_size,
                    batch_size=batch_size, workers=workers)
    workers = default_workers() if workers is None else workers
    rank, world_size = resolve_rank(rank, world_size)
    data_dir, cache_dir = Path(data_dir).resolve(), Path(cache_dir)
    relative_paths = scan_videos(data_dir)
    splits = assign_splits(relative_paths, split_csv=split_csv)
    shards = plan_shards(relative_paths, shard_size)

    cache_dir.mkdir(parents=True, exist_ok=True)
    header = {
        "format": CACHE_FORMAT,
        "models": {"clip": models.clip, "clap": models.clap},
        "settings": {
            "fps": fps, "max_seconds": max_seconds, "min_seconds": min_seconds, "shard_size": shard_size,
            "frame_dtype": FRAME_DTYPE, "split": _split_source(split_csv),
        },
        "n_files": len(relative_paths),
        "n_shards": len(shards),
    }
    with _cache_lock(cache_dir):
        _check_or_start_manifest(cache_dir, header)

    mine = shards_for_rank(len(shards), rank, world_size)
    done = finished_shards(cache_dir)
    for index in mine:
        if index in done and done[index]["files"] != shards[index]:
            raise V2AError(f"{cache_dir / (shard_stem(index) + '.json')}: the data folder changed since this shard "
                           "was written; extract into a new --out folder")
    todo = [index for index in mine if index not in done]
    written = 0
    if todo:
        _remove_stale_temp_files(cache_dir, todo)
        written = _extract_shards(
            data_dir, cache_dir, shards, todo, splits, models=models, fps=fps, max_seconds=max_seconds,
            min_seconds=min_seconds, workers=workers, batch_size=batch_size, device=device, progress=progress,
            header=header,
        )
    with _cache_lock(cache_dir):
        _refresh_summaries(cache_dir, header)

    done = finished_shards(cache_dir)
    skipped = [{"path": item["path"], "reason": item["reason"]} for index in mine for item in done[index]["skipped"]]
    return ExtractReport(
        cache_dir=cache_dir, rank=rank, world_size=world_size, shards_total=len(shards),
        shards_written=written, shards_reused=len(mine) - len(todo),
        clips_kept=sum(len(done[index]["clips"]) for index in mine), clips_skipped=len(skipped),
        manifest_path=cache_dir / MANIFEST_NAME, skipped_path=cache_dir / SKIPPED_NAME, skipped=skipped,
    )


# -- decoding (runs in worker processes) ---------------------------------------------------------

def decode_clip(job: ClipJob, options: DecodeOptions, preprocess: Preprocess) -> DecodedClip | SkippedClip:
    """Model-ready frames and audio features of one video, or the reason it is left out. Never raises
    for bad data."""
    import numpy as np

    from v2a_cli.embeddings.clap import condition_waveform, log_mel_features
    from v2a_cli.embeddings.clip import image_to_uint8
    from v2a_cli.media.audio import load_audio_native
    from v2a_cli.media.video import probe_video, sample_frames
    from v2a_cli.notes import notes_to

    if job.split is None:
        return SkippedClip(job.relative, "not listed in the split CSV")
    notes: list[str] = []  # said by the main process (a worker has no console)
    try:
        info = probe_video(job.path)
        if not info.has_audio:
            return SkippedClip(job.relative, "no audio track")
        duration = info.duration
        if duration is not None and duration < options.min_seconds:
            return SkippedClip(job.relative, f"too short ({duration:.2f} s < --min-seconds {options.min_seconds:g})")
        frames = sample_frames(job.path, fps=options.fps, max_seconds=options.max_seconds)
        if not frames:
            return SkippedClip(job.relative, "no video frames could be decoded")
        with notes_to(notes.append):
            samples, rate = load_audio_native(job.path, max_seconds=options.max_seconds)
    except Exception as exc:  # a broken file is data to report, whatever the decoder raised
        return SkippedClip(job.relative, f"unreadable ({_one_line(exc)})")
    if samples.shape[-1] == 0:
        return SkippedClip(job.relative, "empty audio track")
    if duration is None:
        duration = samples.shape[-1] / rate
        if duration < options.min_seconds:
            return SkippedClip(job.relative, f"too short ({duration:.2f} s < --min-seconds {options.min_seconds:g})")
    # The CLAP target exactly as AudioLDM made the conditions its UNet was trained on.
    waveform = condition_waveform(samples, rate)
    pixels = np.stack([image_to_uint8(preprocess.pixel_transform, frame.image) for frame in frames])
    features = log_mel_features(preprocess.feature_extractor, [waveform])
    return DecodedClip(job.relative, pixels, features, float(duration), notes)


_WORKER_STATE: dict[str, Any] = {}  # set once per worker process by _init_worker


def _init_worker(options: DecodeOptions, preprocess: Preprocess) -> None:
    import torch

    torch.set_num_threads(1)  # one process per core: the parallelism is across clips
    _WORKER_STATE.update(options=options, preprocess=preprocess)


def _decode_in_worker(job: ClipJob) -> DecodedClip | SkippedClip:
    return decode_clip(job, _WORKER_STATE["options"], _WORKER_STATE["preprocess"])


def decode_in_order(jobs: Iterable[ClipJob], options: DecodeOptions, workers: int, preprocess: Preprocess,
                    *, decode: Callable[..., Any] | None = None) -> Iterator[DecodedClip | SkippedClip]:
    """Decoded clips in job order. workers=0 decodes here; else in spawned processes, a few jobs ahead.
    `decode(job, options, preprocess)` defaults to `decode_clip` (a module-level function: it is
    pickled by name for the workers)."""
    decode = decode or decode_clip
    if workers == 0:
        for job in jobs:
            yield decode(job, options, preprocess)
        return
    import multiprocessing

    # spawn, not fork: the main process holds models and threads that must not be forked.
    context = multiprocessing.get_context("spawn")
    job_iter = iter(jobs)
    target = _decode_in_worker if decode is decode_clip else functools.partial(_call_in_worker, decode)
    with context.Pool(workers, initializer=_init_worker, initargs=(options, preprocess)) as pool:
        # A bounded window keeps memory flat when decoding outruns the models.
        pending = deque(pool.apply_async(target, (job,)) for job in itertools.islice(job_iter, 2 * workers))
        while pending:
            result = pending.popleft().get()
            next_job = next(job_iter, None)
            if next_job is not None:
                pending.append(pool.apply_async(target, (next_job,)))
            yield result


def _call_in_worker(decode: Callable[..., Any], job: ClipJob) -> Any:
    return decode(job, _WORKER_STATE["options"], _WORKER_STATE["preprocess"])


# -- embedding and writing (main process) --------------------------------------------------------

class _ShardBuilder:
    """Collects one shard's clips and embeds them in fixed batches (so a rerun computes the same bits)."""

    def __init__(self, clip_encoder, clap_encoder, batch_size: int, splits: dict[str, SplitEntry | None]):
        self.clip_encoder, self.clap_encoder, self.batch_size, self.splits = clip_encoder, clap_encoder, batch_size, splits
        self.clips: list[dict] = []
        self.skipped: list[dict] = []
        self.pending_pixels: list = []  # per clip: uint8 [frames, 3, H, W]
        self.pending_features: list = []  # per clip: float32 [1, 1001, 64]
        self.frame_chunks: list = []
        self.clap_chunks: list = []

    def add(self, result: DecodedClip | SkippedClip) -> None:
        if isinstance(result, SkippedClip):
            self.skipped.append({"path": result.relative, "reason": result.reason})
            return
        from v2a_cli.notes import note

        for message in result.notes:
            note(message)
        entry = self.splits[result.relative]
        self.clips.append({"path": result.relative, "split": entry.split, "label": entry.label,
                           "n_frames": result.n_frames, "duration": round(result.duration, 3)})
        self.pending_pixels.extend(result.pixels)
        self.pending_features.append(result.features)
        self._encode(final=False)

    def _encode(self, *, final: bool) -> None:
        import numpy as np
        import torch

        while len(self.pending_pixels) >= self.batch_size or (final and self.pending_pixels):
            batch, self.pending_pixels = self.pending_pixels[:self.batch_size], self.pending_pixels[self.batch_size:]
            pixels = torch.from_numpy(np.stack(batch))
            self.frame_chunks.append(self.clip_encoder.encode_pixels(pixels, batch_size=self.batch_size).float().cpu())
        while len(self.pending_features) >= self.batch_size or (final and self.pending_features):
            batch, self.pending_features = (self.pending_features[:self.batch_size],
                                            self.pending_features[self.batch_size:])
            features = torch.from_numpy(np.concatenate(batch))
            self.clap_chunks.append(self.clap_encoder.encode_features(features, batch_size=self.batch_size).float().cpu())

    def write(self, cache_dir: Path, index: int, files: list[str]) -> None:
        import torch
        from safetensors.torch import save_file

        self._encode(final=True)
        stem = shard_stem(index)
        tensors_name = None
        if self.clips:
            frame_counts = torch.tensor([0] + [clip["n_frames"] for clip in self.clips], dtype=torch.int64)
            tensors = {
                "frame_clip": torch.cat(self.frame_chunks).to(getattr(torch, FRAME_DTYPE)).contiguous(),
                "frame_offsets": torch.cumsum(frame_counts, dim=0),
                "clap": torch.cat(self.clap_chunks).to(torch.float32).contiguous(),
            }
            tensors_name = f"{stem}.safetensors"
            write_atomically(cache_dir / tensors_name,
                             lambda tmp: save_file(tensors, str(tmp), metadata={"format": CACHE_FORMAT}))
        sidecar = {"shard": index, "tensors": tensors_name, "files": files, "clips": self.clips,
                   "skipped": self.skipped}
        # The sidecar is written last: its presence is what marks the shard finished.
        _write_json(cache_dir / f"{stem}.json", sidecar)


def _extract_shards(data_dir: Path, cache_dir: Path, shards: list[list[str]], todo: list[int],
                    splits: dict[str, SplitEntry | None], *, models: ModelsConfig, fps: float, max_seconds: float,
                    min_seconds: float, workers: int, batch_size: int, device: str,
                    progress: ProgressCallback | None, header: dict) -> int:
    import torch

    from v2a_cli.device import pick_dtype
    from v2a_cli.loaders import load_model

    torch_device = _device_for_rank(device)
    # CLIP in half precision on CUDA only (as the generation pipeline runs it); CLAP always float32.
    clip_dtype = pick_dtype("auto", torch_device)
    clip_encoder = load_model("clip", models.clip, device=torch_device, dtype=clip_dtype)
    clap_encoder = load_model("clap", models.clap, device=torch_device, dtype=torch.float32,
                              tokenizer=models.generator)
    options = DecodeOptions(fps=fps, max_seconds=max_seconds, min_seconds=min_seconds,
                            sample_rate=int(clap_encoder.sample_rate))
    jobs = [ClipJob(str(data_dir / relative), relative, splits[relative]) for index in todo for relative in shards[index]]
    total, done_files = len(jobs), 0
    exit_after = int(os.environ.get(EXIT_AFTER_SHARDS_ENV, "0") or 0)
    preprocess = Preprocess(clip_encoder.pixel_transform, clap_encoder.feature_extractor)
    results = decode_in_order(jobs, options, workers, preprocess)
    written = 0
    with torch.inference_mode(), contextlib.closing(results):
        for index in todo:
            builder = _ShardBuilder(clip_encoder, clap_encoder, batch_size, splits)
            for _ in shards[index]:
                builder.add(next(results))
                done_files += 1
                if progress is not None:
                    progress(done_files, total)
            builder.write(cache_dir, index, shards[index])
            written += 1
            with _cache_lock(cache_dir):
                _refresh_summaries(cache_dir, header)
            if exit_after and written >= exit_after:
                os._exit(17)
    return written


# -- manifest and bookkeeping --------------------------------------------------------------------

def _check_or_start_manifest(cache_dir: Path, header: dict) -> None:
    path = cache_dir / MANIFEST_NAME
    if not path.exists():
        _write_json(path, {**header, "shards": [], "clips_kept": 0, "clips_skipped": 0})
        return
    existing = _read_json(path)
    if existing.get("format") != CACHE_FORMAT:
        raise V2AError(f"{path}: not a {CACHE_FORMAT} cache; extract into a new --out folder")
    for section in ("models", "settings"):
        before, now = existing.get(section, {}), header[section]
        differing = sorted(key for key in before.keys() | now.keys() if before.get(key) != now.get(key))
        if differing:
            was = ", ".join(f"{key}={before.get(key)}" for key in differing)
            wanted = ", ".join(f"{key}={now.get(key)}" for key in differing)
            raise V2AError(f"{path}: this cache was made with other {section} ({was}; this run: {wanted}); "
                           "extract into a new --out folder instead of mixing them")


def _refresh_summaries(cache_dir: Path, header: dict) -> None:
    """Rewrite manifest.json and skipped.jsonl from the shard sidecars (the source of truth)."""
    done = finished_shards(cache_dir)
    ordered = [done[index] for index in sorted(done)]
    manifest = {
        **header,
        "shards": [shard_stem(sidecar["shard"]) for sidecar in ordered],
        "clips_kept": sum(len(sidecar["clips"]) for sidecar in ordered),
        "clips_skipped": sum(len(sidecar["skipped"]) for sidecar in ordered),
    }
    _write_json(cache_dir / MANIFEST_NAME, manifest)
    lines = [json.dumps({"path": item["path"], "reason": item["reason"], "shard": sidecar["shard"]})
             for sidecar in ordered for item in sidecar["skipped"]]
    skipped_path = cache_dir / SKIPPED_NAME
    write_atomically(skipped_path, lambda tmp: tmp.write_text("".join(line + "\n" for line in lines)))


@contextlib.contextmanager
def _cache_lock(cache_dir: Path) -> Iterator[None]:
    """Serialise manifest updates between ranks sharing the cache (POSIX file lock; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(cache_dir / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_temp_files(cache_dir: Path, todo: list[int]) -> None:
    """Temp files a killed run left behind for shards this rank is about to write."""
    for index in todo:
        for leftover in cache_dir.glob(f".{shard_stem(index)}.*.tmp"):
            leftover.unlink(missing_ok=True)


def _device_for_rank(device: str):
    """Under torchrun, plain "cuda"/"auto" means this process's own GPU (LOCAL_RANK)."""
    from v2a_cli.device import device_for_rank
    from v2a_cli.distributed import current_ranks

    ranks = current_ranks()
    return device_for_rank(device, ranks.local_rank if ranks.distributed else None)


def _split_source(split_csv: str | Path | None) -> dict:
    if split_csv is None:
        return {"hash_test_fraction": DEFAULT_TEST_FRACTION}
    try:
        digest = hashlib.sha256(Path(split_csv).read_bytes()).hexdigest()
    except OSError:
        raise InputError(split_csv, "split CSV not readable; pass an existing file to --split-csv")
    return {"csv_sha256": digest}


def check_settings(*, fps: float, max_seconds: float, min_seconds: float, shard_size: int, batch_size: int,
                    workers: int | None) -> None:
    from v2a_cli.validation import check_option

    for name, value in (("fps", fps), ("max_seconds", max_seconds), ("min_seconds", min_seconds),
                        ("shard_size", shard_size), ("batch_size", batch_size), ("workers", workers)):
        check_option(name, value)
    if min_seconds > max_seconds:
        raise V2AError(f"--min-seconds {min_seconds:g}: must be at most --max-seconds ({max_seconds:g})")


MAX_REASONS = 5  # skipped clips named in a one-line summary before "... (all in skipped.json)"


def report_summary(report: ExtractReport) -> str:
    """'3 clips kept, 1 skipped: bikes_noaudio.mp4: no audio track' (the first few reasons)."""
    text = f"{report.clips_kept} clip{'s' if report.clips_kept != 1 else ''} kept, {report.clips_skipped} skipped"
    if report.skipped:
        reasons = "; ".join(f"{Path(item['path']).name}: {item['reason']}" for item in report.skipped[:MAX_REASONS])
        more = f"; ... ({len(report.skipped) - MAX_REASONS} more in {report.skipped_path})" \
            if len(report.skipped) > MAX_REASONS else ""
        text += f": {reasons}{more}"
    return text


def require_clips(report: ExtractReport, data_dir: str | Path) -> None:
    """Raise when extraction kept no clip at all (a single-process run): nothing to train or export."""
    if report.world_size == 1 and report.clips_kept == 0:
        raise InputError(data_dir, f"no usable clips, {report_summary(report)}; fix or replace these videos")


def write_atomically(path: Path, write) -> None:
    """Call write(temp_path) for a temp file next to `path`, then rename it over `path`."""
    with atomic_output(path, overwrite=True) as tmp:
        write(tmp)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise V2AError(f"{path}: unreadable ({exc}); delete it and rerun v2a extract")


def _write_json(path: Path, data: dict) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8"))


def _one_line(exc: Exception) -> str:
    message = exc.problem if isinstance(exc, InputError) else str(exc)  # the path is already in the report
    return shorten(message, 300) or type(exc).__name__
