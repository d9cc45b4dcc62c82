#!/usr/bin/env bash
# visualize_chips on a real COCO image (skips without ../shared/data), and
# its errors for an unknown image id.
set -euo pipefail
data="${SNIPER_SHARED_DATA:-/work/shared/data}"
if [ ! -f "$data/coco_mini/instances.json" ]; then
  echo "shared COCO data not found; skipping"; exit 0
fi
out="${TEST_TMPDIR:-/tmp}/v.png"
tools/visualize_chips --annotations="$data/coco_mini/instances.json" \
  --images="$data/coco_mini/images" --image_id=139 --out="$out" > "${TEST_TMPDIR:-/tmp}/log.txt"
grep -q "scale 0: " "${TEST_TMPDIR:-/tmp}/log.txt"
# A PNG: signature bytes.
[ "$(head -c 8 "$out" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
if tools/visualize_chips --annotations="$data/coco_mini/instances.json" \
     --images="$data/coco_mini/images" --image_id=1 --out="$out" 2> "${TEST_TMPDIR:-/tmp}/err.txt"; then
  echo "expected failure for unknown id"; exit 1
fi
grep -q "no image with id 1" "${TEST_TMPDIR:-/tmp}/err.txt"
echo PASS
