"""AudioLDM's CLAP, from the original Lightning checkpoint to a transformers `ClapModel` folder.

AudioLDM's `.ckpt` holds its CLAP (laion-CLAP layout: HTSAT-tiny audio branch, RoBERTa text branch,
unfused) under `state_dict["cond_stage_model.model.*"]`. This module renames those tensors to
transformers' `ClapModel` names (splitting the Swin blocks' fused `qkv`), infers the `ClapConfig` from
the tensor shapes, and writes `config.json` + `model.safetensors` + `preprocessor_config.json`.
Every checkpoint key is either mapped or dropped for a documented reason (`DROPPED_KEYS`, docs/clap.md);
every model key must be filled. Anything else is a `CheckpointError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from v2a_cli.errors import CheckpointError, V2AError, first_line
from v2a_cli.files import atomic_folder

CKPT_PREFIX = "cond_stage_model.model."
SAMPLE_RATE = 48_000
MAX_SECONDS = 10
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PREPROCESSOR_NAME = "preprocessor_config.json"
# laion-CLAP HTSAT audio front end (audio_cfg of HTSAT-tiny): 1024-point STFT, hop 480, 64 mel bins, 50 Hz..14 kHz.
MEL_SETTINGS = {"feature_size": 64, "sampling_rate": SAMPLE_RATE, "hop_length": 480, "fft_window_size": 1024,
                "frequency_min": 50, "frequency_max": 14_000, "max_length_s": MAX_SECONDS}
TEXT_HEAD_DIM = 64  # RoBERTa's head size (roberta-base: 768 / 12 heads); head counts are not visible in shapes

# Name templates: laion-CLAP (without CKPT_PREFIX) <-> transformers ClapModel. `{i}`, `{j}`: layer/block
# numbers; `{p}`: a parameter or buffer name; `{rest}`: any dotted tail (RoBERTa names are identical).
_AUDIO = "audio_model.audio_encoder."
_LAION_BLOCK = "audio_branch.layers.{i}.blocks.{j}."
_HF_BLOCK = _AUDIO + "layers.{i}.blocks.{j}."
KEY_TEMPLATES: list[tuple[str, str]] = [
    ("text_branch.{rest}", "text_model.{rest}"),
    ("text_projection.0.{p}", "text_projection.linear1.{p}"),
    ("text_projection.2.{p}", "text_projection.linear2.{p}"),
    ("audio_projection.0.{p}", "audio_projection.linear1.{p}"),
    ("audio_projection.2.{p}", "audio_projection.linear2.{p}"),
    ("logit_scale_a", "logit_scale_a"),
    ("logit_scale_t", "logit_scale_t"),
    ("audio_branch.bn0.{p}", _AUDIO + "batch_norm.{p}"),
    ("audio_branch.patch_embed.proj.{p}", _AUDIO + "patch_embed.proj.{p}"),
    ("audio_branch.patch_embed.norm.{p}", _AUDIO + "patch_embed.norm.{p}"),
    (_LAION_BLOCK + "norm1.{p}", _HF_BLOCK + "layernorm_before.{p}"),
    (_LAION_BLOCK + "attn.relative_position_bias_table", _HF_BLOCK + "attention.self.relative_position_bias_table"),
    (_LAION_BLOCK + "attn.relative_position_index", _HF_BLOCK + "attention.self.relative_position_index"),
    (_LAION_BLOCK + "attn.proj.{p}", _HF_BLOCK + "attention.output.dense.{p}"),
    (_LAION_BLOCK + "norm2.{p}", _HF_BLOCK + "layernorm_after.{p}"),
    (_LAION_BLOCK + "mlp.fc1.{p}", _HF_BLOCK + "intermediate.dense.{p}"),
    (_LAION_BLOCK + "mlp.fc2.{p}", _HF_BLOCK + "output.dense.{p}"),
    ("audio_branch.layers.{i}.downsample.reduction.{p}", _AUDIO + "layers.{i}.downsample.reduction.{p}"),
    ("audio_branch.layers.{i}.downsample.norm.{p}", _AUDIO + "layers.{i}.downsample.norm.{p}"),
    ("audio_branch.norm.{p}", _AUDIO + "norm.{p}"),
]
# HTSAT's fused attention input projection: rows [q; k; v] in laion, three Linear layers in transformers.
QKV_LAION = _LAION_BLOCK + "attn.qkv.{p}"
QKV_HF = [_HF_BLOCK + "attention.self.%s.{p}" % part for part in ("query", "key", "value")]

# laion-CLAP keys transformers has no place for, and why dropping them cannot change the embeddings.
DROPPED_KEYS: dict[str, str] = {
    r"audio_branch\.spectrogram_extractor\.stft\.conv_(real|imag)\.weight":
        "torchlibrosa's STFT as conv kernels (Hann-windowed DFT); ClapFeatureExtractor computes the same STFT",
    r"audio_branch\.logmel_extractor\.melW":
        "torchlibrosa's mel filter bank; checked equal to ClapFeatureExtractor's Slaney filters before dropping",
    r"audio_branch\.layers\.\d+\.blocks\.\d+\.attn_mask":
        "shifted-window attention mask, a function of the shapes; transformers recomputes it",
    r"audio_branch\.(tscam_conv|head)\.(weight|bias)":
        "HTSAT's AudioSet classifier (clipwise/framewise outputs), computed after the embedding",
    r"(audio|text)_transform\.sequential\.\d+\.(weight|bias)":
        "the MLP branch of CLAP's training loss; get_audio/text_embedding never use it",
}
# Buffers the transformers model computes in its constructor; when the checkpoint has them they must agree.
DERIVED_BUFFERS = re.compile(r".*(embeddings\.position_ids|embeddings\.token_type_ids|relative_position_index)$")

_PART = {"i": r"\d+", "j": r"\d+", "p": r"[A-Za-z_]+", "rest": r".+"}


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    for name, part in _PART.items():
        pattern = pattern.replace(re.escape("{%s}" % name), f"(?P<{name}>{part})")
    return re.compile(pattern)


_FORWARD = [(_template_regex(laion), hf) for laion, hf in KEY_TEMPLATES]
_BACKWARD = [(_template_regex(hf), laion) for laion, hf in KEY_TEMPLATES]
_QKV_FORWARD = _template_regex(QKV_LAION)
_QKV_BACKWARD = _template_regex(QKV_HF[0])
_QKV_KEY_VALUE = [_template_regex(QKV_HF[1]), _template_regex(QKV_HF[2])]
_DROPPED = [re.compile(pattern) for pattern in DROPPED_KEYS]


def _rename(name: str, rules: list[tuple[re.Pattern[str], str]]) -> str | None:
    for regex, template in rules:
        match = regex.fullmatch(name)
        if match:
            return template.format(**match.groupdict())
    return None


def dropped_reason(laion_name: str) -> str | None:
    for regex, reason in zip(_DROPPED, DROPPED_KEYS.values()):
        if regex.fullmatch(laion_name):
            return reason
    return None


@dataclass
class LaionToHf:
    state_dict: dict[str, torch.Tensor]
    dropped: dict[str, torch.Tensor]  # laion name -> tensor, each matching a DROPPED_KEYS pattern
    unknown: list[str]  # laion names neither mapped nor droppable


def convert_audioldm_to_hf_layout(laion_state: dict[str, torch.Tensor]) -> LaionToHf:
    """laion-CLAP names (without CKPT_PREFIX) -> transformers ClapModel names."""
    converted: dict[str, torch.Tensor] = {}
    dropped: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for name, tensor in laion_state.items():
        qkv = _QKV_FORWARD.fullmatch(name)
        if qkv:
            for hf_template, part in zip(QKV_HF, tensor.chunk(3, dim=0)):
                converted[hf_template.format(**qkv.groupdict())] = part.contiguous()
            continue
        hf_name = _rename(name, _FORWARD)
        if hf_name is not None:
            converted[hf_name] = tensor
        elif dropped_reason(name) is not None:
            dropped[name] = tensor
        else:
            unknown.append(name)
    return LaionToHf(converted, dropped, unknown)


def convert_hf_to_audioldm_layout(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers ClapModel names -> laion-CLAP names (without CKPT_PREFIX); the exact inverse of the above.

    `token_type_ids` is left out: RoBERTa in laion-CLAP's transformers kept it as a non-persistent buffer.
    """
    laion: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        if name.endswith("embeddings.token_type_ids"):
            continue
        if any(regex.fullmatch(name) for regex in _QKV_KEY_VALUE):
            continue  # merged with its query below
        query = _QKV_BACKWARD.fullmatch(name)
        if query:
            parts = [state_dict[template.format(**query.groupdict())] for template in QKV_HF]
            laion[QKV_LAION.format(**query.groupdict())] = torch.cat(parts, dim=0)
            continue
        laion_name = _rename(name, _BACKWARD)
        if laion_name is None:
            raise ValueError(f"no laion-CLAP name for transformers key {name!r}")
        laion[laion_name] = tensor
    return laion


