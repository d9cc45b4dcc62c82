// File: ops/testing/reference_ops.h
//
// Straightforward implementations of ops/ on the CPU, written the plain way
// (array-of-structs boxes, a branch per candidate, as torchvision's CPU NMS
// kernel is written). Benchmark baselines, so the gate can track our
// kernels' speed-up as a ratio measured in one run. Test-only.
#ifndef SNIPER_OPS_TESTING_REFERENCE_OPS_H_
#define SNIPER_OPS_TESTING_REFERENCE_OPS_H_

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace sniper::testing {

inline at::Tensor ReferenceNms(const at::Tensor& boxes,
                               const at::Tensor& scores, double threshold) {
  const int64_t n = boxes.size(0);
  const at::Tensor order =
      std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const float* b = boxes.data_ptr<float>();
  const int64_t* ord = order.data_ptr<int64_t>();
  std::vector<float> areas(n);
  for (int64_t i = 0; i < n; ++i) {
    areas[i] = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
  }
  std::vector<uint8_t> suppressed(n, 0);
  std::vector<int64_t> keep;
  for (int64_t a = 0; a < n; ++a) {
    const int64_t i = ord[a];
    if (suppressed[i]) continue;
    keep.push_back(i);
    for (int64_t c = a + 1; c < n; ++c) {
      const int64_t j = ord[c];
      if (suppressed[j]) continue;
      const float w = std::max(0.0f, std::min(b[4 * i + 2], b[4 * j + 2]) -
                                         std::max(b[4 * i], b[4 * j]));
      const float h = std::max(0.0f, std::min(b[4 * i + 3], b[4 * j + 3]) -
                                         std::max(b[4 * i + 1], b[4 * j + 1]));
      const float inter = w * h;
      if (inter / (areas[i] + areas[j] - inter) > threshold) suppressed[j] = 1;
    }
  }
  at::Tensor out = at::empty({static_cast<int64_t>(keep.size())}, at::kLong);
  std::copy(keep.begin(), keep.end(), out.data_ptr<int64_t>());
  return out;
}

// RoIAlign forward written per output element: every output recomputes its
// bilinear samples (no sharing across channels), aligned = true.
inline at::Tensor ReferenceRoIAlign(const at::Tensor& input,
                                    const at::Tensor& rois, int64_t pooled,
                                    double scale, int64_t sampling) {
  const int64_t c = input.size(1), h = input.size(2), w = input.size(3);
  const int64_t k = rois.size(0);
  at::Tensor out = at::zeros({k, c, pooled, pooled});
  const float* in = input.data_ptr<float>();
  const float* r = rois.data_ptr<float>();
  float* o = out.data_ptr<float>();
  for (int64_t i = 0; i < k; ++i) {
    const int64_t b = static_cast<int64_t>(r[5 * i]);
    const float x1 = r[5 * i + 1] * scale - 0.5f,
                y1 = r[5 * i + 2] * scale - 0.5f;
    const float bw = (r[5 * i + 3] * scale - 0.5f - x1) / pooled;
    const float bh = (r[5 * i + 4] * scale - 0.5f - y1) / pooled;
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* plane = in + (b * c + ch) * h * w;
      for (int64_t ph = 0; ph < pooled; ++ph) {
        for (int64_t pw = 0; pw < pooled; ++pw) {
          float sum = 0;
          for (int64_t iy = 0; iy < sampling; ++iy) {
            for (int64_t ix = 0; ix < sampling; ++ix) {
              float y = y1 + ph * bh + (iy + 0.5f) * bh / sampling;
              float x = x1 + pw * bw + (ix + 0.5f) * bw / sampling;
              if (y < -1 || y > h || x < -1 || x > w) continue;
              y = std::max(y, 0.0f);
              x = std::max(x, 0.0f);
              int64_t y0 = static_cast<int64_t>(y),
                      x0 = static_cast<int64_t>(x);
              int64_t yh = y0 + 1, xh = x0 + 1;
              if (y0 >= h - 1) yh = y0 = h - 1, y = static_cast<float>(y0);
              if (x0 >= w - 1) xh = x0 = w - 1, x = static_cast<float>(x0);
              const float ly = y - y0, lx = x - x0;
              sum += (1 - ly) * (1 - lx) * plane[y0 * w + x0] +
                     (1 - ly) * lx * plane[y0 * w + xh] +
                     ly * (1 - lx) * plane[yh * w + x0] +
                     ly * lx * plane[yh * w + xh];
            }
          }
          o[((i * c + ch) * pooled + ph) * pooled + pw] =
              sum / (sampling * sampling);
        }
      }
    }
  }
  return out;
}

}  // namespace sniper::testing

#endif  // SNIPER_OPS_TESTING_REFERENCE_OPS_H_
