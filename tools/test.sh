#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every
# test (unit, property, CUDA-if-a-GPU-is-present, and the benchmark
# regression gate, and the ASan + UBSan job over the torch-free packages and
# the fuzz corpora: tools/sanitize.sh), and ends with "N passed, N failed"
# (test cases).
# Usage: bash tools/test.sh [extra bazel test args]
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh || exit 1
# LibTorch 2.x headers for //port:torch2_compile_test (downloaded, not
# installed; never fatal: the test skips, saying why).
bash tools/fetch_torch_headers.sh
source tools/bazel_flags.sh

# The sanitizer job first (ASan + UBSan over the torch-free packages and
# the fuzz corpora, its own output directory), so that the summary below
# stays the last lines.
bash tools/sanitize.sh
sanitize_rc=$?

log="$(mktemp)"
bazel test "${BAZEL_FLAGS[@]}" --test_summary=short --keep_going //... "$@" 2>&1 | tee "$log"
bazel_rc=${PIPESTATUS[0]}
python3 tools/ci/summarize_tests.py --bazel_log="$log" --testlogs="$(bazel info "${BAZEL_FLAGS[@]}" bazel-testlogs 2>/dev/null)" --bazel_rc="$bazel_rc"
rc=$?
rm -f "$log"
if [ "$sanitize_rc" -ne 0 ]; then
  echo "sanitizer job (tools/sanitize.sh) FAILED: see its output above"
  [ "$rc" -eq 0 ] && rc=1
fi
exit $rc
