"""Fréchet distance: against scipy's sqrtm, known closed forms, symmetry, and singular covariances."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from v2a_cli.evaluation.frechet import SINGULAR_EPS, frechet_distance, frechet_distance_of, gaussian_stats


def scipy_reference(a: np.ndarray, b: np.ndarray, eps: float = 0.0) -> float:
    """The textbook formula with scipy.linalg.sqrtm (as pytorch-fid / audioldm_eval compute it)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1 = np.cov(a, rowvar=False) + eps * np.eye(a.shape[1])
    s2 = np.cov(b, rowvar=False) + eps * np.eye(a.shape[1])
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.fixture
def two_sets():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 24)) @ rng.standard_normal((24, 24)) + 0.5
    b = rng.standard_normal((250, 24)) @ rng.standard_normal((24, 24)) * 0.7 - 0.2
    return a, b


def test_matches_scipy_sqrtm_reference(two_sets):
    a, b = two_sets
    stats_a, stats_b = gaussian_stats(a), gaussian_stats(b)
    assert not stats_a.singular and not stats_b.singular
    ours = frechet_distance_of(stats_a, stats_b)
    reference = scipy_reference(a, b)
    assert abs(ours - reference) / reference <= 1e-6


def test_zero_for_a_set_against_itself(two_sets):
    a, _ = two_sets
    assert frechet_distance_of(gaussian_stats(a), gaussian_stats(a)) == pytest.approx(0.0, abs=1e-8)


def test_symmetric(two_sets):
    a, b = two_sets
    forward = frechet_distance_of(gaussian_stats(a), gaussian_stats(b))
    backward = frechet_distance_of(gaussian_stats(b), gaussian_stats(a))
    assert forward == pytest.approx(backward, rel=1e-10)


def test_closed_form_for_two_known_gaussians():
    # Σ1 = R diag(a) Rᵀ, Σ2 = R diag(b) Rᵀ commute, so d² = |μ1-μ2|² + Σ (√a_i - √b_i)².
    rng = np.random.default_rng(1)
    rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    var1, var2 = np.array([1.0, 2.0, 3.0, 4.0, 0.5, 9.0]), np.array([4.0, 2.0, 1.0, 1.0, 2.0, 1.0])
    mu1, mu2 = np.arange(6.0), np.arange(6.0) + np.array([1.0, 0, 0, 2.0, 0, 0])
    expected = 1.0 + 4.0 + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    sigma1, sigma2 = rotation @ np.diag(var1) @ rotation.T, rotation @ np.diag(var2) @ rotation.T
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-10)
    # 1-D: (μ1-μ2)² + (σ1-σ2)²
    assert frechet_distance([0.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(9.0 + 1.0)


def test_singular_covariance_is_computed_as_the_reference_does():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((10, 64)), rng.standard_normal((12, 64)) + 0.1  # fewer files than dimensions
    stats_a, stats_b = gaussian_stats(a), gaussian_stats(b)
    assert stats_a.singular and stats_b.singular
    ours = frechet_distance_of(stats_a, stats_b)
    assert np.isfinite(ours) and ours > 0
    # scipy's sqrtm is finite here, so no ε (audioldm_eval adds it only when the root is not finite).
    assert ours == pytest.approx(scipy_reference(a, b), rel=1e-9)
    assert ours != pytest.approx(scipy_reference(a, b, eps=SINGULAR_EPS), rel=1e-9)
    assert frechet_distance_of(stats_a, stats_a) == pytest.approx(0.0, abs=1e-4)  # sqrtm round-off, as the reference


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError):
        gaussian_stats(np.zeros((1, 3)))
