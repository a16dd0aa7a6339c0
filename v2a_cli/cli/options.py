"""Options shared by the commands that generate (generate, compose, interpolate): declared once."""

from __future__ import annotations

import typer

OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing outputs.")
SKIP_EXISTING = typer.Option(False, "--skip-existing", help="Leave outputs that already exist alone (a note each) and make the rest: rerun a stopped batch.")
SIDECAR = typer.Option(False, "--sidecar", help="Also write OUTPUT.json beside each output: version, models, settings, seeds, windows.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars (the same as `v2a --quiet`).")
MAPPER = typer.Option(None, "--mapper", help="Mapper checkpoint (folder or Hub id), or 'bridge' (zero-shot, the default).")
GENERATOR = typer.Option(None, "--generator", help="AudioLDM diffusers folder or Hub id (default cvssp/audioldm-s-full-v2).")
CLIP = typer.Option(None, "--clip", help="open_clip model (hf-hub: id or folder).")
CLAP = typer.Option(None, "--clap", help="AudioLDM's CLAP: original .ckpt (path/URL) or converted folder.")
PRESET = typer.Option("fast", "--preset", help="fast (dpm, 25 steps) or paper (ddim, 200 steps, guidance 4.5); a mapper may declare its own (SSV2A: guidance 2.5; paper: 3 candidates); flags override both.")
STEPS = typer.Option(None, "--steps", help="Denoising steps (default: the preset's; paper: 200 with ddim).")
SCHEDULER = typer.Option(None, "--scheduler", help="ddim (paper), dpm (fast, ~25 steps) or euler (default: the preset's).")
GUIDANCE = typer.Option(None, "--guidance", help="AudioLDM classifier-free guidance (default: the mapper's if it declares one, SSV2A 2.5; else the preset's, 4.5).")
MAPPER_STEPS = typer.Option(None, "--mapper-steps", help="Generative (diffusion) mapper's sampling steps (default: the checkpoint's, e.g. 200).")
MAPPER_GUIDANCE = typer.Option(None, "--mapper-guidance", help="Generative mapper guidance (paper's best 0.9).")
NEGATIVE_PROMPT = typer.Option(None, "--negative-prompt", help="Text to steer away from.")
AGGREGATE = typer.Option("average", "--aggregate", help="Video frames -> one embedding: average, middle, random.")
BRIDGE_TOP_K = typer.Option(5, "--bridge-top-k", help="Zero-shot bridge: sound classes mixed.")
BRIDGE_TEMPERATURE = typer.Option(0.01, "--bridge-temperature", help="Zero-shot bridge: softmax temperature.")
DEVICE = typer.Option("auto", "--device", help="auto, cpu, cuda, mps.")
DTYPE = typer.Option("auto", "--dtype", help="auto (float16 on CUDA), float32, float16, bfloat16.")


def _batch_size(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: give a whole number or auto")


BATCH_SIZE = typer.Option("4", "--batch-size", callback=_batch_size,
                          help="Sounds generated per model call, or auto (the largest that fits in free CUDA memory; 4 on CPU).")
COMPILE = typer.Option(False, "--compile", help="torch.compile the generator's UNet (slow first batch; faster long runs on a GPU).")
SOURCES = typer.Option("whole", "--sources", help="whole: the picture as one source; detect: also find its sound sources (boxes) and mix them.")
MAX_SOURCES = typer.Option(8, "--max-sources", help="Source detection: at most this many boxes besides the whole picture.")
DETECT_THRESHOLD = typer.Option(0.2, "--detect-threshold", help="Source detection: keep boxes the detector scores above this (0..1).")
DETECTOR = typer.Option(None, "--detector", help="Open-vocabulary detector: OWLv2/OWL-ViT Hub id or folder (default google/owlv2-base-patch16-ensemble).")
BOXES = typer.Option(None, "--boxes", help="Write the picture with the sources' boxes and labels drawn (.png; a folder for several inputs).")
VAR_SAMPLES = typer.Option(None, "--var-samples", help="SSV2A mapper: variational samples averaged per step (the preset's: fast 16, paper 64; more = typical, less diverse).")
CYCLE_ITS = typer.Option(None, "--cycle-its", help="SSV2A mapper: Cycle Mix rounds (the preset's: fast 8, paper 64; more = closer to the sources).")
CYCLE_SAMPLES = typer.Option(None, "--cycle-samples", help="SSV2A mapper: remixes drawn per Cycle Mix round (the preset's: fast 16, paper 64).")
ETA = typer.Option(None, "--eta", help="DDIM eta (ddim only): 0 deterministic, 1 = AudioLDM's own sampler (default: the preset's; paper: 1).")
CANDIDATES = typer.Option(None, "--candidates", help="Draw N sounds per output, keep the closest to the condition (CLAP audio cosine; AudioLDM: 3). Default 1; --preset paper with an SSV2A mapper: 3.")


def candidate_note(path, choice: dict) -> str:
    """One stderr line saying which candidate an output kept."""
    cosine = choice["clap_cosines"][choice["chosen"]]
    return (f"{path}: kept candidate {choice['chosen'] + 1} of {choice['candidates']} "
            f"(seed {choice['seed']}, CLAP cosine {cosine:.3f})")
