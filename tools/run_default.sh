#!/usr/bin/env bash
# The main job. Until the trainer (//sniper:train) lands, it installs what is
# missing, builds everything, generates the synthetic multi-scale dataset
# (once, into the user's cache directory) and runs SNIPER's chip accounting
# on it, on the shipped example annotations, and on the real COCO subset when
# ../shared/data is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
source tools/bazel_flags.sh
bazel build "${BAZEL_FLAGS[@]}" //...
syn="$SNIPER_CACHE_DIR/synthetic"
if [ ! -f "$syn/instances_val.json" ]; then
  bazel run "${BAZEL_FLAGS[@]}" //tools:make_synthetic -- --out="$syn"
fi
bazel run "${BAZEL_FLAGS[@]}" //tools:chip_stats -- \
  --annotations="$syn/instances_train.json"
bazel run "${BAZEL_FLAGS[@]}" //tools:chip_stats -- \
  --annotations="$(pwd)/data/testdata/example_instances.json"
if [ -n "${SNIPER_SHARED_DATA:-}" ] && [ -f "$SNIPER_SHARED_DATA/coco_mini/instances.json" ]; then
  bazel run "${BAZEL_FLAGS[@]}" //tools:chip_stats -- \
    --annotations="$SNIPER_SHARED_DATA/coco_mini/instances.json"
fi
