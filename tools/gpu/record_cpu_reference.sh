#!/usr/bin/env bash
# Records tools/gpu/cpu_reference_metrics.csv: the embedded default's 300
# detector steps on this machine's CPU (FP32), the curve check.sh's
# loss_vs_cpu compares a GPU run with when the GPU machine has no time left
# for its own CPU run, and the SHA-256 of configs/default_synthetic.pbtxt it
# was recorded with (//tools/gpu:cpu_reference_test fails when the default
# changes and the curve is not recorded again). About 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bazel_flags.sh
bazel build "${BAZEL_FLAGS[@]}" //sniper:train
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The command check.py's default_training() runs.
bazel-bin/sniper/train --work_dir="$work/run" --quiet \
  --set device=cpu --set precision=FP32 --set negatives.source=NONE \
  --set schedule.max_steps=300 --set output.log_every_steps=10
cp "$work/run/metrics.csv" tools/gpu/cpu_reference_metrics.csv
sha256sum configs/default_synthetic.pbtxt | cut -d' ' -f1 \
  > tools/gpu/cpu_reference_config.sha256
echo "recorded tools/gpu/cpu_reference_metrics.csv ($(wc -l < tools/gpu/cpu_reference_metrics.csv) lines)"
