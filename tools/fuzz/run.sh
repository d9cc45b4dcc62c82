#!/usr/bin/env bash
# Fuzzes the project's readers with libFuzzer (clang, ASan + UBSan:
# .bazelrc --config=libfuzzer), in a Bazel output base of its own so the
# GCC build is untouched. Each target runs for SECONDS on one core; its
# corpus starts from the repository's seeds and grows under WORK.
#   bash tools/fuzz/run.sh SECONDS [TARGET ...]     (default: every target)
#   WORK=/tmp/sniper-fuzz (default)
# Prints, per target, executions and whether a crash was found; a crash's
# input is WORK/<target>/crash-*: add it to the target's corpus directory
# (it then replays in CI) once fixed. Exit 1 if any target crashed.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:?usage: run.sh SECONDS [TARGET ...]}"
shift
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(//data:coco_dataset_fuzzer //data:proposals_fuzzer
           //data:image_decode_fuzzer //evaluation:coco_json_fuzzer
           //sniper:config_fuzzer)
fi
if ! command -v clang > /dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a > /dev/null 2>&1; then
  echo "run.sh: needs clang and libFuzzer: apt-get install clang libclang-rt-14-dev" >&2
  exit 1
fi
source tools/bazel_flags.sh
work="${WORK:-/tmp/sniper-fuzz}"
base="$SNIPER_CACHE_DIR/fuzz-output-base"
bazel --output_base="$base" build "${BAZEL_FLAGS[@]}" --config=libfuzzer \
  "${targets[@]}" || exit 1
bin="$(bazel --output_base="$base" info "${BAZEL_FLAGS[@]}" --config=libfuzzer bazel-bin)"
status=0
for t in "${targets[@]}"; do
  pkg="${t#//}"; pkg="${pkg%%:*}"; name="${t##*:}"
  seeds="$pkg/testdata/fuzz/${name%_fuzzer}"
  dir="$work/$name"
  mkdir -p "$dir/corpus"
  cp -n "$seeds"/* "$dir/corpus/" 2>/dev/null
  (cd "$dir" && "$bin/$pkg/$name" -max_total_time="$seconds" -rss_limit_mb=2048 \
     -max_len=65536 -print_final_stats=1 corpus > "$dir/log.txt" 2>&1)
  rc=$?
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log.txt" | grep -o '[0-9]*$')"
  crashes="$(ls "$dir" | grep -c '^crash-\|^leak-\|^oom-\|^timeout-')"
  echo "$name: ${execs:-?} executions in ${seconds} s, corpus $(ls "$dir/corpus" | wc -l) files, exit $rc, findings $crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then status=1; tail -40 "$dir/log.txt"; fi
done
exit $status
