#!/usr/bin/env bash
# //sniper:train, //sniper:eval and //sniper:detect end to end on a tiny
# synthetic set.
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
sets=(--set dataset.synthetic.train_images=8 --set dataset.synthetic.val_images=3
      --set dataset.synthetic.min_side=160 --set dataset.synthetic.max_side=320
      --set "dataset.synthetic.cache_dir=$tmp/syn"
      --set 'sampler.scales[0].size.long_side=512' --set 'eval.scales[0].size.long_side=512'
      --set negatives.rpn_schedule.max_steps=2 --set schedule.max_steps=3
      --set schedule.warmup_steps=1 --set negatives.rpn_schedule.warmup_steps=1
      --set loader.batch_size=4 --set threads=1)
sniper/train --work_dir="$tmp/run" --quiet "${sets[@]}" > "$tmp/train.out"
grep -q "^AP " "$tmp/train.out"
# Same numbers from the eval tool.
sniper/eval --work_dir="$tmp/run" --quiet "${sets[@]}" > "$tmp/eval.out"
diff <(grep "^AP " "$tmp/train.out") <(grep "^AP " "$tmp/eval.out")
test -s "$tmp/run/detections_val.json"
cp "$tmp/run/eval_stats.json" "$tmp/full_stats.json"
# AutoFocus (the default trains the focus branch): coarse to fine, fewer or
# as many network pixels, and the choice recorded in eval_stats.json.
sniper/eval --work_dir="$tmp/run" --quiet "${sets[@]}" \
  --set eval.autofocus.enabled=true --set eval.batch_size=2 > "$tmp/af.out"
grep -q "^AP " "$tmp/af.out"
grep -q "AutoFocus: .* M network pixels per image" "$tmp/run/train.log"
python3 - "$tmp/full_stats.json" "$tmp/run/eval_stats.json" <<'PY'
import json, sys
full, af = (json.load(open(p)) for p in sys.argv[1:3])
assert full["autofocus"] is False and af["autofocus"] is True, (full, af)
assert 0 < af["pixels_per_image"] <= full["pixels_per_image"], (full, af)
assert len(af["pixels_per_image_per_scale"]) == 3, af
PY
# A second training run into the same directory with another config is
# refused, naming the difference; with the same config it continues the
# run (finished here: the training stages are skipped).
if sniper/train --work_dir="$tmp/run" --quiet "${sets[@]}" --set optimizer.base_lr=0.03 \
    2> "$tmp/err.txt"; then
  echo "expected a refusal"; exit 1
fi
grep -q "another config than its $tmp/run/config.pbtxt: modified: optimizer.base_lr.*pass --resume" "$tmp/err.txt"
sniper/train --work_dir="$tmp/run" --quiet "${sets[@]}" > /dev/null
grep -q "holds checkpoints of an earlier run (the same config as its .*): continuing it" "$tmp/run/train.log"
grep -q "^\[detector\] already finished" "$tmp/run/train.log"
# One run per work directory: while a run lives, a second one there
# (--overwrite included) stops at once naming it; after the first is
# killed with SIGKILL, no stale lock is left.
sniper/train --work_dir="$tmp/busy" --quiet "${sets[@]}" \
  --set negatives.rpn_schedule.max_steps=100000 > /dev/null 2>&1 &
busy_pid=$!
for _ in $(seq 600); do
  grep -q "^pid $busy_pid " "$tmp/busy/run.lock" 2> /dev/null && break
  sleep 0.1
done
if sniper/train --work_dir="$tmp/busy" --overwrite --quiet "${sets[@]}" 2> "$tmp/err.txt"; then
  echo "expected a refusal while pid $busy_pid runs"; exit 1
fi
grep -q "$tmp/busy is in use by another run (pid $busy_pid on host " "$tmp/err.txt"
test "$(wc -l < "$tmp/err.txt")" -eq 1
kill -9 "$busy_pid"
wait "$busy_pid" || true
sniper/train --work_dir="$tmp/busy" --overwrite --stage=rpn --quiet "${sets[@]}" > /dev/null
grep -q "^pid " "$tmp/busy/run.lock"
# Bad flags name the field.
if sniper/train --set optimizer.base_lr=-1 2> "$tmp/err.txt"; then exit 1; fi
grep -q "PipelineConfig.optimizer.base_lr" "$tmp/err.txt"
# Detection on one file and on a directory (tiled).
img="$(ls "$tmp"/syn/images/val_*.jpg | head -1)"
sniper/detect --checkpoint="$tmp/run/detector/final.pt" --image="$img" \
  --out="$tmp/one.png" --score_threshold=0 > "$tmp/detect.out"
