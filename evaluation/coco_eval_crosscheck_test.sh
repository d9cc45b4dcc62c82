#!/usr/bin/env bash
# Cross-check: //tools:coco_eval against an independent NumPy computation
# of the reference COCO API's semantics (testing/reference_coco_eval.py) on
# random adversarial workloads: boxes (testing/make_eval_case.py) and masks
# (--iou_type=segm, testing/make_segm_case.py: polygons, crowd RLE, results
# as compressed RLE; the reference side rasterises and intersects dense
# pixels, testing/mask_reference.py). The mask workloads' results come in
# both of the forms the reference's loadRes tells apart by the first result
# (all with a bbox: box areas decide the area ranges; the first without:
# mask areas and the masks' boxes), and are scored as boxes too. The 12
# numbers must agree to 1e-12. Skips when NumPy is missing.
set -euo pipefail
PY=/usr/bin/python3
if ! "$PY" -c "import numpy" 2>/dev/null; then
  echo "SKIPPED: numpy not available"
  exit 0
fi
here="evaluation"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
cases=${CASES:-20}
compare() {  # compare <ours.json> <ref.json> <label>
  "$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, sys
ours = json.load(open(sys.argv[1]))["stats"]
ref = json.load(open(sys.argv[2]))["stats"]
bad = [(i, a, b) for i, (a, b) in enumerate(zip(ours, ref)) if abs(a - b) > 1e-12]
if bad:
    print("%s: MISMATCH (index, ours, reference): %s" % (sys.argv[3], bad))
    sys.exit(1)
print("%s: agree, AP %.4f AP50 %.4f ARs %.4f" % (sys.argv[3], ours[0], ours[1], ours[9]))
PYEOF
}
for seed in $(seq 1 "$cases"); do
  "$PY" "$here/testing/make_eval_case.py" "$seed" "$tmp/gt.json" "$tmp/dets.json"
  tools/coco_eval --gt="$tmp/gt.json" --dets="$tmp/dets.json" \
    --json="$tmp/ours.json" > "$tmp/table.txt" 2> /dev/null
  "$PY" "$here/testing/reference_coco_eval.py" "$tmp/gt.json" "$tmp/dets.json" "$tmp/ref.json"
  compare "$tmp/ours.json" "$tmp/ref.json" "bbox seed $seed"
done
for seed in $(seq 1 "$cases"); do
  "$PY" "$here/testing/make_segm_case.py" "$seed" "$tmp/gt.json" "$tmp/dets.json"
  tools/coco_eval --gt="$tmp/gt.json" --dets="$tmp/dets.json" --iou_type=segm \
    --json="$tmp/ours.json" > "$tmp/segm_table.txt" 2> /dev/null
  "$PY" "$here/testing/reference_coco_eval.py" "$tmp/gt.json" "$tmp/dets.json" \
    "$tmp/ref.json" --segm
  form=$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]));
print("bbox form" if d and d[0].get("bbox") else "mask form")' "$tmp/dets.json")
  compare "$tmp/ours.json" "$tmp/ref.json" "segm seed $seed ($form)"
  tools/coco_eval --gt="$tmp/gt.json" --dets="$tmp/dets.json" --iou_type=bbox \
    --json="$tmp/ours.json" > /dev/null 2>&1
  "$PY" "$here/testing/reference_coco_eval.py" "$tmp/gt.json" "$tmp/dets.json" \
    "$tmp/ref.json"
  compare "$tmp/ours.json" "$tmp/ref.json" "segm seed $seed as boxes ($form)"
done
# The table layout of the reference API.
grep -q "^ Average Precision  (AP) @\[ IoU=0.50:0.95 | area=   all | maxDets=100 \] = " "$tmp/table.txt"
echo "PASS: $cases random box and $cases random mask workloads (as masks and as boxes) agree"
