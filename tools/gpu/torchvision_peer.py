#!/usr/bin/env python3
"""The peer for tools/gpu/measure.sh: torchvision's Faster R-CNN R50-FPN
training images/s at 800x1333 (single scale, as its COCO recipe), on the
same machine in the same run as our benchmarks:

  torchvision_peer.py [--device=cuda] [--precision=BF16|FP32] [--batch=4]
                      [--steps=20]

Random weights (nothing is downloaded), images of 800x1333 (the transform
keeps them at that size), 8 random ground-truth boxes per image, SGD with
momentum, forward under autocast for BF16. Prints one JSON line:
images_per_s, peak_gpu_allocated_mib, peak_gpu_reserved_mib and the
versions. Exit status 3 when torchvision is missing.
"""
import argparse
import json
import sys
import time


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--device", default="cuda")
  ap.add_argument("--precision", choices=["BF16", "FP32"], default="BF16")
  ap.add_argument("--batch", type=int, default=4)
  ap.add_argument("--steps", type=int, default=20)
  a = ap.parse_args()
  try:
    import torch
    import torchvision
    from torchvision.models.detection import fasterrcnn_resnet50_fpn
  except ImportError as e:
    print(json.dumps({"error": "no torchvision: %s" % e}))
    return 3
  device = torch.device(a.device)
  torch.manual_seed(0)
  model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None,
                                  num_classes=91, min_size=800,
                                  max_size=1333).to(device).train()
  sgd = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
  h, w = 800, 1333
  images = [torch.rand(3, h, w, device=device) for _ in range(a.batch)]
  targets = []
  for _ in range(a.batch):
    xy = torch.rand(8, 2, device=device) * torch.tensor([w - 200, h - 200],
                                                        device=device)
    wh = 16 + torch.rand(8, 2, device=device) * 180
    targets.append({"boxes": torch.cat([xy, xy + wh], 1),
                    "labels": torch.randint(1, 91, (8,), device=device)})
  cuda = device.type == "cuda"

  def step():
    sgd.zero_grad()
    with torch.autocast(device.type, dtype=torch.bfloat16,
                        enabled=a.precision == "BF16"):
      losses = model(images, targets)
    sum(losses.values()).backward()
    sgd.step()

  step()  # warm-up
  if cuda:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(device)
  start = time.time()
  for _ in range(a.steps):
    step()
  if cuda:
    torch.cuda.synchronize()
  seconds = time.time() - start
  result = {"model": "torchvision fasterrcnn_resnet50_fpn",
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "device": str(device), "precision": a.precision,
            "batch": a.batch, "steps": a.steps, "image": [h, w],
            "images_per_s": a.batch * a.steps / seconds}
  if cuda:
    result["peak_gpu_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    result["peak_gpu_reserved_mib"] = torch.cuda.max_memory_reserved(device) / 2**20
  print(json.dumps(result))
  return 0


if __name__ == "__main__":
  sys.exit(main())