test -s "$tmp/one.png"
# The AutoFocus picture: focus maps and FocusChips per scale.
sniper/detect --checkpoint="$tmp/run/detector/final.pt" --image="$img" \
  --out="$tmp/one_af.png" --autofocus_map="$tmp/focus.png" > "$tmp/detect_af.out"
test -s "$tmp/focus.png"
grep -q "^AutoFocus: $tmp/focus.png" "$tmp/detect_af.out"
grep -q "^1 images, .* s/image in the network .*; AutoFocus: .* M network pixels per image" "$tmp/detect_af.out"
mkdir -p "$tmp/dir"
cp "$tmp"/syn/images/val_*.jpg "$tmp/dir/"
# File names with a quote and a backslash must still give valid JSON.
first="$(ls "$tmp"/dir/*.jpg | head -1)"
mv "$first" "$tmp/dir/it's \"q\" \\ x.jpg"
sniper/detect --checkpoint="$tmp/run/detector/final.pt" --image="$tmp/dir" \
  --out="$tmp/dets" --set eval.max_tile_side=128 --set eval.tile_overlap=32 \
  --set eval.merge=SOFT_NMS > "$tmp/detect_dir.out"
test "$(ls "$tmp"/dets/*.png | wc -l)" -eq 3
python3 - "$tmp/dets" <<'PY'
import json, sys
images = json.load(open(sys.argv[1] + "/images.json"))
names = sorted(im["file_name"] for im in images)
assert len(names) == 3, names
assert "it's \"q\" \\ x.jpg" in names, names
assert isinstance(json.load(open(sys.argv[1] + "/detections.json")), list)
PY
# A directory's detections need a directory to go to: an existing file as
# --out is a one-line error naming it, not an abort.
touch "$tmp/a_file"
set +e
sniper/detect --checkpoint="$tmp/run/detector/final.pt" --image="$tmp/dir" \
  --out="$tmp/a_file" > /dev/null 2> "$tmp/err.txt"
rc=$?
set -e
test "$rc" -eq 1 || { echo "detect --out=<file> exited $rc"; cat "$tmp/err.txt"; exit 1; }
grep -q -- "--out=$tmp/a_file" "$tmp/err.txt"
set +e
sniper/detect --checkpoint="$tmp/run/detector/final.pt" --image="$tmp/dir" \
  --autofocus_map="$tmp/f.png" > /dev/null 2> "$tmp/err.txt"
rc=$?
set -e
test "$rc" -eq 1 || { echo "detect --autofocus_map on a directory exited $rc"; exit 1; }
grep -q "autofocus_map draws one image" "$tmp/err.txt"
# A checkpoint of another model is refused, naming the field and both
# values: eval with another layer width, detect with another class count,
# and a resume whose --set changes the model (exit 1, one line).
expect_error() {  # expect_error PATTERN CMD...
  local pattern="$1"; shift
  set +e
  "$@" > /dev/null 2> "$tmp/err.txt"
  local rc=$?
  set -e
  # The error is stderr's last line and its only "error:" line.
  if [ "$rc" -ne 1 ] || ! tail -1 "$tmp/err.txt" | grep -q -- "^error: .*$pattern" ||
     [ "$(grep -c '^error:' "$tmp/err.txt")" -ne 1 ]; then
    echo "expected exit 1 and '$pattern' from: $*"; echo "got rc=$rc:"
    cat "$tmp/err.txt"; exit 1
  fi
}
width="$(grep -o 'rcnn_fc_channels: [0-9]*' "$tmp/run/config.pbtxt" | grep -o '[0-9]*$' || echo 1024)"
expect_error "model.rcnn_fc_channels is $width there but 24 in the config" \
  sniper/eval --work_dir="$tmp/run" --quiet "${sets[@]}" \
  --set model.rcnn_fc_channels=24
expect_error "model.num_classes is 5 there but 80 in the config" \
  sniper/detect --checkpoint="$tmp/run/detector/final.pt" --image="$img" \
  --out="$tmp/never.png" --set model.num_classes=80
test ! -e "$tmp/never.png"
expect_error "model.rcnn_fc_channels is $width there but 24 in the config" \
  sniper/train --work_dir="$tmp/run" --resume --quiet "${sets[@]}" \
  --set model.rcnn_fc_channels=24
echo PASS
