// File: ops/soft_nms.h
//
// Soft-NMS (Bodla et al., ICCV 2017), as SNIPER uses at inference
// (SNIPER.md section 8: Gaussian, sigma 0.55). Repeatedly selects the box M
// with the highest current score, then decays every remaining box b:
//   linear:   s_b *= (1 - IoU(M, b))  if IoU(M, b) > iou_threshold
//   gaussian: s_b *= exp(-IoU(M, b)^2 / sigma)
// and drops boxes whose score falls below score_threshold. Returns the
// selected indices in selection order and their decayed scores. Boxes [N, 4]
// and scores [N], float32 or float64, CPU or CUDA (one thread block per
// call on the GPU: selection is sequential by definition).
#ifndef SNIPER_OPS_SOFT_NMS_H_
#define SNIPER_OPS_SOFT_NMS_H_

#include <ATen/ATen.h>

#include <utility>

namespace sniper::ops {

struct SoftNmsOptions {
  enum class Method { kLinear, kGaussian };
  Method method = Method::kGaussian;
  double sigma = 0.55;         // gaussian
  double iou_threshold = 0.3;  // linear
  double score_threshold = 1e-3;
};

// Returns (indices int64 [M], scores [M]) in selection order.
std::pair<at::Tensor, at::Tensor> SoftNms(const at::Tensor& boxes,
                                          const at::Tensor& scores,
                                          const SoftNmsOptions& options = {});

}  // namespace sniper::ops

#endif  // SNIPER_OPS_SOFT_NMS_H_
