#!/usr/bin/env bash
# The main job: installs what is missing, then trains the embedded default
# (`bazel run //sniper:train`): SNIPER end to end on the synthetic
# multi-scale dataset (generated on first use into ~/.cache/sniper-cpp),
# printing the COCO-style AP table at the end. Extra arguments go to the
# trainer, e.g. --overwrite, --resume, --config=..., --set path=value.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
source tools/bazel_flags.sh
bazel run "${BAZEL_FLAGS[@]}" //sniper:train -- "$@"
