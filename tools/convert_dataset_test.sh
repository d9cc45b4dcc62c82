#!/usr/bin/env bash
# //tools:convert_dataset end to end: data/testdata/example_instances.json
# written as Pascal VOC, then chip_stats on the VOC copy gives exactly the
# numbers it gives on the JSON; bad flags and inputs fail clearly.
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
ann=data/testdata/example_instances.json
tools/convert_dataset --annotations="$ann" --images="$tmp/images" --to=voc \
  --out="$tmp/voc" --split=all > "$tmp/convert.txt"
grep -q "12 images" "$tmp/convert.txt" || { cat "$tmp/convert.txt"; exit 1; }
test "$(wc -l < "$tmp/voc/ImageSets/Main/all.txt")" -eq 12
test "$(ls "$tmp/voc/Annotations" | wc -l)" -eq 12
test -L "$tmp/voc/JPEGImages/$(ls "$tmp/voc/JPEGImages" | head -1)"
tools/chip_stats --annotations="$ann" --json="$tmp/coco.json" > /dev/null
tools/chip_stats --voc_root="$tmp/voc" --voc_split=all --json="$tmp/voc.json" \
  > "$tmp/voc_table.txt"
grep -q "^dataset: Pascal VOC .*(all) (12 images" "$tmp/voc_table.txt"
# Same chips and pixels (the class order may differ; nothing here uses it).
for key in images positive_chips sniper_pixels_per_image \
           single_scale_pixels_per_image pyramid_pixels_per_image \
           covered_fraction; do
  a=$(grep "\"$key\":" "$tmp/coco.json" | head -1)
  b=$(grep "\"$key\":" "$tmp/voc.json" | head -1)
  [ -n "$a" ] && [ "$a" = "$b" ] || { echo "$key: coco '$a' voc '$b'"; exit 1; }
done
# Usage errors exit 2; unreadable data exits 1 naming the file.
set +e
tools/convert_dataset --annotations="$ann" --out="$tmp/x" 2> "$tmp/err1.txt"
[ $? -eq 2 ] || { echo "expected exit 2 without --to"; exit 1; }
tools/chip_stats --annotations="$ann" --voc_root="$tmp/voc" 2> "$tmp/err2.txt"
[ $? -eq 2 ] || { echo "expected exit 2 with two datasets"; exit 1; }
grep -q "exactly one of --annotations, --voc_root and --yolo_images" \
  "$tmp/err2.txt"
tools/chip_stats --voc_root="$tmp/voc" --voc_split=nosuch 2> "$tmp/err3.txt"
[ $? -eq 1 ] || { echo "expected exit 1 for a missing split"; exit 1; }
grep -q "ImageSets/Main/nosuch.txt" "$tmp/err3.txt"
tools/chip_stats --yolo_images="$tmp" 2> "$tmp/err4.txt"
[ $? -eq 2 ] || { echo "expected exit 2 without --yolo_names"; exit 1; }
set -e
echo PASS
