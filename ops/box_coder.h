// File: ops/box_coder.h
//
// Box regression targets (Faster R-CNN parameterization) with weights:
//   dx = wx * (gx - px) / pw     dw = ww * log(gw / pw)
//   dy = wy * (gy - py) / ph     dh = wh * log(gh / ph)
// where (px, py, pw, ph) is the reference box (anchor or proposal) as centre
// and size, and (gx, gy, gw, gh) the target. SNIPER divides targets by
// (0.1, 0.1, 0.2, 0.2), i.e. weights (10, 10, 5, 5), the default. Decoding
// clamps dw / dh at `clamp` (default log(1000 / 16)) before exp, so a wild
// prediction cannot overflow. Continuous coordinates, float32/float64,
// CPU or CUDA (ATen tensor ops).
#ifndef SNIPER_OPS_BOX_CODER_H_
#define SNIPER_OPS_BOX_CODER_H_

#include <ATen/ATen.h>

#include <cmath>

namespace sniper::ops {

struct BoxCoderOptions {
  double wx = 10.0;
  double wy = 10.0;
  double ww = 5.0;
  double wh = 5.0;
  double clamp = std::log(1000.0 / 16.0);
};

// reference, targets: [N, 4]. Returns deltas [N, 4]. Reference boxes must
// have positive width and height (checked on CPU); targets too.
at::Tensor EncodeBoxes(const at::Tensor& reference, const at::Tensor& targets,
                       const BoxCoderOptions& options = {});

// deltas: [N, 4 * K] (K boxes per reference, e.g. per class); reference
// [N, 4]. Returns boxes [N, 4 * K].
at::Tensor DecodeBoxes(const at::Tensor& deltas, const at::Tensor& reference,
                       const BoxCoderOptions& options = {});

// Clips boxes [N, 4 * K] to [0, width] x [0, height].
at::Tensor ClipBoxes(const at::Tensor& boxes, double height, double width);

}  // namespace sniper::ops

#endif  // SNIPER_OPS_BOX_CODER_H_
