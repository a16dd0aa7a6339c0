"""Regenerate audioldm_clap_keys.json: AudioLDM's CLAP state-dict names and shapes, built by AudioLDM's own code.

Not a test and not run by CI (it needs AudioLDM's source and torchlibrosa + librosa, which v2a does not
depend on). Usage:

    git archive <haoheliu/AudioLDM commit> audioldm/clap | tar -x -C SRC
    pip install --target DEPS torchlibrosa librosa (and their deps)
    python make_audioldm_clap_keys.py SRC DEPS <commit>

It builds `audioldm.clap.open_clip.create_model("HTSAT-tiny", "roberta", enable_fusion=False)` exactly as
AudioLDM's `CLAPAudioEmbeddingClassifierFreev2` does, with random weights: the one change is that
`RobertaModel.from_pretrained("roberta-base")` (a download) builds roberta-base from its published config
instead. `text_branch.embeddings.token_type_ids` is left out: the transformers AudioLDM was trained with
kept it as a non-persistent buffer. That version (< 4.31) did persist `text_branch.embeddings.position_ids`
([1, 514]), which the released `audioldm-s-full-v2.ckpt` carries and recent transformers no longer put in a
state dict, so it is added to the list by name (the converter checks it equals the model's own).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROBERTA_BASE = {"vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                "intermediate_size": 3072, "max_position_embeddings": 514, "type_vocab_size": 1,
                "layer_norm_eps": 1e-5, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
# Persisted by the transformers (< 4.31) that saved the released checkpoints; see the docstring.
POSITION_IDS = "text_branch.embeddings.position_ids"


def main(src: str, deps: str, commit: str) -> None:
    sys.path[:0] = [deps, src]
    import transformers

    def offline_roberta(cls, name, *args, **kwargs):
        assert name == "roberta-base", name
        return cls(transformers.RobertaConfig(**ROBERTA_BASE))

    transformers.RobertaModel.from_pretrained = classmethod(offline_roberta)
    from audioldm.clap.open_clip import create_model

    model, _ = create_model("HTSAT-tiny", "roberta", "", precision="fp32", device="cpu",
                            enable_fusion=False, fusion_type="aff_2d")
    keys = {"cond_stage_model.model." + name: list(tensor.shape) for name, tensor in model.state_dict().items()
            if name != "text_branch.embeddings.token_type_ids"}
    keys.setdefault("cond_stage_model.model." + POSITION_IDS, [1, ROBERTA_BASE["max_position_embeddings"]])
    out = Path(__file__).with_name("audioldm_clap_keys.json")
    out.write_text(json.dumps({"source": "haoheliu/AudioLDM audioldm/clap/open_clip (HTSAT-tiny + roberta, unfused)",
                               "source_commit": commit, "keys": keys}, indent=1) + "\n")
    print(f"{out}: {len(keys)} keys")


if __name__ == "__main__":
    main(*sys.argv[1:4])
