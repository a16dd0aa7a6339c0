"""Tiny random-weight OWLv2 open-vocabulary detector in transformers' `save_pretrained` layout.

The folder is what `google/owlv2-base-patch16-ensemble` holds (config.json, model.safetensors,
preprocessor_config.json, tokenizer files, processor config), shrunk: 64-px images in 16-px patches
(16 candidate boxes, one per 16-px cell), one-layer towers 32 wide, and a CLIP-style BPE tokenizer
over single bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from v2a_cli.testing.tiny_tokenizer import _byte_symbols

IMAGE_SIZE = 64
PATCH_SIZE = 16
SPECIALS = ["<|startoftext|>", "<|endoftext|>"]


def write_tiny_clip_tokenizer_files(folder: Path) -> Path:
    """vocab.json + merges.txt of a CLIP BPE with no merges: every byte, alone or word-final ("</w>").
    Byte "!" is id 0, the id OWL treats as padding, as in the real tokenizer."""
    symbols = sorted(_byte_symbols(), key=ord)  # CLIP's order: printable bytes first, "!" first of all
    vocab = {s: i for i, s in enumerate(symbols)}
    for s in symbols:
        vocab[s + "</w>"] = len(vocab)
    for s in SPECIALS:
        vocab[s] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def build_detector(folder: str | Path, seed: int = 0) -> Path:
    import torch
    from transformers import (CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor,
                              Owlv2Processor)

    folder = Path(folder)
    token_dir = write_tiny_clip_tokenizer_files(folder / "_tokenizer_src")
    tokenizer = CLIPTokenizer(str(token_dir / "vocab.json"), str(token_dir / "merges.txt"), pad_token="!",
                              model_max_length=16)
    vocab_size = len(tokenizer)
    config = Owlv2Config(
        text_config={"vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "max_position_embeddings": 16, "bos_token_id": vocab_size - 2,
                     "eos_token_id": vocab_size - 1, "pad_token_id": 0},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE},
        projection_dim=32,
    )
    torch.manual_seed(seed)
    model = Owlv2ForObjectDetection(config).eval()
    with torch.no_grad():
        # Random box heads put every box over the whole picture; a zero last layer leaves the built-in
        # bias, one box per patch cell (a 4 x 4 grid), so tests see several separate sources. Class
        # logits get no shift and scale 3, so scores spread over 0..1 instead of sitting near 0.
        model.box_head.dense2.weight.zero_()
        model.box_head.dense2.bias.zero_()
        model.class_head.logit_shift.weight.zero_()
        model.class_head.logit_shift.bias.zero_()
        model.class_head.logit_scale.weight.zero_()
        model.class_head.logit_scale.bias.fill_(2.0)
    image_processor = Owlv2ImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = Owlv2Processor(image_processor=image_processor, tokenizer=tokenizer)
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    for f in token_dir.iterdir():
        f.unlink()
    token_dir.rmdir()
    return folder


if __name__ == "__main__":  # python -m v2a_cli.testing.zoo_detector DIR
    import sys

    print(build_detector(sys.argv[1]))
