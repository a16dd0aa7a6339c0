"""The tiny random-weight model zoo: every model v2a uses, small, in the real on-disk formats.

    python -m v2a_cli.testing.zoo DIR
    v2a --models DIR/models.toml generate dog.jpg -o dog.wav --steps 3

writes, under DIR: an open_clip folder (clip/), an original-layout AudioLDM checkpoint holding a tiny
CLAP (clap/), a diffusers AudioLDM folder (generator/) whose text encoder is that same CLAP's text
tower (as in the real checkpoints), a mapper checkpoint (mapper/), the evaluation networks (eval/),
an OWLv2 detector (detector/), SSV2A's released layout with random weights (ssv2a/, for --mapper),
and models.toml pointing at them. The real loading code runs on all of it; nothing is faked.
Sounds made with it are noise: it exists to test and to try the tool without weights.
"""

from __future__ import annotations

import sys
from pathlib import Path


def build_zoo(folder: str | Path, *, mapper_kind: str = "diffusion", mapper_arch: str = "transformer") -> Path:
    """Write the zoo into `folder` (created) and return the path of its models.toml."""
    from v2a_cli.registry import quiet_library_loading

    with quiet_library_loading():  # no "Writing model shards" bars
        return _build_zoo(Path(folder).expanduser().resolve(), mapper_kind, mapper_arch)


def _build_zoo(root: Path, mapper_kind: str, mapper_arch: str) -> Path:
    from v2a_cli.testing import zoo_av, zoo_clap, zoo_clip, zoo_detector, zoo_eval, zoo_generator, zoo_mapper, zoo_ssv2a
    from v2a_cli.testing.tiny_tokenizer import write_tiny_roberta_tokenizer

    root.mkdir(parents=True, exist_ok=True)
    clip_dir = zoo_clip.build_clip(root / "clip")
    clap_model = zoo_clap.build_tiny_clap_model(seed=0)
    clap_ckpt = root / "clap" / "audioldm-tiny.ckpt"
    clap_ckpt.parent.mkdir(parents=True, exist_ok=True)
    zoo_clap.write_audioldm_ckpt(clap_model, clap_ckpt)
    write_tiny_roberta_tokenizer(root / "clap" / "tokenizer")
    generator_dir = zoo_generator.build_generator(root / "generator", text_encoder=zoo_clap.text_encoder_from(clap_model))
    mapper_dir = zoo_mapper.build_mapper(root / "mapper", kind=mapper_kind, arch=mapper_arch)
    eval_models = zoo_eval.build_eval_models(root / "eval")
    eval_models.update(zoo_av.build_av_models(root / "eval"))  # ImageBind, Synchformer (IB-score, DeSync)
    detector_dir = zoo_detector.build_detector(root / "detector")
    zoo_ssv2a.build_ssv2a(root / "ssv2a")  # SSV2A's own layout; not a role: pass it with --mapper

    entries = {
        "clip": clip_dir,
        "clap": clap_ckpt,
        "generator": generator_dir,
        "mapper": mapper_dir,
        "detector": detector_dir,
        **{role: Path(path) for role, path in eval_models.items()},
    }
    lines = ["# Tiny random-weight models (v2a_cli.testing.zoo). Paths are relative to this file.", "[models]"]
    for role, path in entries.items():
        lines.append(f'{role} = "./{Path(path).resolve().relative_to(root).as_posix()}"')
    toml = root / "models.toml"
    toml.write_text("\n".join(lines) + "\n")
    return toml


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m v2a_cli.testing.zoo DIR", file=sys.stderr)
        raise SystemExit(2)
    print(build_zoo(args[0]))


if __name__ == "__main__":
    main()
