"""Regenerate metric_references.json: FD, IS and KL computed by audioldm_eval 0.0.3's own functions.

Not a test and not run by CI (v2a does not depend on audioldm_eval). Usage:

    pip download --no-deps audioldm-eval==0.0.3     # unpack the wheel into SRC
    PYTHONPATH=<v2a checkout> python make_metric_references.py SRC

Inputs are the deterministic feature sets of `cases()`, which the test builds too. The functions run are
`metrics/fid.calculate_fid` (FD: np.cov, scipy sqrtm, ε only when the root is not finite, an error on an
imaginary diagonal), `metrics/isc.calculate_isc` (rng_seed 2020, shuffled, 10 splits, as `eval.py` calls
it) and `metrics/kl.calculate_kl`. Only those modules are loaded: the package `__init__` pulls in the
feature extractors.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np


def cases() -> dict[str, dict[str, np.ndarray]]:
    """Feature sets: full-rank and singular (fewer rows than dims) FD pairs; IS and KL logits."""
    rng = np.random.default_rng(20240501)
    mixing = rng.standard_normal((24, 24))
    out = {
        "fd_full_rank": {"a": rng.standard_normal((300, 24)) @ mixing + 0.5,
                         "b": 0.7 * rng.standard_normal((250, 24)) @ mixing - 0.2},
        "fd_60x128": {"a": rng.standard_normal((60, 128)), "b": rng.standard_normal((60, 128)) + 0.1},
        "fd_10x64": {"a": rng.standard_normal((10, 64)), "b": rng.standard_normal((12, 64)) + 0.1},
        "fd_low_rank": {"a": rng.standard_normal((40, 3)) @ rng.standard_normal((3, 32)),
                        "b": rng.standard_normal((40, 3)) @ rng.standard_normal((3, 32)) + 1.0},
        # 5 rows of 200 dims, large values: the root's diagonal gets an imaginary part > 1e-3 and
        # audioldm_eval stops with "Imaginary component".
        "fd_imaginary": {"a": 1000 * rng.standard_normal((5, 200)), "b": 1000 * rng.standard_normal((5, 200))},
    }
    for count in (15, 40, 137):
        out[f"is_{count}"] = {"logits": (3 * rng.standard_normal((count, 527))).astype(np.float32)}
    out["kl_25"] = {"generated": (2 * rng.standard_normal((25, 527))).astype(np.float32),
                    "reference": (2 * rng.standard_normal((25, 527))).astype(np.float32)}
    return out


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(src: str) -> None:
    import torch

    metrics = Path(src) / "audioldm_eval" / "metrics"
    fid, isc, kl = (_load(f"audioldm_eval_{name}", metrics / f"{name}.py") for name in ("fid", "isc", "kl"))
    results = {}
    for name, data in cases().items():
        if name.startswith("fd_"):
            first, second = {"f": torch.from_numpy(data["a"])}, {"f": torch.from_numpy(data["b"])}
            try:
                results[name] = {"frechet_distance": fid.calculate_fid(first, second, "f")["frechet_distance"]}
            except AssertionError as exc:  # audioldm_eval: `assert False, "Imaginary component ..."`
                results[name] = {"error": str(exc)}
        elif name.startswith("is_"):
            score = isc.calculate_isc({"l": torch.from_numpy(data["logits"])}, "l", rng_seed=2020,
                                      samples_shuffle=True, splits=10)
            results[name] = {"mean": score["inception_score_mean"], "std": score["inception_score_std"]}
        else:
            names = [f"{i}.wav" for i in range(len(data["generated"]))]
            values, _, _ = kl.calculate_kl({"l": torch.from_numpy(data["generated"]), "file_path_": names},
                                           {"l": torch.from_numpy(data["reference"]), "file_path_": names}, "l")
            results[name] = {"kl": values["kullback_leibler_divergence_softmax"],
                             "kl_sigmoid": values["kullback_leibler_divergence_sigmoid"]}
    out = Path(__file__).with_name("metric_references.json")
    out.write_text(json.dumps({"source": "audioldm_eval 0.0.3 metrics/fid.py, isc.py, kl.py", "results": results},
                              indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
