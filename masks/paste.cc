// File: masks/paste.cc
#include "masks/paste.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sniper::masks {
namespace {

// Bilinear taps along one axis: for each output pixel its two grid cells
// and the second's weight.
struct Tap {
  int32_t i0, i1;
  float w1;
};

std::vector<Tap> Taps(int32_t first, int32_t count, double lo, double hi,
                      int32_t m) {
  std::vector<Tap> taps(count);
  const double cell = (hi - lo) / m;
  for (int32_t k = 0; k < count; ++k) {
    // The pixel centre in grid units (cell centres at integers).
    double u = (first + k + 0.5 - lo) / cell - 0.5;
    u = std::clamp(u, 0.0, static_cast<double>(m - 1));
    const int32_t i0 = static_cast<int32_t>(u);
    const int32_t i1 = std::min(i0 + 1, m - 1);
    taps[k] = {i0, i1, static_cast<float>(u - i0)};
  }
  return taps;
}

}  // namespace

Rle PasteMask(absl::Span<const float> p, int32_t m, const RoiBox& box,
              int32_t height, int32_t width, float threshold) {
  // Pixels whose centres are inside the box: x + 0.5 in [x1, x2).
  const int32_t x0 =
      std::max<int32_t>(0, static_cast<int32_t>(std::ceil(box.x1 - 0.5)));
  const int32_t x1 =
      std::min<int32_t>(width, static_cast<int32_t>(std::ceil(box.x2 - 0.5)));
  const int32_t y0 =
      std::max<int32_t>(0, static_cast<int32_t>(std::ceil(box.y1 - 0.5)));
  const int32_t y1 =
      std::min<int32_t>(height, static_cast<int32_t>(std::ceil(box.y2 - 0.5)));
  if (m <= 0 || static_cast<int64_t>(p.size()) != int64_t{m} * m || x1 <= x0 ||
      y1 <= y0 || !(box.x2 > box.x1) || !(box.y2 > box.y1)) {
    return EncodeCropRowMajor({}, 0, 0, 0, 0, height, width);
  }
  const int32_t cw = x1 - x0, ch = y1 - y0;
  const std::vector<Tap> xt = Taps(x0, cw, box.x1, box.x2, m);
  const std::vector<Tap> yt = Taps(y0, ch, box.y1, box.y2, m);
  std::vector<uint8_t> crop(static_cast<size_t>(cw) * ch);
  for (int32_t y = 0; y < ch; ++y) {
    const Tap ty = yt[y];
    const float* r0 = p.data() + static_cast<size_t>(ty.i0) * m;
    const float* r1 = p.data() + static_cast<size_t>(ty.i1) * m;
    for (int32_t x = 0; x < cw; ++x) {
      const Tap tx = xt[x];
      const float top = r0[tx.i0] + tx.w1 * (r0[tx.i1] - r0[tx.i0]);
      const float bottom = r1[tx.i0] + tx.w1 * (r1[tx.i1] - r1[tx.i0]);
      crop[static_cast<size_t>(y) * cw + x] =
          top + ty.w1 * (bottom - top) >= threshold;
    }
  }
  return EncodeCropRowMajor(crop, x0, y0, cw, ch, height, width);
}

}  // namespace sniper::masks
