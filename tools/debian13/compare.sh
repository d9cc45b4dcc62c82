#!/usr/bin/env bash
# LibTorch 1.13 (this Debian 12 machine) against LibTorch 2.6 (the Debian 13
# root of tools/debian13/root.sh), same machine, back to back: the training
# step and inference benchmarks, alternating between the two platforms for
# --rounds rounds, and with --default the default run (tools/run_default.sh
# --overwrite) on each. Prints a Markdown table: each measure's per-round
# values on both and the ratio of their medians (2.6 / 1.13).
#
# Usage: bash tools/debian13/compare.sh [--rounds=N] [--default] [--out=DIR]
#   Benchmarks: BM_TrainStep/{sniper,single_scale} (SNIPER_BENCH_STEPS=15)
#   and BM_Inference/{sniper,single_scale} (SNIPER_BENCH_IMAGES=8), as the
#   performance gate runs them. --default adds about 15 minutes per platform.
set -uo pipefail
cd "$(dirname "$0")/../.."
rounds=2
default=0
out=""
for a in "$@"; do
  case "$a" in
    --rounds=*) rounds="${a#--rounds=}" ;;
    --default) default=1 ;;
    --out=*) out="${a#--out=}" ;;
    *) echo "compare.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$(mktemp -d)"
mkdir -p "$out"
root="${XDG_CACHE_HOME:-$HOME/.cache}/sniper-cpp/debian13/root"

targets="//benchmarks:train_step_benchmark //benchmarks:inference_benchmark //sniper:train"
# One benchmark pass, writing JSON to $1 (a path relative to the tree).
bench='set -e; source tools/bazel_flags.sh; mkdir -p "$(dirname "$1")";
  SNIPER_BENCH_STEPS=15 bazel-bin/benchmarks/train_step_benchmark \
    --benchmark_filter="^BM_TrainStep/(sniper|single_scale)/" \
    --benchmark_format=json > "$1.train.json"
  SNIPER_BENCH_IMAGES=8 bazel-bin/benchmarks/inference_benchmark \
    --benchmark_filter="^BM_Inference/(sniper|single_scale)/" \
    --benchmark_format=json > "$1.infer.json"'

echo "compare: building on Debian 12 (LibTorch 1.13) and Debian 13 (LibTorch 2.6)"
source tools/bazel_flags.sh
bazel build "${BAZEL_FLAGS[@]}" $targets 2>&1 | tail -1 || exit 1
bash tools/debian13/root.sh bash -c "source tools/bazel_flags.sh && bazel build \"\${BAZEL_FLAGS[@]}\" $targets 2>&1 | tail -1" ||
  { echo "compare: the Debian 13 build failed"; exit 1; }

for r in $(seq 1 "$rounds"); do
  echo "compare: round $r/$rounds: LibTorch 1.13"
  bash -c "$bench" bench "compare_out/r$r.torch1" > /dev/null 2>&1 ||
    { echo "compare: a benchmark failed on Debian 12"; exit 1; }
  cp compare_out/r$r.torch1.*.json "$out/"
  echo "compare: round $r/$rounds: LibTorch 2.6"
  bash tools/debian13/root.sh bash -c "$bench" bench "compare_out/r$r.torch2" > /dev/null 2>&1 ||
    { echo "compare: a benchmark failed on Debian 13"; exit 1; }
  cp "$root"/build/main/compare_out/r$r.torch2.*.json "$out/"
done
rm -rf compare_out

if [ "$default" = 1 ]; then
  echo "compare: the default run on Debian 12 (LibTorch 1.13)"
  start=$(date +%s)
  bash tools/run_default.sh --overwrite --quiet > "$out/default.torch1.log" 2>&1 ||
    { echo "compare: the default run failed on Debian 12 ($out/default.torch1.log)"; exit 1; }
  echo "$(($(date +%s) - start))" > "$out/default.torch1.seconds"
  echo "compare: the default run on Debian 13 (LibTorch 2.6)"
  start=$(date +%s)
  bash tools/debian13/root.sh bash tools/run_default.sh --overwrite --quiet \
    > "$out/default.torch2.log" 2>&1 ||
    { echo "compare: the default run failed on Debian 13 ($out/default.torch2.log)"; exit 1; }
  echo "$(($(date +%s) - start))" > "$out/default.torch2.seconds"
fi
python3 tools/debian13/compare_table.py "$out"
echo "compare: raw results in $out"
