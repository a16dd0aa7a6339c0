"""`evaluate()`: the paper's objective metrics for a folder of generated sounds.

- FD  Fréchet distance of PANNs CNN14 embeddings, generated vs reference sets (no pairing).
- FAD Fréchet distance of VGGish embeddings, one per 0.96 s of every file, pooled per set.
- CS  100 × cosine(CLIP image embedding of the visual prompt, Wav2CLIP embedding of the sound),
      averaged over generated files that have a prompt with the same stem in `images_dir`
      (a video prompt: CLIP of frames at 1 fps over its first 10 s, averaged).
- KL  KL(p_ref ‖ p_gen) of PANNs softmax posteriors, over generated/reference files paired by stem.
- IS  Inception Score of PANNs softmax posteriors of the generated files.
Files are paired by stem; sounds are read from any audio file or the sound track of a video. Files
that cannot be read are reported in `EvalResult.problems` and left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from v2a_cli.errors import InputError, V2AError
from v2a_cli.evaluation.cache import EmbeddingCache, file_sha256
from v2a_cli.evaluation.frechet import SINGULAR_EPS, frechet_report, gaussian_stats
from v2a_cli.evaluation.scores import IS_SPLITS, clip_score, inception_score, inception_score_caveat, kl_divergence
from v2a_cli.media.inputs import AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS

METRICS: tuple[str, ...] = ("fd", "fad", "cs", "kl", "is")
METRIC_NETWORK: dict[str, str] = {"fd": "panns", "kl": "panns", "is": "panns", "fad": "vggish", "cs": "wav2clip"}
NEEDS_REFERENCES = frozenset({"fd", "fad", "kl"})
SOUND_EXTS = AUDIO_EXTS | VIDEO_EXTS
PROMPT_EXTS = IMAGE_EXTS | VIDEO_EXTS
VIDEO_PROMPT_FPS = 1.0
VIDEO_PROMPT_SECONDS = 10.0

# V2A-Mapper (AAAI 2024) Table 1: "Ours" and the reference row (real VGGSound audio).
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "VGGSound (ours)": {"fd": 24.168, "fad": 0.841, "cs": 9.720},
    "VGGSound (reference audio)": {"fd": 0.0, "fad": 0.0, "cs": 8.925},
    "ImageHear (ours)": {"cs": 11.950},
}

Progress = Callable[[str, int, int], None]


class AudioNetwork(Protocol):
    kind: str
    sample_rate: int
    identity: str

    def embed(self, waveforms: list[np.ndarray]) -> list[dict[str, torch.Tensor]]: ...


@dataclass
class EvalResult:
    metrics: dict[str, float]  # fd, fad, cs, kl, kl_sigmoid, is, is_std (those computed)
    skipped: dict[str, str]  # metric -> why it was not computed
    counts: dict[str, int]
    unpaired_generated: list[str] = field(default_factory=list)
    unpaired_references: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "path: problem", one per file left out
    notes: list[str] = field(default_factory=list)
    networks: dict[str, str] = field(default_factory=dict)  # kind -> weights identity

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics, "skipped": self.skipped, "counts": self.counts,
            "unpaired_generated": self.unpaired_generated, "unpaired_references": self.unpaired_references,
            "problems": self.problems, "notes": self.notes, "networks": self.networks,
            "paper_table1": PAPER_TABLE1,
        }


def parse_metrics(metrics: str | Iterable[str]) -> tuple[str, ...]:
    """"fd,fad,cs" or a sequence -> validated names in METRICS order."""
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    unknown = sorted(set(names) - set(METRICS))
    if unknown or not names:
        raise V2AError(f"--metrics: unknown or empty ({', '.join(unknown) or 'nothing given'}); choose from {','.join(METRICS)}")
    return tuple(m for m in METRICS if m in names)


def list_by_stem(folder: str | Path, exts: frozenset[str], what: str) -> tuple[dict[str, Path], list[str]]:
    """Files of `folder` (recursive, sorted) keyed by stem. Each file left out is a problem with its
    reason: a repeated stem (the first one is kept) or a file that is not one of `what`. Hidden files
    (".name", macOS "._name" forks) are not looked at."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, f"no such folder; give the folder of {what}")
    files: dict[str, Path] = {}
    problems: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.suffix.lower() not in exts:
            problems.append(f"{path}: not one of the {what} (a {path.suffix or 'name without extension'} file); "
                            "left out")
        elif path.stem in files:
            problems.append(f"{path}: same name as {files[path.stem]}; files are paired by name, so this one is left out")
        else:
            files[path.stem] = path
    if not files:
        raise InputError(folder, f"holds no {what} ({', '.join(sorted(e.lstrip('.') for e in exts))})")
    return files, problems


