"""`evaluate()`: objective metrics for a folder of generated sounds, in two suites.

The paper's (V2A-Mapper, AAAI 2024; `--suite paper`, the default), as haoheliu/audioldm_eval computes them:
- FD  Fréchet distance of PANNs CNN14 embeddings, generated vs reference sets (no pairing).
- FAD Fréchet distance of VGGish embeddings, one per 0.96 s of every file, pooled per set.
- CS  100 × cosine(CLIP image embedding of the visual prompt, Wav2CLIP embedding of the sound),
      averaged over generated files that have a prompt with the same stem in `images_dir`
      (a video prompt: CLIP of frames at 1 fps over its first 10 s, averaged).
- KL  KL(p_ref ‖ p_gen) of PANNs softmax posteriors, over generated/reference files paired by stem.
- IS  Inception Score of PANNs softmax posteriors of the generated files.
av-benchmark's (hkchengrex/av-benchmark, MMAudio's; `--suite av-benchmark`), on the first `audio_length`
seconds of each sound: FD with PaSST, PANNs and VGGish; KL and IS with PANNs and PaSST; the ImageBind
score (video ↔ sound) and DeSync (Synchformer) against the videos in `videos_dir`.
FD, FAD and IS need no pairs; KL, CS, IB-score and DeSync pair files by stem, and a paired metric without
pairs is skipped with its reason. Sounds are read from any audio file or the sound track of a video.
Files that cannot be read are reported in `EvalResult.problems` and left out.
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

PAPER_METRICS: tuple[str, ...] = ("fd", "fad", "cs", "kl", "is")
# av-benchmark (hkchengrex/av-benchmark, MMAudio's evaluation), in its report's order.
AV_METRICS: tuple[str, ...] = ("fd_passt", "fd_panns", "fd_vgg", "kl_panns", "kl_passt", "is_panns", "is_passt",
                               "ib_score", "desync")
METRICS: tuple[str, ...] = PAPER_METRICS + AV_METRICS
SUITES: dict[str, tuple[str, ...]] = {"paper": PAPER_METRICS, "av-benchmark": AV_METRICS, "all": METRICS}
DEFAULT_AUDIO_LENGTH = 8.0  # av-benchmark's --audio_length for MMAudio's VGGSound numbers


@dataclass(frozen=True)
class Feature:
    """What is embedded per sound file: a network (models role) on the whole file, or, for the
    av-benchmark suite, on its first `--audio-length` seconds (av-benchmark's AudioDataset crop)."""
    role: str
    first_seconds: bool = False


FEATURES: dict[str, Feature] = {
    "panns": Feature("panns"), "vggish": Feature("vggish"), "wav2clip": Feature("wav2clip"),
    "panns_av": Feature("panns", True), "vggish_av": Feature("vggish", True), "passt_av": Feature("passt", True),
    # ImageBind's sound side reads the whole file (ImageBindAudioDataset); Synchformer cuts to its duration itself.
    "imagebind": Feature("imagebind"), "synchformer": Feature("synchformer"),
}
METRIC_FEATURE: dict[str, str] = {
    "fd": "panns", "kl": "panns", "is": "panns", "fad": "vggish", "cs": "wav2clip",
    "fd_passt": "passt_av", "kl_passt": "passt_av", "is_passt": "passt_av",
    "fd_panns": "panns_av", "kl_panns": "panns_av", "is_panns": "panns_av", "fd_vgg": "vggish_av",
    "ib_score": "imagebind", "desync": "synchformer",
}
METRIC_NETWORK: dict[str, str] = {metric: FEATURES[feature].role for metric, feature in METRIC_FEATURE.items()}
NEEDS_REFERENCES = frozenset({"fd", "fad", "kl", "fd_passt", "fd_panns", "fd_vgg", "kl_panns", "kl_passt"})
PAIRED_WITH_REFERENCES = frozenset({"kl", "kl_panns", "kl_passt"})
PAIRED_WITH_VIDEOS = frozenset({"ib_score", "desync"})
VIDEO_ROLES = frozenset({"imagebind", "synchformer"})  # read videos too; take av-benchmark's duration
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

# MMAudio (Cheng et al., CVPR 2025) Table 1, MMAudio-S-16kHz on VGGSound test (8 s), as quoted with the
# av-benchmark reproduction in hkchengrex/MMAudio issue #90. The paper prints IB-score × 100 (issue #51);
# stored here on av-benchmark's scale (a cosine), as v2a reports it. IS_PANNs was not in that quote.
PUBLISHED_MMAUDIO_S_16K: dict[str, float] = {
    "fd_passt": 70.19, "fd_panns": 5.22, "fd_vgg": 0.79, "kl_panns": 1.65, "kl_passt": 1.59,
    "ib_score": 0.2913, "desync": 0.483,
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
    settings: dict[str, Any] = field(default_factory=dict)  # metrics asked for, audio_length

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics, "skipped": self.skipped, "counts": self.counts,
            "unpaired_generated": self.unpaired_generated, "unpaired_references": self.unpaired_references,
            "problems": self.problems, "notes": self.notes, "networks": self.networks, "settings": self.settings,
            "paper_table1": PAPER_TABLE1, "published_mmaudio_s_16k": PUBLISHED_MMAUDIO_S_16K,
        }


def parse_metrics(metrics: str | Iterable[str] | None = None, suite: str = "paper") -> tuple[str, ...]:
    """"fd,fad,cs" or a sequence -> validated names in METRICS order; None -> the suite's metrics."""
    if suite not in SUITES:
        raise V2AError(f"--suite: unknown suite '{suite}'; choose from {', '.join(SUITES)}")
    if metrics is None:
        return SUITES[suite]
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    unknown = sorted(set(names) - set(METRICS))
    if unknown or not names:
        raise V2AError(f"--metrics: unknown or empty ({', '.join(unknown) or 'nothing given'}); choose from {','.join(METRICS)}")
    return tuple(m for m in METRICS if m in names)


class FirstSeconds:
    """A network seen through av-benchmark's crop: each sound cut to its first `seconds` (int(sr × s)
    samples, as `AudioDataset`). Its own cache identity, so whole-file embeddings are never reused."""

    def __init__(self, network: AudioNetwork, name: str, seconds: float):
        self.network = network
        self.kind = name
        self.sample_rate = network.sample_rate
        self.samples = int(network.sample_rate * seconds)
        self.identity = f"{network.identity}-first{seconds:g}s"

    def embed(self, waveforms: list[np.ndarray]) -> list[dict[str, torch.Tensor]]:
        return self.network.embed([waveform[:self.samples] for waveform in waveforms])


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
            if progress is not None:  # one bar per network
                progress(f"{stage} · {net.kind}", min(start + batch_size, len(paths)), len(paths))
    return results, problems


def extract_video_embeddings(paths: Sequence[Path], network: Any, *, progress: Progress | None = None,
                             stage: str = "videos") -> tuple[dict[Path, dict[str, torch.Tensor]], list[str]]:
    """{path: network.embed_video(path)} for every readable video, cached per file like the sounds
    (ImageBind's vision tower, Synchformer's MotionFormer), and one problem line per unreadable one."""
    cache = EmbeddingCache(network.video_identity)
    results: dict[Path, dict[str, torch.Tensor]] = {}
    problems: list[str] = []
    for done, path in enumerate(paths, start=1):
        try:
            digest = file_sha256(path)
            outputs = cache.get(digest)
            if outputs is None:
                outputs = network.embed_video(path)
                cache.put(digest, outputs)
            results[path] = outputs
        except InputError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc.strerror or exc}); check the file")
        if progress is not None:
            progress(f"{stage} · {network.kind}", done, len(paths))
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
             videos_dir: str | Path | None = None, metrics: str | Iterable[str] | None = None, suite: str = "paper",
             audio_length: float = DEFAULT_AUDIO_LENGTH, models: Any = None, device: str = "auto",
             batch_size: int = 16, progress: Progress | None = None,
             share: tuple[int, int] | None = None) -> EvalResult:
    """Compute `metrics` (default: those of `suite`) for the sounds in `generated_dir` against `refs_dir`,
    the prompts in `images_dir` (CS) and the videos in `videos_dir` (IB-score, DeSync).

    `audio_length`: the av-benchmark metrics score the first `audio_length` seconds of each sound and video.
    `share=(rank, world_size)` (torchrun): only embed this rank's share of the files into the per-file
    cache and return without metrics; a final unshared call then finds every embedding cached."""
    from v2a_cli.device import pick_device
    from v2a_cli.models_config import ModelsConfig
    from v2a_cli.loaders import load_model

    wanted = parse_metrics(metrics, suite)
    if not audio_length > 0:
        raise V2AError(f"--audio-length: must be above 0 seconds (got {audio_length:g})")
    models = models if models is not None else ModelsConfig.load()
    torch_device = pick_device(device)
    result = EvalResult(metrics={}, skipped={}, counts={},
                        settings={"metrics": list(wanted), "audio_length": audio_length})

    generated, problems = list_by_stem(generated_dir, SOUND_EXTS, "generated sounds")
    result.problems += problems
    references: dict[str, Path] = {}
    if refs_dir is not None:
        references, problems = list_by_stem(refs_dir, SOUND_EXTS, "reference sounds")
        result.problems += problems
    elif NEEDS_REFERENCES & set(wanted):
        raise V2AError(f"metrics {','.join(m for m in wanted if m in NEEDS_REFERENCES)} need reference sounds; "
                       f"pass --refs DIR (or choose metrics that need none: cs, is, is_panns, is_passt, ib_score, desync)")
    prompts: dict[str, Path] = {}
    if "cs" in wanted:
        if images_dir is None:
            result.skipped["cs"] = "needs the visual prompts: pass --images DIR (images or videos named like the sounds)"
        else:
            prompts, problems = list_by_stem(images_dir, PROMPT_EXTS, "images or videos")
            result.problems += problems
    videos: dict[str, Path] = {}
    if PAIRED_WITH_VIDEOS & set(wanted):
        if videos_dir is None:
            for name in sorted(PAIRED_WITH_VIDEOS & set(wanted)):
                result.skipped[name] = "needs the videos the sounds were made for: pass --videos DIR (named like the sounds)"
        else:
            videos, problems = list_by_stem(videos_dir, VIDEO_EXTS, "videos")
            result.problems += problems
            if not set(generated) & set(videos):
                for name in sorted(PAIRED_WITH_VIDEOS & set(wanted)):
                    result.skipped[name] = (f"no generated file has a video with the same name ({len(generated)} "
                                            f"generated, {len(videos)} videos); it compares each sound with its video")
    if references and not set(generated) & set(references):
        # FD, FAD and IS compare distributions and need no pairs; KL compares each sound with its own reference.
        for name in (m for m in wanted if m in PAIRED_WITH_REFERENCES):
            result.skipped[name] = (f"no generated file has a reference with the same name ({len(generated)} "
                                    f"generated, {len(references)} references); KL compares pairs, so name each "
                                    "generated sound like its reference")
    for name in wanted:  # a network this build does not define yet (a models role it lacks)
        if name not in result.skipped and not hasattr(models, METRIC_NETWORK[name]):
            result.skipped[name] = f"the {METRIC_NETWORK[name]} network is not part of this build of v2a"
    if all(m in result.skipped for m in wanted):  # nothing left to compute: say why before any model loads
        raise V2AError("; ".join(f"{m}: {why}" for m, why in result.skipped.items()))

    from v2a_cli.errors import CheckpointError, ModelUnavailableError

    active = [m for m in wanted if m not in result.skipped]
    loaded: dict[str, Any] = {}
    for role in sorted({METRIC_NETWORK[m] for m in active}, key=lambda r: r not in VIDEO_ROLES):
        if role in VIDEO_ROLES:  # their windows need a long enough --audio-length: checked first, on loading
            try:
                loaded[role] = load_model(role, getattr(models, role), device=torch_device, duration=audio_length)
            except (ModelUnavailableError, CheckpointError):
                raise
            except V2AError as exc:  # e.g. DeSync's 4.8-s windows and --audio-length 2: the others still run
                for name in (m for m in active if METRIC_NETWORK[m] == role):
                    result.skipped[name] = str(exc)
            continue
        loaded[role] = load_model(role, getattr(models, role), device=torch_device)
    active = [m for m in active if m not in result.skipped]
    if not active:
        raise V2AError("; ".join(f"{m}: {why}" for m, why in result.skipped.items()))
    result.networks = {role: net.identity for role, net in loaded.items()}

    def network(feature: str) -> AudioNetwork:
        spec = FEATURES[feature]
        base = loaded[spec.role]
        return FirstSeconds(base, feature, audio_length) if spec.first_seconds else base

    generated_features = sorted({METRIC_FEATURE[m] for m in active})
    reference_features = sorted({METRIC_FEATURE[m] for m in active if m in NEEDS_REFERENCES})
    generated_nets = [network(f) for f in generated_features]
    reference_nets = [network(f) for f in reference_features]
    video_roles = sorted({METRIC_NETWORK[m] for m in active if m in PAIRED_WITH_VIDEOS})
    video_stems = sorted(set(generated) & set(videos))
    if share is not None:
        rank, world_size = share
        extract_embeddings(list(generated.values())[rank::world_size], generated_nets, batch_size=batch_size,
                           progress=progress, stage="generated")
        if references and reference_nets:
            extract_embeddings(list(references.values())[rank::world_size], reference_nets, batch_size=batch_size,
                               progress=progress, stage="references")
        for role in video_roles:
            extract_video_embeddings([videos[s] for s in video_stems][rank::world_size], loaded[role], progress=progress)
        return result
    gen_out, problems = extract_embeddings(list(generated.values()), generated_nets, batch_size=batch_size,
                                           progress=progress, stage="generated")
    result.problems += problems
    ref_out: dict[Path, dict[str, dict[str, torch.Tensor]]] = {}
    if references and reference_nets:
        ref_out, problems = extract_embeddings(list(references.values()), reference_nets, batch_size=batch_size,
                                               progress=progress, stage="references")
        result.problems += problems

    gen_ok = {stem: gen_out[path] for stem, path in sorted(generated.items()) if path in gen_out}
    ref_ok = {stem: ref_out[path] for stem, path in sorted(references.items()) if path in ref_out}
    paired = sorted(set(gen_ok) & set(ref_ok))
    if ref_out:  # among readable files: a generated file whose reference is unreadable is unpaired too
        result.unpaired_generated = [str(generated[s]) for s in sorted(set(gen_ok) - set(ref_ok))]
        result.unpaired_references = [str(references[s]) for s in sorted(set(ref_ok) - set(gen_ok))]
    result.counts = {"generated": len(gen_ok), "references": len(ref_ok), "pairs": len(paired)}

    def stacked(side: dict[str, dict[str, dict[str, torch.Tensor]]], feature: str, key: str,
                stems: Iterable[str] | None = None) -> np.ndarray:
        rows = [side[s][feature][key] for s in (side if stems is None else stems)]
        return torch.stack(rows).double().numpy() if rows else np.zeros((0, 1))

    def frames(side: dict[str, dict[str, dict[str, torch.Tensor]]], feature: str) -> np.ndarray:
        rows = [o[feature]["frames"] for o in side.values()]
        return torch.cat(rows).double().numpy() if rows else np.zeros((0, 1))

    def kl(name: str, feature: str) -> None:
        if not paired:
            result.skipped[name] = "no readable generated file has a readable reference with the same name"
            return
        values = kl_divergence(torch.stack([gen_ok[s][feature]["logits"] for s in paired]),
                               torch.stack([ref_ok[s][feature]["logits"] for s in paired]))
        result.metrics[name] = values["kl"]
        if name == "kl":  # the paper suite also reports the sigmoid version, as audioldm_eval
            result.metrics["kl_sigmoid"] = values["kl_sigmoid"]

    def inception(name: str, feature: str, stems: Sequence[str]) -> None:
        caveat = inception_score_caveat(len(stems))
        if stems and len(stems) >= IS_SPLITS:
            score, spread = inception_score(torch.stack([gen_ok[s][feature]["logits"] for s in stems]))
            result.metrics.update({name: score, f"{name}_std": spread})
            if caveat:
                result.notes.append(f"{name}: {caveat}")
        elif stems:
            result.skipped[name] = caveat
        else:
            result.skipped[name] = "no readable generated files"

    for name in active:
        feature = METRIC_FEATURE[name]
        if name in ("fd", "fd_panns"):
            _frechet(name, stacked(gen_ok, feature, "embedding"), stacked(ref_ok, feature, "embedding"), result)
        elif name in ("fad", "fd_vgg"):
            _frechet(name, frames(gen_ok, feature), frames(ref_ok, feature), result)
        elif name == "fd_passt":
            # av-benchmark (paired by default) takes PaSST's FD and IS over the pairs only when there are
            # pairs, PANNs' and VGGish's over every file; without pairs it is its --unpaired mode.
            stems = paired or None
            _frechet(name, stacked(gen_ok, feature, "embedding", stems), stacked(ref_ok, feature, "embedding", stems),
                     result)
            if paired and (len(paired) < len(gen_ok) or len(paired) < len(ref_ok)):
                result.notes.append(f"fd_passt, is_passt: over the {len(paired)} pairs only, as av-benchmark")
        elif name in PAIRED_WITH_REFERENCES:
            kl(name, feature)
        elif name == "is_passt":
            inception(name, feature, paired if references and paired else sorted(gen_ok))
        elif name in ("is", "is_panns"):
            inception(name, feature, sorted(gen_ok))
    if "cs" in active:
        _clip_score(gen_ok, prompts, models, torch_device, result)
    if "ib_score" in active:
        _imagebind_score(gen_ok, videos, loaded["imagebind"], result, progress)
    if "desync" in active:
        _desync(gen_ok, videos, loaded["synchformer"], result, progress)
    order = {name: index for index, name in enumerate(METRICS)}  # the suites' order; "_std", "_sigmoid" after theirs
    result.metrics = dict(sorted(result.metrics.items(),
                                 key=lambda item: (order.get(item[0].rsplit("_", 1)[0] if item[0] not in order
                                                             else item[0], len(order)), item[0] not in order)))
    return result


