// File: ops/testing/random_inputs.h
//
// Adversarial random inputs for the ops' tests (CPU tests and the CUDA
// parity test draw from the same generators). Test-only.
//
//   RandomBoxes(n, rng)  [n, 4] float64 boxes: clusters, exact copies of the
//                        previous box, zero width or height, boxes partly or
//                        wholly outside a 1200x800 image (negative
//                        coordinates too)
//   RandomRois(k, batch, img_h, img_w, rng)
//                        [k, 5] float64 (batch index, x1, y1, x2, y2) in image
//                        pixels: inside, crossing the border, zero-size,
//                        sub-pixel, wholly outside the map
#ifndef SNIPER_OPS_TESTING_RANDOM_INPUTS_H_
#define SNIPER_OPS_TESTING_RANDOM_INPUTS_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <random>

namespace sniper::testing {

inline at::Tensor RandomBoxes(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  at::Tensor boxes = at::empty({n, 4}, at::kDouble);
  auto B = boxes.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const int kind = static_cast<int>(u(rng) * 10);
    if (kind == 0 && i > 0) {  // identical to the previous box
      for (int k = 0; k < 4; ++k) B[i][k] = B[i - 1][k];
      continue;
    }
    const double cx = kind == 1 ? 100 + u(rng) * 5 : -200 + u(rng) * 1400;
    const double cy = kind == 1 ? 100 + u(rng) * 5 : -200 + u(rng) * 1000;
    const double w = kind == 2 ? 0.0 : 1 + u(rng) * 200;
    const double h = kind == 3 ? 0.0 : 1 + u(rng) * 200;
    B[i][0] = cx - w / 2;
    B[i][1] = cy - h / 2;
    B[i][2] = cx + w / 2;
    B[i][3] = cy + h / 2;
  }
  return boxes;
}

inline at::Tensor RandomRois(int64_t k, int64_t batch, double img_h,
                             double img_w, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  at::Tensor rois = at::empty({k, 5}, at::kDouble);
  auto R = rois.accessor<double, 2>();
  for (int64_t i = 0; i < k; ++i) {
    const int kind = static_cast<int>(u(rng) * 6);
    double x = -20 + u(rng) * (img_w + 20), y = -20 + u(rng) * (img_h + 20);
    double w = 1 + u(rng) * img_w * 0.7, h = 1 + u(rng) * img_h * 0.7;
    if (kind == 0) w = h = 0;                       // zero-size
    if (kind == 1) w = 0.3, h = 0.5;                // tiny
    if (kind == 2) x = img_w + 50, y = img_h + 50;  // outside
    R[i][0] = static_cast<double>(static_cast<int64_t>(u(rng) * batch));
    R[i][1] = x;
    R[i][2] = y;
    R[i][3] = x + w;
    R[i][4] = y + h;
  }
  return rois;
}

}  // namespace sniper::testing

#endif  // SNIPER_OPS_TESTING_RANDOM_INPUTS_H_
