// File: ops/roi_align.h
//
// RoIAlign (He et al., Mask R-CNN), forward and backward, CPU and CUDA,
// differentiable through autograd (double backward is refused).
//
//   input  [N, C, H, W]  float16 / bfloat16 / float32 / float64
//   rois   [K, 5]        float32 / float64: (batch index, x1, y1, x2, y2)
//                        in input-image pixels (scaled by spatial_scale)
//   output [K, C, pooled_height, pooled_width], dtype of `input`
//
// Semantics are torchvision.ops.roi_align's: each bin averages
// sampling_ratio^2 bilinear samples (adaptive ceil(roi_size / pooled_size)
// when sampling_ratio <= 0); `aligned` shifts by half a pixel so that a box
// maps exactly onto the pixels it covers; samples more than one pixel
// outside the feature map contribute 0. Reduced-precision inputs accumulate
// in float32. Robust where torchvision is not (pytorch/vision#9272): a roi
// with non-finite coordinates or a batch index outside [0, N) yields zeros
// (and the CPU entry rejects such rois outright); all indexing is 64-bit.
#ifndef SNIPER_OPS_ROI_ALIGN_H_
#define SNIPER_OPS_ROI_ALIGN_H_

#include <ATen/ATen.h>

namespace sniper::ops {

struct RoIAlignOptions {
  int64_t pooled_height = 7;
  int64_t pooled_width = 7;
  double spatial_scale = 1.0 / 16.0;
  int64_t sampling_ratio = 2;  // <= 0: adaptive
  bool aligned = true;
};

// Differentiable RoIAlign (gradient flows to `input`; rois get none).
at::Tensor RoIAlign(const at::Tensor& input, const at::Tensor& rois,
                    const RoIAlignOptions& options = {});

namespace detail {
// The kernels without autograd.
at::Tensor RoIAlignForward(const at::Tensor& input, const at::Tensor& rois,
                           const RoIAlignOptions& options);
// grad_output [K, C, PH, PW] -> grad_input of `input_sizes`, in
// `input_dtype`.
at::Tensor RoIAlignBackward(const at::Tensor& grad_output,
                            const at::Tensor& rois,
                            const RoIAlignOptions& options,
                            at::IntArrayRef input_sizes,
                            at::ScalarType input_dtype);
}  // namespace detail

}  // namespace sniper::ops

#endif  // SNIPER_OPS_ROI_ALIGN_H_
