#!/usr/bin/env bash
# Data-parallel scaling on this machine: the default model's detector stage
# for N steps with one process (all cores) and with P processes (cores
# split between them), the same global batch of 16 chips, in one go.
#   bash tools/bench_distributed.sh [steps=40] [processes=2] [device=cpu]
# Prints chips/s of each, the backend the processes chose, and the scaling
# efficiency (P-process chips/s over one-process chips/s; ideal 1.0 on a
# machine whose cores are all used by the one process, P with P GPUs).
# device=cuda: one GPU per process (NCCL when built with it). Where there
# is no `bazel` (the GPU machine), run tools/gpu/build.sh first; the built
# bazel-bin/sniper/train is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-40}
procs=${2:-2}
device=${3:-cpu}
if command -v bazel > /dev/null; then
  source tools/bazel_flags.sh
  bazel build "${BAZEL_FLAGS[@]}" //sniper:train >/dev/null 2>&1
fi
[ -x bazel-bin/sniper/train ] || { echo "no bazel-bin/sniper/train" >&2; exit 1; }
tmp=$(mktemp -d)
common=(--quiet --set "device=$device" --set negatives.source=NONE --set "schedule.max_steps=$steps"
        --set output.log_every_steps=1000 --set eval.max_detections=1)
bazel-bin/sniper/train --work_dir="$tmp/one" "${common[@]}" \
  --set loader.batch_size=16 > /dev/null 2> "$tmp/one.err"
bazel-bin/sniper/train --work_dir="$tmp/many" "${common[@]}" \
  --set "loader.batch_size=$((16 / procs))" --nproc="$procs" > /dev/null 2> "$tmp/many.err"
one=$(grep "detector\] done" "$tmp/one/train.log" | grep -o '([0-9.]* chips/s)' | tr -d '()' | cut -d' ' -f1)
many=$(grep "detector\] done" "$tmp/many/train.log" | grep -o '([0-9.]* chips/s)' | tr -d '()' | cut -d' ' -f1)
echo "1 process x 16 chips: $one chips/s"
backend=$(grep -o "[0-9]* processes, [A-Za-z]*" "$tmp/many/train.log" | head -1 | sed 's/.*, //')
echo "$procs processes x $((16 / procs)) chips ($backend, $device): $many chips/s"
python3 -c "print('scaling efficiency: %.2f' % ($many / $one))"
rm -rf "$tmp"
