#!/usr/bin/env bash
# Crash-resume trials: a tiny run of every stage (RPN, proposals, detector,
# eval), killed with SIGKILL at random moments and resumed with --resume
# until it finishes. After every kill each checkpoint on disk must read
# back (no corrupt file, ever), and the finished run's detector weights
# must equal an uninterrupted run's bit for bit. Checkpoints every step, so
# half of the kills are aimed at the moment an atomic write begins
# (sniper/testing/kill_on_write.py, inotify), the others at a random moment;
# a kill that leaves a *.tmp.<pid> behind is counted as one during a write
# (the next start removes it).
#   TRIALS=N (default 3, CI)  SEED=S (default 1)  bash crash_resume_test.sh
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
train=sniper/train
compare=tools/compare_checkpoints
killer=sniper/testing/kill_on_write.py
trials="${TRIALS:-3}"
RANDOM="${SEED:-1}"
sets=(--quiet --resume
  --set dataset.synthetic.train_images=8 --set dataset.synthetic.val_images=2
  --set dataset.synthetic.min_side=160 --set dataset.synthetic.max_side=320
  --set "dataset.synthetic.cache_dir=$tmp/syn"
  --set 'sampler.scales[0].size.long_side=512' --set 'eval.scales[0].size.long_side=512'
  --set negatives.rpn_schedule.max_steps=4 --set schedule.max_steps=8
  --set schedule.warmup_steps=1 --set negatives.rpn_schedule.warmup_steps=1
  --set loader.batch_size=2 --set threads=1
  --set output.checkpoint_every_steps=1 --set output.keep_checkpoints=2
  --set output.log_every_steps=1)

start=$(date +%s.%N)
"$train" --work_dir="$tmp/reference" "${sets[@]}" > /dev/null
duration=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
ms=$(python3 -c "print(int(1000 * $duration))")
echo "uninterrupted run: ${duration}s"

kills=0 mid_write=0 corrupt=0 mismatches=0
for trial in $(seq 1 "$trials"); do
  work="$tmp/trial_$trial"
  mkdir -p "$work"
  for attempt in $(seq 1 60); do
    "$train" --work_dir="$work" "${sets[@]}" > "$tmp/out.txt" 2>&1 &
    pid=$!
    if [ $((attempt % 2)) -eq 1 ]; then
      # Odd attempts: killed the moment its (k+1)-th atomic write begins.
      python3 "$killer" "$pid" "$work" $((RANDOM % 6)) > "$tmp/killed.txt" || true
    else
      # Even attempts: a random moment in the run's length.
      delay_ms=$(( (RANDOM * 32768 + RANDOM) % (ms + 1) ))
      sleep "$(python3 -c "print($delay_ms / 1000)")"
      kill -9 "$pid" 2> /dev/null || true
    fi
    set +e
    wait "$pid" 2> /dev/null
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then break; fi
    if [ "$rc" -ne 137 ]; then
      echo "trial $trial: run failed (exit $rc)"; cat "$tmp/out.txt"; exit 1
    fi
    kills=$((kills + 1))
    if find "$work" -name '*.tmp.*' | grep -q .; then
      mid_write=$((mid_write + 1))
    fi
    for f in "$work"/*/ckpt-*.pt "$work"/*/final.pt; do
      [ -e "$f" ] || continue
      if ! "$compare" "$f" "$f" > /dev/null 2>&1; then
        echo "corrupt checkpoint after a kill: $f"; corrupt=$((corrupt + 1))
      fi
    done
  done
  test -f "$work/detector/final.pt" || { echo "trial $trial never finished"; exit 1; }
  if ! "$compare" "$tmp/reference/detector/final.pt" "$work/detector/final.pt" \
      --tolerance=0 > "$tmp/cmp.txt"; then
    echo "trial $trial: weights differ:"; cat "$tmp/cmp.txt"; mismatches=$((mismatches + 1))
  fi
done
# Preemption: SIGTERM in the middle of the detector stage (checkpoints
# only every 1000 steps here): the step finishes, a checkpoint of it is
# written, exit 75 with a line naming the step and --resume; resumed, the
# run ends on the reference's weights exactly.
work="$tmp/preempted"
"$train" --work_dir="$work" "${sets[@]}" --set output.checkpoint_every_steps=1000 \
  > /dev/null 2> "$tmp/err.txt" &
pid=$!
for _ in $(seq 2400); do
  grep -q "^\[detector\] step 1/" "$work/train.log" 2> /dev/null && break
  sleep 0.05
done
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
if [ "$rc" -ne 75 ]; then
  echo "SIGTERM: exit $rc, expected 75"; cat "$tmp/err.txt"; exit 1
fi
grep -q "^stopped by SIGTERM after step [0-9]* of the detector stage, checkpoint written (exit 75): run the same command with --resume" "$tmp/err.txt" \
  || { echo "SIGTERM: unexpected message:"; cat "$tmp/err.txt"; exit 1; }
step=$(sed -n 's/^stopped by SIGTERM after step \([0-9]*\) .*/\1/p' "$tmp/err.txt")
test -f "$work/detector/$(printf 'ckpt-%08d.pt' "$step")" \
  || { echo "SIGTERM: no checkpoint of step $step"; ls "$work/detector"; exit 1; }
"$train" --work_dir="$work" "${sets[@]}" > /dev/null
if ! "$compare" "$tmp/reference/detector/final.pt" "$work/detector/final.pt" \
    --tolerance=0 > "$tmp/cmp.txt"; then
  echo "SIGTERM then --resume: weights differ:"; cat "$tmp/cmp.txt"; mismatches=$((mismatches + 1))
fi
echo "SIGTERM after detector step $step: exit 75, resumed to the reference's weights"
echo "$trials trials, $kills kills ($mid_write during a file write), $corrupt corrupt checkpoints, $mismatches weight mismatches"
test "$corrupt" -eq 0 && test "$mismatches" -eq 0
echo PASS
