"""The `Mapper` protocol: the bridge, v2a's trained mappers and SSV2A share one `map()` signature and
declare their capabilities; generation reads the declarations and never probes a mapper."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import v2a_cli.generation
from v2a_cli.mapper import Mapper, MapperSampling, TrainedMapper, load_mapper
from v2a_cli.mapper.bridge import TextBridgeMapper
from v2a_cli.mapper.settings import NO_SETTINGS, SSV2A_SETTINGS
from v2a_cli.mapper.ssv2a.model import SSV2AMapper
from v2a_cli.testing.zoo_mapper import build_mapper
from v2a_cli.testing.zoo_ssv2a import build_ssv2a

SAMPLING = MapperSampling(guidance=1.5, steps=2, var_samples=2, cycle_its=1, cycle_samples=2)


def small_bridge() -> TextBridgeMapper:
    clip_text = F.normalize(torch.randn(6, 512, generator=torch.Generator().manual_seed(0)), dim=-1)
    clap_text = F.normalize(torch.randn(6, 512, generator=torch.Generator().manual_seed(1)), dim=-1)
    return TextBridgeMapper([f"class {i}" for i in range(6)], clip_text, clap_text, top_k=2)


@pytest.fixture(scope="module")
def mappers(tmp_path_factory) -> dict[str, Mapper]:
    root = tmp_path_factory.mktemp("mappers")
    return {
        "bridge": small_bridge(),
        "regression": load_mapper(str(build_mapper(root / "r", kind="regression", arch="mlp"))),
        "diffusion": load_mapper(str(build_mapper(root / "d", kind="diffusion", arch="mlp"))),
        "ssv2a": load_mapper(str(build_ssv2a(root / "s", aggregator=False))),
        "ssv2a+aggregator": load_mapper(str(build_ssv2a(root / "sa", aggregator=True))),
    }


def test_every_mapper_implements_the_protocol_with_one_map_signature(mappers):
    expected = inspect.signature(Mapper.map)
    for name, mapper in mappers.items():
        assert isinstance(mapper, Mapper), name
        assert inspect.signature(type(mapper).map) == expected, name
        mapped = mapper.map(torch.randn(3, mapper.clip_dim), seeds=[1, 2, 3], sampling=SAMPLING)
        assert mapped.shape == (3, 512), name
        torch.testing.assert_close(mapped.norm(dim=-1), torch.ones(3), msg=name)


def test_the_mappers_declare_their_capabilities(mappers):
    declared = {name: (m.clip_spec, m.clip_dim, m.is_generative, m.averages_own_draws, m.slots, m.has_aggregator,
                       m.explains, m.generation_settings == NO_SETTINGS) for name, m in mappers.items()}
    assert declared["bridge"] == (None, 512, False, False, 1, False, True, True)
    assert declared["regression"] == (None, 512, False, False, 1, False, False, True)
    assert declared["diffusion"] == (None, 512, True, False, 1, False, False, True)
    ssv2a = mappers["ssv2a"]
    assert (ssv2a.averages_own_draws, ssv2a.slots > 1, ssv2a.has_aggregator, ssv2a.explains) == (True, True, False, False)
    assert mappers["ssv2a+aggregator"].has_aggregator
    assert mappers["ssv2a+aggregator"].generation_settings == SSV2A_SETTINGS
    assert isinstance(mappers["diffusion"], TrainedMapper) and isinstance(ssv2a, SSV2AMapper)


def test_the_sampling_fields_reach_the_mapper_they_belong_to(mappers):
    clip = torch.randn(2, 512, generator=torch.Generator().manual_seed(2))
    diffusion = mappers["diffusion"]
    fewer_steps = diffusion.map(clip, seeds=[4, 5], sampling=MapperSampling(steps=2))
    assert not torch.equal(fewer_steps, diffusion.map(clip, seeds=[4, 5], sampling=MapperSampling(steps=3)))
    # SSV2A's knobs do not touch a diffusion prior; a diffusion prior's do not touch SSV2A
    assert torch.equal(fewer_steps, diffusion.map(clip, seeds=[4, 5], sampling=MapperSampling(steps=2, var_samples=9)))
    ssv2a = mappers["ssv2a"]
    small = MapperSampling(var_samples=2, cycle_its=1, cycle_samples=2)
    assert torch.equal(ssv2a.map(clip, seeds=[4, 5], sampling=small),
                       ssv2a.map(clip, seeds=[4, 5], sampling=MapperSampling(guidance=7.0, steps=1, var_samples=2,
                                                                             cycle_its=1, cycle_samples=2)))


def test_one_slot_mappers_map_slots_as_map_and_aggregate_by_the_normalised_mean(mappers):
    clip = torch.randn(2, 512, generator=torch.Generator().manual_seed(3))
    diffusion = mappers["diffusion"]
    assert torch.equal(diffusion.map_slots(clip[:, None], seeds=[1, 2], sampling=SAMPLING),
                       diffusion.map(clip, seeds=[1, 2], sampling=SAMPLING))
    with pytest.raises(ValueError, match="one CLIP embedding per row"):
        diffusion.map_slots(torch.randn(1, 2, 512))
    frames = F.normalize(torch.randn(4, 512), dim=-1)
    torch.testing.assert_close(mappers["bridge"].aggregate(frames), F.normalize(frames.mean(dim=0), dim=-1))
    with pytest.raises(NotImplementedError):
        mappers["regression"].explain(clip)


def _probes(tree: ast.AST) -> list[str]:
    """getattr/hasattr calls on a mapper, and the literal "ssv2a" (a branch on the mapper's kind)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            if "mapper" in ast.unparse(node.args[0]):
                found.append(ast.unparse(node))
        if isinstance(node, ast.Constant) and node.value == "ssv2a":
            found.append(repr(node.value))
    return found


def test_generation_and_the_web_page_never_probe_the_mapper():
    package = Path(v2a_cli.generation.__file__).parent
    files = sorted(package.glob("*.py")) + sorted((package.parent / "web").glob("*.py"))
    probes = {f.name: _probes(ast.parse(f.read_text())) for f in files}
    assert {name: found for name, found in probes.items() if found} == {}
