#!/usr/bin/env bash
# Writes the shared coco_mini (747 real COCO images) as a Pascal VOC dataset
# for configs/coco_mini_voc.pbtxt: //tools:convert_dataset with whole-pixel
# boxes (as VOC's own files; crowd boxes become difficult objects), images
# linked, then ImageSets/Main/train.txt and val.txt from coco_mini's
# SPLITS.txt (598 and 149 images).
#
#   bash tools/coco_mini_voc.sh [OUT]   (default /tmp/coco_mini_voc; run
#                                        from the repository root after
#                                        bazel build //tools:convert_dataset)
set -euo pipefail
out=${1:-/tmp/coco_mini_voc}
mini=${SNIPER_SHARED_DATA:-../shared/data}/coco_mini
[ -f "$mini/instances.json" ] || { echo "coco_mini_voc: no $mini/instances.json (set SNIPER_SHARED_DATA)" >&2; exit 1; }
bin=bazel-bin/tools/convert_dataset
[ -x "$bin" ] || { echo "coco_mini_voc: build it first: bazel build //tools:convert_dataset" >&2; exit 1; }
"$bin" --annotations="$mini/instances.json" --images="$mini/images" --to=voc \
  --out="$out" --split=all --digits=0
# SPLITS.txt: "<split> <image id>"; VOC ids are the image files' stems.
for split in train val; do
  awk -v s="$split" '$1 == s { printf "%012d\n", $2 }' "$mini/SPLITS.txt" \
    > "$out/ImageSets/Main/$split.txt.tmp"
  while read -r id; do
    [ -f "$out/Annotations/$id.xml" ] || { echo "coco_mini_voc: $split lists $id, which has no annotation" >&2; exit 1; }
  done < "$out/ImageSets/Main/$split.txt.tmp"
  mv "$out/ImageSets/Main/$split.txt.tmp" "$out/ImageSets/Main/$split.txt"
  echo "$split: $(wc -l < "$out/ImageSets/Main/$split.txt") images"
done
