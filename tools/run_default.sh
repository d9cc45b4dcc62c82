#!/usr/bin/env bash
# The main job. Until the trainer (//sniper:train) lands, it installs what is
# missing, builds everything, and runs SNIPER's chip accounting on the
# shipped example annotations (and on the real COCO subset when
# ../shared/data is present).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
source tools/bazel_flags.sh
bazel build "${BAZEL_FLAGS[@]}" //...
bazel run "${BAZEL_FLAGS[@]}" //tools:chip_stats -- \
  --annotations="$(pwd)/data/testdata/example_instances.json"
if [ -n "${SNIPER_SHARED_DATA:-}" ] && [ -f "$SNIPER_SHARED_DATA/coco_mini/instances.json" ]; then
  bazel run "${BAZEL_FLAGS[@]}" //tools:chip_stats -- \
    --annotations="$SNIPER_SHARED_DATA/coco_mini/instances.json"
fi