# -- config ------------------------------------------------------------------------------------------

def infer_clap_config(state_dict: dict[str, torch.Tensor]):
    """The ClapConfig (HTSAT + RoBERTa, unfused) whose shapes match these transformers-named tensors.

    For AudioLDM's checkpoints this is HTSAT-tiny (96 wide, depths 2-2-6-2, heads 4-8-16-32, window 8)
    and roberta-base; the tiny zoo's checkpoint gives a tiny config the same way.
    """
    from transformers import ClapConfig

    def shape(name: str) -> tuple[int, ...]:
        if name not in state_dict:
            raise CheckpointError(f"CLAP checkpoint has no tensor for {name!r}; not an AudioLDM CLAP checkpoint")
        return tuple(state_dict[name].shape)

    def count(pattern: str) -> int:
        regex = re.compile(pattern)
        return len({regex.match(k).group(1) for k in state_dict if regex.match(k)})

    vocab_size, text_hidden = shape("text_model.embeddings.word_embeddings.weight")
    stages = count(re.escape(_AUDIO) + r"layers\.(\d+)\.")
    depths = [count(re.escape(_AUDIO) + rf"layers\.{i}\.blocks\.(\d+)\.") for i in range(stages)]
    heads = [shape(f"{_AUDIO}layers.{i}.blocks.0.attention.self.relative_position_bias_table")[1] for i in range(stages)]
    table_rows = shape(f"{_AUDIO}layers.0.blocks.0.attention.self.relative_position_bias_table")[0]
    window = (int(round(table_rows ** 0.5)) + 1) // 2
    patch_width = shape(_AUDIO + "patch_embed.proj.weight")[0]
    mlp_hidden = shape(f"{_AUDIO}layers.0.blocks.0.intermediate.dense.weight")[0]
    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": text_hidden,
        "num_hidden_layers": count(r"text_model\.encoder\.layer\.(\d+)\."),
        "num_attention_heads": max(1, text_hidden // TEXT_HEAD_DIM),
        "intermediate_size": shape("text_model.encoder.layer.0.intermediate.dense.weight")[0],
        "max_position_embeddings": shape("text_model.embeddings.position_embeddings.weight")[0],
        "type_vocab_size": shape("text_model.embeddings.token_type_embeddings.weight")[0],
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,  # roberta-base's (transformers' ClapTextConfig default, 1e-12, is not)
        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        "projection_dim": shape("text_projection.linear2.weight")[0],
        "projection_hidden_act": "relu",
    }
    audio_config = {
        "spec_size": 256, "patch_size": 4, "patch_stride": [4, 4], "num_mel_bins": MEL_SETTINGS["feature_size"],
        "window_size": window,
        "patch_embeds_hidden_size": patch_width,
        "hidden_size": shape(_AUDIO + "norm.weight")[0],
        "depths": depths,
        "num_attention_heads": heads,
        "mlp_ratio": mlp_hidden / patch_width,
        "enable_fusion": False,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
        "projection_dim": shape("audio_projection.linear2.weight")[0],
        "projection_hidden_act": "relu",
    }
    return ClapConfig(text_config=text_config, audio_config=audio_config,
                      projection_dim=audio_config["projection_dim"], projection_hidden_act="relu")


