#!/usr/bin/env bash
# Compiles (-fsyntax-only) the CUDA branches of LibTorch code, the ones
# behind SNIPER_TORCH_HAS_CUDA that only a GPU build (LibTorch with CUDA)
# links, against Debian's CPU LibTorch 1.13 headers (which still declare
# the CUDA APIs) and the CUDA toolkit's headers, so that CI catches a break
# there instead of the GPU machine. Skips where either is missing (the GPU
# machine's own build compiles these files for real).
#   tools/cuda_syntax_check.sh FILE.cc[:MACRO] ...
# FILE:MACRO also checks that MACRO got defined, i.e. that the intended
# branch was the one compiled.
set -euo pipefail
src_dir="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-sniper_cpp}"
[ -d "$src_dir/tools" ] || src_dir=.
cuda="${SNIPER_CUDA_PATH:-/usr/local/cuda}"
api=/usr/include/torch/csrc/api/include
for need in "$api/torch/torch.h" /usr/include/c10/cuda/CUDAMacros.h \
    /usr/include/ATen/cuda/CUDAContext.h \
    /usr/include/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp \
    "$cuda/include/cuda_runtime_api.h" "$cuda/include/nccl.h"; do
  if [ ! -e "$need" ]; then
    echo "SKIP: $need is missing (not Debian's LibTorch + a CUDA toolkit)"
    exit 0
  fi
done
cxx="${CXX:-g++}"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
# Written by LibTorch's CMake for CUDA builds, absent from the CPU package.
mkdir -p "$tmp/stub/c10/cuda/impl"
echo "#define C10_CUDA_BUILD_SHARED_LIBS" \
  > "$tmp/stub/c10/cuda/impl/cuda_cmake_macros.h"
for arg in "$@"; do
  file="${arg%%:*}"
  macro=""
  [ "$arg" = "$file" ] || macro="${arg#*:}"
  {
    echo "#include \"$file\""
    if [ -n "$macro" ]; then
      echo "#ifndef $macro"
      echo "#error \"$file: $macro is not defined: the CUDA branch was not compiled\""
      echo "#endif"
    fi
  } > "$tmp/check.cc"
  # The project's warning flags (tools/build_defs/copts.bzl).
  "$cxx" -std=c++17 -fsyntax-only -Wall -Wextra -Wno-unused-parameter \
    -Wno-sign-compare -Werror=unused-result -Werror=return-type \
    -DSNIPER_TORCH_HAS_CUDA=1 -I"$tmp/stub" -I"$src_dir" -isystem "$api" \
    -isystem "$cuda/include" "$tmp/check.cc"
  echo "OK: $file's CUDA branch compiles against LibTorch 1.13's headers"
done
