// File: ops/anchors.h
//
// RPN anchors for a feature map (SNIPER.md section 5): at stride 16, ratios
// {0.5, 1, 2} x scales {2, 4, 7, 10, 13, 16, 24}, i.e. 21 anchors whose
// square versions measure 32..384 px. Continuous coordinates: the anchors of
// feature cell (x, y) are centred at ((x + 0.5) * stride, (y + 0.5) *
// stride); an anchor of scale s and ratio r (height / width) has area
// (s * stride)^2, width s * stride / sqrt(r), height s * stride * sqrt(r).
// (The reference rounds widths to whole pixels and uses inclusive corners;
// we do neither, matching the rest of sniper-cpp.)
//
// Order: GridAnchors(...)[(y * width + x) * A + a], anchor fastest, scales
// fastest within a ratio — the layout of an RPN head output [N, A, H, W]
// permuted to [N, H, W, A]. Built from ATen tensor ops, so the same code
// runs on CPU and CUDA.
#ifndef SNIPER_OPS_ANCHORS_H_
#define SNIPER_OPS_ANCHORS_H_

#include <ATen/ATen.h>

#include <vector>

namespace sniper::ops {

struct AnchorOptions {
  int64_t stride = 16;
  std::vector<double> ratios = {0.5, 1.0, 2.0};
  std::vector<double> scales = {2, 4, 7, 10, 13, 16, 24};

  int64_t num_anchors() const {
    return static_cast<int64_t>(ratios.size() * scales.size());
  }
};

// [A, 4] anchors centred at the origin, float32 unless `options` says.
at::Tensor BaseAnchors(const AnchorOptions& anchors,
                       const at::TensorOptions& options = at::kFloat);

// [height * width * A, 4] anchors of a feature map.
at::Tensor GridAnchors(const AnchorOptions& anchors, int64_t height,
                       int64_t width,
                       const at::TensorOptions& options = at::kFloat);

}  // namespace sniper::ops

#endif  // SNIPER_OPS_ANCHORS_H_
