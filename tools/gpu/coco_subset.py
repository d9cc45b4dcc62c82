#!/usr/bin/env python3
"""Copies the first images of a COCO-format set (by image id) that fit a
size budget, with their annotations, into a new directory:

  coco_subset.py --source=DIR --out=DIR [--max_mib=8]

DIR holds instances.json and images/ (as ../shared/data/coco_mini).
tools/gpu/pack.sh uses it for .gpu_carry/coco_subset: real COCO images for
the paper-setting benchmarks on the GPU machine, which receives at most
64 MiB. Prints the images, annotations and MiB written.
"""
import argparse
import json
import os
import shutil
import sys


def subset(source, out, max_bytes):
  with open(os.path.join(source, "instances.json")) as f:
    coco = json.load(f)
  images, total = [], 0
  for image in sorted(coco["images"], key=lambda i: i["id"]):
    path = os.path.join(source, "images", image["file_name"])
    size = os.path.getsize(path)
    if total + size > max_bytes:
      break
    images.append(image)
    total += size
  if not images:
    raise SystemExit("coco_subset: no image of %s fits %d bytes" %
                     (source, max_bytes))
  ids = {i["id"] for i in images}
  kept = dict(coco, images=images,
              annotations=[a for a in coco["annotations"]
                           if a["image_id"] in ids])
  os.makedirs(os.path.join(out, "images"), exist_ok=True)
  for image in images:
    shutil.copyfile(os.path.join(source, "images", image["file_name"]),
                    os.path.join(out, "images", image["file_name"]))
  tmp = os.path.join(out, "instances.json.tmp")
  with open(tmp, "w") as f:
    json.dump(kept, f)
  os.replace(tmp, os.path.join(out, "instances.json"))
  return len(images), len(kept["annotations"]), total


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--source", required=True)
  ap.add_argument("--out", required=True)
  ap.add_argument("--max_mib", type=float, default=8)
  a = ap.parse_args()
  n, anns, total = subset(a.source, a.out, int(a.max_mib * 1048576))
  print("coco_subset: %d images, %d annotations, %.1f MiB in %s" %
        (n, anns, total / 1048576, a.out))
  return 0


if __name__ == "__main__":
  sys.exit(main())