def _load_waveform(path: Path, sample_rate: int) -> np.ndarray:
    from v2a_cli.media.audio import load_audio

    waveform = np.nan_to_num(load_audio(path, sample_rate=sample_rate))
    if waveform.size == 0:
        raise InputError(path, "has no audio samples; re-export it")
    return waveform


def extract_embeddings(paths: Sequence[Path], networks: Sequence[AudioNetwork], *, batch_size: int = 16,
                       progress: Progress | None = None, stage: str = "embedding") -> tuple[dict[Path, dict[str, dict[str, torch.Tensor]]], list[str]]:
    """{path: {network kind: outputs}} for every readable file, and one problem line per unreadable one.

    Outputs come from the per-file cache when present; otherwise each file is decoded once per sample
    rate the networks need, embedded in batches of `batch_size` files, and cached.
    """
    caches = {net.kind: EmbeddingCache(net.identity) for net in networks}
    results: dict[Path, dict[str, dict[str, torch.Tensor]]] = {}
    problems: list[str] = []
    for start in range(0, len(paths), max(1, batch_size)):
        pending: dict[str, list[tuple[Path, str, np.ndarray]]] = {net.kind: [] for net in networks}
        for path in paths[start:start + batch_size]:
            try:
                digest = file_sha256(path)
                found = {net.kind: caches[net.kind].get(digest) for net in networks}
                missing = [net for net in networks if found[net.kind] is None]
                waveforms: dict[int, np.ndarray] = {}
                for net in missing:
                    if net.sample_rate not in waveforms:
                        waveforms[net.sample_rate] = _load_waveform(path, net.sample_rate)
            except InputError as exc:
                problems.append(str(exc))
                continue
            except OSError as exc:
                problems.append(f"{path}: cannot be read ({exc.strerror or exc}); check the file")
                continue
            results[path] = {kind: outputs for kind, outputs in found.items() if outputs is not None}
            for net in missing:
                pending[net.kind].append((path, digest, waveforms[net.sample_rate]))
        for net in networks:
            items = pending[net.kind]
            if items:
                for (path, digest, _), outputs in zip(items, net.embed([waveform for _, _, waveform in items])):
                    caches[net.kind].put(digest, outputs)
                    results[path][net.kind] = outputs
        if progress is not None:
            progress(stage, min(start + batch_size, len(paths)), len(paths))
    return results, problems


def _prompt_embeddings(paths: Sequence[Path], clip: Any, identity: str) -> tuple[dict[Path, torch.Tensor], list[str]]:
    """CLIP image embedding of each prompt (video: frames averaged), cached by content like the sounds."""
    from v2a_cli.media.images import load_image
    from v2a_cli.media.inputs import media_kind
    from v2a_cli.media.video import sample_frames

    cache = EmbeddingCache(identity)
    embeddings: dict[Path, torch.Tensor] = {}
    problems: list[str] = []
    for path in paths:
        try:
            digest = file_sha256(path)
            cached = cache.get(digest)
            if cached is None:
                if media_kind(path) == "image":
                    images = [load_image(path)]
                else:
                    images = [f.image for f in sample_frames(path, fps=VIDEO_PROMPT_FPS, max_seconds=VIDEO_PROMPT_SECONDS)]
                cached = {"embedding": clip.encode_images(images).mean(dim=0)}
                cache.put(digest, cached)
        except InputError as exc:
            problems.append(str(exc))
            continue
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc.strerror or exc}); check the file")
            continue
        embeddings[path] = cached["embedding"]
    return embeddings, problems


def _stack(items: Iterable[torch.Tensor]) -> np.ndarray:
    return torch.stack(list(items)).double().numpy()


