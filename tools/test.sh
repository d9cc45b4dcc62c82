#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every
# test (unit, property, CUDA-if-a-GPU-is-present, the ASan + UBSan job over
# the torch-free packages and the fuzz corpora: tools/sanitize.sh, and the
# performance gate: tools/perf/ab.sh), and ends with "N passed, N failed"
# (test cases), or with the performance gate's table when it failed.
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

# The performance gate (its binaries were built above): HEAD against the
# last commit recorded in benchmarks/perf_history.jsonl, interleaved on this
# machine (tools/perf/ab.sh), plus the exact counters and in-run ratios of
# benchmarks/perf_baseline.json. Without git history to compare with, the
# HEAD-only checks alone (tools/perf/perf_gate.py).
perf_dir="$(mktemp -d)"
echo "perf gate: tools/perf/ab.sh (log: $perf_dir/log.txt) ..."
AB_OUT="$perf_dir" bash tools/perf/ab.sh > "$perf_dir/log.txt" 2>&1
perf_rc=$?
if [ "$perf_rc" -eq 2 ]; then
  echo "perf gate: no A/B ($(grep '^ab.sh:' "$perf_dir/log.txt" | tail -1)); HEAD-only checks"
  python3 tools/perf/perf_gate.py --baseline=benchmarks/perf_baseline.json \
    --bin_root="$(bazel info "${BAZEL_FLAGS[@]}" bazel-bin 2>/dev/null)" \
    > "$perf_dir/summary.txt" 2>&1
  perf_rc=$?
fi
tail -1 "$perf_dir/summary.txt" 2>/dev/null

python3 tools/ci/summarize_tests.py --bazel_log="$log" --testlogs="$(bazel info "${BAZEL_FLAGS[@]}" bazel-testlogs 2>/dev/null)" --bazel_rc="$bazel_rc" \
  --extra="perf gate: tools/perf/ab.sh=$perf_rc"
rc=$?
rm -f "$log"
if [ "$sanitize_rc" -ne 0 ]; then
  echo "sanitizer job (tools/sanitize.sh) FAILED: see its output above"
  [ "$rc" -eq 0 ] && rc=1
fi
# A failed performance gate ends with its comparison table, so that the
# last lines say why.
if [ "$perf_rc" -ne 0 ]; then
  echo "perf gate FAILED (log: $perf_dir/log.txt):"
  cat "$perf_dir/summary.txt" 2>/dev/null || tail -20 "$perf_dir/log.txt"
fi
exit $rc
