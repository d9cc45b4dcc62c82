# Sourced by tools/*.sh: common Bazel flags for scripted runs.
# The disk cache lives in the user's cache directory, so fresh clones on the
# same machine (CI) reuse compiled actions.
SNIPER_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/sniper-cpp"
mkdir -p "$SNIPER_CACHE_DIR/bazel-disk"
BAZEL_FLAGS=(--disk_cache="$SNIPER_CACHE_DIR/bazel-disk")