def _frechet(name: str, generated: np.ndarray, reference: np.ndarray, result: EvalResult) -> None:
    if generated.shape[0] < 2 or reference.shape[0] < 2:
        result.skipped[name] = "needs at least 2 embeddings on each side"
        return
    stats_generated, stats_reference = gaussian_stats(generated), gaussian_stats(reference)
    report = frechet_report(stats_generated, stats_reference)
    if stats_generated.singular or stats_reference.singular:
        how = f"added {SINGULAR_EPS:g} to the diagonals, " if report.eps_added else ""
        result.notes.append(f"{name}: fewer embeddings than dimensions ({min(generated.shape[0], reference.shape[0])} "
                            f"< {generated.shape[1]} + 1): covariance singular; computed as audioldm_eval does "
                            f"({how}scipy sqrtm); small sets give unstable values")
    if report.warning:
        result.notes.append(f"{name}: WARNING {report.warning}")
    if not np.isfinite(report.value):
        result.skipped[name] = report.warning or "not finite"
        return
    result.metrics[name] = report.value


def evaluate(generated_dir: str | Path, refs_dir: str | Path | None = None, *, images_dir: str | Path | None = None,
             metrics: str | Iterable[str] = METRICS, models: Any = None, device: str = "auto", batch_size: int = 16,
             progress: Progress | None = None, share: tuple[int, int] | None = None) -> EvalResult:
    """Compute `metrics` for the sounds in `generated_dir` against `refs_dir` (and prompts in `images_dir`).

    `share=(rank, world_size)` (torchrun): only embed this rank's share of the sound files into the
    per-file cache and return without metrics; a final unshared call then finds every embedding cached."""
    from v2a_cli.device import pick_device
    from v2a_cli.models_config import ModelsConfig
    from v2a_cli.loaders import load_model

    wanted = parse_metrics(metrics)
    models = models if models is not None else ModelsConfig.load()
    torch_device = pick_device(device)
    result = EvalResult(metrics={}, skipped={}, counts={})

    generated, problems = list_by_stem(generated_dir, SOUND_EXTS, "generated sounds")
    result.problems += problems
    references: dict[str, Path] = {}
    if refs_dir is not None:
        references, problems = list_by_stem(refs_dir, SOUND_EXTS, "reference sounds")
        result.problems += problems
    elif NEEDS_REFERENCES & set(wanted):
        raise V2AError(f"metrics {','.join(m for m in wanted if m in NEEDS_REFERENCES)} need reference sounds; "
                       f"pass --refs DIR (or choose --metrics cs,is)")
    prompts: dict[str, Path] = {}
    if "cs" in wanted:
        if images_dir is None:
            result.skipped["cs"] = "needs the visual prompts: pass --images DIR (images or videos named like the sounds)"
        else:
            prompts, problems = list_by_stem(images_dir, PROMPT_EXTS, "images or videos")
            result.problems += problems

    if references and "kl" in wanted and not set(generated) & set(references):
        # FD and FAD compare distributions and need no pairs; KL compares each sound with its own reference.
        result.skipped["kl"] = (f"no generated file has a reference with the same name ({len(generated)} generated, "
                                f"{len(references)} references); KL compares pairs, so name each generated sound "
                                "like its reference")
    if all(m in result.skipped for m in wanted):  # nothing left to compute: say why before any model loads
        raise V2AError("; ".join(f"{m}: {why}" for m, why in result.skipped.items()))
    kinds = {METRIC_NETWORK[m] for m in wanted if m not in result.skipped}
    networks = {kind: load_model(kind, getattr(models, kind), device=torch_device) for kind in sorted(kinds)}
    result.networks = {kind: net.identity for kind, net in networks.items()}

    generated_nets = list(networks.values())
    reference_nets = [networks[kind] for kind in sorted({METRIC_NETWORK[m] for m in wanted
                                                         if m in NEEDS_REFERENCES and m not in result.skipped})]
    if share is not None:
        rank, world_size = share
        extract_embeddings(list(generated.values())[rank::world_size], generated_nets, batch_size=batch_size,
                           progress=progress, stage="generated")
        if references and reference_nets:
            extract_embeddings(list(references.values())[rank::world_size], reference_nets, batch_size=batch_size,
                               progress=progress, stage="references")
        return result
    gen_out, problems = extract_embeddings(list(generated.values()), generated_nets, batch_size=batch_size,
                                           progress=progress, stage="generated")
    result.problems += problems
    ref_out: dict[Path, dict[str, dict[str, torch.Tensor]]] = {}
    if references and reference_nets:
        ref_out, problems = extract_embeddings(list(references.values()), reference_nets, batch_size=batch_size,
                                               progress=progress, stage="references")
        result.problems += problems

    gen_ok = {stem: gen_out[path] for stem, path in generated.items() if path in gen_out}
    ref_ok = {stem: ref_out[path] for stem, path in references.items() if path in ref_out}
    paired = sorted(set(gen_ok) & set(ref_ok))
    if ref_out:  # among readable files: a generated file whose reference is unreadable is unpaired too
        result.unpaired_generated = [str(generated[s]) for s in sorted(set(gen_ok) - set(ref_ok))]
        result.unpaired_references = [str(references[s]) for s in sorted(set(ref_ok) - set(gen_ok))]
    result.counts = {"generated": len(gen_ok), "references": len(ref_ok), "pairs": len(paired)}

    if "fd" in wanted:
        _frechet("fd", _stack(o["panns"]["embedding"] for o in gen_ok.values()) if gen_ok else np.zeros((0, 1)),
                 _stack(o["panns"]["embedding"] for o in ref_ok.values()) if ref_ok else np.zeros((0, 1)), result)
    if "fad" in wanted:
        gen_frames = [o["vggish"]["frames"] for o in gen_ok.values()]
        ref_frames = [o["vggish"]["frames"] for o in ref_ok.values()]
        _frechet("fad", torch.cat(gen_frames).double().numpy() if gen_frames else np.zeros((0, 1)),
                 torch.cat(ref_frames).double().numpy() if ref_frames else np.zeros((0, 1)), result)
    if "kl" in wanted and "kl" not in result.skipped:
        if paired:
            result.metrics.update(kl_divergence(torch.stack([gen_ok[s]["panns"]["logits"] for s in paired]),
                                                torch.stack([ref_ok[s]["panns"]["logits"] for s in paired])))
        else:
            result.skipped["kl"] = "no generated file has a reference with the same name"
    if "is" in wanted:
        caveat = inception_score_caveat(len(gen_ok))
        if gen_ok and len(gen_ok) >= IS_SPLITS:
            score, spread = inception_score(torch.stack([o["panns"]["logits"] for o in gen_ok.values()]))
            result.metrics.update({"is": score, "is_std": spread})
            if caveat:
                result.notes.append(f"is: {caveat}")
        elif gen_ok:
            result.skipped["is"] = caveat
        else:
            result.skipped["is"] = "no readable generated files"
    if "cs" in wanted and "cs" not in result.skipped:
        _clip_score(gen_ok, prompts, models, torch_device, result)
    return result


