// Soft-NMS on the CPU: live boxes in structure-of-arrays order, compacted
// after each round (swap-free stable compaction), so each round is one
// argmax scan and one branch-free decay loop over the live boxes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/kernels.h"

namespace sniper::ops::cpu {
namespace {

template <typename T>
std::pair<at::Tensor, at::Tensor> SoftNms(const at::Tensor& boxes,
                                          const at::Tensor& scores,
                                          const SoftNmsParams& p) {
  const int64_t n = boxes.size(0);
  const T* b = boxes.data_ptr<T>();
  const T* s = scores.data_ptr<T>();
  std::vector<T> x1(n), y1(n), x2(n), y2(n), area(n), score(n);
  std::vector<int64_t> index(n);
  int64_t live = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!(s[i] >= p.score_threshold)) continue;
    x1[live] = b[4 * i];
    y1[live] = b[4 * i + 1];
    x2[live] = b[4 * i + 2];
    y2[live] = b[4 * i + 3];
    area[live] = std::max<T>(x2[live] - x1[live], 0) *
                 std::max<T>(y2[live] - y1[live], 0);
    score[live] = s[i];
    index[live] = i;
    ++live;
  }
  std::vector<int64_t> keep;
  std::vector<T> kept_scores;
  const T thr = static_cast<T>(p.iou_threshold);
  const T inv_sigma = static_cast<T>(1.0 / p.sigma);
  const T min_score = static_cast<T>(p.score_threshold);
  while (live > 0) {
    // Highest score; ties go to the lowest original index (deterministic).
    int64_t m = 0;
    for (int64_t j = 1; j < live; ++j) {
      if (score[j] > score[m] ||
          (score[j] == score[m] && index[j] < index[m])) {
        m = j;
      }
    }
    keep.push_back(index[m]);
    kept_scores.push_back(score[m]);
    const T mx1 = x1[m], my1 = y1[m], mx2 = x2[m], my2 = y2[m], ma = area[m];
    score[m] = -std::numeric_limits<T>::infinity();  // leaves below
    for (int64_t j = 0; j < live; ++j) {
      const T w = std::max<T>(std::min(mx2, x2[j]) - std::max(mx1, x1[j]), 0);
      const T h = std::max<T>(std::min(my2, y2[j]) - std::max(my1, y1[j]), 0);
      const T inter = w * h;
      const T iou =
          inter / std::max(ma + area[j] - inter, std::numeric_limits<T>::min());
      const T decay = p.gaussian ? std::exp(-iou * iou * inv_sigma)
                                 : (iou > thr ? T(1) - iou : T(1));
      score[j] *= decay;
    }
    // Compact: drop the selected box and those under the threshold.
    int64_t out = 0;
    for (int64_t j = 0; j < live; ++j) {
      if (!(score[j] >= min_score)) continue;
      x1[out] = x1[j];
      y1[out] = y1[j];
      x2[out] = x2[j];
      y2[out] = y2[j];
      area[out] = area[j];
      score[out] = score[j];
      index[out] = index[j];
      ++out;
    }
    live = out;
  }
  at::Tensor idx = at::empty({static_cast<int64_t>(keep.size())}, at::kLong);
  std::copy(keep.begin(), keep.end(), idx.data_ptr<int64_t>());
  at::Tensor sc =
      at::empty({static_cast<int64_t>(keep.size())}, scores.options());
  std::copy(kept_scores.begin(), kept_scores.end(), sc.data_ptr<T>());
  return {idx, sc};
}

}  // namespace

std::pair<at::Tensor, at::Tensor> SoftNmsKernel(const at::Tensor& boxes,
                                                const at::Tensor& scores,
                                                const SoftNmsParams& params) {
  std::pair<at::Tensor, at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "SoftNmsKernel", [&] {
    out = SoftNms<scalar_t>(boxes, scores, params);
  });
  return out;
}

}  // namespace sniper::ops::cpu
