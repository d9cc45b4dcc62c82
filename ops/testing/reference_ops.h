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

}  // namespace sniper::testing

#endif  // SNIPER_OPS_TESTING_REFERENCE_OPS_H_
