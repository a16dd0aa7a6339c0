from __future__ import annotations

import argparse

import pytest
import torch

from v2a_cli.embeddings import clap_convert
from v2a_cli.embeddings.clap_convert import (
    CKPT_PREFIX,
    convert_audioldm_ckpt,
    convert_audioldm_to_hf_layout,
    convert_hf_to_audioldm_layout,
    infer_clap_config,
)
from v2a_cli.errors import CheckpointError, V2AError


def ckpt_state(path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def save_state(state, path):
    torch.save({"state_dict": state}, path)
    return path


def test_key_mapping_round_trips_exactly(tiny_clap_model):
    state = tiny_clap_model.state_dict()
    laion = convert_hf_to_audioldm_layout(state)
    back = convert_audioldm_to_hf_layout(laion)
    assert not back.unknown and not back.dropped
    expected = {k: v for k, v in state.items() if not k.endswith("token_type_ids")}
    assert set(back.state_dict) == set(expected)
    assert all(torch.equal(back.state_dict[k], expected[k]) for k in expected)
    again = convert_hf_to_audioldm_layout(back.state_dict)
    assert set(again) == set(laion) and all(torch.equal(again[k], laion[k]) for k in laion)


def test_qkv_is_split_in_query_key_value_order(tiny_clap_model):
    state = tiny_clap_model.state_dict()
    laion = convert_hf_to_audioldm_layout(state)
    qkv = laion["audio_branch.layers.1.blocks.0.attn.qkv.weight"]
    prefix = "audio_model.audio_encoder.layers.1.blocks.0.attention.self."
    assert torch.equal(qkv, torch.cat([state[prefix + p + ".weight"] for p in ("query", "key", "value")]))


def test_conversion_drops_only_known_keys_and_ignores_non_clap(tiny_clap_ckpt, tmp_path):
    state = ckpt_state(tiny_clap_ckpt)
    assert any(not k.startswith(CKPT_PREFIX) for k in state)  # the UNet/VAE stand-ins
    laion = {k[len(CKPT_PREFIX):]: v for k, v in state.items() if k.startswith(CKPT_PREFIX)}
    result = convert_audioldm_to_hf_layout(laion)
    assert not result.unknown
    assert {"audio_branch.logmel_extractor.melW", "audio_branch.tscam_conv.weight", "audio_branch.head.weight",
            "text_transform.sequential.3.weight", "audio_branch.layers.0.blocks.1.attn_mask"} <= set(result.dropped)
    folder = convert_audioldm_ckpt(tiny_clap_ckpt, tmp_path / "converted")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "preprocessor_config.json"]


