"""KL and IS against hand-computed values on fixed posteriors; CS against the manual cosine."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from v2a_cli.evaluation.scores import clip_score, inception_score, kl_divergence


def logits_of(probabilities: list[list[float]]) -> torch.Tensor:
    """Logits whose softmax is exactly `probabilities`."""
    return torch.tensor(probabilities, dtype=torch.float64).log()


def test_kl_softmax_matches_hand_computation():
    reference = [[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]]
    generated = [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]
    by_hand = sum(
        sum(p * (math.log(p) - math.log(q)) for p, q in zip(ref_row, gen_row))
        for ref_row, gen_row in zip(reference, generated)
    ) / 2
    result = kl_divergence(logits_of(generated), logits_of(reference))
    assert result["kl"] == pytest.approx(by_hand, rel=1e-9)
    # direction: KL(reference ‖ generated), as audioldm_eval and av-benchmark (and not the reverse)
    reverse = kl_divergence(logits_of(reference), logits_of(generated))["kl"]
    assert reverse != pytest.approx(by_hand, rel=1e-3)


def test_kl_sigmoid_matches_hand_computation():
    generated, reference = [[0.0, 2.0]], [[1.0, -1.0]]
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    by_hand = sum(sig(r) * (math.log(sig(r)) - math.log(sig(g))) for g, r in zip(generated[0], reference[0]))
    result = kl_divergence(torch.tensor(generated), torch.tensor(reference))
    assert result["kl_sigmoid"] == pytest.approx(by_hand, rel=1e-6)


def test_kl_of_identical_logits_is_exactly_zero():
    logits = torch.randn(5, 527, generator=torch.Generator().manual_seed(0))
    # Each term is p · (log p − log p) in log space: exactly 0, not audioldm_eval's −527 × 1e-6.
    assert kl_divergence(logits, logits) == {"kl": 0.0, "kl_sigmoid": 0.0}
    assert kl_divergence(logits.float(), logits.float().clone())["kl"] == 0.0


def test_kl_is_never_negative():
    base = torch.randn(4, 527, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    nearly = base + 1e-12 * torch.randn(4, 527, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert kl_divergence(nearly, base)["kl"] >= 0.0


def test_inception_score_matches_hand_computation():
    # Two files, one split: p(y) = mean of the rows; IS = exp(mean_x KL(p(y|x) ‖ p(y))).
    rows = [[0.9, 0.1], [0.2, 0.8]]
    marginal = [(0.9 + 0.2) / 2, (0.1 + 0.8) / 2]
    mean_kl = sum(sum(p * math.log(p / m) for p, m in zip(row, marginal)) for row in rows) / 2
    score, spread = inception_score(logits_of(rows), splits=1, seed=None)
    assert score == pytest.approx(math.exp(mean_kl), rel=1e-9)
    assert spread == 0.0


def test_inception_score_extremes():
    confident_distinct = torch.full((4, 4), -30.0).fill_diagonal_(30.0)
    assert inception_score(confident_distinct, splits=1, seed=None)[0] == pytest.approx(4.0, rel=1e-6)
    identical = torch.randn(1, 10).repeat(26, 1)
    assert inception_score(identical)[0] == pytest.approx(1.0)


def test_inception_score_keeps_ten_splits_with_few_files_and_says_so():
    """As audioldm_eval: 10 parts whatever the count (15 files: parts of 1 and 2), NaN under 10 files."""
    from v2a_cli.evaluation.scores import inception_score_caveat

    logits = torch.randn(15, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 3
    order = np.random.RandomState(2020).permutation(15)
    parts = []
    for index in range(10):
        chunk = logits[order][index * 15 // 10:(index + 1) * 15 // 10].softmax(dim=1)
        parts.append(math.exp(float((chunk * (chunk.log() - chunk.mean(dim=0).log())).sum(dim=1).mean())))
    assert inception_score(logits)[0] == pytest.approx(float(np.mean(parts)), rel=1e-12)
    assert "not meaningful" in inception_score_caveat(15)
    assert math.isnan(inception_score(logits[:7])[0]) and "NaN" in inception_score_caveat(7)
    assert inception_score_caveat(20) is None


def test_inception_score_splits_after_the_seeded_shuffle():
    logits = torch.randn(40, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 3
    order = np.random.RandomState(2020).permutation(40)
    parts = []
    for index in range(10):
        chunk = logits[order][index * 4:(index + 1) * 4].softmax(dim=1)
        marginal = chunk.mean(dim=0)
        parts.append(math.exp(float((chunk * (chunk.log() - marginal.log())).sum(dim=1).mean())))
    score, spread = inception_score(logits)
    assert score == pytest.approx(float(np.mean(parts)), rel=1e-9)
    assert spread == pytest.approx(float(np.std(parts)), rel=1e-9)


def test_clip_score_is_100_times_the_mean_cosine():
    image = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    audio = torch.tensor([[1.0, 1.0], [0.0, -3.0]])
    expected = 100 * (1 / math.sqrt(2) + -1.0) / 2
    assert clip_score(image, audio) == pytest.approx(expected)
    with pytest.raises(ValueError):
        clip_score(image, audio[:1])
