"""Options shared by the commands that generate (generate, compose, interpolate): declared once."""

from __future__ import annotations

import typer

JSON = typer.Option(False, "--json", help='Print the result as JSON on stdout (doctor: its report; sources: {"sources": [{"class", "score", "box", "weight"}]}; eval: the scores, instead of the table).')
OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing outputs.")
OUTPUT_HELP = ("The output file: generate: one input's .wav (or .mp4/.mov/.mkv/.webm for a video input); compose: "
               "the scene's .wav (variation v > 1 adds _vN); interpolate: all steps joined into one .wav.")
OUTPUT = typer.Option(None, "--output", "-o", help=OUTPUT_HELP)
OUTPUT_REQUIRED = typer.Option(..., "--output", "-o", help=OUTPUT_HELP)  # compose: the one thing it writes
OUT_DIR = typer.Option(None, "--out-dir", "-d", help="Folder for the outputs (default: current folder): generate names them after the inputs, interpolate 00.wav, 01.wav, ...")
SEED = typer.Option(0, "--seed", help="Random seed (variation v uses seed + v; interpolate: every step uses it; train: initialisation, shuffling, noise, split); -1 draws one (printed).")
VARIATIONS = typer.Option(1, "--variations", "-n", help="Sounds per input (compose: per scene); variation v > 1 adds _vN to the name.")
DURATION = typer.Option(10.0, "--duration", help="Seconds of sound for a picture, text, sound, mix or interpolation step (any length: longer than 10.24 s is windowed and joined); a video gets its own length.")
FPS = typer.Option(1.0, "--fps", help="Video frames sampled per second (generate: each window is conditioned on its own; an SSV2A mapper with agg.pth takes 64 per window instead).")
MAX_SECONDS = typer.Option(10.0, "--max-seconds", help="Video: frames are sampled from the first N seconds (generate covers the whole video instead).")
DATA_HELP = "Folder of videos (searched recursively); train embeds it into OUT/embeddings first (resumable)."
DATA = typer.Option(None, "--data", help=DATA_HELP)
DATA_REQUIRED = typer.Option(..., "--data", help=DATA_HELP)  # extract: what it is for
OUT = typer.Option(..., "--out", help="The run's folder; rerun with the same one to resume (extract: embedding shards; train: checkpoints/, the exported mapper/, embeddings/).")
SPLIT_CSV = typer.Option(None, "--split-csv", help="VGGSound CSV (youtube_id,start_seconds,label,split): each clip's split (default: a stable 95/5 hash split); train reads its train rows.")
SKIP_EXISTING = typer.Option(False, "--skip-existing", help="Leave outputs that already exist alone (a note each) and make the rest: rerun a stopped batch.")
SIDECAR = typer.Option(False, "--sidecar", help="Also write OUTPUT.json beside each output: version, models, settings, seeds, windows.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars or info logs (also `v2a --quiet CMD`).")
MAPPER = typer.Option(None, "--mapper", help="Mapper checkpoint (folder or Hub id), or 'bridge' (zero-shot, the default).")
GENERATOR = typer.Option(None, "--generator", help="AudioLDM diffusers folder or Hub id (default cvssp/audioldm-s-full-v2).")
CLIP = typer.Option(None, "--clip", help="open_clip model (hf-hub: id or folder).")
CLAP = typer.Option(None, "--clap", help="AudioLDM's CLAP: original .ckpt (path/URL) or converted folder.")
PRESET = typer.Option("fast", "--preset", help="fast (dpm, 25 steps) or paper (ddim, 200 steps, guidance 4.5); a mapper may declare its own (SSV2A: guidance 2.5; paper: 3 candidates); flags override both.")
DENOISE_STEPS_HELP = "Denoising steps (default: the preset's; paper: 200 with ddim)."
STEPS = typer.Option(None, "--steps", "--denoise-steps", help=DENOISE_STEPS_HELP)
DENOISE_STEPS = typer.Option(None, "--denoise-steps", help=DENOISE_STEPS_HELP)  # interpolate, where --steps counts sounds
SCHEDULER = typer.Option(None, "--scheduler", help="ddim (paper), dpm (fast, ~25 steps) or euler (default: the preset's).")
GUIDANCE = typer.Option(None, "--guidance", help="AudioLDM classifier-free guidance (default: the mapper's if it declares one, SSV2A 2.5; else the preset's, 4.5).")
MAPPER_STEPS = typer.Option(None, "--mapper-steps", help="Generative (diffusion) mapper's sampling steps (default: the checkpoint's, e.g. 200).")
MAPPER_GUIDANCE = typer.Option(None, "--mapper-guidance", help="Generative mapper guidance (paper's best 0.9).")
NEGATIVE_PROMPT = typer.Option(None, "--negative-prompt", help="Text to steer away from.")
AGGREGATE = typer.Option("average", "--aggregate", help="Video frames -> one CLIP embedding: average, middle, random.")
BRIDGE_TOP_K = typer.Option(5, "--bridge-top-k", help="Zero-shot bridge: sound classes mixed.")
BRIDGE_TEMPERATURE = typer.Option(0.01, "--bridge-temperature", help="Zero-shot bridge: softmax temperature.")
DEVICE = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N, mps (under torchrun: each rank's own GPU).")
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
VAR_SAMPLES = typer.Option(None, "--var-samples", help="Variational samples averaged per picture: an SSV2A mapper's own draws (default: the preset's, fast 16, paper 64); compose also averages this many draws of another generative mapper (default 1). More = typical, less diverse.")
CYCLE_ITS = typer.Option(None, "--cycle-its", help="SSV2A mapper: Cycle Mix rounds (the preset's: fast 8, paper 64; more = closer to the sources).")
CYCLE_SAMPLES = typer.Option(None, "--cycle-samples", help="SSV2A mapper: remixes drawn per Cycle Mix round (the preset's: fast 16, paper 64).")
ETA = typer.Option(None, "--eta", help="DDIM eta (ddim only): 0 deterministic, 1 = AudioLDM's own sampler (default: the preset's; paper: 1).")
CANDIDATES = typer.Option(None, "--candidates", help="Draw N sounds per output, keep the closest to the condition (CLAP audio cosine; AudioLDM: 3). Default 1; --preset paper with an SSV2A mapper: 3.")


def candidate_note(path, choice: dict) -> str:
    """One stderr line saying which candidate an output kept."""
    cosine = choice["clap_cosines"][choice["chosen"]]
    return (f"{path}: kept candidate {choice['chosen'] + 1} of {choice['candidates']} "
            f"(seed {choice['seed']}, CLAP cosine {cosine:.3f})")
