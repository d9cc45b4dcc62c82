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
    const std::vector<ViewShape>& shapes, const BatchLimits& limits) {
  std::vector<size_t> order(shapes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_pair(shapes[a].height, shapes[a].width) <
           std::make_pair(shapes[b].height, shapes[b].width);
  });
  const size_t max_views = std::max<size_t>(limits.max_views, 1);
  std::vector<std::vector<size_t>> batches;
  std::vector<size_t> batch;
  int64_t own = 0, h = 0, w = 0;  // the open batch's pixels and extent
  for (size_t i : order) {
    const ViewShape& s = shapes[i];
    const int64_t nh = std::max(h, s.height), nw = std::max(w, s.width);
    const int64_t n = static_cast<int64_t>(batch.size()) + 1;
    const int64_t with = own + s.height * s.width;
    const int64_t canvas = n * nh * nw;
    const bool fits =
        batch.size() < max_views &&
        static_cast<double>(canvas) <=
            (1.0 + limits.max_padding) * static_cast<double>(with) &&
        (limits.max_canvas_pixels <= 0 || canvas <= limits.max_canvas_pixels);
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
