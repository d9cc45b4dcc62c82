#include "inference/batch_plan.h"

#include <algorithm>
#include <numeric>

namespace sniper::inference {

int64_t CanvasPixels(const std::vector<ViewShape>& shapes,
                     const std::vector<size_t>& batch) {
  int64_t h = 0, w = 0;
  for (size_t i : batch) {
    h = std::max(h, shapes[i].height);
    w = std::max(w, shapes[i].width);
  }
  return static_cast<int64_t>(batch.size()) * h * w;
}

std::vector<std::vector<size_t>> PlanBatches(
    const std::vector<ViewShape>& shapes, size_t max_batch,
    double max_padding) {
  std::vector<size_t> order(shapes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_pair(shapes[a].height, shapes[a].width) <
           std::make_pair(shapes[b].height, shapes[b].width);
  });
  max_batch = std::max<size_t>(max_batch, 1);
  std::vector<std::vector<size_t>> batches;
  std::vector<size_t> batch;
  int64_t own = 0, h = 0, w = 0;  // the open batch's pixels and extent
  for (size_t i : order) {
    const ViewShape& s = shapes[i];
    const int64_t nh = std::max(h, s.height), nw = std::max(w, s.width);
    const int64_t n = static_cast<int64_t>(batch.size()) + 1;
    const int64_t with = own + s.height * s.width;
    const bool fits = batch.size() < max_batch &&
                      static_cast<double>(n * nh * nw) <=
                          (1.0 + max_padding) * static_cast<double>(with);
    if (!batch.empty() && !fits) {
      batches.push_back(std::move(batch));
      batch.clear();
      own = h = w = 0;
    }
    batch.push_back(i);
    own += s.height * s.width;
    h = std::max(h, s.height);
    w = std::max(w, s.width);
  }
  if (!batch.empty()) batches.push_back(std::move(batch));
  return batches;
}

}  // namespace sniper::inference
