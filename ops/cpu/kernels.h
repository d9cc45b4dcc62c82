// File: ops/cpu/kernels.h
//
// CPU kernels of ops/ (internal). Inputs are already checked by the public
// entry points: contiguous, same dtype, on the CPU.
#ifndef SNIPER_OPS_CPU_KERNELS_H_
#define SNIPER_OPS_CPU_KERNELS_H_

#include <ATen/ATen.h>

namespace sniper::ops::cpu {

// [N, M] IoU (ioa = false) or IoA (ioa = true).
at::Tensor BoxOverlapKernel(const at::Tensor& a, const at::Tensor& b, bool ioa);

// Indices (int64) of the boxes NMS keeps, by decreasing score.
at::Tensor NmsKernel(const at::Tensor& boxes, const at::Tensor& scores,
                     double iou_threshold);

}  // namespace sniper::ops::cpu

#endif  // SNIPER_OPS_CPU_KERNELS_H_
