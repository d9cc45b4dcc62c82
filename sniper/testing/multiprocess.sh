# Sourced by the multi-process shell tests (distributed_test.sh,
# torchrun_test.sh, two_hosts_test.sh): the tiny run they share, torchrun,
# and finding and waiting for their processes. Expects $tmp.

# The tiny data-parallel run: 12 synthetic images, detector stage only
# (no negative chips), one thread, checkpoints every 5 steps. Each test
# adds its schedule, batch and timeout.
tiny_run_sets=(--quiet
  --set dataset.synthetic.train_images=12 --set dataset.synthetic.val_images=2
  --set dataset.synthetic.min_side=160 --set dataset.synthetic.max_side=320
  --set "dataset.synthetic.cache_dir=$tmp/syn"
  --set 'sampler.scales[0].size.long_side=512' --set 'eval.scales[0].size.long_side=512'
  --set negatives.source=NONE --set schedule.warmup_steps=1 --set threads=1
  --set output.checkpoint_every_steps=5)

# python3 with a torch.distributed.run that can rendezvous (Debian's
# python3-torch), or exits 0 saying why the test is skipped. Debian 13's
# python3-torch 2.6 is built without libuv, which its TCPStore asks for by
# default: torchrun cannot host its store there with either rendezvous.
need_torchrun() {
  py=/usr/bin/python3
  [ -x "$py" ] || py=python3
  if ! "$py" -c "import torch.distributed.run" 2> /dev/null; then
    echo "SKIP: python3 has no torch.distributed.run (Debian: apt install python3-torch)"
    exit 0
  fi
  if ! "$py" -c "import datetime, random; from torch.distributed import TCPStore; TCPStore('127.0.0.1', random.randint(20000, 40000), is_master=True, timeout=datetime.timedelta(seconds=5))" 2> "$tmp/store_probe.txt"; then
    echo "SKIP: this PyTorch's TCPStore cannot host a store with its defaults, so torchrun cannot rendezvous: $(tail -1 "$tmp/store_probe.txt")"
    exit 0
  fi
}

# torchrun's command (after need_torchrun). --redirects=1 --tee=1 (the
# workers' stdout to files under --log_dir and the console): torchrun 1.13
# on Python 3.11 fails on their defaults, 0 (Std.from_str("0") is None).
torchrun_cmd() {
  torchrun=("$py" -m torch.distributed.run --no_python --monitor_interval=1
    --redirects=1 --tee=1 --log_dir="$tmp/torchrun_logs")
}

# The pids of processes training in work directory $1 whose environment
# has a line matching the regular expression $2 whole (RANK=1,
# 'TORCHELASTIC_RUN_ID=.*'). /proc, not procps: minimal roots lack pgrep.
trainers_in() {
  local f pid
  for f in $(grep -lzx -- "--work_dir=$1" /proc/[0-9]*/cmdline 2> /dev/null); do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    grep -qzx -- "$2" "/proc/$pid/environ" 2> /dev/null && echo "$pid"
  done
  return 0
}

# Waits (up to 2 minutes) until file $1 has a line matching $2.
wait_for_line() {
  for _ in $(seq 1 2400); do
    grep -q "$2" "$1" 2> /dev/null && return 0
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1"
  return 1
}

# Seconds from $1 (date +%s.%N) to now, one decimal.
seconds_since() {
  awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'
}
