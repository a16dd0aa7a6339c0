"""Write the SSV2A reference fixtures from SSV2A's original code (run by hand, never at test time).

    python tests/mapper/ssv2a/data/make_ssv2a_fixtures.py /path/to/SSV2A-clone [OUT_DIR]

Needs a clone (or `git archive`) of https://github.com/wguo86/SSV2A and torch. SSV2A's own modules
(`ssv2a/model/modules.py`, `manifold.py`, `generator.py`, `remixer.py`, `aggregator.py` and the
`Pipeline.cycle_mix` of `pipeline.py`) run unchanged; only the imports they make for training, data
preparation and audio generation (ultralytics, audioldm, wandb, CLIP, ...) are replaced by empty
stand-ins, since none of that code runs here.

For each config variant it builds the model with random weights (every parameter redrawn from a
seeded normal, so no zero-initialised layer hides a mistake), saves it in SSV2A's own layout
(`<variant>/ssv2a.json` + `ssv2a.pth`, and `agg.pth` for the aggregator), and writes the inputs and
the original code's outputs into `<variant>/outputs.safetensors`. Sampled outputs are produced after
`torch.manual_seed(seed)`, one row per seed, so v2a's per-row torch.Generator(seed) sees the same
random stream; `cycle_batch_*` maps all rows in one call after `torch.manual_seed(SEEDS[0])`, as
SSV2A's video path maps a clip's frames (v2a: `map_slots(..., seed=SEEDS[0])`).
"""

from __future__ import annotations

import copy
import json
import random
import sys
import types
from pathlib import Path

import torch

CLIP_DIM = 48
CLAP_DIM = 512  # SSV2A's Cycle Mix hard-codes 512
MANIFOLD_DIM = 32
SLOTS = 6
SEEDS = [0, 1, 7]
AGG_DIM = 32


def mlp(layers, variational, resnet=False, dropout=0.1):
    return {"arch": "mlp", "variational": variational, "layers": layers, "resnet": resnet, "dropout": dropout,
            "kl_weight": 0.001, "cr_weight": 0.0}


def transformer(variational):
    # embed 16, 2 learned tokens -> flattened 32 -> head MLP [32, 32]
    return {"arch": "transformer", "variational": variational, "embed_dim": 16, "out_dim": 32, "patches": 4,
            "pe_inject": "add", "pe_res": 64, "num_layers": 2, "nhead": 2, "dropout": 0.1, "exp_rate": 2,
            "layers": [32, 32], "resnet": False, "kl_weight": 0.001, "cr_weight": 0.0}


def styler(variational):
    return {"arch": "transformer", "variational": variational, "embed_dim": 32, "num_layers": 2, "nhead": 4,
            "dropout": 0.1, "exp_rate": 1, "kl_weight": 0.001}


def config(manifold, generator, guidance, styler_variational, slot=SLOTS):
    return {"clip_dim": CLIP_DIM, "clap_dim": CLAP_DIM, "manifold_dim": MANIFOLD_DIM, "checkpoints": ".",
            "manifold": manifold, "generator": {"disabled": False, **generator},
            "remixer": {"slot": slot, "guidance": guidance, "cfg": 0.1, "styler": styler(styler_variational)},
            "audioldm_version": "audioldm-s-full-v2"}


def moe_for(in_dim, variational, diverse):
    return {"arch": "moe", "variational": variational, "experts": 5, "diverse_experts": diverse,
            "layers": [in_dim, 24, 16, 32], "resnet": False, "dropout": 0.1, "rrl_weight": 0.0,
            "kl_weight": 0.001, "cr_weight": 0.0}


# name -> (config, what to compare: "cycle" = the whole Cycle Mix; "encoders" = 2-D encoder passes)
VARIANTS = {
    # deterministic end to end
    "mlp_deterministic": (config(mlp([32, 24, 32], False, resnet=True), mlp([32, 32], False), "manifold", False),
                          "cycle"),
    # every network variational; the remixer also reads the generator's CLAPs
    "mlp_variational": (config(mlp([32, 32], True), mlp([32, 40, 32], True, resnet=True), "manifold+generator",
                               True), "cycle"),
    "mlp_generator_guidance": (config(mlp([32, 32], True, dropout=0), mlp([32, 32], False), "generator", True),
                               "cycle"),
    # SSV2A's transformer and moe encoders take [B, D] only: compared pass by pass
    "transformer": (config(transformer(True), transformer(False), "manifold", False), "encoders"),
    "moe": (config(moe_for(CLIP_DIM, False, True), moe_for(MANIFOLD_DIM, True, False), "manifold", False),
            "encoders"),
    "linear": (config({"arch": "linear", "variational": False, "kl_weight": 0.0, "cr_weight": 0.0},
                      {"arch": "linear", "variational": False, "kl_weight": 0.0}, "manifold", False), "linear"),
}


