// File: ops/nms.h
//
// Greedy non-maximum suppression. Boxes [N, 4] (x1, y1, x2, y2, continuous
// coordinates), scores [N], float32 or float64, same device (CPU or CUDA).
// Returns the int64 indices of the kept boxes by decreasing score; ties in
// score keep input order. A box is suppressed by a higher-scored kept box
// when their IoU is strictly greater than `iou_threshold` (torchvision's
// rule, so results match torchvision.ops.nms).
//
// CPU: one sort, structure-of-arrays boxes, vectorized suppression loop.
// CUDA: 64x64 bitmask tiles, reduced on the device by one thread block (no
// host round trip for the mask); only the final compaction syncs.
// Inputs are checked (shapes, dtypes, devices; finite values on CPU) and a
// violation throws c10::Error saying what was received.
#ifndef SNIPER_OPS_NMS_H_
#define SNIPER_OPS_NMS_H_

#include <ATen/ATen.h>

namespace sniper::ops {

at::Tensor Nms(const at::Tensor& boxes, const at::Tensor& scores,
               double iou_threshold);

// NMS within each group (`groups` [N] int64, e.g. class labels): boxes of
// different groups never suppress each other. Indices by decreasing score.
at::Tensor BatchedNms(const at::Tensor& boxes, const at::Tensor& scores,
                      const at::Tensor& groups, double iou_threshold);

}  // namespace sniper::ops

#endif  // SNIPER_OPS_NMS_H_
