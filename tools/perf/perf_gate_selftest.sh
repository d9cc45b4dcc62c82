#!/usr/bin/env bash
# The gate must fail on a changed exact counter and on a ratio below its
# threshold, and pass otherwise (fake benchmark binaries printing JSON).
set -euo pipefail
gate=tools/perf/perf_gate.py
dir="${TEST_TMPDIR:-$(mktemp -d)}"
mkdir -p "$dir/bin"
fake() {  # fake <chips> <slow_ms> <fast_ms>
  cat > "$dir/bin/fake" <<EOS
#!/bin/sh
cat <<'JSON'
{"benchmarks": [
 {"name": "BM_Fast", "run_name": "BM_Fast", "run_type": "iteration", "real_time": $3, "cpu_time": $3, "time_unit": "ms", "iterations": 1, "chips": $1},
 {"name": "BM_Slow", "run_name": "BM_Slow", "run_type": "iteration", "real_time": $2, "cpu_time": $2, "time_unit": "ms", "iterations": 1},
 {"name": "BM_Skip", "run_name": "BM_Skip", "run_type": "iteration", "error_occurred": true, "error_message": "no data"}
]}
JSON
EOS
  chmod +x "$dir/bin/fake"
}
cat > "$dir/base.json" <<'EOF2'
{"binaries": ["fake"],
 "exact": {"fake": {"BM_Fast": {"chips": 42}, "BM_Skip": {"chips": 1}}},
 "ratios": [{"binary": "fake", "slow": "BM_Slow", "fast": "BM_Fast", "min_speedup": 4.0}]}
EOF2
fake 42 100 10
python3 "$gate" --baseline="$dir/base.json" --bin_root="$dir/bin" --repetitions=1
# The same count after reordered floating arithmetic (last bits) is equal.
fake 42.00000000000001 100 10
python3 "$gate" --baseline="$dir/base.json" --bin_root="$dir/bin" --repetitions=1
fake 42.000001 100 10
if python3 "$gate" --baseline="$dir/base.json" --bin_root="$dir/bin" --repetitions=1; then
  echo "gate passed a slightly changed exact counter"; exit 1
fi
fake 43 100 10
if python3 "$gate" --baseline="$dir/base.json" --bin_root="$dir/bin" --repetitions=1; then
  echo "gate passed a changed exact counter"; exit 1
fi
fake 42 30 10
if python3 "$gate" --baseline="$dir/base.json" --bin_root="$dir/bin" --repetitions=1; then
  echo "gate passed a ratio below threshold"; exit 1
fi
echo PASS
