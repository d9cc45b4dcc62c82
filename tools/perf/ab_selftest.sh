#!/usr/bin/env bash
# tools/perf/ab.py on fake benchmark binaries (shell scripts printing Google
# Benchmark JSON with jittered times), with the real compare.py:
#   - HEAD 30% slower than BASE              -> fails, naming the benchmark,
#                                               confirmed by a second pass;
#   - HEAD 30% slower in the first pass only -> passes ("not confirmed");
#   - HEAD equal to BASE (jitter only)       -> passes;
#   - HEAD 30% faster                        -> passes, reported "faster";
#   - a counter changed                      -> passes, listed for review;
#   - HEAD breaks the exact-counter baseline -> fails.
set -euo pipefail
ab=tools/perf/ab.py
dir="${TEST_TMPDIR:-$(mktemp -d)}"
if [ ! -f /usr/share/benchmark/compare.py ]; then
  echo "SKIP: no /usr/share/benchmark/compare.py (libbenchmark-tools)"; exit 0
fi

# fake <tree> <ms of BM_Work> <chips> [<ms of its first 3 runs>]: one
# repetition entry per --benchmark_repetitions, times jittered by up to 2%.
fake() {
  mkdir -p "$1/bazel-bin/bench"
  rm -f "$1/runs"
  cat > "$1/bazel-bin/bench/fake" <<EOS
#!/bin/bash
echo x >> "$1/runs"
ms=$2
[ -n "${4:-}" ] && [ \$(wc -l < "$1/runs") -le 3 ] && ms=${4:-}
reps=1
for a in "\$@"; do case "\$a" in --benchmark_repetitions=*) reps=\${a#*=};; esac; done
echo '{"context": {}, "benchmarks": ['
for ((i = 0; i < reps; i++)); do
  j=\$((RANDOM % 200))
  [ \$i -gt 0 ] && echo ','
  echo "{\"name\": \"BM_Work\", \"run_name\": \"BM_Work\", \"run_type\": \"iteration\", \"repetitions\": \$reps, \"repetition_index\": \$i, \"iterations\": 1, \"real_time\": \$(awk -v j=\$j 'BEGIN { printf "%.6f", '\$ms' * (10000 + j) / 10000 }'), \"cpu_time\": \$(awk -v j=\$j 'BEGIN { printf "%.6f", '\$ms' * (10000 + j) / 10000 }'), \"time_unit\": \"ms\", \"chips\": $3},"
  echo "{\"name\": \"BM_Other\", \"run_name\": \"BM_Other\", \"run_type\": \"iteration\", \"repetitions\": \$reps, \"repetition_index\": \$i, \"iterations\": 1, \"real_time\": \$(awk -v j=\$j 'BEGIN { printf "%.6f", 5 * (10000 + j) / 10000 }'), \"cpu_time\": 5, \"time_unit\": \"ms\"}"
done
echo ']}'
EOS
  chmod +x "$1/bazel-bin/bench/fake"
}
cat > "$dir/config.json" <<'EOF'
{"binaries": ["bench/fake"],
 "exact": {"bench/fake": {"BM_Work": {"chips": 42}}},
 "ratios": [],
 "ab": {"rounds": 3, "default_repetitions": 2, "max_slowdown": 0.15,
        "alpha": 0.05}}
EOF
run() {  # run <base ms> <head ms> <head chips> [<head ms, first 3 runs>]
  fake "$dir/base" "$1" 42
  fake "$dir/head" "$2" "$3" "${4:-}"
  python3 "$ab" --config="$dir/config.json" --base_tree="$dir/base" \
    --head_tree="$dir/head" --out_dir="$dir/out" > "$dir/out.txt" 2>&1
}

if run 10 13 42; then
  cat "$dir/out.txt"; echo "A/B passed a 30% slowdown"; exit 1
fi
grep -q "SLOWER: bench/fake:BM_Work +" "$dir/out.txt" || {
  cat "$dir/out.txt"; echo "the slowdown is not named"; exit 1; }
tail -1 "$dir/out.txt" | grep -q "perf A/B: FAIL" || { cat "$dir/out.txt"; exit 1; }
[ "$(tail -1 "$dir/out/summary.txt")" = "$(tail -1 "$dir/out.txt")" ] || {
  echo "summary.txt does not end like the output"; exit 1; }

grep -q "BM_Work.*FAIL (slower by more than 15%), confirmed (+" "$dir/out.txt" || {
  cat "$dir/out.txt"; echo "the slowdown was not confirmed by a second pass"; exit 1; }

# HEAD slow for a whole first pass only (a burst): the fresh pass clears it.
run 10 10 42 13 || { cat "$dir/out.txt"; echo "A/B failed a transient"; exit 1; }
grep -q "BM_Work.*ok: not confirmed (+" "$dir/out.txt" || {
  cat "$dir/out.txt"; echo "no second pass for the transient"; exit 1; }

run 10 10 42 || { cat "$dir/out.txt"; echo "A/B failed equal builds"; exit 1; }
grep -q "perf A/B: PASS" "$dir/out.txt"

run 10 7 42 || { cat "$dir/out.txt"; echo "A/B failed a speed-up"; exit 1; }
grep -q "BM_Work.*faster" "$dir/out.txt" || { cat "$dir/out.txt"; exit 1; }

if run 10 10 43; then
  cat "$dir/out.txt"; echo "A/B passed a broken exact counter"; exit 1
fi
grep -q "review: counter changed: bench/fake:BM_Work: chips 42 -> 43" "$dir/out.txt" || {
  cat "$dir/out.txt"; echo "the counter change is not listed"; exit 1; }
grep -q "FAIL bench/fake:BM_Work: counter chips = 43, baseline 42" "$dir/out.txt" || {
  cat "$dir/out.txt"; exit 1; }
echo PASS