def make_feature_extractor():
    """48 kHz log-mel front end of the unfused model; repeat-padding, and (our callers) the first 10 s only."""
    from transformers import ClapFeatureExtractor

    # truncation="rand_trunc" selects the unfused path with Slaney mel filters (torchlibrosa's); our
    # encoder cuts inputs to 10 s itself, so its random crop never happens.
    return ClapFeatureExtractor(**MEL_SETTINGS, truncation="rand_trunc", padding="repeatpad", top_db=None)


# -- strict loading ------------------------------------------------------------------------------------

def check_state_dict(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str | Path) -> None:
    """Every key of `state_dict` used, every key of `model` filled (derived buffers may be absent), shapes equal."""
    expected = model.state_dict()
    unexpected = sorted(set(state_dict) - set(expected))
    missing = sorted(k for k in set(expected) - set(state_dict) if not DERIVED_BUFFERS.match(k))
    wrong_shape = sorted(k for k in set(state_dict) & set(expected)
                         if tuple(state_dict[k].shape) != tuple(expected[k].shape))
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} with the wrong shape (e.g. {', '.join(wrong_shape[:3])})")
    if problems:
        raise CheckpointError(f"{source}: CLAP weights do not fit the model: {'; '.join(problems)}; "
                              "re-convert from the original AudioLDM checkpoint")


