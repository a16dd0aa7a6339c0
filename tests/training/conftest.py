"""Fixtures of the training area. Extraction fixtures are prefixed `extract_`."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

# Split CSV for the extraction fixtures (VGGSound format, no header). `unlisted_000008.mp4` is left
# out on purpose; `c_7` uses the unpadded start-second spelling; "dog, barking" needs CSV quoting.
EXTRACT_SPLIT_CSV = """a_x-1,1,"dog, barking",train
b_2,2,rain,test
c,7,engine,train
d,4,birds,train
silent,5,wind,train
broken,6,wind,train
short,7,wind,train
"""


@pytest.fixture(scope="session")
def extract_models(tmp_path_factory):
    """ModelsConfig with the tiny zoo's CLIP and CLAP only (CLAP's tokenizer folder as `generator`)."""
    from v2a_cli.models_config import ModelsConfig
    from v2a_cli.testing.zoo_clap import build_clap
    from v2a_cli.testing.zoo_clip import build_clip

    root = tmp_path_factory.mktemp("extract-zoo")
    with extract_isolated_cache(tmp_path_factory):
        clip_dir = build_clip(root / "clip")
        clap_ckpt = Path(build_clap(root / "clap"))
    # build_clap writes clap/tokenizer/; the CLAP loader takes the folder holding it as `generator`.
    return ModelsConfig(clip=str(clip_dir), clap=str(clap_ckpt), generator=str(clap_ckpt.parent))


@pytest.fixture(scope="session")
def extract_models_toml(tmp_path_factory, extract_models) -> Path:
    """The same models as a TOML file, for the CLI."""
    toml = tmp_path_factory.mktemp("extract-toml") / "models.toml"
    lines = [f'{role} = "{getattr(extract_models, role)}"' for role in ("clip", "clap", "generator")]
    toml.write_text("[models]\n" + "\n".join(lines) + "\n")
    return toml


@pytest.fixture(scope="session")
def extract_videos(tmp_path_factory) -> Path:
    """8 small videos: 4 usable, 1 without audio, 1 truncated, 1 too short, 1 not in the split CSV."""
    from v2a_cli.testing.media import make_video

    root = tmp_path_factory.mktemp("extract-videos")
    make_video(root / "a_x-1_000001.mp4", seconds=3.0, fps=8, size=(64, 64), frequency=440.0)
    make_video(root / "b_2_000002.mp4", seconds=2.0, fps=8, size=(64, 64), frequency=660.0)
    make_video(root / "sub" / "c_7.mov", seconds=2.5, fps=8, size=(64, 64), frequency=880.0)
    make_video(root / "sub" / "d_000004.mkv", seconds=2.0, fps=8, size=(64, 64), frequency=330.0)
    make_video(root / "silent_000005.mp4", seconds=2.0, fps=8, size=(64, 64), with_audio=False)
    intact = make_video(root.parent / f"{root.name}-intact.mp4", seconds=2.0, fps=8, size=(64, 64))
    (root / "broken_000006.mp4").write_bytes(intact.read_bytes()[:700])
    make_video(root / "short_000007.mp4", seconds=0.5, fps=8, size=(64, 64))
    make_video(root / "unlisted_000008.mp4", seconds=2.0, fps=8, size=(64, 64))
    (root / "notes.txt").write_text("not a video")
    return root


@pytest.fixture(scope="session")
def extract_split_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extract-csv") / "vggsound.csv"
    path.write_text(EXTRACT_SPLIT_CSV)
    return path


@pytest.fixture(scope="session")
def extract_cache(tmp_path_factory, extract_models, extract_videos, extract_split_csv):
    """An uninterrupted extraction (in-process decoding, 2 clips per shard): (cache folder, report)."""
    from v2a_cli.training.extract import extract_folder

    cache = tmp_path_factory.mktemp("extract-cache") / "cache"
    with extract_isolated_cache(tmp_path_factory):
        report = extract_folder(extract_videos, cache, models=extract_models, split_csv=extract_split_csv,
                                shard_size=2, workers=0, batch_size=4, device="cpu")
    return cache, report


@contextlib.contextmanager
def extract_isolated_cache(tmp_path_factory):
    """Session fixtures run before the function-scoped V2A_CACHE fixture: point at the same place."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("V2A_CACHE", str(tmp_path_factory.getbasetemp() / "v2a-cache"))
        yield
