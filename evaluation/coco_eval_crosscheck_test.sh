#!/usr/bin/env bash
# Cross-check: //tools:coco_eval against an independent NumPy computation
# of the reference COCO API's semantics (testing/reference_coco_eval.py) on
# random adversarial workloads (testing/make_eval_case.py). The 12 numbers
# must agree to 1e-12. Skips when NumPy is missing.
set -euo pipefail
PY=/usr/bin/python3
if ! "$PY" -c "import numpy" 2>/dev/null; then
  echo "SKIPPED: numpy not available"
  exit 0
fi
here="evaluation"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
cases=${CASES:-20}
for seed in $(seq 1 "$cases"); do
  "$PY" "$here/testing/make_eval_case.py" "$seed" "$tmp/gt.json" "$tmp/dets.json"
  tools/coco_eval --gt="$tmp/gt.json" --dets="$tmp/dets.json" \
    --json="$tmp/ours.json" > "$tmp/table.txt" 2> /dev/null
  "$PY" "$here/testing/reference_coco_eval.py" "$tmp/gt.json" "$tmp/dets.json" "$tmp/ref.json"
  "$PY" - "$tmp/ours.json" "$tmp/ref.json" "$seed" <<'PYEOF'
import json, sys
ours = json.load(open(sys.argv[1]))["stats"]
ref = json.load(open(sys.argv[2]))["stats"]
bad = [(i, a, b) for i, (a, b) in enumerate(zip(ours, ref)) if abs(a - b) > 1e-12]
if bad:
    print("seed %s: MISMATCH (index, ours, reference): %s" % (sys.argv[3], bad))
    sys.exit(1)
print("seed %s: agree, AP %.4f AP50 %.4f ARs %.4f" % (sys.argv[3], ours[0], ours[1], ours[9]))
PYEOF
done
# The table layout of the reference API.
grep -q "^ Average Precision  (AP) @\[ IoU=0.50:0.95 | area=   all | maxDets=100 \] = " "$tmp/table.txt"
echo "PASS: $cases random workloads agree"
