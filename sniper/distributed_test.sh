#!/usr/bin/env bash
# Data-parallel training on loopback with 2 processes (Gloo):
#  1. 2 processes x 2 chips reach the weights of 1 process x 4 chips (same
#     global batch; frozen BN so batch statistics do not differ); with
#     training BN, synchronized BN (distributed.sync_bn) matches one
#     process too, while per-process BN statistics do not;
#  2. killing rank 1 ends rank 0 within the timeout, with a message naming
#     rank 1, and leaves the last checkpoint intact;
#  3. --resume from there reaches bit for bit the weights of an
#     uninterrupted 2-process run;
#  3b. SIGTERM to rank 1 alone stops both ranks after the same step with
#     a checkpoint of it (exit 75), and --resume reaches the same weights;
#  4. asking for NCCL with the network on the CPU fails at once, naming
#     the field.
#  5. a launched single process (RANK=0 WORLD_SIZE=1) joins a one-process
#     group and reaches the weights of a plain run (tools/gpu/check.sh does
#     the same with NCCL on a GPU).
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
train=sniper/train
compare=tools/compare_checkpoints
source sniper/testing/multiprocess.sh
common=("${tiny_run_sets[@]}"
  --set model.backbone.freeze_all_bn=true --set distributed.timeout_s=30
  --set output.log_every_steps=5
  # Equal chip shapes: losses are means per process, so one process with
  # the global batch matches N processes only when every chip has the same
  # anchors (tight canvases mix shapes in an epoch's last batches).
  --set sampler.cover=GREEDY --set sampler.canvas=FIXED)

# 1. Same global batch, same weights.
"$train" --work_dir="$tmp/one" "${common[@]}" --set schedule.max_steps=3 \
  --set loader.batch_size=4 > /dev/null
"$train" --work_dir="$tmp/two" "${common[@]}" --set schedule.max_steps=3 \
  --set loader.batch_size=2 --nproc=2 > /dev/null
"$compare" "$tmp/one/detector/final.pt" "$tmp/two/detector/final.pt" --tolerance=1e-5
grep -q "2 processes, Gloo" "$tmp/two/train.log"

# Training BN: synchronized statistics match one process on the global batch.
bn=("${common[@]/model.backbone.freeze_all_bn=true/model.backbone.freeze_all_bn=false}")
"$train" --work_dir="$tmp/bn_one" "${bn[@]}" --set schedule.max_steps=3 \
  --set loader.batch_size=4 > /dev/null
"$train" --work_dir="$tmp/bn_sync" "${bn[@]}" --set schedule.max_steps=3 \
  --set loader.batch_size=2 --set distributed.sync_bn=true --nproc=2 > /dev/null
"$train" --work_dir="$tmp/bn_local" "${bn[@]}" --set schedule.max_steps=3 \
  --set loader.batch_size=2 --nproc=2 > /dev/null
"$compare" "$tmp/bn_one/detector/final.pt" "$tmp/bn_sync/detector/final.pt" --tolerance=5e-4
if "$compare" "$tmp/bn_one/detector/final.pt" "$tmp/bn_local/detector/final.pt" --tolerance=5e-4; then
  echo "per-process BN statistics should differ from the global batch's"; exit 1
fi

# 2. Kill rank 1 mid-run.
long=(--set schedule.max_steps=30 --set loader.batch_size=2 --nproc=2)
"$train" --work_dir="$tmp/killed" "${common[@]}" "${long[@]}" > "$tmp/killed.out" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do
  [ -f "$tmp/killed/detector/ckpt-00000010.pt" ] && break
  sleep 0.1
