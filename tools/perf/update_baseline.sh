#!/usr/bin/env bash
# Rewrites benchmarks/perf_baseline.json from a fresh run: exact counters and
# the `measured` ratios (the min_speedup thresholds are kept; edit them by
# hand). Review the diff before committing: a changed exact counter is a
# behaviour change (chips, pixels, boxes).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bazel_flags.sh
targets=$(python3 tools/perf/perf_lib.py targets benchmarks/perf_baseline.json)
bazel build "${BAZEL_FLAGS[@]}" $targets
python3 tools/perf/perf_gate.py --baseline=benchmarks/perf_baseline.json \
  --bin_root=bazel-bin --update
git diff --stat benchmarks/perf_baseline.json || true
