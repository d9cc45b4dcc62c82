#!/usr/bin/env bash
# distributed.cc's NCCL path only links in a GPU build (LibTorch with CUDA);
# CI has Debian's CPU LibTorch 1.13, whose headers still declare
# ProcessGroupNCCL. This compiles distributed.cc (-fsyntax-only) with that
# path switched on, against those headers and the CUDA toolkit's nccl.h,
# so a break in it shows here and not first on the GPU machine.
set -euo pipefail
src_dir="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-sniper_cpp}"
[ -d "$src_dir/sniper" ] || src_dir=.
cuda="${SNIPER_CUDA_PATH:-/usr/local/cuda}"
api=/usr/include/torch/csrc/api/include
for need in "$api/torch/torch.h" \
    /usr/include/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp \
    /usr/include/c10/cuda/CUDAMacros.h "$cuda/include/nccl.h" \
    "$cuda/include/cuda_runtime_api.h"; do
  if [ ! -e "$need" ]; then
    echo "SKIP: $need is missing (not Debian's LibTorch + CUDA toolkit)"
    exit 0
  fi
done
cxx="${CXX:-g++}"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
# Written by LibTorch's CMake for CUDA builds, absent from the CPU package.
mkdir -p "$tmp/stub/c10/cuda/impl"
echo "#define C10_CUDA_BUILD_SHARED_LIBS" \
  > "$tmp/stub/c10/cuda/impl/cuda_cmake_macros.h"
# The NCCL path must really be the one compiled.
cat > "$tmp/check.cc" <<'CC'
#include "sniper/distributed.cc"
#ifndef SNIPER_HAS_NCCL
#error "the NCCL path was not compiled"
#endif
CC
"$cxx" -std=c++17 -fsyntax-only -Wall -Wextra -Wno-unused-parameter \
  -Wno-sign-compare -Werror=unused-result -Werror=return-type \
  -DSNIPER_TORCH_HAS_CUDA=1 -I"$tmp/stub" -I"$src_dir" -isystem "$api" \
  -isystem "$cuda/include" "$tmp/check.cc"
echo "distributed.cc's NCCL path compiles against LibTorch 1.13's headers"
