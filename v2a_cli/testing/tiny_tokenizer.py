"""A tiny byte-level BPE RoBERTa tokenizer, in the files `RobertaTokenizer(Fast).from_pretrained` reads.

Real CLAP/AudioLDM use roberta-base's tokenizer (50265 tokens); the tiny zoo uses this one so the real
tokenizer-loading code runs offline. Vocabulary: the 5 special tokens, the 256 byte-level symbols and a
few merges, so ids stay below 300.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _byte_symbols() -> list[str]:
    # GPT-2's reversible byte -> unicode table (printable bytes map to themselves).
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    table = dict(zip(printable, codes))
    return [chr(table[b]) for b in range(256)]


MERGES = [("Ġ", "a"), ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("o", "n"), ("Ġ", "s")]


def write_tiny_roberta_tokenizer(folder: str | Path, model_max_length: int = 77) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for symbol in _byte_symbols():
        vocab.setdefault(symbol, len(vocab))
    for left, right in MERGES:
        vocab.setdefault(left + right, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in MERGES) + "\n")
    (folder / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                    "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"})
    )
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "RobertaTokenizer", "model_max_length": model_max_length,
                    "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                    "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>", "add_prefix_space": False,
                    "errors": "replace"})
    )
    return folder


def tiny_vocab_size() -> int:
    return len(SPECIAL_TOKENS) + 256 + len(MERGES)