done
rank1=$(trainers_in "$tmp/killed" "RANK=1")
[ -n "$rank1" ] || { echo "rank 1 not found"; cat "$tmp/killed.out"; exit 1; }
killed_at=$(date +%s)
kill -9 "$rank1"
if wait "$launcher"; then echo "expected a failure"; exit 1; fi
elapsed=$(( $(date +%s) - killed_at ))
cat "$tmp/killed.out"
[ "$elapsed" -le 40 ] || { echo "rank 0 took ${elapsed}s to stop"; exit 1; }
grep -q "rank 1 stopped" "$tmp/killed.out"
last=$(ls "$tmp"/killed/detector/ckpt-*.pt | tail -1)
"$compare" "$last" "$last" --tolerance=0

# 3. Resume, and compare with an uninterrupted run.
"$train" --work_dir="$tmp/killed" "${common[@]}" "${long[@]}" --resume > /dev/null
"$train" --work_dir="$tmp/straight" "${common[@]}" "${long[@]}" > /dev/null
"$compare" "$tmp/killed/detector/final.pt" "$tmp/straight/detector/final.pt" --tolerance=0
# 3b. Preemption seen by one rank only: SIGTERM to rank 1 alone stops both
# after the same step (they agree every step), rank 0 checkpoints it (no
# periodic checkpoints here), the launcher exits 75; --resume reaches the
# uninterrupted run's weights bit for bit.
"$train" --work_dir="$tmp/preempted" "${common[@]}" "${long[@]}" \
  --set output.checkpoint_every_steps=1000 --set output.log_every_steps=1 \
  > "$tmp/preempted.out" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do
  grep -q "^\[detector\] step 3/" "$tmp/preempted/train.log" 2> /dev/null && break
  sleep 0.1
done
rank1=$(trainers_in "$tmp/preempted" "RANK=1")
[ -n "$rank1" ] || { echo "rank 1 not found"; cat "$tmp/preempted.out"; exit 1; }
kill -TERM "$rank1"
set +e
wait "$launcher"
rc=$?
set -e
[ "$rc" -eq 75 ] || { echo "preempted group: exit $rc, expected 75"; cat "$tmp/preempted.out"; exit 1; }
step=$(sed -n 's/^stopped by SIGTERM after step \([0-9]*\) of the detector stage.*/\1/p' "$tmp/preempted.out")
[ -n "$step" ] || { echo "no stop line"; cat "$tmp/preempted.out"; exit 1; }
test -f "$tmp/preempted/detector/$(printf 'ckpt-%08d.pt' "$step")"
grep -q "stopped by SIGTERM after step $step" "$tmp/preempted/train.log"
"$train" --work_dir="$tmp/preempted" "${common[@]}" "${long[@]}" --resume > /dev/null
"$compare" "$tmp/preempted/detector/final.pt" "$tmp/straight/detector/final.pt" --tolerance=0

# 4. NCCL on the CPU: every rank refuses before the rendezvous.
started=$(date +%s)
if "$train" --work_dir="$tmp/nccl" "${common[@]}" --set schedule.max_steps=1 \
    --set loader.batch_size=2 --set device=cpu --set distributed.backend=NCCL \
    --nproc=2 > "$tmp/nccl.out" 2>&1; then
  echo "NCCL on the CPU should fail"; exit 1
fi
grep -q "PipelineConfig.distributed.backend: NCCL" "$tmp/nccl.out" ||
  { cat "$tmp/nccl.out"; exit 1; }
[ $(( $(date +%s) - started )) -le 20 ] || { echo "NCCL refusal took too long"; exit 1; }

# 5. One launched process: a one-process Gloo group, the plain run's weights.
RANK=0 WORLD_SIZE=1 MASTER_PORT=$(( 20000 + RANDOM % 20000 )) \
  "$train" --work_dir="$tmp/launched" "${common[@]}" --set schedule.max_steps=3 \
  --set loader.batch_size=4 > /dev/null
grep -q "1 processes, Gloo" "$tmp/launched/train.log"
"$compare" "$tmp/one/detector/final.pt" "$tmp/launched/detector/final.pt" --tolerance=1e-6

echo "PASS (rank 0 stopped ${elapsed}s after rank 1 was killed)"
