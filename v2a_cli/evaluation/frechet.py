"""Fréchet distance between two Gaussians fitted to embeddings (FD on PANNs, FAD on VGGish).

    d² = |μ₁ − μ₂|² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½)

tr((Σ₁Σ₂)^½) equals the sum of the square roots of the eigenvalues of Σ₁^½ Σ₂ Σ₁^½, a symmetric
positive semi-definite matrix, so two symmetric eigendecompositions replace scipy's general `sqrtm`
(same value to ~1e-12 on full-rank data, no complex round-off, several times faster at 2048-d).

With fewer samples than dimensions the covariances are singular. As pytorch-fid and audioldm_eval do
in that case, ε = 1e-6 is added to both diagonals; `FrechetStats.singular` says when that happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SINGULAR_EPS = 1e-6


@dataclass(frozen=True)
class GaussianStats:
    mean: np.ndarray  # [D]
    cov: np.ndarray  # [D, D]
    count: int  # samples the statistics come from

    @property
    def singular(self) -> bool:
        """A sample covariance of n points has rank ≤ n − 1."""
        return self.count - 1 < self.mean.shape[0]


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """Mean and unbiased covariance (as np.cov) of [N, D] features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors [N, D], got shape {features.shape}")
    return GaussianStats(features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False)), features.shape[0])


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     *, eps: float = 0.0) -> float:
    """Fréchet distance of N(mu1, sigma1) and N(mu2, sigma2); `eps` is added to both diagonals."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.shape[0],) * 2:
        raise ValueError(f"shapes do not match: {mu1.shape}, {sigma1.shape} vs {mu2.shape}, {sigma2.shape}")
    if eps:
        offset = eps * np.eye(mu1.shape[0])
        sigma1, sigma2 = sigma1 + offset, sigma2 + offset
    sigma1, sigma2 = (sigma1 + sigma1.T) / 2, (sigma2 + sigma2.T) / 2
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean
    return float(max(distance, 0.0))  # round-off can give -1e-12 for identical sets


def frechet_distance_of(stats1: GaussianStats, stats2: GaussianStats) -> float:
    """Fréchet distance of two fitted sets, adding SINGULAR_EPS when either covariance is singular."""
    eps = SINGULAR_EPS if (stats1.singular or stats2.singular) else 0.0
    return frechet_distance(stats1.mean, stats1.cov, stats2.mean, stats2.cov, eps=eps)
