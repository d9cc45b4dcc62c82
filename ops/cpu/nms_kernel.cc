// Greedy NMS on the CPU. Boxes are sorted by score once and copied into
// structure-of-arrays order; for each kept box the suppression test runs over
// all later boxes in a branch-free loop that the compiler vectorizes
// (suppressed boxes are still tested, which is cheaper than a branch per
// box). Worst case O(N^2) like every exact greedy NMS.
#include <algorithm>
#include <limits>
#include <vector>

#include "ops/cpu/kernels.h"

namespace sniper::ops::cpu {
namespace {

template <typename T>
at::Tensor Nms(const at::Tensor& boxes, const at::Tensor& scores,
               double iou_threshold) {
  const int64_t n = boxes.size(0);
  // Stable sort: equal scores keep their input order (deterministic).
  const at::Tensor order =
      std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const int64_t* ord = order.data_ptr<int64_t>();
  const T* b = boxes.data_ptr<T>();
  std::vector<T> x1(n), y1(n), x2(n), y2(n), area(n);
  for (int64_t k = 0; k < n; ++k) {
    const T* p = b + 4 * ord[k];
    x1[k] = p[0];
    y1[k] = p[1];
    x2[k] = p[2];
    y2[k] = p[3];
    area[k] = std::max<T>(p[2] - p[0], 0) * std::max<T>(p[3] - p[1], 0);
  }
  std::vector<uint8_t> removed(n, 0);
  std::vector<int64_t> keep;
  keep.reserve(std::min<int64_t>(n, 1024));
  const T thr = static_cast<T>(iou_threshold);
  for (int64_t i = 0; i < n; ++i) {
    if (removed[i]) continue;
    keep.push_back(ord[i]);
    const T ix1 = x1[i], iy1 = y1[i], ix2 = x2[i], iy2 = y2[i], iarea = area[i];
    uint8_t* rem = removed.data();
    for (int64_t j = i + 1; j < n; ++j) {
      const T w = std::max<T>(std::min(ix2, x2[j]) - std::max(ix1, x1[j]), 0);
      const T h = std::max<T>(std::min(iy2, y2[j]) - std::max(iy1, y1[j]), 0);
      const T inter = w * h;
      const T uni = iarea + area[j] - inter;
      // IoU by division as torchvision computes it, so results agree bit for
      // bit. An empty union has inter = 0, and 0 / tiny = 0 never
      // suppresses (torchvision: 0 / 0 = NaN, never suppresses either).
      // Unconditional division keeps the loop branch-free (vectorized).
      const T iou = inter / std::max(uni, std::numeric_limits<T>::min());
      rem[j] |= static_cast<uint8_t>(iou > thr);
    }
  }
  at::Tensor out = at::empty({static_cast<int64_t>(keep.size())},
                             boxes.options().dtype(at::kLong));
  std::copy(keep.begin(), keep.end(), out.data_ptr<int64_t>());
  return out;
}

}  // namespace

at::Tensor NmsKernel(const at::Tensor& boxes, const at::Tensor& scores,
                     double iou_threshold) {
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "NmsKernel", [&] {
    out = Nms<scalar_t>(boxes, scores, iou_threshold);
  });
  return out;
}

}  // namespace sniper::ops::cpu
