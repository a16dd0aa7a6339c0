"""All the scale figures in one run (`bench/gpu.sh` calls this). Writes one JSON file.

    python bench/gpu_bench.py [--out bench/results/gpu-DATE.json] [--smoke] [--compile/--no-compile]

(--smoke without --out writes its JSON into the temp folder: nothing is left in the checkout.)

On a GPU: the full-size AudioLDM-S (random weights, the real structure: UNet 185 M parameters) in fp16:
  - seconds per clip at batch 1, paper preset (200 DDIM steps, guidance 4.5) and fast preset;
  - clips/s at batch 16 / 32 / 64 (fast preset) against the FLOP limit: UNet FLOPs of one guided
    step counted with torch.utils.flop_counter.FlopCounterMode, times the steps, over the device's
    peak dense fp16 rate (table below, or $V2A_PEAK_TFLOPS);
  - generative mapper rows/s (paper-size diffusion Transformer, 200 steps, batch 1 vs 256);
  - extraction clips/s against decoding alone (tiny CLIP / CLAP: the models are not the bottleneck);
  - training pairs/s for the four mapper variants (paper sizes, batch 448) and the implied time of
    the paper's 100 epochs over 183,730 pairs.
`--smoke` runs every part on the CPU with the tiny models and a few steps (tested in CI).
A part that fails is recorded with its error and the others still run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

# Dense fp16/bf16 tensor-core peaks (no sparsity), TFLOP/s, by a substring of the device name.
PEAK_TFLOPS = {"H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
               "A10": 125.0, "4090": 165.0, "V100": 125.0}
VGGSOUND_TRAIN_PAIRS = 183_730
FAST_FALLBACK = {"scheduler": "dpm", "steps": 25}  # the fast preset, if generation/pipeline.py has no PRESETS


def preset(name: str) -> dict:
    from v2a_cli.generation import pipeline

    presets = getattr(pipeline, "PRESETS", None)
    if presets and name in presets:
        return {key: presets[name][key] for key in ("scheduler", "steps") if key in presets[name]}
    return {"scheduler": "ddim", "steps": 200} if name == "paper" else dict(FAST_FALLBACK)


def peak_flops(device: torch.device) -> float | None:
    import os

    if os.environ.get("V2A_PEAK_TFLOPS"):
        return float(os.environ["V2A_PEAK_TFLOPS"]) * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tflops * 1e12 for key, tflops in PEAK_TFLOPS.items() if key in name), None)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def guided_step_flops(generator, duration: float) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    frames = generator.latent_frames(duration)
    shape = (2, generator.unet.config.in_channels, frames // generator.vae_scale_factor,
             generator.mel_bins // generator.vae_scale_factor)
    latents = torch.randn(shape, device=generator.device, dtype=generator.dtype)
    labels = torch.randn((2, generator.embed_dim), device=generator.device, dtype=generator.dtype)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        generator.unet(latents, torch.tensor(500), encoder_hidden_states=None, class_labels=labels)
    return int(counter.get_total_flops())


def time_generate(generator, batch: int, *, steps: int, scheduler: str, duration: float, compile: bool,
                  repeats: int = 1) -> float:
    """Seconds per call of generate() for `batch` clips (after one warm-up call)."""
    embeddings = torch.randn(batch, generator.embed_dim)
    seeds = list(range(batch))
    generator.generate(embeddings, seeds=seeds, steps=min(steps, 2), duration=duration, scheduler=scheduler,
                       compile=compile)  # warm-up (and compilation)
    synchronize(generator.device)
    started = time.perf_counter()
    for _ in range(repeats):
        generator.generate(embeddings, seeds=seeds, steps=steps, duration=duration, scheduler=scheduler, compile=compile)
    synchronize(generator.device)
    return (time.perf_counter() - started) / repeats


def part_generation(args, device: torch.device, work: Path) -> dict:
    from v2a_cli.audioldm.generator import AudioLDMGenerator
    from v2a_cli.registry import quiet_library_loading
    from v2a_cli.testing.zoo_generator import build_generator

    with quiet_library_loading():
        folder = build_generator(work / "audioldm", full_size=not args.smoke)
    dtype = torch.float16 if device.type == "cuda" else torch.float32  # bf16 on CPU: tests/generation/test_audioldm_scale.py
    generator = AudioLDMGenerator.load(str(folder), device=device, dtype=dtype)
    duration = 0.5 if args.smoke else 10.0
    paper, fast = preset("paper"), preset("fast")
    if args.smoke:
        paper, fast = {**paper, "steps": 2}, {**fast, "steps": 2}
    out: dict = {"unet_parameters_m": sum(p.numel() for p in generator.unet.parameters()) / 1e6,
                 "dtype": str(dtype).replace("torch.", ""), "duration_s": duration, "paper_preset": paper,
                 "fast_preset": fast, "compile": args.compile}
    flops = guided_step_flops(generator, duration)
    out["unet_gflop_per_guided_step"] = flops / 1e9
    out["s_per_clip_batch1_paper"] = time_generate(generator, 1, duration=duration, compile=False, **paper)
    out["s_per_clip_batch1_fast"] = time_generate(generator, 1, duration=duration, compile=False, **fast)
    peak = peak_flops(device)
    out["peak_tflops"] = peak / 1e12 if peak else None
    for batch in args.batches:
        seconds = time_generate(generator, batch, duration=duration, compile=args.compile, **fast)
        achieved = flops * fast["steps"] * batch / seconds
        out[f"clips_per_s_batch{batch}"] = batch / seconds
        out[f"flop_fraction_batch{batch}"] = achieved / peak if peak else None
        print(f"  batch {batch}: {batch / seconds:.2f} clips/s, {achieved / 1e12:.1f} TFLOP/s (UNet)", flush=True)
    if device.type == "cuda":
        out["auto_batch_size_10s"] = generator.max_batch_size(10.0)
    return out


def part_mapper(args, device: torch.device, work: Path) -> dict:
    import mapper_throughput

    return mapper_throughput.measure(arch="transformer", steps=3 if args.smoke else 200, rows=8 if args.smoke else 256,
                                     single_rows=1 if args.smoke else 8, tiny=args.smoke, device=device)


def part_extraction(args, device: torch.device, work: Path) -> dict:
    import extract_throughput

    if args.smoke:
        return extract_throughput.measure(clips=2, seconds=1.5, size=(96, 64), workers=0, device=str(device),
                                          work=work / "extract")
    return extract_throughput.measure(clips=48, seconds=10.0, size=(640, 360), workers=None, device=str(device),
                                      work=work / "extract")


def part_training(args, device: torch.device, work: Path) -> dict:
    import train_throughput

    from v2a_cli.mapper.networks import NETWORKS
    from v2a_cli.testing.zoo_mapper import TINY_SETTINGS

    sizes = {key: value for key, value in TINY_SETTINGS.items() if key != "sampling_steps"} if args.smoke else {}
    out = {}
    for kind, arch in NETWORKS:
        rate = train_throughput.measure(kind, arch, steps=1 if args.smoke else 100, batch_size=8 if args.smoke else 448,
                                        device=device, warmup=1 if args.smoke else 5, **sizes)
        out[f"{kind}/{arch}"] = {"pairs_per_s": rate,
                                 "paper_100_epochs_min": 100 * VGGSOUND_TRAIN_PAIRS / rate / 60}
    return out


PARTS = {"generation": part_generation, "mapper": part_mapper, "extraction": part_extraction, "training": part_training}


def default_out(smoke: bool, stamp: datetime.datetime) -> Path:
    """A GPU run's figures go to bench/results/ (to be copied into docs/performance.md); a smoke run only
    checks the script, so its JSON goes to the temp folder and leaves the checkout clean."""
    if smoke:
        return Path(tempfile.gettempdir()) / f"v2a-gpu-smoke-{stamp:%Y-%m-%dT%H%M%S}.json"
    return BENCH / "results" / f"gpu-{stamp:%Y-%m-%d}.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny models, a few steps (checks the script)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file (default bench/results/gpu-DATE.json; --smoke: a file in the temp folder)")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile the UNet for the batched runs (default: on CUDA)")
    args = parser.parse_args()
    from v2a_cli.device import pick_device

    device = torch.device("cpu") if args.smoke else pick_device("auto")
    args.compile = (device.type == "cuda") if args.compile is None else args.compile
    args.batches = [2] if args.smoke else [16, 32, 64]
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out = args.out or default_out(args.smoke, stamp)
    report: dict = {
        "date": stamp.isoformat(timespec="seconds"), "smoke": args.smoke, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "python": platform.python_version(), "command": " ".join(sys.argv),
    }
    with tempfile.TemporaryDirectory() as temp:
        for name in args.parts.split(","):
            print(f"{name} ...", flush=True)
            started = time.perf_counter()
            try:
                report[name] = PARTS[name](args, device, Path(temp))
            except Exception as exc:  # one broken part must not lose the others' figures
                traceback.print_exc()
                report[name] = {"error": f"{type(exc).__name__}: {exc}"}
            report[name]["wall_s"] = time.perf_counter() - started
            print(json.dumps({name: report[name]}, indent=1), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")
    failed = [name for name in args.parts.split(",") if "error" in report[name]]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
