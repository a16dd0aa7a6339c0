"""FD, IS and KL against audioldm_eval 0.0.3's own functions (fixture: data/make_metric_references.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from v2a_cli.testing.fixture_scripts import load_fixture_script

DATA = Path(__file__).with_name("data")
REFERENCE = json.loads((DATA / "metric_references.json").read_text())["results"]


def _cases():
    return load_fixture_script(DATA / "make_metric_references.py").cases()


CASES = _cases()


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("fd_") and "error" not in REFERENCE[n]])
def test_frechet_distance_matches_audioldm_eval(name):
    from v2a_cli.evaluation.frechet import frechet_report, gaussian_stats

    report = frechet_report(gaussian_stats(CASES[name]["a"]), gaussian_stats(CASES[name]["b"]))
    expected = REFERENCE[name]["frechet_distance"]
    assert abs(report.value - expected) / abs(expected) <= 1e-6
    assert report.warning is None and not report.eps_added


def test_frechet_distance_where_audioldm_eval_fails_warns_it_is_not_comparable():
    from v2a_cli.evaluation.frechet import frechet_report, gaussian_stats

    assert REFERENCE["fd_imaginary"]["error"].startswith("Imaginary component")
    report = frechet_report(gaussian_stats(CASES["fd_imaginary"]["a"]), gaussian_stats(CASES["fd_imaginary"]["b"]))
    assert math.isfinite(report.value)
    assert "NOT comparable" in report.warning and "imaginary" in report.warning


def test_epsilon_is_added_only_when_the_root_is_not_finite(monkeypatch):
    """As pytorch-fid / audioldm_eval: a non-finite sqrtm is retried with ε on the diagonals (inside the
    root only; the traces keep the original covariances)."""
    import scipy.linalg

    from v2a_cli.evaluation.frechet import SINGULAR_EPS, frechet_report, gaussian_stats

    a, b = CASES["fd_10x64"]["a"], CASES["fd_10x64"]["b"]
    real_sqrtm = scipy.linalg.sqrtm
    calls = []

    def first_call_not_finite(matrix, *args, **kwargs):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix, *args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "sqrtm", first_call_not_finite)
    report = frechet_report(gaussian_stats(a), gaussian_stats(b))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    offset = SINGULAR_EPS * np.eye(64)
    assert report.eps_added and np.allclose(calls[1], (s1 + offset) @ (s2 + offset), rtol=0, atol=1e-12)
    diff = a.mean(0) - b.mean(0)
    expected = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(real_sqrtm(calls[1]).real)
    assert report.value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("is_")])
def test_inception_score_matches_audioldm_eval(name):
    from v2a_cli.evaluation.scores import inception_score

    mean, std = inception_score(torch.from_numpy(CASES[name]["logits"]))
    assert mean == pytest.approx(REFERENCE[name]["mean"], rel=1e-6)
    assert std == pytest.approx(REFERENCE[name]["std"], rel=1e-6)


AVBENCH = json.loads((DATA / "avbench_metric_references.json").read_text())["results"]


def test_kl_matches_av_benchmark_and_is_zero_for_identical_logits():
    """Fixture: data/make_avbench_metric_references.py (av-benchmark's compute_kl on the same logits).
    audioldm_eval's KL adds 1e-6 inside the log and is not the reference any more (see scores.py)."""
    from v2a_cli.evaluation.scores import kl_divergence

    generated, reference = (torch.from_numpy(CASES["kl_25"][side]) for side in ("generated", "reference"))
    ours = kl_divergence(generated, reference)
    # av-benchmark sums 25 × 527 float32 terms (its logits' dtype), v2a float64: float32's relative
    # rounding (6e-8) grown over a sum of 13,175 positive terms stays below 1e-5 relative.
    assert ours["kl"] == pytest.approx(AVBENCH["kl_25"]["kl"], rel=1e-5)
    assert ours["kl_sigmoid"] == pytest.approx(AVBENCH["kl_25"]["kl_sigmoid"], rel=1e-5)
    same = kl_divergence(reference, reference.clone())
    assert same["kl"] == AVBENCH["kl_25"]["kl_identical"] == 0.0
    assert same["kl_sigmoid"] == AVBENCH["kl_25"]["kl_sigmoid_identical"] == 0.0


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("is_")])
def test_inception_score_matches_av_benchmark(name):
    from v2a_cli.evaluation.scores import inception_score

    mean, std = inception_score(torch.from_numpy(CASES[name]["logits"]))
    assert mean == pytest.approx(AVBENCH[name]["mean"], rel=1e-6)  # both in float64, same formula
    assert std == pytest.approx(AVBENCH[name]["std"], rel=1e-6)


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("fd_") and AVBENCH[n]["frechet_distance"] != -1])
def test_frechet_distance_matches_av_benchmark(name):
    """av-benchmark's compute_fd (FD_PaSST, FD_PANNs, FD_VGG) is audioldm_eval's formula; same bound."""
    from v2a_cli.evaluation.frechet import frechet_report, gaussian_stats

    report = frechet_report(gaussian_stats(CASES[name]["a"]), gaussian_stats(CASES[name]["b"]))
    expected = AVBENCH[name]["frechet_distance"]
    assert abs(report.value - expected) / abs(expected) <= 1e-6


def test_frechet_distance_where_av_benchmark_reports_minus_one_warns_it_is_not_comparable():
    from v2a_cli.evaluation.frechet import frechet_report, gaussian_stats

    assert AVBENCH["fd_imaginary"]["frechet_distance"] == -1  # its "Error in FAD computation" value
    report = frechet_report(gaussian_stats(CASES["fd_imaginary"]["a"]), gaussian_stats(CASES["fd_imaginary"]["b"]))
    assert report.warning is not None and "NOT comparable" in report.warning
