#!/bin/bash
# A stand-in for //sniper:train in the runner's tests: records its
# arguments in $FAKE_TRAIN_CALLS, then, unless its work directory's name
# is in $FAKE_TRAIN_FAIL (exit 3, as a crash) or $FAKE_TRAIN_STOP (stopped
# mid-run: a checkpoint but no eval summary, exit 0), writes what a
# finished run leaves: eval_stats.json and summary/{detector,eval}.json
# whose AP is $FAKE_AP_<seed> (default 0.5).
set -euo pipefail
work_dir="" seed=0
for arg in "$@"; do
  case "$arg" in
    --work_dir=*) work_dir="${arg#--work_dir=}" ;;
    --set=seed=*) seed="${arg#--set=seed=}" ;;
  esac
done
echo "$*" >>"$FAKE_TRAIN_CALLS"
cell="$(basename "$(dirname "$work_dir")")/$(basename "$work_dir")"
echo "[detector] step 1/2 of $cell"
if [[ " ${FAKE_TRAIN_FAIL:-} " == *" $cell "* ]]; then
  echo "error: $cell went wrong" >&2
  exit 3
fi
mkdir -p "$work_dir/summary" "$work_dir/detector"
echo "[detector] step 1/2" >"$work_dir/train.log"
touch "$work_dir/detector/ckpt-00000001.pt"
if [[ " ${FAKE_TRAIN_STOP:-} " == *" $cell "* ]]; then
  exit 0
fi
ap_var="FAKE_AP_$seed"
ap="${!ap_var:-0.5}"
printf '{"stats": [%s, 0.7, 0.6, 0.3, 0.6, 0.6, 0.3, 0.6, 0.6, 0.5, 0.7, 0.7]}\n' "$ap" \
  >"$work_dir/eval_stats.json"
printf '{"stage": "detector", "seconds": 2, "peak_rss_bytes": 104857600, "steps": 30, "images_per_s": 4, "pixels_per_image": 1000}\n' \
  >"$work_dir/summary/detector.json"
printf '{"stage": "eval", "seconds": 1}\n' >"$work_dir/summary/eval.json"
