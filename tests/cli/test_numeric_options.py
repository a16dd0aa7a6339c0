"""Property test: every numeric option of every command, fed random bad values (NaN, inf, negative,
zero, huge), fails with exit code 1 or 2, ONE line on stderr and no traceback, leaves no file behind,
and loads no model. The options are found by introspecting the commands, so options added later are
covered (and an option without a declared range in v2a_cli/validation.py fails here)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from v2a_cli.cli.params import command_tree, numeric_params, option_flag, value_type
from v2a_cli.testing.media import make_image, make_video, make_wav
from v2a_cli.validation import range_for

SEED = 20261130  # the property test's draws are fixed: a failure reproduces


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("numeric-inputs")
    make_image(root / "dog.png")
    make_wav(root / "gen" / "a.wav", seconds=0.5)
    make_wav(root / "refs" / "a.wav", seconds=0.5)
    make_video(root / "videos" / "clip.mp4", seconds=1.0)
    (root / "pairs.safetensors").write_bytes(b"")  # never read: the bad option fails first
    return root


def base_args(command: str, inputs: Path, out: Path) -> list[str]:
    """A call of `command` that is valid except for the option under test (outputs under `out`)."""
    calls = {
        "generate": [str(inputs / "dog.png"), "-o", str(out / "dog.wav")],
        "compose": ["--image", str(inputs / "dog.png"), "-o", str(out / "scene.wav")],
        "interpolate": [str(inputs / "dog.png"), "--to-text", "rain", "-d", str(out / "steps")],
        "eval": [str(inputs / "gen"), "--refs", str(inputs / "refs"), "--save-json", str(out / "scores.json")],
        "extract": ["--data", str(inputs / "videos"), "--out", str(out / "cache")],
        "train": ["--pairs", str(inputs / "pairs.safetensors"), "--out", str(out / "run")],
    }
    return calls[command]


def _commands():
    import typer.main

    from v2a_cli.cli import app
    from v2a_cli.cli.params import prepare_commands

    return dict(command_tree(prepare_commands(typer.main.get_command(app))))


def bad_values(rng: random.Random, kind: type) -> list[str]:
    """NaN, infinities, zero, a negative and a huge number, as typed on a command line (random magnitudes)."""
    huge = 10 ** rng.randint(7, 40)
    negative = -(10 ** rng.randint(-3, 6)) if kind is float else -rng.randint(1, 10**6)
    values = ["nan", "inf", "-inf", "0", str(negative), str(huge), str(-huge)]
    if kind is float:
        values += [f"{rng.uniform(1, 9):.3f}e{rng.randint(20, 300)}", "1e999"]
    return values


def test_every_numeric_option_has_a_declared_range():
    missing = [f"v2a {name} {option_flag(param)}" for name, command in _commands().items()
               for param in numeric_params(command) if range_for(param.name, name) is None]
    assert not missing, f"declare the valid range of these options in v2a_cli/validation.py RANGES: {missing}"


@pytest.mark.parametrize("command", ["generate", "compose", "interpolate", "eval", "extract", "train"])
def test_bad_numeric_values_fail_in_one_line_before_any_model_and_leave_nothing(command, v2a, inputs, tmp_path,
                                                                               monkeypatch):
    import v2a_cli.loaders

    def no_model(*args, **kwargs):
        raise AssertionError("a model was loaded for a bad option value")

    monkeypatch.setattr(v2a_cli.loaders, "load_model", no_model)
    rng = random.Random(f"{SEED}-{command}")
    params = list(numeric_params(_commands()[command]))
    assert params, command
    checked = 0
    for param in params:
        valid = range_for(param.name, command)
        for text in bad_values(rng, value_type(param)):
            number = float(text)
            if valid is not None and math.isfinite(number) and valid.contains(
                    int(number) if value_type(param) is int else number):
                continue  # e.g. --max-seconds 1e12 is a fine (if long) request
            out = tmp_path / f"{param.name}-{len(list(tmp_path.iterdir()))}"
            out.mkdir()
            code, stdout, stderr = v2a(command, *base_args(command, inputs, out), option_flag(param), text)
            where = f"v2a {command} {option_flag(param)} {text}"
            assert code in (1, 2), (where, code, stderr)
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (where, stderr)
            assert "Traceback" not in stderr, where
            assert option_flag(param) in lines[0], (where, stderr)
            assert list(out.rglob("*")) == [], (where, list(out.rglob("*")))
            checked += 1
    assert checked >= len(params) * 3
