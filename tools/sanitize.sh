#!/usr/bin/env bash
# The sanitizer job: every C++ test of the torch-free packages (port, data,
# evaluation, viz, autofocus, experiment) and every fuzz target's corpus +
# mutations, built with GCC's ASan + UBSan (.bazelrc --config=asan) into
# their own output directory (k8-fastbuildasan), so the plain build is
# untouched.
# Usage: bash tools/sanitize.sh [extra bazel test args]
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/bazel_flags.sh
query='kind(cc_test, //port/... + //data/... + //evaluation/... + //viz/... + //autofocus/... + //experiment/... + attr(tags, fuzz, //...)) except rdeps(//..., @libtorch//:torch)'
mapfile -t targets < <(bazel query "${BAZEL_FLAGS[@]}" "$query" 2>/dev/null)
if [ "${#targets[@]}" -lt 20 ]; then
  echo "sanitize.sh: only ${#targets[@]} targets from: $query" >&2
  exit 1
fi
# GCC bug 71962: with UBSan's null checks (null, nonnull-attribute,
# returns-nonnull-attribute) GCC 13+ rejects Abseil 20240722's hash tables
# ("... == 0 is not a constant expression"; abseil-cpp issue 1634), so
# where a probe of flat_hash_map fails to compile with them (Debian 13),
# those three checks are left out; everything else stays on.
extra=()
probe=$(mktemp -d)
printf '%s\n' '#include "absl/container/flat_hash_map.h"' \
  'int main() { absl::flat_hash_map<long, int> m; m[1] = 2; return 0; }' > "$probe/p.cc"
if ! ${CXX:-g++} -std=c++17 -fsanitize=address,undefined -c "$probe/p.cc" -o "$probe/p.o" \
  > "$probe/log" 2>&1; then
  if ${CXX:-g++} -std=c++17 -fsanitize=address,undefined \
    -fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute \
    -c "$probe/p.cc" -o "$probe/p.o" > /dev/null 2>&1; then
    extra=(--copt=-fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute)
    echo "sanitize.sh: this GCC rejects Abseil's hash tables under UBSan's null checks" \
      "(GCC bug 71962); those three checks are off, the rest on"
  else
    echo "sanitize.sh: a flat_hash_map does not compile under ASan + UBSan:" >&2
    cat "$probe/log" >&2
    rm -rf "$probe"
    exit 1
  fi
fi
rm -rf "$probe"
# Abseil from 20230802 on keeps part of its hash tables' slot handling in
# the prebuilt (uninstrumented) library, while its headers poison free slots
# under ASan: together they report use-after-poison on every insert
# (abseil-cpp issue 1708). Where the installed Abseil is that recent, ASan's
# manual poisoning (used by nothing else here) is off at run time; every
# other ASan check stays on. (Debian 12's 20220623 keeps it on.)
absl_release=$(sed -n 's/^#define ABSL_LTS_RELEASE_VERSION \([0-9]*\).*/\1/p' \
  "${SNIPER_SYSTEM_PREFIX:-/usr}/include/absl/base/config.h" 2> /dev/null)
if [ "${absl_release:-0}" -ge 20230802 ]; then
  extra+=("--test_env=ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allow_user_poisoning=0")
  echo "sanitize.sh: Abseil $absl_release: ASan's manual poisoning off (prebuilt library and" \
    "instrumented headers disagree on hash-table slots)"
fi
# Third-party libraries' own leaks (fontconfig under cairo's text), named
# in the suppressions file with why.
extra+=("--test_env=LSAN_OPTIONS=suppressions=$(pwd)/tools/lsan_suppressions.txt")
echo "sanitize.sh: ${#targets[@]} test targets under ASan + UBSan"
bazel test "${BAZEL_FLAGS[@]}" --config=asan --platform_suffix=asan "${extra[@]}" \
  --test_summary=terse --keep_going "$@" "${targets[@]}"
