#!/usr/bin/env bash
set -euo pipefail
exec python3 tools/perf/perf_gate.py --baseline=benchmarks/perf_baseline.json --bin_root=.