def _video_pairs(name: str, gen_ok: dict[str, dict[str, dict[str, torch.Tensor]]], videos: dict[str, Path],
                 network: Any, result: EvalResult, progress: Progress | None) -> tuple[list[str], dict[Path, dict[str, torch.Tensor]]]:
    stems = sorted(set(gen_ok) & set(videos))
    embedded, problems = extract_video_embeddings([videos[s] for s in stems], network, progress=progress)
    result.problems += [p for p in problems if p not in result.problems]  # IB and DeSync read the same videos
    usable = [s for s in stems if videos[s] in embedded]
    result.counts[f"{name}_pairs"] = len(usable)
    if not usable:
        result.skipped[name] = "none of the paired videos could be read"
    return usable, embedded


def _imagebind_score(gen_ok: dict[str, dict[str, dict[str, torch.Tensor]]], videos: dict[str, Path], network: Any,
                     result: EvalResult, progress: Progress | None) -> None:
    from v2a_cli.evaluation.imagebind import imagebind_scores

    stems, embedded = _video_pairs("ib_score", gen_ok, videos, network, result, progress)
    if stems:
        video = torch.stack([embedded[videos[s]]["embedding"] for s in stems])
        audio = torch.stack([gen_ok[s]["imagebind"]["embedding"] for s in stems])
        result.metrics["ib_score"] = float(imagebind_scores(video, audio).mean())


def _desync(gen_ok: dict[str, dict[str, dict[str, torch.Tensor]]], videos: dict[str, Path], network: Any,
            result: EvalResult, progress: Progress | None) -> None:
    from v2a_cli.evaluation.synchformer import SEGMENTS_COMPARED, desync_score

    stems, embedded = _video_pairs("desync", gen_ok, videos, network, result, progress)
    offsets, short = [], []
    for stem in stems:
        audio = gen_ok[stem]["synchformer"]["features"]
        if audio.shape[0] < SEGMENTS_COMPARED:  # av-benchmark leaves such sounds out ("too short")
            short.append(stem)
            continue
        offsets.append(network.offsets(embedded[videos[stem]]["features"], audio))
    if short:
        result.notes.append(f"desync: {len(short)} sound{'s' if len(short) != 1 else ''} shorter than "
                            f"--audio-length {network.duration:g} s left out, as av-benchmark ({', '.join(short[:5])}"
                            f"{' ...' if len(short) > 5 else ''})")
    if offsets:
        result.metrics["desync"] = desync_score(offsets)
        result.counts["desync_pairs"] = len(offsets)
    elif stems:
        result.skipped["desync"] = f"every paired sound is shorter than --audio-length {network.duration:g} s"


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
