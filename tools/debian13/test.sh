#!/usr/bin/env bash
# Runs the test suite on Debian 13 (trixie) against its LibTorch 2.x, from a
# Debian 12 machine, in the cached trixie root of tools/debian13/root.sh
# (made once; the dependencies installed there by tools/install_deps.sh).
#
# Usage: bash tools/debian13/test.sh [--scope=all|bazel] [extra bazel test args]
#   --scope=all    (default) the README's test command, tools/test.sh: every
#                  test, the sanitizer job and the performance gate.
#   --scope=bazel  every Bazel test target (all the LibTorch-linking ones and
#                  the torch-free ones), without the sanitizer job and the
#                  performance gate, which do not depend on the platform and
#                  run in the Debian 12 part; tools/test.sh runs this in CI.
#
# The last line is "debian13 (<Debian>, LibTorch <version>): N passed, N
# failed". Exit status: 0 all passed; 1 a build or test failed in the root;
# 3 skipped (not root, no space, the archive refused), the reason in one line.
set -uo pipefail
cd "$(dirname "$0")/../.."
scope=all
args=()
for a in "$@"; do
  case "$a" in
    --scope=all | --scope=bazel) scope="${a#--scope=}" ;;
    --scope=*) echo "debian13: --scope must be all or bazel, not '${a#--scope=}'" >&2; exit 2 ;;
    *) args+=("$a") ;;
  esac
done

log="$(mktemp)"
bash tools/debian13/root.sh bash tools/debian13/inner.sh "$scope" "${args[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 3 ] && grep -q '^debian13: skipped' "$log" && exit 3
platform=$(grep -m1 '^debian13 platform: ' "$log" | sed 's/^debian13 platform: //')
counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
rm -f "$log"
if [ -z "$counts" ]; then
  echo "debian13 (${platform:-trixie}): no test summary (exit status $rc)"
  exit 1
fi
echo "debian13 (${platform:-trixie}): $counts"
[ "$rc" -eq 0 ] || exit 1
exit 0
