#!/usr/bin/env bash
# Two hosts on one machine: two network namespaces joined by a veth pair
# (10.213.<id>.1 and .2, addresses that exist only inside them), each
# with its own hostname (unshare --uts) and /etc/hosts (ip netns exec
# mounts /etc/netns/<ns>/hosts), one torchrun node per namespace
# (--nnodes=2, c10d rendezvous on the first namespace's address), Gloo over
# the veth (GLOO_SOCKET_IFNAME); the work directory is shared, as on a
# cluster's shared file system.
#  1. the two-host run ends on --nproc=2's weights bit for bit, and, with
#     frozen BN and equal chip shapes (as distributed_test.sh), on one
#     process's weights at the same global batch (1e-5);
#  2. the link taken down for longer than distributed.timeout_s: both
#     workers stop within about the timeout (the failure report included)
#     naming the peer, every checkpoint reads back, and a relaunch with the link
#     up continues by itself to the uninterrupted run's weights;
#  3. one host's whole process tree SIGKILLed: the other host's worker
#     stops (no hang), and the relaunch with both hosts finishes on the
#     same weights.
# Everything runs inside the namespaces this test makes, removed at the
# end whatever happens. Skips (exit 0, saying why) without root, ip(8),
# unshare(1) or python3's torch.distributed.run.
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
train="$PWD/sniper/train"
compare=tools/compare_checkpoints
source sniper/testing/multiprocess.sh
skip() { echo "SKIP: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v ip > /dev/null || skip "no ip(8) (Debian: iproute2)"
command -v unshare > /dev/null || skip "no unshare(1)"
need_torchrun

id=$(( $$ % 200 + 20 ))
ns=(snp${id}a snp${id}b)        # namespace = its veth end's name
addr=(10.213.$id.1 10.213.$id.2)
hosts=(sniper-host-a sniper-host-b)
cleanup() {
  local n
  for n in "${ns[@]}"; do
    ip netns pids "$n" 2> /dev/null | xargs -r kill -9 2> /dev/null || true
    ip netns del "$n" 2> /dev/null || true
    rm -rf "/etc/netns/$n"
  done
}
trap cleanup EXIT
cleanup
ip netns add "${ns[0]}" 2> /dev/null || skip "cannot create a network namespace here"
ip netns add "${ns[1]}"
ip link add "${ns[0]}" type veth peer name "${ns[1]}"
for k in 0 1; do
  n=${ns[$k]}
  ip link set "$n" netns "$n"
  ip -n "$n" addr add "${addr[$k]}/24" dev "$n"
  ip -n "$n" link set "$n" up
  ip -n "$n" link set lo up
  mkdir -p "/etc/netns/$n"
  printf '127.0.0.1 localhost\n%s %s\n%s %s\n' "${addr[0]}" "${hosts[0]}" \
    "${addr[1]}" "${hosts[1]}" > "/etc/netns/$n/hosts"
done

common=("${tiny_run_sets[@]}" --set distributed.timeout_s=10
  --set output.log_every_steps=1 --set schedule.max_steps=30
  --set loader.batch_size=2)
torchrun_cmd

# Host $1 (0 or 1) runs one torchrun node training in work directory $2;
# its output goes to $3; $4: the rendezvous id (the same on both hosts).
# --redirects/--tee: see torchrun_test.sh.
node() {
  ip netns exec "${ns[$1]}" unshare --uts sh -c 'hostname "$0" && exec "$@"' \
    "${hosts[$1]}" env GLOO_SOCKET_IFNAME="${ns[$1]}" \
    "${torchrun[@]}" --nnodes=2 --nproc_per_node=1 --rdzv_backend=c10d \
    --rdzv_endpoint="${addr[0]}:29400" --rdzv_id="$4" --max_restarts=0 \
    "$train" --work_dir="$2" "${common[@]}" "${extra[@]}" > "$3" 2>&1
}
extra=()  # more --set flags for both hosts
# Both hosts, waiting for both; $1: work directory, $2: output prefix.
both() {
  local a b rc=0 run_id="run$RANDOM"
  node 0 "$1" "$2.a.out" "$run_id" & a=$!
  node 1 "$1" "$2.b.out" "$run_id" & b=$!
  wait "$a" || rc=1
  wait "$b" || rc=1
  return $rc
}
# Seconds until no worker trains in $1 (at most $2 s; then fails).
seconds_until_workers_gone() {
  local start
  start=$(date +%s.%N)
  while [ -n "$(trainers_in "$1" 'TORCHELASTIC_RUN_ID=.*')" ]; do
    if awk -v s="$(seconds_since "$start")" -v m="$2" 'BEGIN { exit !(s > m) }'; then
      echo "workers in $1 still running after $2 s" >&2
      return 1
    fi
    sleep 0.1
  done
  seconds_since "$start"
}
checkpoints_read_back() {
  local f
  for f in "$1"/detector/ckpt-*.pt; do
    [ -e "$f" ] || continue
    "$compare" "$f" "$f" --tolerance=0 > /dev/null || { echo "damaged: $f"; return 1; }
  done
}

# 1. Two hosts against --nproc=2 on loopback.
"$train" --work_dir="$tmp/loopback" "${common[@]}" --nproc=2 > /dev/null
start=$(date +%s.%N)
both "$tmp/two" "$tmp/two" || { cat "$tmp/two".*.out; exit 1; }
two_s=$(seconds_since "$start")
grep -q "2 processes, Gloo" "$tmp/two/train.log"
"$compare" "$tmp/loopback/detector/final.pt" "$tmp/two/detector/final.pt" --tolerance=0
# 1b. Two hosts x 2 chips against one process x 4 chips.
equal=(--set model.backbone.freeze_all_bn=true --set sampler.cover=GREEDY
  --set sampler.canvas=FIXED --set schedule.max_steps=6)
"$train" --work_dir="$tmp/one" "${common[@]}" "${equal[@]}" \
  --set loader.batch_size=4 > /dev/null
extra=("${equal[@]}")
both "$tmp/two_equal" "$tmp/two_equal" || { cat "$tmp/two_equal".*.out; exit 1; }
extra=()
"$compare" "$tmp/one/detector/final.pt" "$tmp/two_equal/detector/final.pt" --tolerance=1e-5

# 2. The link down (for good) after step 8.
both "$tmp/link" "$tmp/link" &
pair=$!
wait_for_line "$tmp/link/train.log" "^\[detector\] step 8/"
ip -n "${ns[1]}" link set "${ns[1]}" down
link_s=$(seconds_until_workers_gone "$tmp/link" 20) || { cat "$tmp/link".*.out; exit 1; }
kill "$pair" 2> /dev/null || true  # torchrun's agents may wait on each other
cleanup_agents() { for n in "${ns[@]}"; do ip netns pids "$n" | xargs -r kill -9 2> /dev/null || true; done; }
cleanup_agents
wait "$pair" 2> /dev/null || true
grep -h "rank [01].*failed" "$tmp/link".*.out | sed 's/^\[default0\]://' | head -2 > "$tmp/link.msgs"
grep -q "stopped (no heartbeat)\|is unreachable: it stopped, or the network" "$tmp/link.msgs" ||
  { echo "no message naming the peer:"; cat "$tmp/link".*.out; exit 1; }
checkpoints_read_back "$tmp/link"
ip -n "${ns[1]}" link set "${ns[1]}" up
both "$tmp/link" "$tmp/link.again" || { cat "$tmp/link.again".*.out; exit 1; }
grep -q "holds checkpoints of an earlier run (the same config" "$tmp/link/train.log"
"$compare" "$tmp/two/detector/final.pt" "$tmp/link/detector/final.pt" --tolerance=0

# 3. Host b's whole process tree killed after step 8.
both "$tmp/host" "$tmp/host" &
pair=$!
wait_for_line "$tmp/host/train.log" "^\[detector\] step 8/"
ip netns pids "${ns[1]}" | xargs -r kill -9
host_s=$(seconds_until_workers_gone "$tmp/host" 40) || { cat "$tmp/host".*.out; exit 1; }
cleanup_agents
wait "$pair" 2> /dev/null || true
checkpoints_read_back "$tmp/host"
start=$(date +%s.%N)
both "$tmp/host" "$tmp/host.again" || { cat "$tmp/host.again".*.out; exit 1; }
again_s=$(seconds_since "$start")
"$compare" "$tmp/two/detector/final.pt" "$tmp/host/detector/final.pt" --tolerance=0

echo "link down: $(tr '\n' ' ' < "$tmp/link.msgs")"
joined=$(sed -n 's/.*, joined in \([0-9.]*\) s.*/\1/p' "$tmp/two/train.log" | head -1)
read_s=$(sed -n 's/.*resuming from .*; read in \([0-9.]*\) s).*/\1/p' "$tmp/host/train.log" | tail -1)
[ -n "$joined" ] && [ -n "$read_s" ] || { echo "no join or resume time in train.log"; exit 1; }
echo "process group joined in ${joined}s (after torchrun's rendezvous); relaunch after host b was killed: checkpoint read in ${read_s}s, ${again_s}s to the end of the run"
echo "PASS (two hosts: ${two_s}s for 30 steps and the evaluation, one process's weights at the same global batch; link down: workers gone ${link_s}s after it (timeout 10 s); host b killed: host a's worker gone ${host_s}s after)"