def test_inferred_config_is_the_tiny_one(tiny_clap_model):
    config = infer_clap_config(tiny_clap_model.state_dict())
    ours, theirs = config.audio_config, tiny_clap_model.config.audio_config
    assert list(ours.depths) == list(theirs.depths) == [2, 1, 1, 1]
    assert list(ours.num_attention_heads) == list(theirs.num_attention_heads)
    for name in ("window_size", "patch_embeds_hidden_size", "hidden_size", "enable_fusion", "mlp_ratio"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert config.text_config.num_attention_heads == tiny_clap_model.config.text_config.num_attention_heads
    assert config.projection_dim == 512


def test_inferred_config_of_full_size_shapes_is_htsat_tiny_and_roberta_base():
    from transformers import ClapConfig, ClapModel

    full = ClapConfig(text_config={"layer_norm_eps": 1e-5}, audio_config={"enable_fusion": False})
    with torch.device("meta"):
        model = ClapModel(full)
    laion = convert_hf_to_audioldm_layout(model.state_dict())
    assert laion["audio_branch.layers.2.blocks.5.attn.qkv.weight"].shape == (1152, 384)
    config = infer_clap_config(convert_audioldm_to_hf_layout(laion).state_dict)
    audio, text = config.audio_config, config.text_config
    assert list(audio.depths) == [2, 2, 6, 2] and list(audio.num_attention_heads) == [4, 8, 16, 32]
    assert (audio.window_size, audio.patch_embeds_hidden_size, audio.hidden_size) == (8, 96, 768)
    assert (text.vocab_size, text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (50265, 768, 12, 12)
    assert (text.max_position_embeddings, text.layer_norm_eps, config.projection_dim) == (514, 1e-5, 512)


@pytest.mark.parametrize("change", ["missing", "extra", "unknown_laion", "wrong_shape"])
def test_key_mismatch_is_a_checkpoint_error(tiny_clap_ckpt, tmp_path, change):
    state = ckpt_state(tiny_clap_ckpt)
    if change == "missing":
        del state[CKPT_PREFIX + "audio_branch.layers.1.blocks.0.mlp.fc2.weight"]
    elif change == "extra":
        state[CKPT_PREFIX + "text_branch.encoder.layer.9.output.dense.weight"] = torch.zeros(2, 2)
    elif change == "unknown_laion":
        state[CKPT_PREFIX + "audio_branch.fusion_model.local_att.0.weight"] = torch.zeros(2, 2)
    else:
        state[CKPT_PREFIX + "audio_projection.2.bias"] = torch.zeros(7)
    ckpt = save_state(state, tmp_path / "changed.ckpt")
    with pytest.raises(CheckpointError) as error:
        convert_audioldm_ckpt(ckpt, tmp_path / "out")
    message = str(error.value)
    assert "\n" not in message and str(ckpt) in message
    expected = {"missing": "layers.1.blocks.0.output.dense.weight", "extra": "layer.9",
                "unknown_laion": "fusion_model", "wrong_shape": "audio_projection.linear2.bias"}[change]
    assert expected in message
    assert not (tmp_path / "out").exists()


def test_mel_filter_bank_of_another_front_end_is_refused(tiny_clap_ckpt, tmp_path):
    state = ckpt_state(tiny_clap_ckpt)
    state[CKPT_PREFIX + "audio_branch.logmel_extractor.melW"] = state[CKPT_PREFIX + "audio_branch.logmel_extractor.melW"].roll(1, 0)
    with pytest.raises(CheckpointError, match="mel filter bank"):
        convert_audioldm_ckpt(save_state(state, tmp_path / "mel.ckpt"), tmp_path / "out")


def test_pickled_objects_are_refused_by_weights_only(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {CKPT_PREFIX + "logit_scale_a": torch.zeros(())}, "hparams": argparse.Namespace(x=1)}, path)
    with pytest.raises(V2AError) as error:
        convert_audioldm_ckpt(path, tmp_path / "out")
    assert str(error.value).startswith(str(path)) and "weights-only" in str(error.value)
    assert "\n" not in str(error.value)


def test_truncated_and_foreign_checkpoints_are_one_line_errors(tiny_clap_ckpt, tmp_path):
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(tiny_clap_ckpt.read_bytes()[:100_000])
    with pytest.raises(V2AError, match="truncated.ckpt"):
        convert_audioldm_ckpt(truncated, tmp_path / "out")
    no_clap = save_state({"model.diffusion_model.x": torch.zeros(1)}, tmp_path / "unet-only.ckpt")
    with pytest.raises(CheckpointError, match="cond_stage_model"):
        convert_audioldm_ckpt(no_clap, tmp_path / "out")
    assert clap_convert.dropped_reason("audio_branch.head.weight")


# -- the real key list (tests/embeddings/data/audioldm_clap_keys.json, from AudioLDM's own source) --------

def real_audioldm_keys() -> dict[str, list[int]]:
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent / "data" / "audioldm_clap_keys.json").read_text())["keys"]


def test_every_real_audioldm_clap_key_is_mapped_or_knowingly_dropped():
    from transformers import ClapModel

    real = real_audioldm_keys()
    assert len(real) > 400 and all(name.startswith(CKPT_PREFIX) for name in real)
    laion = {name[len(CKPT_PREFIX):]: torch.empty(shape, device="meta") for name, shape in real.items()}
    result = convert_audioldm_to_hf_layout(laion)
    assert result.unknown == []
    assert sorted({name.split(".")[0] + "." + name.split(".")[1] for name in result.dropped}) == [
        "audio_branch.head", "audio_branch.layers", "audio_branch.logmel_extractor",
        "audio_branch.spectrogram_extractor", "audio_branch.tscam_conv", "audio_transform.sequential",
        "text_transform.sequential"]
    config = infer_clap_config(result.state_dict)
    assert list(config.audio_config.depths) == [2, 2, 6, 2] and config.text_config.num_attention_heads == 12
    with torch.device("meta"):
        model = ClapModel(config)
    clap_convert.check_state_dict(model, result.state_dict, "audioldm_clap_keys.json")  # all filled, shapes equal


def test_the_zoo_checkpoint_has_the_real_layout(tiny_clap_ckpt):
    import re

    def patterns(names):
        return {re.sub(r"\.\d+(?=\.|$)", ".N", name) for name in names if name.startswith(CKPT_PREFIX)}

    assert patterns(ckpt_state(tiny_clap_ckpt)) == patterns(real_audioldm_keys())


def test_the_real_key_list_has_the_released_checkpoints_position_ids():
    """audioldm-s-full-v2.ckpt carries text_branch.embeddings.position_ids (saved by transformers < 4.31)."""
    assert real_audioldm_keys()[CKPT_PREFIX + "text_branch.embeddings.position_ids"] == [1, 514]
