#!/usr/bin/env bash
# Inside the trixie root (tools/debian13/test.sh runs it there through
# root.sh): names the platform and runs the README's test command, whole
# (scope all) or its Bazel tests alone (scope bazel).
set -uo pipefail
scope="$1"
shift
cd /build/main
. /etc/os-release
torch=$(dpkg-query -W -f='${Version}' libtorch-dev 2> /dev/null)
echo "debian13 platform: ${PRETTY_NAME:-Debian}, LibTorch ${torch%%+*}"
case "$scope" in
  all) exec bash tools/test.sh "$@" ;;
  bazel) SNIPER_TEST_SCOPE=bazel exec bash tools/test.sh "$@" ;;
  *) echo "inner.sh: unknown scope '$scope'" >&2; exit 2 ;;
esac
