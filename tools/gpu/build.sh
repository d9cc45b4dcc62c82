#!/usr/bin/env bash
# Run on the GPU machine (after tools/gpu/pack.sh on a CPU machine, with
# .gpu_carry carried): builds and tests every target with the carried Bazel
# and libraries, LibTorch 2.x from the installed PyTorch and nvcc from
# /usr/local/cuda. Extra arguments replace the default target pattern, e.g.
#   bash tools/gpu/build.sh //ops/cuda/... //sniper:train
# Prints the OS, glibc, compiler, PyTorch and GPU first (for the notes).
# tools/gpu/check.sh is the prepared check for a short GPU window.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/gpu/env.sh || exit 1
targets=("$@")
# Packages by name: Bazel 2.1.0's //... also walks the bazel-* convenience
# links of an earlier build (and fails in bazel-<dir>/external).
[ ${#targets[@]} -gt 0 ] || targets=(//benchmarks/... //configs/... //data/...
  //evaluation/... //models/... //ops/... //port/... //sniper/... //tools/...)
"${GPU_BAZEL[@]}" test "${GPU_BAZEL_FLAGS[@]}" --test_output=errors \
  --keep_going "${targets[@]}"
