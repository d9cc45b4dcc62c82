// File: ops/box_iou.h
//
// Pairwise overlap of two box sets. Boxes are [N, 4] tensors (x1, y1, x2, y2)
// in continuous coordinates: area = (x2 - x1) * (y2 - y1), no "+1" pixel
// convention. float32 or float64, CPU or CUDA (both on the same device).
//
//   BoxIou(a, b)[i][j] = |a_i ∩ b_j| / |a_i ∪ b_j|   (0 when the union is 0)
//   BoxIoa(a, b)[i][j] = |a_i ∩ b_j| / |b_j|         (0 when b_j is empty)
//
// IoA measures how much of b_j (an ignore region, a crowd box) a_i covers;
// SNIPER ignores anchors and proposals that overlap ignore regions.
// Inputs are checked (rank, shape, dtype, device, finite coordinates); a
// violation throws c10::Error naming what was received. Empty inputs give
// empty [N, M] outputs.
#ifndef SNIPER_OPS_BOX_IOU_H_
#define SNIPER_OPS_BOX_IOU_H_

#include <ATen/ATen.h>

namespace sniper::ops {

at::Tensor BoxIou(const at::Tensor& a, const at::Tensor& b);
at::Tensor BoxIoa(const at::Tensor& a, const at::Tensor& b);

namespace detail {
// Checks one box tensor; `name` appears in messages.
void CheckBoxes(const at::Tensor& boxes, const char* op, const char* name);
}  // namespace detail

}  // namespace sniper::ops

#endif  // SNIPER_OPS_BOX_IOU_H_
