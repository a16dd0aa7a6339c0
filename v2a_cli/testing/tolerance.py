"""Tolerances for comparing float32 results of two implementations, in units the reader can check.

Two correct float32 implementations of the same computation differ by rounding: summation order, fused
multiply-adds, the SIMD width of the CPU's kernels (oneDNN, MKL, ATen pick them per machine). That difference
scales with the size of the numbers, so it is counted in float32 spacings (ulps) at the reference's largest
magnitude: `ulps=64` at a scale of 4 allows 64 * 4.8e-7 = 3e-5. Each test states why its number of ulps is what
it is (docs/testing.md lists them all with what was measured).
"""

from __future__ import annotations

import numpy as np


def _array(values) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def ulps_apart(ours, reference) -> float:
    """The largest difference, in float32 spacings at the reference's largest magnitude."""
    ours, reference = _array(ours), _array(reference)
    assert ours.shape == reference.shape, f"shapes differ: {ours.shape} vs {reference.shape}"
    scale = float(np.spacing(np.float32(max(float(np.abs(reference).max(initial=0.0)), np.finfo(np.float32).tiny))))
    return float(np.abs(ours - reference).max(initial=0.0)) / scale


def assert_close_in_float32(ours, reference, *, ulps: float, what: str = "") -> None:
    """Same shape, and every element within `ulps` float32 spacings of the reference's largest magnitude."""
    apart = ulps_apart(ours, reference)
    largest = float(np.abs(_array(reference)).max(initial=0.0))
    assert apart <= ulps, (f"{what + ': ' if what else ''}{apart:.3g} float32 ulps apart (max abs "
                           f"{float(np.abs(_array(ours) - _array(reference)).max()):.3g} at scale {largest:.3g}); "
                           f"allowed {ulps:g}")
