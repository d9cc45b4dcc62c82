#!/usr/bin/env bash
# //tools:suggest_scales end to end on data/testdata/example_instances.json:
# a suggestion with its pasteable scales and picture; the pasted scales
# parse as a sampler config; bad flags exit 2, unreadable data 1.
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
ann=data/testdata/example_instances.json
tools/suggest_scales --annotations="$ann" --picture="$tmp/s.png" > "$tmp/out.txt"
grep -q "^suggested: [1-3] scales" "$tmp/out.txt"
grep -q "of those >= .* px" "$tmp/out.txt"
grep -q "the --config's own scales (configs/coco_sniper_sampler.pbtxt)" "$tmp/out.txt"
test -s "$tmp/s.png"
# The pasted lines, with the COCO sampler's other fields, count chips.
sed -n '/^scales {/,$p' "$tmp/out.txt" | sed '/^$/,$d' > "$tmp/scales.txt"
grep -q "size { factor: " "$tmp/scales.txt"
grep -v "^scales\|^  size\|^  valid_range\|^  negative_min\|^}" \
  configs/coco_sniper_sampler.pbtxt | grep -v "^#" > "$tmp/rest.txt"
cat "$tmp/scales.txt" "$tmp/rest.txt" > "$tmp/sampler.pbtxt"
tools/chip_stats --annotations="$ann" --config="$tmp/sampler.pbtxt" > "$tmp/stats.txt"
grep -q "covered fraction of valid boxes 1.000000" "$tmp/stats.txt"
set +e
tools/suggest_scales > /dev/null 2> "$tmp/err1.txt"
[ $? -eq 2 ] || { echo "expected exit 2 without a dataset"; exit 1; }
tools/suggest_scales --annotations=/nonexistent.json 2> "$tmp/err2.txt"
[ $? -eq 1 ] || { echo "expected exit 1 for a missing file"; exit 1; }
grep -q "/nonexistent.json" "$tmp/err2.txt"
set -e
echo PASS
