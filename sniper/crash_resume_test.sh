#!/usr/bin/env bash
# Crash-resume trials: a tiny run of every stage (RPN, proposals, detector,
# eval), killed with SIGKILL at random moments and resumed with --resume
# until it finishes. After every kill each checkpoint on disk must read
# back (no corrupt file, ever), and the finished run's detector weights
# must equal an uninterrupted run's bit for bit. Checkpoints every step, so
# many kills land during a checkpoint write (counted: a *.tmp.<pid> left
# behind; the next start removes it).
#   TRIALS=N (default 3, CI)  SEED=S (default 1)  bash crash_resume_test.sh
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
train=sniper/train
compare=tools/compare_checkpoints
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
  for attempt in $(seq 1 60); do
    "$train" --work_dir="$work" "${sets[@]}" > "$tmp/out.txt" 2>&1 &
    pid=$!
    # A random moment in the run's length (start-up included).
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % (ms + 1) ))
    sleep "$(python3 -c "print($delay_ms / 1000)")"
    if kill -9 "$pid" 2> /dev/null; then
      wait "$pid" 2> /dev/null || true
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
    else
      wait "$pid" || { echo "trial $trial: run failed"; cat "$tmp/out.txt"; exit 1; }
      break
    fi
  done
  test -f "$work/detector/final.pt" || { echo "trial $trial never finished"; exit 1; }
  if ! "$compare" "$tmp/reference/detector/final.pt" "$work/detector/final.pt" \
      --tolerance=0 > "$tmp/cmp.txt"; then
    echo "trial $trial: weights differ:"; cat "$tmp/cmp.txt"; mismatches=$((mismatches + 1))
  fi
done
echo "$trials trials, $kills kills ($mid_write during a file write), $corrupt corrupt checkpoints, $mismatches weight mismatches"
test "$corrupt" -eq 0 && test "$mismatches" -eq 0
echo PASS
