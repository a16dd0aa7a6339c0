"""Record the sha256 of every output of a fixed set of `v2a` runs on the tiny zoo (a developer's tool).

    python tests/generation/golden/record.py OUT.json [--work DIR]
    python tests/generation/golden/record.py OUT.json --compare BEFORE.json

Used around refactors of the generation core (issue #17): record before moving code, record after,
compare. Byte identity holds only on one machine (BLAS kernels differ between CPUs), so the hashes
are never committed or asserted by a test; this script is run by hand on one machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def runs(media: dict[str, Path], zoo: Path) -> dict[str, list[str]]:
    """Name -> `v2a` arguments; OUT in an argument is that run's own output folder."""
    fast = ["--steps", "2"]
    ssv2a = ["--mapper", str(zoo / "ssv2a"), "--var-samples", "2", "--cycle-its", "1", "--cycle-samples", "2"]
    return {
        "picture": ["generate", media["picture"], "-o", "OUT/picture.wav", *fast],
        "picture-variations-candidates": ["generate", media["picture"], "-o", "OUT/p.wav", "-n", "2",
                                          "--candidates", "2", "--seed", "7", *fast],
        "picture-bridge-30s": ["generate", media["picture"], "-o", "OUT/p.wav", "--mapper", "bridge",
                               "--duration", "30", "--prompt", "rain", *fast],
        "video-continue": ["generate", media["video"], "-o", "OUT/v.wav", "--join", "continue", "--scenes", "off",
                           *fast],
        "video-crossfade": ["generate", media["video"], "-o", "OUT/v.wav", "--join", "crossfade", "--scenes", "off",
                            *fast],
        "video-scenes-auto": ["generate", media["video"], "-o", "OUT/v.wav", "--scenes", "auto",
                              "--scene-threshold", "0.05", *fast],
        "sources-detect": ["generate", media["picture"], "-o", "OUT/d.wav", "--sources", "detect", *fast],
        "ssv2a": ["generate", media["picture"], "-o", "OUT/s.wav", *ssv2a, *fast],
        "ssv2a-video-detect": ["generate", media["short_video"], "-o", "OUT/s.wav", "--sources", "detect", *ssv2a,
                               *fast],
        "batch": ["generate", media["picture"], media["picture2"], media["short_video"], media["sound"],
                  "-d", "OUT", "-n", "2", *fast],
        "compose": ["compose", "--image", f"{media['picture']}:2", "--text", "heavy rain", "--audio", media["sound"],
                    "-o", "OUT/c.wav", "-n", "2", *fast],
        "compose-var-samples": ["compose", "--image", media["picture"], "--var-samples", "3", "--mapper-steps", "3",
                                "-o", "OUT/c.wav", *fast],
        "ssv2a-video": ["generate", media["short_video"], "-o", "OUT/s.wav", *ssv2a, *fast],
        "compose-ssv2a": ["compose", "--image", media["picture"], "--text", "rain", "-o", "OUT/c.wav", *ssv2a, *fast],
        "interpolate": ["interpolate", media["sound"], "--to", media["picture"], "--steps", "3", "-d", "OUT/steps",
                        "-o", "OUT/all.wav", "--denoise-steps", "2"],
        "interpolate-text-slerp": ["interpolate", "--from-text", "a dog", "--to-text", "a flute", "--steps", "3",
                                   "--slerp", "-d", "OUT/steps", "--denoise-steps", "2", "--candidates", "2"],
    }


def make_media(folder: Path) -> dict[str, Path]:
    from v2a_cli.testing.media import make_image, make_scene_video, make_video, make_wav

    folder.mkdir(parents=True, exist_ok=True)
    return {
        "picture": make_image(folder / "dog.png"),
        "picture2": make_image(folder / "cat.png", color=(40, 90, 200)),
        "video": make_scene_video(folder / "film.mp4", (12.0, 11.0, 12.0)),
        "short_video": make_video(folder / "short.mp4", seconds=3.0),
        "sound": make_wav(folder / "tone.wav", seconds=2.0),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spy_on_waveforms(waves: dict[str, str]) -> None:
    """Record the sha256 of each float32 waveform as it is written: the tiny zoo's sounds are ~1e-11 loud,
    all zeros in a 16-bit WAV, so the file hashes alone would only prove lengths."""
    import numpy as np

    from v2a_cli.media import audio, mux

    def digest(path, waveform) -> None:
        waves[str(path)] = hashlib.sha256(np.ascontiguousarray(waveform, dtype=np.float32).tobytes()).hexdigest()

    real_wav, real_mux = audio.write_wav, mux.mux_audio_into_video

    def write_wav(path, waveform, *args, **kwargs):
        digest(path, waveform)
        return real_wav(path, waveform, *args, **kwargs)

    def mux_audio_into_video(video_path, waveform, sample_rate, out_path, *args, **kwargs):
        digest(out_path, waveform)
        return real_mux(video_path, waveform, sample_rate, out_path, *args, **kwargs)

    audio.write_wav, mux.mux_audio_into_video = write_wav, mux_audio_into_video


def record(work: Path, only: list[str] | None = None) -> dict[str, dict[str, str]]:
    import torch

    from v2a_cli.cli import main
    from v2a_cli.testing.zoo import build_zoo

    waves: dict[str, str] = {}
    spy_on_waveforms(waves)

    torch.set_num_threads(1)
    os.environ["V2A_CACHE"] = str(work / "cache")
    toml = build_zoo(work / "zoo")
    media = make_media(work / "media")
    results: dict[str, dict[str, str]] = {}
    for name, args in runs(media, toml.parent).items():
        if only and name not in only:
            continue
        out = work / "out" / name
        out.mkdir(parents=True, exist_ok=True)
        argv = ["--models", str(toml), "--quiet", *(str(a).replace("OUT", str(out)) for a in args)]
        code = 0
        try:
            main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        files = sorted(p for p in out.rglob("*") if p.is_file())
        results[name] = {"exit": str(code), **{str(p.relative_to(out)): sha256(p) for p in files},
                         **{f"{Path(p).relative_to(out)} (waveform)": h for p, h in waves.items()
                            if Path(p).is_relative_to(out)}}
        print(f"{name}: exit {code}, {len(files)} files", file=sys.stderr)
    return results


def compare(before: dict, after: dict) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            lines.append(f"DIFFERS {name}: before {before.get(name)} after {after.get(name)}")
        else:
            lines.append(f"same    {name}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--work", type=Path, default=None, help="Folder for the zoo, media and outputs (default: temp).")
    parser.add_argument("--compare", type=Path, default=None, help="A JSON recorded earlier: print what differs.")
    parser.add_argument("--only", nargs="*", default=None, help="Only these runs.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        results = record(args.work or Path(temp), args.only)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    if args.compare is not None:
        before = json.loads(args.compare.read_text())
        if args.only:
            before = {k: v for k, v in before.items() if k in args.only}
        lines = compare(before, results)
        print("\n".join(lines))
        return 1 if any(line.startswith("DIFFERS") for line in lines) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
