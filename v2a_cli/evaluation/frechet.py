"""Fréchet distance between two Gaussians fitted to embeddings (FD on PANNs, FAD on VGGish).

    d² = |μ₁ − μ₂|² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½)

tr((Σ₁Σ₂)^½) equals the sum of the square roots of the eigenvalues of Σ₁^½ Σ₂ Σ₁^½, a symmetric
positive semi-definite matrix, so two symmetric eigendecompositions replace scipy's general `sqrtm`
(same value to ~1e-12 on full-rank data, no complex round-off, several times faster at 2048-d).

With fewer samples than dimensions the covariances are singular and the product Σ₁Σ₂ has no unique
root. There `frechet_report` computes exactly what audioldm_eval / pytorch-fid compute: scipy's `sqrtm`
of Σ₁Σ₂; only when that is not finite, ε = 1e-6 added to both diagonals inside the root (the traces keep
the original Σ); an imaginary part on the root's diagonal above 1e-3 makes the reference stop with an
error, where we return the real part's value with a warning that it is not comparable.
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


@dataclass(frozen=True)
class FrechetResult:
    value: float
    eps_added: bool  # ε was added to the diagonals (the reference's root was not finite without it)
    warning: str | None  # set when the reference implementation would have failed: not comparable


def frechet_report(stats1: GaussianStats, stats2: GaussianStats) -> FrechetResult:
    """Fréchet distance of two fitted sets, as audioldm_eval computes it (see the module docstring)."""
    if np.array_equal(stats1.mean, stats2.mean) and np.array_equal(stats1.cov, stats2.cov):
        # A set against itself: exactly 0 (d² of a Gaussian with itself), where the matrix roots of a
        # singular Σ² would leave round-off of either sign, or an imaginary part, instead.
        return FrechetResult(0.0, False, None)
    if not (stats1.singular or stats2.singular):
        # Full rank: Σ₁Σ₂ has positive eigenvalues, the reference's sqrtm is finite and real; the symmetric
        # route gives its value to ~1e-12 without its cost.
        return FrechetResult(frechet_distance(stats1.mean, stats1.cov, stats2.mean, stats2.cov), False, None)
    import scipy.linalg

    mu1, mu2 = stats1.mean, stats2.mean
    sigma1, sigma2 = np.atleast_2d(stats1.cov), np.atleast_2d(stats2.cov)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shapes do not match: {mu1.shape}, {sigma1.shape} vs {mu2.shape}, {sigma2.shape}")
    import warnings

    with warnings.catch_warnings():  # "Matrix is singular": expected here, reported through FrechetResult
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        eps_added = not np.isfinite(covmean).all()
        if eps_added:
            offset = SINGULAR_EPS * np.eye(sigma1.shape[0])
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    warning = None
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            warning = (f"the matrix square root has an imaginary component ({np.max(np.abs(covmean.imag)):.3g}) "
                       "where audioldm_eval stops with an error; the value uses its real part and is NOT "
                       "comparable with published numbers (use more files than embedding dimensions)")
        covmean = covmean.real
    if not np.isfinite(covmean).all():
        return FrechetResult(float("nan"), eps_added, "the matrix square root is not finite even with ε added; "
                                                      "no Fréchet distance (use more files)")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return FrechetResult(float(value), eps_added, warning)


def frechet_distance_of(stats1: GaussianStats, stats2: GaussianStats) -> float:
    """The value of `frechet_report`."""
    return frechet_report(stats1, stats2).value
