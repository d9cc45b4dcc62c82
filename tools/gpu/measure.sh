#!/usr/bin/env bash
# The throughput measurement for a short GPU window, as one command (issue
# #23): prints the machine (OS, glibc, gcc, nvcc, driver, PyTorch and its
# C++ ABI), builds only what it runs (tools/gpu/env.sh's Bazel and flags),
# then, each step with its own time budget and all before the deadline:
# the CUDA op tests (CPU vs CUDA), SNIPER vs single-scale training at the
# paper's setting (ResNet-101 and -50, 16 512x512 chips vs 800x1333 images
# of the same pixel budget; images/s, peak GPU memory), the largest chip
# batch that fits, COCO inference at the three test scales, our sampler,
# FP32, and torchvision's Faster R-CNN R50-FPN as a peer. Writes
# measure.json and measure.log under $OUT (or --out) and prints a summary
# table last (Markdown, for the README).
#
#   On the GPU machine (tools/gpu/pack.sh here first: .gpu_carry holds Bazel,
#   the Debian libraries and a COCO subset):
#     run(command="bash tools/gpu/measure.sh --deadline_s=540", carry=[".gpu_carry"])
#   Any CUDA machine with PyTorch (and nvcc) installed: the same, after
#   tools/gpu/pack.sh there or a copied .gpu_carry.
#   Dry run on a CPU machine (Debian's Bazel and LibTorch):
#     bash tools/gpu/measure.sh --device=cpu --steps=1 --batch=2 \
#       --precisions=FP32 --largest_batch_cap=2 --coco_images=1 --out=/tmp/measure
#
# Options (tools/gpu/measure.py): --device=cuda|cpu, --deadline_s=N
# (default 540), --steps=N timed steps per training case (20), --batch=N
# chips per SNIPER step (16), --precisions=BF16,FP32 (the first measured
# fully), --data_dir=DIR (default .gpu_carry/coco_subset, else coco_mini),
# --coco_images=N (20), --largest_batch_cap=N (1024), --out=DIR ($OUT).
# Exit status: 0 when every step that ran passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/gpu/launch.sh
gpu_launch tools/gpu/measure.py "$@"
