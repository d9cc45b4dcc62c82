// File: ops/cpu/kernels.h
//
// CPU kernels of ops/ (internal). Inputs are already checked by the public
// entry points: contiguous, same dtype, on the CPU.
#ifndef SNIPER_OPS_CPU_KERNELS_H_
#define SNIPER_OPS_CPU_KERNELS_H_

#include <ATen/ATen.h>

#include <utility>

namespace sniper::ops::cpu {

// Soft-NMS parameters, already validated.
struct SoftNmsParams {
  bool gaussian;
  double sigma;
  double iou_threshold;
  double score_threshold;
};

// (selected indices, decayed scores) in selection order.
std::pair<at::Tensor, at::Tensor> SoftNmsKernel(const at::Tensor& boxes,
                                                const at::Tensor& scores,
                                                const SoftNmsParams& params);

// RoIAlign parameters, already validated.
struct RoIAlignParams {
  int64_t pooled_height;
  int64_t pooled_width;
  double spatial_scale;
  int64_t sampling_ratio;
  bool aligned;
};

// [N, M] IoU (ioa = false) or IoA (ioa = true).
at::Tensor BoxOverlapKernel(const at::Tensor& a, const at::Tensor& b, bool ioa);

// Indices (int64) of the boxes NMS keeps, by decreasing score.
at::Tensor NmsKernel(const at::Tensor& boxes, const at::Tensor& scores,
                     double iou_threshold);

// RoIAlign on contiguous input [N, C, H, W] (forward: NCHW or channels-last
// in memory) and rois [K, 5] (float32 or float64). Forward returns [K, C, PH,
// PW] in the input's dtype; backward returns the input gradient in float32
// (float64 for double inputs), for the caller to cast.
at::Tensor RoIAlignForwardKernel(const at::Tensor& input,
                                 const at::Tensor& rois,
                                 const RoIAlignParams& params);
at::Tensor RoIAlignBackwardKernel(const at::Tensor& grad_output,
                                  const at::Tensor& rois,
                                  const RoIAlignParams& params,
                                  at::IntArrayRef input_sizes);

}  // namespace sniper::ops::cpu

#endif  // SNIPER_OPS_CPU_KERNELS_H_
