#!/usr/bin/env bash
# A/B performance comparison of two commits on this machine, in one run:
# builds the gate's benchmark binaries (benchmarks/perf_baseline.json) of
# both, runs them interleaved and compares them with Google Benchmark's
# compare.py (tools/perf/ab.py says how it decides). Exit status 1 when a
# benchmark got slower beyond its threshold with p < alpha, or when HEAD
# breaks the HEAD-only gate (exact counters, in-run ratios).
#
#   tools/perf/ab.sh [--binaries=a,b] [--rounds=N] [BASE [HEAD]]
#
# BASE: a commit; default: the last commit in benchmarks/perf_history.jsonl
#       (what tools/perf/record.sh last recorded), built in a git worktree.
# HEAD: a commit, built in a second worktree; default: this checkout as it
#       is (uncommitted changes included), built in place.
# Both builds share the Bazel disk cache, so code that did not change is
# not compiled again. The table lands in $AB_OUT (default: a temp dir)/
# summary.txt and is printed last.
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
source tools/bazel_flags.sh

binaries="" rounds=""
positional=()
for arg in "$@"; do
  case "$arg" in
    --binaries=*) binaries="${arg#*=}" ;;
    --rounds=*) rounds="${arg#*=}" ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "ab.sh: unknown option $arg" >&2; exit 2 ;;
    *) positional+=("$arg") ;;
  esac
done
base_arg="${positional[0]:-}"
head_arg="${positional[1]:-}"

if [ ! -f /usr/share/benchmark/compare.py ]; then
  echo "ab.sh: /usr/share/benchmark/compare.py missing: bash tools/install_deps.sh" >&2
  exit 2
fi
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "ab.sh: not a git checkout; nothing to compare against" >&2
  exit 2
fi

if [ -z "$base_arg" ]; then
  base_arg="$(python3 tools/perf/history.py last-commit benchmarks/perf_history.jsonl)" || exit 2
fi
base="$(git rev-parse --verify --quiet "${base_arg}^{commit}")" || {
  echo "ab.sh: BASE $base_arg is not a commit of this repository" \
       "(benchmarks/perf_history.jsonl names commits of main)" >&2
  exit 2
}

work="$SNIPER_CACHE_DIR/ab"
mkdir -p "$work"
out="${AB_OUT:-$(mktemp -d)}"
mkdir -p "$out"

# Checks out $2 into the fixed worktree path $1 (fixed, so that its Bazel
# output base is reused from one run to the next).
checkout() {
  local dir="$1" commit="$2"
  git worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"
  git worktree prune
  git worktree add --detach --force "$dir" "$commit" >/dev/null || return 1
}

# Builds the gate's binaries in tree $1 (keep going: an older commit may
# lack a binary; ab.py compares the ones both trees have).
build() {
  local tree="$1" targets
  targets=$(python3 tools/perf/perf_lib.py targets "$root/benchmarks/perf_baseline.json" "$binaries")
  echo "[ab] building in $tree: $targets"
  (cd "$tree" && bazel build "${BAZEL_FLAGS[@]}" --keep_going $targets 2>&1 | tail -3)
}

shutdown_tree() { (cd "$1" && bazel shutdown >/dev/null 2>&1); }

checkout "$work/base" "$base" || { echo "ab.sh: cannot check out $base" >&2; exit 2; }
base_label="$(git log -1 --format='%h %cs' "$base")"
build "$work/base"
shutdown_tree "$work/base"

if [ -n "$head_arg" ]; then
  head="$(git rev-parse --verify --quiet "${head_arg}^{commit}")" || {
    echo "ab.sh: HEAD $head_arg is not a commit" >&2; exit 2; }
  checkout "$work/head" "$head" || exit 2
  head_tree="$work/head"
  head_label="$(git log -1 --format='%h %cs' "$head")"
  build "$head_tree"
  shutdown_tree "$head_tree"
else
  head_tree="$root"
  head_label="$(git log -1 --format='%h' HEAD) (working tree$(git diff --quiet HEAD 2>/dev/null || echo ', with changes'))"
  build "$head_tree"
fi

args=(--config="$root/benchmarks/perf_baseline.json" --base_tree="$work/base"
      --head_tree="$head_tree" --base_label="$base_label"
      --head_label="$head_label" --out_dir="$out")
[ -n "$binaries" ] && args+=(--binaries="$binaries")
[ -n "$rounds" ] && args+=(--rounds="$rounds")
python3 tools/perf/ab.py "${args[@]}"
rc=$?
echo "[ab] outputs (merged runs, compare.py's tables and JSON): $out"
exit $rc
