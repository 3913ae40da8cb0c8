#!/usr/bin/env bash
# The GPU check of taylor-mlir, for a machine with an NVIDIA GPU (<= 8 minutes).
#
#   bash benchmarks/gpu_check.sh            # after `make install` on that machine
#
# 1. the GPU tests: test/compile/test_gpu.py (the tests marked "needs an NVIDIA
#    GPU" run here: the operators and their gradients on CUDA tensors against
#    torch.func) and test/gpu (the runtime over the CUDA driver, cuBLAS);
# 2. the paper-MLP benchmark on the GPU (benchmarks/gpu_paper_mlp.py):
#    Laplacian and biharmonic, forward and training step, against
#    jet-for-pytorch and torch.func on CUDA; results in
#    benchmarks/results/gpu_paper_mlp.{json,md} and the test log in
#    benchmarks/results/gpu_check.log.
#
# Needs: taylor-mlir installed with its `cuda` extra (nvidia-cublas), a CUDA
# build of torch, an NVIDIA driver; jet-for-pytorch is optional (its column
# is left out without it). PYTHON selects the interpreter (default: .venv's
# if there is one, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
RESULTS=benchmarks/results
mkdir -p "$RESULTS"

"$PYTHON" - <<'PY'
import torch
from taylor_mlir import _cuda
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("GPU:", torch.cuda.get_device_name(), "| driver:", _cuda.driver())
PY

status=0
timeout 240 "$PYTHON" -m pytest -q -rs test/compile/test_gpu.py test/gpu \
  2>&1 | tee "$RESULTS/gpu_check.log" || status=$?
timeout 220 "$PYTHON" benchmarks/gpu_paper_mlp.py --batches 256 2048 --seconds 1.5 \
  2>&1 | tee -a "$RESULTS/gpu_check.log" || status=$?
exit $status
