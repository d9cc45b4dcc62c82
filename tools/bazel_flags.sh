# Sourced by tools/*.sh: common Bazel flags for scripted runs.
# The disk cache lives in the user's cache directory, so fresh clones on the
# same machine (CI) reuse compiled actions.
SNIPER_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/sniper-cpp"
mkdir -p "$SNIPER_CACHE_DIR/bazel-disk"
BAZEL_FLAGS=(--disk_cache="$SNIPER_CACHE_DIR/bazel-disk")

# Tests that read the real COCO subset look here (they skip without it).
if [ -z "${SNIPER_SHARED_DATA:-}" ]; then
  for d in "$(pwd)/../shared/data" /work/shared/data; do
    if [ -d "$d/coco_mini" ]; then export SNIPER_SHARED_DATA="$(cd "$d" && pwd)"; break; fi
  done
fi

# LibTorch 2.x headers (tools/fetch_torch_headers.sh) for
# //port:torch2_compile_test; pointed at even when missing, so that the
# test's skip line can say why.
export SNIPER_TORCH2_INCLUDE="${SNIPER_TORCH2_INCLUDE:-$SNIPER_CACHE_DIR/libtorch-headers/current/usr/include}"
