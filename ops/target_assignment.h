// File: ops/target_assignment.h
//
// SNIPER's training targets inside a chip (SNIPER.md section 5). Valid
// ground truth trains; ignore regions (out-of-range, border-cut and crowd
// boxes) neither train as objects nor as background.
//
// RPN (AssignRpnTargets), per chip:
//   - anchors further than allowed_border outside the chip: label -1;
//   - negative (0): max IoU with valid GT < negative_iou;
//   - positive (1): max IoU >= positive_iou, or the best anchor of a valid
//     GT (ties included, IoU > 0);
//   - ignored (-1): IoU > ignore_iou with any ignore region, overriding the
//     above;
//   - sampling: at most batch_size * positive_fraction positives, negatives
//     fill batch_size; the rest become -1. Random choices derive from `seed`.
//   Regression targets of positives against their best GT.
//
// RCNN (AssignRcnnTargets), per chip:
//   - candidates: proposals plus the valid GT (add_gt);
//   - left out: candidates whose best match is an ignore region at IoU >=
//     ignore_iou (better than any valid GT);
//   - foreground: IoU >= fg_iou with a valid GT, label = GT label + 1;
//   - background (0): IoU in [bg_iou_low, bg_iou_high);
//   - optional sampling (batch_size > 0, fg_fraction); the reference uses
//     every candidate (batch_size = -1, the default).
// Coordinates are chip pixels; every threshold is a parameter. ATen tensor
// code: CPU or CUDA.
#ifndef SNIPER_OPS_TARGET_ASSIGNMENT_H_
#define SNIPER_OPS_TARGET_ASSIGNMENT_H_

#include <ATen/ATen.h>

#include <cstdint>

#include "ops/box_coder.h"

namespace sniper::ops {

struct RpnTargetOptions {
  double positive_iou = 0.5;
  double negative_iou = 0.4;
  double ignore_iou = 0.3;
  double allowed_border = 32.0;
  int64_t batch_size = 256;
  double positive_fraction = 0.5;
  BoxCoderOptions coder = {1.0, 1.0, 1.0, 1.0, std::log(1000.0 / 16.0)};
};

struct RpnTargets {
  at::Tensor labels;   // [A] int64: 1, 0, -1
  at::Tensor deltas;   // [A, 4], zero except for positives
  at::Tensor weights;  // [A, 4], 1 for positives
};

// anchors [A, 4]; gt [G, 4]; ignore [I, 4]; chip_height/width: the chip's
// valid area.
RpnTargets AssignRpnTargets(const at::Tensor& anchors, const at::Tensor& gt,
                            const at::Tensor& ignore, double chip_height,
                            double chip_width, const RpnTargetOptions& options,
                            uint64_t seed);

struct RcnnTargetOptions {
  double fg_iou = 0.5;
  double bg_iou_high = 0.5;
  double bg_iou_low = 0.0;
  double ignore_iou = 0.5;
  bool add_gt = true;
  int64_t batch_size = -1;  // <= 0: no sampling (the reference)
  double fg_fraction = 0.25;
  BoxCoderOptions coder;  // (10, 10, 5, 5)
};

struct RcnnTargets {
  at::Tensor rois;     // [R, 4] candidates that take part in the loss
  at::Tensor labels;   // [R] int64: 0 background, GT label + 1 foreground
  at::Tensor deltas;   // [R, 4] class-agnostic targets (foreground)
  at::Tensor weights;  // [R, 4] 1 for foreground
  // [R] int64: the valid GT a foreground RoI regresses to (its mask
  // target's source), -1 for background.
  at::Tensor gt_index;
};

// proposals [P, 4]; gt [G, 4] with gt_labels [G] (int64, 0..K-1);
// ignore [I, 4].
RcnnTargets AssignRcnnTargets(const at::Tensor& proposals, const at::Tensor& gt,
                              const at::Tensor& gt_labels,
                              const at::Tensor& ignore,
                              const RcnnTargetOptions& options, uint64_t seed);

}  // namespace sniper::ops

#endif  // SNIPER_OPS_TARGET_ASSIGNMENT_H_
