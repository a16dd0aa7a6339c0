"""Which model fills each role. Read from a TOML file (`--models FILE` or `V2A_MODELS`), overridable per flag.

    [models]
    clip = "hf-hub:timm/vit_base_patch32_clip_224.openai"
    generator = "cvssp/audioldm-s-full-v2"
    mapper = "./my-mapper"          # relative paths are relative to this file

Unknown keys are an error (a typo should not silently fall back to a default).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from v2a_cli.errors import V2AError

# AudioLDM-S-full-v2, the original Lightning checkpoint: its `cond_stage_model` is the CLAP that
# AudioLDM's UNet was trained on (diffusers kept only the text tower). Zenodo record 7698295.
AUDIOLDM_S_FULL_V2_CKPT_URL = "https://zenodo.org/records/7698295/files/audioldm-full-s-v2.ckpt"


@dataclass(frozen=True)
class ModelsConfig:
    clip: str = "hf-hub:timm/vit_base_patch32_clip_224.openai"  # open_clip ViT-B-32, OpenAI weights
    clap: str = AUDIOLDM_S_FULL_V2_CKPT_URL  # AudioLDM's own CLAP (original ckpt or a converted folder)
    generator: str = "cvssp/audioldm-s-full-v2"  # diffusers AudioLDM folder (paper's best)
    mapper: str = "bridge"  # "bridge" = zero-shot text bridge; else a mapper checkpoint folder or Hub id, or SSV2A's files
    detector: str = "google/owlv2-base-patch16-ensemble"  # --sources detect: OWLv2 / OWL-ViT (Apache-2.0)
    panns: str = "panns-cnn14"  # evaluation: PANNs CNN14 (FD, KL, IS)
    vggish: str = "vggish"  # evaluation: VGGish (FAD)
    wav2clip: str = "wav2clip"  # evaluation: Wav2CLIP audio encoder (CLIP-Score)
    passt: str = "passt"  # evaluation, av-benchmark suite: PaSST (HEAR 2021 passt, FD/KL/IS_PaSST)
    imagebind: str = "imagebind-huge"  # evaluation: ImageBind vision + audio towers (IB-score)
    synchformer: str = "synchformer"  # evaluation: Synchformer AudioSet 24-01-04T16-39-21 (DeSync)

    @classmethod
    def from_toml(cls, path: str | Path) -> "ModelsConfig":
        path = Path(path).expanduser()
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise V2AError(f"{path}: models file not found; pass an existing file to --models or V2A_MODELS")
        except IsADirectoryError:
            raise V2AError(f"{path}: is a folder; pass the models TOML file itself (e.g. {path / 'models.toml'}) "
                           "to --models or V2A_MODELS") from None
        except OSError as exc:
            raise V2AError(f"{path}: models file cannot be read ({exc.strerror or exc}); check its permissions") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise V2AError(f"{path}: not a valid TOML models file ({exc})")
        table = data.get("models", data)
        if not isinstance(table, dict):
            raise V2AError(f"{path}: `models` must be a table of roles (a [models] section with lines like "
                           f"clip = \"hf-hub:...\"), not {type(table).__name__} {table!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise V2AError(f"{path}: unknown model role(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        wrong = sorted(key for key, value in table.items() if not isinstance(value, str))
        if wrong:
            raise V2AError(f"{path}: model role(s) {', '.join(wrong)} must be text (a Hub id or a path in quotes), "
                           f"e.g. {wrong[0]} = \"./{wrong[0]}\"")
        resolved = {key: _relative_to(path.parent, str(value)) for key, value in table.items()}
        return cls(**resolved)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ModelsConfig":
        """`path`, else $V2A_MODELS, else the defaults."""
        path = path or os.environ.get("V2A_MODELS")
        return cls.from_toml(path) if path else cls()

    def with_overrides(self, **overrides: str | None) -> "ModelsConfig":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _relative_to(base: Path, value: str) -> str:
    if value.startswith(("./", "../")):
        return str((base / value).resolve())
    return value
