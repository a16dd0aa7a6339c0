"""docs/python-api.md: every ```python block runs, in order, in one namespace, on the tiny zoo."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_python_api_examples_run(zoo_models_toml, tmp_path, monkeypatch):
    from v2a_cli.testing.media import make_image, make_video, make_wav

    make_image(tmp_path / "dog.jpg")
    make_video(tmp_path / "street.mp4", seconds=3.0)
    make_wav(tmp_path / "rain.wav", seconds=2.0)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("V2A_MODELS", str(zoo_models_toml))
    from v2a_cli.generation.options import PRESETS

    # The examples use the "fast" preset; random tiny models need no 25 denoising steps to prove the calls.
    monkeypatch.setitem(PRESETS["fast"], "steps", 2)
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102  (our own documentation)