def install_stand_ins() -> None:
    """Empty modules for the imports SSV2A's model files make for code that does not run here."""
    def module(name, **attrs):
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod

    def unused(*_a, **_k):
        raise RuntimeError("not used by the fixtures")

    def random_mute(a, p=0.5):  # training only (classifier-free dropout of slots)
        return a, None

    module("ssv2a.data.utils", read_classes=unused, random_mute=random_mute, clip_embed_images=unused,
           get_timestamp=lambda: "fixture", save_wave=unused, set_seed=unused, emb2seq=unused,
           batch_extract_frames=unused, prior_embed_texts=unused)
    module("ssv2a.data.detect", detect=unused)
    module("ssv2a.data.tpairs", tpairs2tclips=unused)
    module("ssv2a.model.clap", clap_embed_auds=unused)
    module("ssv2a.model.aldm", build_audioldm=unused, emb_to_audio=unused)
    module("wandb")


def randomize(module: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            scale = 0.5 if param.ndim > 1 else 0.2
            param.copy_(torch.randn(param.shape, generator=generator) * scale)


def slots_input(generator: torch.Generator, rows: int) -> torch.Tensor:
    """Global CLIP in slot 0, a few local crops, the rest empty (zeros) as SSV2A pads."""
    clips = torch.zeros(rows, SLOTS, CLIP_DIM)
    for r in range(rows):
        used = 1 + (r + 2) % (SLOTS - 1)
        x = torch.randn(used, CLIP_DIM, generator=generator)
        clips[r, :used] = x / x.norm(dim=-1, keepdim=True)
    return clips


def main(argv: list[str]) -> None:
    if not argv:
        print(__doc__)
        raise SystemExit(2)
    clone = Path(argv[0]).resolve()
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).parent
    sys.path.insert(0, str(clone))
    install_stand_ins()
    from safetensors.torch import save_file
    from ssv2a.model.aggregator import Aggregator
    from ssv2a.model.pipeline import Pipeline

    torch.set_num_threads(1)
    data_gen = torch.Generator().manual_seed(1234)
    for index, (name, (cfg, mode)) in enumerate(VARIANTS.items()):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(index)
        model = Pipeline(copy.deepcopy(cfg), device="cpu")
        randomize(model, seed=100 + index)
        model.eval()
        (folder / "ssv2a.json").write_text(json.dumps(cfg, indent=2) + "\n")
        model.save(str(folder / "ssv2a.pth"))
        tensors: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            if mode == "cycle":
                clips = slots_input(data_gen, len(SEEDS))
                tensors["clips"] = clips
                for its, samples, draws in ((0, 1, 1), (2, 3, 4)):
                    rows = []
                    for row, seed in enumerate(SEEDS):
                        torch.manual_seed(seed)
                        random.seed(seed)
                        rows.append(model.cycle_mix(clips[row: row + 1], its=its, var_samples=draws,
                                                    samples=samples, shuffle=True)[0])
                    tensors[f"cycle_{its}_{samples}_{draws}"] = torch.stack(rows)
                    # all rows in one call after one seed: how SSV2A's video path maps a clip's frames
                    torch.manual_seed(SEEDS[0])
                    random.seed(SEEDS[0])
                    tensors[f"cycle_batch_{its}_{samples}_{draws}"] = model.cycle_mix(
                        clips, its=its, var_samples=draws, samples=samples, shuffle=True)
            elif mode == "encoders":
                x = torch.randn(4, CLIP_DIM, generator=data_gen)
                tensors["clips"] = x
                folds = model.manifold.clip_encoder(x)[0]  # mean (variational) or output
                tensors["fold_clips"] = folds
                if cfg["manifold"]["arch"] != "moe":  # SSV2A's moe manifold sizes both experts for clip_dim
                    y = torch.randn(4, CLAP_DIM, generator=data_gen)
                    tensors["claps"] = y
                    tensors["fold_claps"] = model.manifold.clap_encoder(y)[0]
                tensors["gen_claps"] = model.generator.forward(folds)[0]
                for seed in SEEDS:
                    torch.manual_seed(seed)
                    tensors[f"fold_clips_sampled_{seed}"] = model.manifold.fold_clips(x, var_samples=3)
                    torch.manual_seed(seed)
                    tensors[f"gen_claps_sampled_{seed}"] = model.generator.fold2claps(folds, var_samples=3)
            else:  # linear: manifold projection and its inverse (SSV2A's linear generator)
                x = torch.randn(4, CLIP_DIM, generator=data_gen)
                tensors["clips"] = x
                folds = model.manifold.fold_clips(x)
                tensors["fold_clips"] = folds
                tensors["gen_claps"] = model.linear_generator(folds)[0]
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / "outputs.safetensors"))
        print(folder, sorted(tensors))

    # The temporal aggregator (agg.pth). SSV2A builds it 512 wide; 32 keeps the fixture small.
    torch.manual_seed(99)
    agg = Aggregator(emb_dim=AGG_DIM, device="cpu")
    randomize(agg, seed=99)
    agg.eval()
    folder = out / "aggregator"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(agg.state_dict(), str(folder / "agg.pth"))
    frames = torch.randn(1, 5, AGG_DIM, generator=data_gen)
    frames = frames / frames.norm(dim=-1, keepdim=True)
    outputs = {"frames": frames}
    for seed in SEEDS:
        torch.manual_seed(seed)
        outputs[f"agg_{seed}"] = agg.sample(frames, var_samples=2)
    save_file(outputs, str(folder / "aggregator.safetensors"))
    print(folder / "agg.pth")


if __name__ == "__main__":
    main(sys.argv[1:])
