#!/usr/bin/env bash
# Every scale figure in one command (under 8 minutes on one H100/H200); writes bench/results/gpu-<date>.json.
#   bench/gpu.sh            # on a CUDA machine: full-size AudioLDM-S (random weights), fp16
#   bench/gpu.sh --smoke    # CPU, tiny models, a few steps: checks the script (tested in CI)
# Other flags go to bench/gpu_bench.py (--out FILE, --parts generation,mapper,extraction,training, --no-compile).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "${PYTHON:-python}" "$here/gpu_bench.py" "$@"
