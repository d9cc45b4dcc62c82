#!/usr/bin/env bash
# Records a commit's benchmark results in benchmarks/perf_history.jsonl
# (tools/perf/history.py: median times, counters, peak memory, the machine).
# Run it before submitting a change that touches performance, and commit
# the history with the change: CI's A/B (tools/perf/ab.sh) compares a
# submission with the last recorded commit.
#
#   tools/perf/record.sh [COMMIT...]
#
# No COMMIT: this checkout's HEAD, which must be clean (the line names a
# commit, so it must measure that commit's code). A COMMIT is built in a
# git worktree, so older commits of main can be recorded too. The gate's
# binaries, filters and settings are this checkout's (so lines stay
# comparable); a binary an old commit lacks is left out of its line.
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
source tools/bazel_flags.sh
history="$root/benchmarks/perf_history.jsonl"
config="$root/benchmarks/perf_baseline.json"
targets=$(python3 tools/perf/perf_lib.py targets "$config")

record_tree() {  # record_tree <tree> <commit>
  local tree="$1" commit="$2"
  echo "[record] building $targets at $(git log -1 --format='%h %s' "$commit")"
  (cd "$tree" && bazel build "${BAZEL_FLAGS[@]}" --keep_going $targets 2>&1 | tail -2)
  python3 tools/perf/history.py record --config="$config" --tree="$tree" \
    --commit="$commit" --date="$(git log -1 --format=%cI "$commit")" \
    --subject="$(git log -1 --format=%s "$commit" | cut -c1-120)" \
    --history="$history"
}

if [ $# -eq 0 ]; then
  if [ -n "$(git status --porcelain --untracked-files=no -- . ':!benchmarks/perf_history.jsonl')" ]; then
    echo "record.sh: uncommitted changes; commit first (the line names a commit)" >&2
    exit 2
  fi
  record_tree "$root" "$(git rev-parse HEAD)" || exit 1
else
  wt="$SNIPER_CACHE_DIR/ab/record"
  for c in "$@"; do
    commit="$(git rev-parse --verify --quiet "${c}^{commit}")" || {
      echo "record.sh: $c is not a commit" >&2; exit 2; }
    git worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
    git worktree prune
    git worktree add --detach --force "$wt" "$commit" >/dev/null || exit 1
    record_tree "$wt" "$commit" || exit 1
    (cd "$wt" && bazel shutdown >/dev/null 2>&1)
  done
fi
echo "[record] now: git add benchmarks/perf_history.jsonl && git commit"
