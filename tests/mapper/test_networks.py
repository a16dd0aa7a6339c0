"""The networks reproduce the paper's parameter counts (supplement Tables 7-10), built on the meta device."""

from __future__ import annotations

import pytest
import torch

from v2a_cli.mapper.networks import NETWORKS, PAPER_DEFAULTS, count_parameters


def millions(kind: str, arch: str, **settings: int) -> float:
    with torch.device("meta"):
        return count_parameters(NETWORKS[(kind, arch)](**settings)) / 1e6


# Tables 7 and 8 (M parameters): our layout matches to the table's rounding (0.01M).
@pytest.mark.parametrize(("depth", "expansion", "regression", "diffusion"), [
    (1, 1, 0.53, 1.56), (1, 2, 1.05, 2.61), (1, 4, 2.10, 4.71),
    (2, 1, 0.79, 1.83), (2, 2, 2.10, 3.67), (2, 4, 6.30, 8.91),
    (4, 1, 1.32, 2.35), (4, 2, 4.21, 5.77), (4, 4, 14.71, 17.32),
])
def test_mlp_parameter_counts_match_tables_7_and_8(depth, expansion, regression, diffusion):
    assert millions("regression", "mlp", depth=depth, expansion=expansion) == pytest.approx(regression, abs=0.0051)
    assert millions("diffusion", "mlp", depth=depth, expansion=expansion) == pytest.approx(diffusion, abs=0.011)


# Tables 9 and 10: 4.0M per layer as in the paper; the totals agree within 0.5%.
@pytest.mark.parametrize(("depth", "regression", "diffusion"), [
    (3, 12.31, 12.82), (6, 24.31, 24.82), (8, 32.31, 32.83), (12, 48.32, 48.83),
])
def test_transformer_parameter_counts_match_tables_9_and_10(depth, regression, diffusion):
    assert millions("regression", "transformer", depth=depth) == pytest.approx(regression, rel=0.005)
    assert millions("diffusion", "transformer", depth=depth) == pytest.approx(diffusion, rel=0.005)


def test_paper_defaults_are_the_papers_best_settings():
    assert PAPER_DEFAULTS[("regression", "mlp")] == {"depth": 1, "expansion": 4}
    assert PAPER_DEFAULTS[("diffusion", "transformer")] == {"depth": 12}
    assert millions("diffusion", "transformer", **PAPER_DEFAULTS[("diffusion", "transformer")]) == pytest.approx(
        48.83, rel=0.005)


def test_diffusion_transformer_tells_noisy_clap_from_clip_condition():
    torch.manual_seed(0)
    network = NETWORKS[("diffusion", "transformer")](depth=1, heads=2, dim_head=8, ff_mult=1)
    a, b, t = torch.randn(2, 512), torch.randn(2, 512), torch.tensor([3, 7])
    assert not torch.allclose(network(a, t, b), network(b, t, a))