def _clip_score(gen_ok: dict[str, dict[str, dict[str, torch.Tensor]]], prompts: dict[str, Path], models: Any,
                device: torch.device, result: EvalResult) -> None:
    from v2a_cli.evaluation.checkpoints import file_key
    from v2a_cli.loaders import load_model

    stems = sorted(set(gen_ok) & set(prompts))
    if not stems:
        result.skipped["cs"] = "no generated file has an image or video with the same name in --images"
        return
    clip = load_model("clip", models.clip, device=device, dtype=torch.float32)
    identity = f"clip-{file_key(Path(clip.source))}" if clip.source else f"clip-{models.clip}"
    result.networks["clip"] = identity
    embeddings, problems = _prompt_embeddings([prompts[s] for s in stems], clip, identity)
    result.problems += problems
    usable = [s for s in stems if prompts[s] in embeddings]
    result.counts["cs_pairs"] = len(usable)
    if not usable:
        result.skipped["cs"] = "none of the paired images or videos could be read"
        return
    image = torch.stack([embeddings[prompts[s]] for s in usable])
    audio = torch.stack([gen_ok[s]["wav2clip"]["embedding"] for s in usable])
    if image.shape[1] != audio.shape[1]:
        raise V2AError(f"CLIP ({image.shape[1]}-d) and Wav2CLIP ({audio.shape[1]}-d) embeddings differ in size; "
                       f"CS needs the CLIP model Wav2CLIP was distilled from (ViT-B/32)")
    result.metrics["cs"] = clip_score(image, audio)
