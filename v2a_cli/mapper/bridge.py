"""The zero-shot text bridge: the default mapper, needing no training.

An image's CLIP embedding is compared with CLIP text embeddings of sound-class names (AudioSet's 527 and
VGGSound's 309 classes); the top-k classes are mixed, softmax(cos / temperature), and the result is the
normalised mix of the same classes' CLAP text embeddings. Text is the bridge between the two spaces:
CLIP aligns images with text, CLAP aligns text with audio. See docs/bridge.md.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import torch
import torch.nn.functional as F

from v2a_cli.errors import V2AError
from v2a_cli.files import atomic_output
from v2a_cli.mapper.protocol import DEFAULT_SAMPLING, Mapper, MapperSampling
from v2a_cli.models_config import ModelsConfig
from v2a_cli.vocabulary import VOCABULARIES, combined_vocabulary, read_vocabulary  # noqa: F401

# CLIP side: a small ensemble in CLIP's zero-shot practice (mean of the normalised embeddings of each
# template, normalised again). Sound classes name sources and scenes, so the templates describe a
# picture of the thing that sounds rather than ImageNet's object-centric ones.
CLIP_TEMPLATES: tuple[str, ...] = (
    "a photo of {}.",
    "a blurry photo of {}.",
    "a video frame showing {}.",
    "a photo of something that makes the sound of {}.",
)
# CLAP side: the template CLAP's zero-shot audio classification uses (LAION-CLAP's evaluation and the
# default of transformers' zero-shot-audio-classification pipeline).
CLAP_TEMPLATES: tuple[str, ...] = ("This is a sound of {}.",)

CACHE_FORMAT = 1
ENCODE_BATCH = 256


class TextEncoder(Protocol):
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor: ...


class TextBridgeMapper(Mapper):
    """CLIP image embedding -> CLAP embedding through the text embeddings of sound-class names."""

    explains = True

    def __init__(self, class_names: Sequence[str], clip_text: torch.Tensor, clap_text: torch.Tensor, *,
                 top_k: int = 5, temperature: float = 0.01):
        if clip_text.ndim != 2 or clap_text.ndim != 2 or not len(class_names) == len(clip_text) == len(clap_text):
            raise ValueError(
                f"bridge: {len(class_names)} class names, clip_text {tuple(clip_text.shape)} and "
                f"clap_text {tuple(clap_text.shape)} must agree as [C, D]"
            )
        if top_k < 1:
            raise V2AError(f"--bridge-top-k {top_k}: must be at least 1")
        if temperature < 0:
            raise V2AError(f"--bridge-temperature {temperature}: must be 0 (top-1 only) or positive")
        self.class_names = list(class_names)
        self.clip_text = F.normalize(clip_text.detach().float().cpu(), dim=-1)
        self.clap_text = F.normalize(clap_text.detach().float().cpu(), dim=-1)
        self.top_k = min(top_k, len(self.class_names))
        self.temperature = temperature

    @property
    def clip_dim(self) -> int:
        return self.clip_text.shape[1]

    def _select(self, clip: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices [N, k] of the closest classes and their mixing weights [N, k] (rows sum to 1)."""
        if clip.ndim != 2 or clip.shape[1] != self.clip_text.shape[1]:
            raise ValueError(f"bridge: expected CLIP embeddings [N, {self.clip_text.shape[1]}], got {tuple(clip.shape)}")
        cosine = F.normalize(clip.detach().float().cpu(), dim=-1) @ self.clip_text.T
        top_cosine, indices = cosine.topk(min(k, len(self.class_names)), dim=-1)
        if self.temperature == 0:
            weights = torch.zeros_like(top_cosine)
            weights[:, 0] = 1.0
        else:
            weights = torch.softmax(top_cosine / self.temperature, dim=-1)
        return indices, weights

    @torch.inference_mode()
    def map(self, clip: torch.Tensor, *, seeds: Sequence[int] | None = None,
            sampling: MapperSampling = DEFAULT_SAMPLING) -> torch.Tensor:
        """[N, 512] CLIP image embeddings -> [N, 512] L2-normalised CLAP embeddings (deterministic: seeds
        and sampling are accepted for the common mapper API and ignored)."""
        indices, weights = self._select(clip, self.top_k)
        mixed = (weights.unsqueeze(-1) * self.clap_text[indices]).sum(dim=1)
        return F.normalize(mixed, dim=-1)

    @torch.inference_mode()
    def explain(self, clip: torch.Tensor, k: int | None = None) -> list[list[tuple[str, float]]]:
        """Per input: the (class name, weight) pairs that `map` mixes, best first (k: default top_k)."""
        indices, weights = self._select(clip, k or self.top_k)
        return [
            [(self.class_names[i], float(w)) for i, w in zip(row_indices.tolist(), row_weights.tolist())]
            for row_indices, row_weights in zip(indices, weights)
        ]


# -- embeddings of the vocabulary ----------------------------------------------------------------

def encode_classes(encoder: TextEncoder, class_names: Sequence[str], templates: Sequence[str]) -> torch.Tensor:
    """[C, D] L2-normalised text embeddings, each the mean over `templates` (CLIP's prompt ensembling)."""
    prompts = [template.format(name) for name in class_names for template in templates]
    chunks = [
        encoder.encode_texts(prompts[start:start + ENCODE_BATCH]).detach().float().cpu()
        for start in range(0, len(prompts), ENCODE_BATCH)
    ]
    per_prompt = F.normalize(torch.cat(chunks), dim=-1).reshape(len(class_names), len(templates), -1)
    return F.normalize(per_prompt.mean(dim=1), dim=-1)


