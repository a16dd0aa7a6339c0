"""Regenerate avbench_metric_references.json: KL and IS computed by av-benchmark's own functions.

Not a test and not run by CI (v2a does not depend on av-benchmark). Usage:

    git clone https://github.com/hkchengrex/av-benchmark SRC       # any checkout; read at 050a5cd
    PYTHONPATH=<v2a checkout> python make_avbench_metric_references.py SRC

Inputs are the feature sets of make_metric_references.py's `cases()` (the test builds them too). The
functions run are `av_bench/metrics/fad.compute_fd` (FD_PaSST, FD_PANNs, FD_VGG; -1 where it fails),
`av_bench/metrics/kl.compute_kl` (KL(gt ‖ pred) from log_softmax / logsigmoid with
`log_target=True`, as `evaluate.py` calls it for KL-PANNS and KL-PASST) and `metrics/isc.compute_isc`
(rng_seed 2020, shuffled, 10 splits). Only those modules are loaded (they import torch and numpy only).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(src: str) -> None:
    import torch

    cases = _load("make_metric_references", Path(__file__).with_name("make_metric_references.py")).cases()
    metrics = Path(src) / "av_bench" / "metrics"
    kl, isc, fad = (_load(f"av_bench_{name}", metrics / f"{name}.py") for name in ("kl", "isc", "fad"))
    results = {}
    for name, data in cases.items():
        if name.startswith("fd_"):
            results[name] = {"frechet_distance": float(fad.compute_fd(data["a"], data["b"]))}
        elif name.startswith("is_"):
            score = isc.compute_isc(torch.from_numpy(data["logits"]), feat_layer_name=None, splits=10,
                                    samples_shuffle=True, rng_seed=2020)
            results[name] = {"mean": score["inception_score_mean"], "std": score["inception_score_std"]}
        elif name.startswith("kl_"):
            generated, reference = torch.from_numpy(data["generated"]), torch.from_numpy(data["reference"])
            values = kl.compute_kl([generated], reference)
            same = kl.compute_kl([reference], reference.clone())
            results[name] = {"kl": values["kl_softmax"], "kl_sigmoid": values["kl_sigmoid"],
                             "kl_identical": same["kl_softmax"], "kl_sigmoid_identical": same["kl_sigmoid"]}
    out = Path(__file__).with_name("avbench_metric_references.json")
    out.write_text(json.dumps({"source": "av-benchmark 050a5cd av_bench/metrics/fad.py, kl.py, isc.py", "results": results},
                              indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
