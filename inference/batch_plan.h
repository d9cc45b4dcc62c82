// File: inference/batch_plan.h
//
// Which views run together. A batch is padded to its largest view's height
// and width, so views of different shapes batched together cost pixels
// nobody asked for (1.39x on the synthetic validation set when four
// consecutive images' views were batched as they came). PlanBatches sorts
// the views by shape and closes a batch early rather than let its padding
// exceed `max_padding` of its views' own pixels, or its canvas exceed
// `max_canvas_pixels`: on a CPU a batch is no faster than its views one at
// a time (two cores are busy with one view already) and a large canvas
// falls out of the caches (docs/INFERENCE.md: 1536-pixel views ran 0.68x
// as fast per image at batch 4 as alone, 256-pixel ones 1.1x as fast).
//
//   BatchLimits limits;
//   limits.max_views = 4;
//   for (const std::vector<size_t>& batch : PlanBatches(shapes, limits)) {
//     ... run views batch[0], batch[1], ... as one input
//   }
#ifndef SNIPER_INFERENCE_BATCH_PLAN_H_
#define SNIPER_INFERENCE_BATCH_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sniper::inference {

struct ViewShape {
  int64_t height = 0, width = 0;
};

// The detector's canvas limit on a CPU when the config sets none
// (eval.max_batch_pixels): 512 x 512.
inline constexpr int64_t kCpuBatchPixels = int64_t{512} * 512;

// What a batch may hold. Its canvas: views x largest height x largest
// width.
struct BatchLimits {
  size_t max_views = 1;
  // The canvas at most (1 + max_padding) times the views' own pixels.
  double max_padding = 0.25;
  // The canvas at most this many pixels; 0: no limit.
  int64_t max_canvas_pixels = 0;
};

// Batches of indices into `shapes` within `limits`; a view alone is a batch
// whatever its shape and size. Every index appears once. Views are taken by
// ascending (height, width), ties in their given order, so equal shapes
// batch together as far as the limits allow.
std::vector<std::vector<size_t>> PlanBatches(
    const std::vector<ViewShape>& shapes, const BatchLimits& limits);

// The pixels a batch's canvas holds: views x largest height x largest
// width.
int64_t CanvasPixels(const std::vector<ViewShape>& shapes,
                     const std::vector<size_t>& batch);

}  // namespace sniper::inference

#endif  // SNIPER_INFERENCE_BATCH_PLAN_H_
