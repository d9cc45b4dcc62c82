#!/usr/bin/env bash
# //sniper:train launched by torchrun (PyTorch's elastic launcher, here
# Debian's python3-torch 1.13: `python3 -m torch.distributed.run`), two
# workers on one node over Gloo:
#  1. the same weights as --nproc=2 (bit for bit), with the static
#     rendezvous (its agent hosts the store: every worker a client) and
#     the c10d one;
#  2. rank 1 killed with SIGKILL mid-stage: torchrun restarts the worker
#     group (--max_restarts=1), the restarted workers continue from the
#     last checkpoint without --resume (TORCHELASTIC_RESTART_COUNT), and
#     the run ends on the uninterrupted run's weights bit for bit;
#  3. SIGTERM to torchrun (what a scheduler sends): it passes it on, the
#     workers stop after a step with a checkpoint of it, and the same
#     command continues to the same weights.
# Skips (exit 0, saying why) where python3 has no torch.distributed.run or
# its store cannot be hosted (Debian 13's python3-torch 2.6: no libuv).
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
train="$PWD/sniper/train"
compare=tools/compare_checkpoints
source sniper/testing/multiprocess.sh
need_torchrun
common=("${tiny_run_sets[@]}" --set distributed.timeout_s=30
  --set output.log_every_steps=1 --set schedule.max_steps=24
  --set loader.batch_size=2)
torchrun_cmd
torchrun+=(--nnodes=1 --nproc_per_node=2)
# The static rendezvous (--master_addr/--master_port: the agent hosts the
# store, TORCHELASTIC_USE_AGENT_STORE=True, every worker a client) runs the
# fault cases.
static() {
  "${torchrun[@]}" --master_addr=127.0.0.1 --master_port=$(( 20000 + RANDOM % 20000 )) "$@"
}

# 1. torchrun against the built-in launcher: the static rendezvous and the
# c10d one (--standalone).
"$train" --work_dir="$tmp/nproc" "${common[@]}" --nproc=2 > /dev/null
start=$(date +%s.%N)
static --max_restarts=0 "$train" --work_dir="$tmp/torchrun" "${common[@]}" \
  > "$tmp/torchrun.out" 2>&1 || { cat "$tmp/torchrun.out"; exit 1; }
straight_s=$(seconds_since "$start")
grep -q "2 processes, Gloo" "$tmp/torchrun/train.log"
"$compare" "$tmp/nproc/detector/final.pt" "$tmp/torchrun/detector/final.pt" --tolerance=0
"${torchrun[@]}" --standalone --max_restarts=0 "$train" --work_dir="$tmp/c10d" \
  "${common[@]}" > "$tmp/c10d.out" 2>&1 || { cat "$tmp/c10d.out"; exit 1; }
"$compare" "$tmp/nproc/detector/final.pt" "$tmp/c10d/detector/final.pt" --tolerance=0

# 2. SIGKILL to rank 1 after the step-5 checkpoint: torchrun restarts
# the group, which continues by itself.
static --max_restarts=1 "$train" --work_dir="$tmp/restarted" "${common[@]}" \
  > "$tmp/restarted.out" 2>&1 &
agent=$!
wait_for_line "$tmp/restarted/train.log" "^\[detector\] step 6/"
rank1=$(trainers_in "$tmp/restarted" "RANK=1")
[ -n "$rank1" ] || { echo "rank 1 not found"; cat "$tmp/restarted.out"; exit 1; }
killed_at=$(date +%s.%N)
kill -9 "$rank1"
wait "$agent" || { echo "torchrun did not finish after a restart"; cat "$tmp/restarted.out"; exit 1; }
restart_s=$(seconds_since "$killed_at")
grep -q "torchrun restarted the workers (restart 1)" "$tmp/restarted/train.log" \
  || { echo "no automatic resume in the log"; cat "$tmp/restarted/train.log"; exit 1; }
grep -q "^\[detector\] resuming from .*ckpt-[0-9]*.pt at step" "$tmp/restarted/train.log"
"$compare" "$tmp/torchrun/detector/final.pt" "$tmp/restarted/detector/final.pt" --tolerance=0

# 3. SIGTERM to torchrun mid-stage.
# (not through the function: $! must be torchrun's own pid)
"${torchrun[@]}" --master_addr=127.0.0.1 --master_port=$(( 20000 + RANDOM % 20000 )) \
  --max_restarts=0 "$train" --work_dir="$tmp/preempted" "${common[@]}" \
  --set output.checkpoint_every_steps=1000 > "$tmp/preempted.out" 2>&1 &
agent=$!
wait_for_line "$tmp/preempted/train.log" "^\[detector\] step 3/"
kill -TERM "$agent"
set +e
wait "$agent"
rc=$?
set -e
[ "$rc" -ne 0 ] || { echo "torchrun ended 0 after SIGTERM"; exit 1; }
step=$(sed -n 's/^\[detector\] stopped by SIGTERM after step \([0-9]*\) .*/\1/p' "$tmp/preempted/train.log")
[ -n "$step" ] || { echo "no stop line in train.log"; cat "$tmp/preempted.out"; exit 1; }
test -f "$tmp/preempted/detector/$(printf 'ckpt-%08d.pt' "$step")"
static --max_restarts=0 "$train" --work_dir="$tmp/preempted" "${common[@]}" \
  --set output.checkpoint_every_steps=1000 > /dev/null 2>&1
grep -q "the same config as its" "$tmp/preempted/train.log"
"$compare" "$tmp/torchrun/detector/final.pt" "$tmp/preempted/detector/final.pt" --tolerance=0
echo "PASS (torchrun run ${straight_s}s; c10d rendezvous: the same weights; SIGKILL of rank 1 to the restarted run's end ${restart_s}s; SIGTERM stopped at detector step $step, exit $rc)"