def load_into(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str | Path) -> None:
    check_state_dict(model, state_dict, source)
    expected = model.state_dict()
    for name in state_dict.keys() & expected.keys():
        if DERIVED_BUFFERS.match(name) and not torch.equal(state_dict[name].to(expected[name].dtype), expected[name]):
            raise CheckpointError(f"{source}: buffer {name} differs from the one the model computes; "
                                  "the checkpoint is not an HTSAT/RoBERTa CLAP of this shape")
    model.load_state_dict(state_dict, strict=False)  # strictness was checked above, derived buffers aside


# -- the .ckpt ---------------------------------------------------------------------------------------

def read_audioldm_clap_state(ckpt_path: str | Path) -> dict[str, torch.Tensor]:
    """The `cond_stage_model.model.*` tensors of an AudioLDM checkpoint, prefix removed."""
    path = Path(ckpt_path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file; check the path")
    except Exception as exc:  # pickle.UnpicklingError for foreign objects, RuntimeError for truncated zips
        first = first_line(exc)
        raise V2AError(f"{path}: cannot be read as a weights-only PyTorch checkpoint ({first}); "
                       "use the original AudioLDM .ckpt (it is never unpickled beyond tensors)")
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: no state_dict; expected an AudioLDM Lightning checkpoint")
    clap = {key[len(CKPT_PREFIX):]: value for key, value in state.items()
            if key.startswith(CKPT_PREFIX) and isinstance(value, torch.Tensor)}
    if not clap:
        raise CheckpointError(f"{path}: no '{CKPT_PREFIX}*' tensors; expected an original AudioLDM checkpoint "
                              "(audioldm-full-s-v2.ckpt), which holds its CLAP")
    return clap


def _check_mel_filters(dropped: dict[str, torch.Tensor], feature_extractor, source: Path) -> None:
    mel = dropped.get("audio_branch.logmel_extractor.melW")
    if mel is None:
        return
    import numpy as np

    ours = np.asarray(feature_extractor.mel_filters_slaney, dtype=np.float64)
    theirs = mel.double().numpy()
    if theirs.shape != ours.shape or not np.allclose(theirs, ours, rtol=1e-4, atol=1e-6 * float(np.abs(ours).max())):
        raise CheckpointError(f"{source}: its mel filter bank differs from the 48 kHz/64-bin/50-14000 Hz one we use; "
                              "this is not an HTSAT-tiny AudioLDM CLAP")


def convert_audioldm_ckpt(ckpt_path: str | Path, out_dir: str | Path) -> Path:
    """Convert an original AudioLDM `.ckpt`'s CLAP into a transformers folder `out_dir` (written atomically)."""
    from safetensors.torch import save_file
    from transformers import ClapModel

    ckpt_path, out_dir = Path(ckpt_path), Path(out_dir)
    result = convert_audioldm_to_hf_layout(read_audioldm_clap_state(ckpt_path))
    if result.unknown:
        raise CheckpointError(f"{ckpt_path}: {len(result.unknown)} CLAP tensors have no transformers name "
                              f"(e.g. {', '.join(sorted(result.unknown)[:3])}); not an HTSAT/RoBERTa AudioLDM CLAP")
    config = infer_clap_config(result.state_dict)
    feature_extractor = make_feature_extractor()
    _check_mel_filters(result.dropped, feature_extractor, ckpt_path)
    # A real (CPU) model, so that the derived buffers the checkpoint carries are compared with ours.
    load_into(ClapModel(config).eval(), result.state_dict, ckpt_path)

    # Derived buffers are rebuilt by the constructor (and checked at load); they are not stored.
    weights = {name: tensor.contiguous() for name, tensor in result.state_dict.items() if not DERIVED_BUFFERS.match(name)}
    with atomic_folder(out_dir) as staging:
        save_file(weights, str(staging / WEIGHTS_NAME), metadata={"format": "pt", "source": ckpt_path.name})
        config.save_pretrained(staging)
        feature_extractor.save_pretrained(staging)
    return out_dir

