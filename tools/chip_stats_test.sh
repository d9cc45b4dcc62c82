#!/usr/bin/env bash
# End-to-end check of //tools:chip_stats on data/testdata/example_instances.json.
set -euo pipefail
bin=tools/chip_stats
ann=data/testdata/example_instances.json
out="${TEST_TMPDIR:-/tmp}/stats.json"
"$bin" --annotations="$ann" --json="$out" > "${TEST_TMPDIR:-/tmp}/table.txt"
grep -q "covered fraction of valid boxes 1.000000" "${TEST_TMPDIR:-/tmp}/table.txt"
for key in images positive_chips negative_chips sniper_pixels_per_image \
           single_scale_pixels_per_image pyramid_pixels_per_image \
           ratio_vs_single_scale covered_fraction; do
  grep -q "\"$key\":" "$out" || { echo "missing key $key"; exit 1; }
done
grep -q '"images": 12,' "$out"
grep -q '"covered_fraction": 1.000000' "$out"
# Side by side with the paper's sampler: ours needs no more pixels.
"$bin" --annotations="$ann" --compare_config=configs/coco_sniper_paper_sampler.pbtxt \
  > "${TEST_TMPDIR:-/tmp}/both.txt"
grep -q "^covered fraction .* 1.000 .* 1.000" "${TEST_TMPDIR:-/tmp}/both.txt"
awk '/^SNIPER pixels +[0-9]/ { if ($4 > $3) { print "more pixels than the paper: " $0; exit 1 } }' \
  "${TEST_TMPDIR:-/tmp}/both.txt"
# Bad input: a clear error naming the file, non-zero exit.
if "$bin" --annotations=/nonexistent.json 2> "${TEST_TMPDIR:-/tmp}/err.txt"; then
  echo "expected failure"; exit 1
fi
grep -q "/nonexistent.json" "${TEST_TMPDIR:-/tmp}/err.txt"
echo "$ann" > "${TEST_TMPDIR:-/tmp}/bad.pbtxt"
if "$bin" --annotations="$ann" --config="${TEST_TMPDIR:-/tmp}/bad.pbtxt" 2> "${TEST_TMPDIR:-/tmp}/err2.txt"; then
  echo "expected config failure"; exit 1
fi
grep -q "bad.pbtxt:1:" "${TEST_TMPDIR:-/tmp}/err2.txt"
echo PASS
