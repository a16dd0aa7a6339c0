"""`GenerateOptions`: one small frozen group per stage, every option also by its one flat name."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

import v2a_cli
from v2a_cli.generation.options import (FLAT_FIELDS, PRESETS, ConditionOptions, GenerateOptions, SamplerOptions,
                                        TimelineOptions)
from v2a_cli.mapper.protocol import MapperSampling

GROUPS = {"sampler": SamplerOptions, "timeline": TimelineOptions, "condition": ConditionOptions,
          "mapper": MapperSampling}


def test_every_group_field_has_exactly_one_flat_name():
    routed = sorted((group, field) for group, field in FLAT_FIELDS.values() if group)
    declared = sorted((group, f.name) for group, cls in GROUPS.items() for f in dataclasses.fields(cls))
    assert routed == declared
    top = [field for group, field in FLAT_FIELDS.values() if not group]
    assert top == ["seed", "variations"]


def test_flat_names_build_replace_and_read_their_group():
    options = GenerateOptions(steps=3, duration=4.0, sources="detect", mapper_guidance=1.5, var_samples=2, seed=9)
    assert (options.sampler.steps, options.timeline.duration, options.condition.sources) == (3, 4.0, "detect")
    assert options.mapper == MapperSampling(guidance=1.5, var_samples=2, cycle_its=8, cycle_samples=16)
    changed = replace(options, steps=5, overlap=1.0)
    assert (changed.sampler.steps, changed.timeline.overlap, changed.timeline.duration, changed.seed) == (5, 1.0, 4.0, 9)
    assert changed.steps == 5 and changed.mapper_guidance == 1.5  # flat reads, for the Python API
    assert list(changed.flat()) == list(FLAT_FIELDS)
    with pytest.raises(TypeError, match="unexpected option 'stepz'"):
        GenerateOptions(stepz=3)
    with pytest.raises(AttributeError):
        options.stepz  # noqa: B018


def test_the_defaults_are_the_fast_preset():
    options = GenerateOptions()
    for name, value in PRESETS["fast"].items():
        assert getattr(options, name) == value, name


def _flat_reads(tree: ast.AST) -> list[str]:
    """`options.steps`-style reads (a flat name on a variable holding GenerateOptions) instead of the group's."""
    flat = {name for name, (group, _) in FLAT_FIELDS.items() if group}
    return [ast.unparse(node) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in flat and isinstance(node.value, ast.Name)
            and node.value.id in ("options", "settled")]


def test_the_stages_read_their_group_not_flat_names():
    package = Path(v2a_cli.__file__).parent
    found = {}
    for path in sorted(package.rglob("*.py")):
        if path.name == "options.py" and path.parent.name == "generation":
            continue  # the flat names are defined there
        reads = _flat_reads(ast.parse(path.read_text(encoding="utf-8")))
        if reads:
            found[str(path.relative_to(package))] = reads
    # training/extract.py's `options` is its own DecodeOptions
    found.pop("training/extract.py", None)
    assert found == {}
