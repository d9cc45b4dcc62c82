#!/usr/bin/env bash
# The sanitizer job: every C++ test of the torch-free packages (port, data,
# evaluation, viz) and every fuzz target's corpus + mutations, built with
# GCC's ASan + UBSan (.bazelrc --config=asan) into their own output
# directory (k8-fastbuildasan), so the plain build is untouched.
# Usage: bash tools/sanitize.sh [extra bazel test args]
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/bazel_flags.sh
query='kind(cc_test, //port/... + //data/... + //evaluation/... + //viz/... + //autofocus/... + attr(tags, fuzz, //...)) except rdeps(//..., @libtorch//:torch)'
mapfile -t targets < <(bazel query "${BAZEL_FLAGS[@]}" "$query" 2>/dev/null)
if [ "${#targets[@]}" -lt 20 ]; then
  echo "sanitize.sh: only ${#targets[@]} targets from: $query" >&2
  exit 1
fi
echo "sanitize.sh: ${#targets[@]} test targets under ASan + UBSan"
bazel test "${BAZEL_FLAGS[@]}" --config=asan --platform_suffix=asan \
  --test_summary=terse --keep_going "$@" "${targets[@]}"
