"""`v2a extract` throughput against decoding alone: is extraction bound by decoding?

    python bench/extract_throughput.py [--clips 24] [--seconds 10] [--size 640x360] [--workers N] [--device auto]

Writes `--clips` synthetic videos (H.264 + AAC) and the tiny zoo's CLIP and CLAP into a temp folder,
then measures on this machine in one run:
  decode   clips/s of decoding the same sampled frames (PyAV, 1 fps, first 10 s) and audio track (PyAV,
           native rate) with the same worker pool and nothing else;
  prepared clips/s of the workers' whole job (decode + CLIP pixels + CLAP log-mel), no models;
  extract  clips/s of `extract_folder` (decode + preprocessing in the workers, models + shard writing
           in the main process).
Both clocks start when the first clip is back (pool start-up and model loading excluded). Target:
extract / decode >= 0.8. With the tiny models this isolates the pipeline's overhead; on a GPU with
the real models see bench/gpu.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from v2a_cli.training.splits import SplitEntry
from v2a_cli.training.extract import ClipJob, DecodeOptions, Preprocess, decode_in_order, default_workers


def decode_only(job: ClipJob, options: DecodeOptions, preprocess: Preprocess):
    """What PyAV alone does for one clip: probe, the sampled frames as RGB images, the audio track."""
    from v2a_cli.media.audio import load_audio_native
    from v2a_cli.media.video import probe_video, sample_frames

    probe_video(job.path)
    frames = sample_frames(job.path, fps=options.fps, max_seconds=options.max_seconds)
    samples, _ = load_audio_native(job.path, max_seconds=options.max_seconds)
    return len(frames), samples.shape[-1]


def make_videos(folder: Path, clips: int, seconds: float, size: tuple[int, int]) -> Path:
    from v2a_cli.testing.media import make_video

    first = make_video(folder / "clip_000000.mp4", seconds=seconds, fps=25, size=size)
    for index in range(1, clips):  # same bytes, different names: decoding cost is what matters
        (folder / f"clip_{index:06d}.mp4").write_bytes(first.read_bytes())
    return folder


def measure(*, clips: int = 24, seconds: float = 10.0, size: tuple[int, int] = (640, 360), workers: int | None = None,
            device: str = "auto", batch_size: int = 64, models=None, work: Path | None = None) -> dict:
    """{"decode_clips_per_s", "extract_clips_per_s", "ratio", ...}; `models`: a ModelsConfig (default:
    the tiny zoo's CLIP and CLAP, built in `work`)."""
    from v2a_cli.registry import quiet_library_loading
    from v2a_cli.training.extract import extract_folder

    workers = default_workers() if workers is None else workers
    with tempfile.TemporaryDirectory() as temp:
        work = Path(work or temp)
        os.environ.setdefault("V2A_CACHE", str(work / "v2a-cache"))
        videos = make_videos(work / "videos", clips, seconds, size)
        if models is None:
            from v2a_cli.models_config import ModelsConfig
            from v2a_cli.testing.zoo_clap import build_clap
            from v2a_cli.testing.zoo_clip import build_clip

            with quiet_library_loading():
                clip_dir = build_clip(work / "zoo" / "clip")
                clap_ckpt = Path(build_clap(work / "zoo" / "clap"))
            models = ModelsConfig(clip=str(clip_dir), clap=str(clap_ckpt), generator=str(clap_ckpt.parent))

        options = DecodeOptions(fps=1.0, max_seconds=10.0, min_seconds=1.0, sample_rate=48000)
        jobs = [ClipJob(str(path), path.name, SplitEntry("train")) for path in sorted(videos.iterdir())]
        def rate(preprocess: Preprocess, decode) -> float:
            started = None
            for _ in decode_in_order(jobs, options, workers, preprocess, decode=decode):
                started = started or time.perf_counter()
            return (clips - 1) / (time.perf_counter() - started)

        decode_rate = rate(Preprocess(None, None), decode_only)
        prepared_rate = rate(_tiny_preprocess(models), None)

        first: list[float] = []

        def on_progress(done: int, total: int) -> None:
            if not first:
                first.append(time.perf_counter())

        extract_folder(videos, work / "cache", models=models, shard_size=clips, workers=workers,
                       batch_size=batch_size, device=device, progress=on_progress)
        extract_rate = (clips - 1) / (time.perf_counter() - first[0])
    return {"clips": clips, "seconds": seconds, "size": f"{size[0]}x{size[1]}", "workers": workers, "device": device,
            "decode_clips_per_s": decode_rate, "decode_and_preprocess_clips_per_s": prepared_rate,
            "extract_clips_per_s": extract_rate, "ratio": extract_rate / decode_rate,
            "workers_ratio": prepared_rate / decode_rate}


def _tiny_preprocess(models) -> Preprocess:
    """The workers' preprocessing objects, taken from the models as extraction does."""
    from v2a_cli.loaders import load_model

    clip = load_model("clip", models.clip, device="cpu")
    clap = load_model("clap", models.clap, device="cpu", tokenizer=models.generator)
    return Preprocess(clip.pixel_transform, clap.feature_extractor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: cores - 1, at most 8)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    result = measure(clips=args.clips, seconds=args.seconds, size=(width, height), workers=args.workers,
                     device=args.device, batch_size=args.batch_size)
    print(f"{result['clips']} clips of {args.seconds:g} s at {args.size}, {result['workers']} workers: "
          f"decode alone {result['decode_clips_per_s']:.2f} clips/s, decode + preprocessing "
          f"{result['decode_and_preprocess_clips_per_s']:.2f} clips/s (ratio {result['workers_ratio']:.2f}), extract {result['extract_clips_per_s']:.2f} clips/s, "
          f"ratio {result['ratio']:.2f} (target >= 0.8)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