# The bridge loads its text towers from the model modules below it (not through `loaders.load_model`,
# which sits above the mappers).
def _load_clip(models: ModelsConfig, device: Any) -> TextEncoder:
    from v2a_cli.embeddings.clip import load_clip
    from v2a_cli.registry import quiet_library_loading

    with quiet_library_loading():
        return load_clip(models.clip, device=device, dtype=torch.float32)


def _load_clap(models: ModelsConfig, device: Any) -> TextEncoder:
    from v2a_cli.embeddings.clap import load_clap
    from v2a_cli.registry import quiet_library_loading

    with quiet_library_loading():
        return load_clap(models.clap, device=device, dtype=torch.float32, tokenizer=models.generator)


def _load_generator(models: ModelsConfig, device: Any) -> TextEncoder:
    from v2a_cli.audioldm.generator import load_generator
    from v2a_cli.registry import quiet_library_loading

    with quiet_library_loading():
        return load_generator(models.generator, device=device, dtype=torch.float32)


# Where the CLAP text embeddings come from: AudioLDM's CLAP checkpoint, or the generator's own text
# encoder (AudioLDM kept CLAP's text tower, so both give the same space; `v2a doctor` checks it).
CLAP_TEXT_SOURCES: dict[str, Callable[[ModelsConfig, Any], TextEncoder]] = {
    "generator": _load_generator,
    "clap": _load_clap,
}
# The model specs whose weights (or tokenizer) determine each side's embeddings.
_SOURCE_SPECS: dict[str, Callable[[ModelsConfig], list[str]]] = {
    "generator": lambda models: [models.generator],
    "clap": lambda models: [models.clap, models.generator],  # the CLAP tokenizer comes from the generator folder
}


# -- cache ---------------------------------------------------------------------------------------

def spec_identity(spec: str) -> list:
    """What identifies a model's weights on disk: each file's name, size and mtime; else the spec itself."""
    from v2a_cli.registry import locate_model

    path = locate_model(spec, kind="model").path
    if path is None:
        return ["spec", spec]
    if path.is_file():
        stat = path.stat()
        return ["file", str(path), stat.st_size, stat.st_mtime_ns]
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return ["folder", str(path)] + [[p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def bridge_cache_path(models: ModelsConfig, class_names: Sequence[str], clap_text_source: str) -> Path:
    """`cache_dir()/bridge/<hash>.safetensors`; the hash covers models, file identities, vocabulary and templates."""
    from v2a_cli.registry import cache_dir

    key = {
        "format": CACHE_FORMAT,
        "clip": spec_identity(models.clip),
        "clap_text_source": clap_text_source,
        "clap_text": [spec_identity(spec) for spec in _SOURCE_SPECS[clap_text_source](models)],
        "class_names": list(class_names),
        "clip_templates": list(CLIP_TEMPLATES),
        "clap_templates": list(CLAP_TEMPLATES),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return cache_dir() / "bridge" / f"{digest}.safetensors"


def _read_cache(path: Path, class_names: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The cached (clip_text, clap_text), or None when absent or unreadable (then it is rebuilt)."""
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as cached:
            if json.loads((cached.metadata() or {}).get("class_names", "null")) != list(class_names):
                return None
            clip_text, clap_text = cached.get_tensor("clip_text"), cached.get_tensor("clap_text")
    except Exception:  # a truncated or foreign file in our own cache: recompute and replace it
        return None
    if len(clip_text) != len(class_names) or len(clap_text) != len(class_names):
        return None
    return clip_text, clap_text


def _write_cache(path: Path, class_names: Sequence[str], clip_text: torch.Tensor, clap_text: torch.Tensor) -> None:
    from safetensors.torch import save_file

    with atomic_output(path, overwrite=True) as tmp:
        save_file({"clip_text": clip_text.contiguous(), "clap_text": clap_text.contiguous()}, str(tmp),
                  metadata={"class_names": json.dumps(list(class_names))})


def build_bridge(models: ModelsConfig, *, device: Any = "cpu", top_k: int = 5, temperature: float = 0.01,
                 vocabulary: Sequence[str] = ("audioset", "vggsound"), clap_text_source: str = "generator",
                 clip_encoder: TextEncoder | None = None,
                 clap_text_encoder: TextEncoder | None = None) -> TextBridgeMapper:
    """The bridge for these models. Vocabulary embeddings are computed once and cached on disk.

    `clap_text_source` says which model gives the CLAP text side ("generator": the generator's text
    encoder, "clap": AudioLDM's CLAP checkpoint). Already-loaded encoders may be passed in
    (`clip_encoder`, `clap_text_encoder`, the latter being the `clap_text_source` model); otherwise
    they are loaded only when the cache misses.
    """
    if clap_text_source not in CLAP_TEXT_SOURCES:
        raise V2AError(f"bridge CLAP text source {clap_text_source!r}: expected one of {', '.join(CLAP_TEXT_SOURCES)}")
    class_names = combined_vocabulary(vocabulary)
    cached = _read_cache(bridge_cache_path(models, class_names, clap_text_source), class_names)
    if cached is None:
        clip_encoder = clip_encoder or _load_clip(models, device)
        clap_text_encoder = clap_text_encoder or CLAP_TEXT_SOURCES[clap_text_source](models, device)
        cached = (encode_classes(clip_encoder, class_names, CLIP_TEMPLATES),
                  encode_classes(clap_text_encoder, class_names, CLAP_TEMPLATES))
        # Keyed after loading: a Hub model that was just downloaded now has files to identify it by.
        _write_cache(bridge_cache_path(models, class_names, clap_text_source), class_names, *cached)
    clip_text, clap_text = cached
    return TextBridgeMapper(class_names, clip_text, clap_text, top_k=top_k, temperature=temperature)
