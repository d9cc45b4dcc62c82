// File: inference/batch_plan.h
//
// Which views run together. A batch is padded to its largest view's height
// and width, so views of different shapes batched together cost pixels
// nobody asked for (1.39x on the synthetic validation set when four
// consecutive images' views were batched as they came). PlanBatches sorts
// the views by shape and closes a batch early rather than let its padding
// exceed `max_padding` of its views' own pixels.
//
//   for (const std::vector<size_t>& batch :
//        PlanBatches(shapes, /*max_batch=*/4, /*max_padding=*/0.25)) {
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

// Batches of indices into `shapes`, each of at most `max_batch` views whose
// canvas (largest height x largest width, times the views) holds at most
// (1 + max_padding) times their own pixels; a view alone is a batch
// whatever its shape. Every index appears once. Views are taken by
// ascending (height, width), ties in their given order, so equal shapes
// always batch together.
std::vector<std::vector<size_t>> PlanBatches(
    const std::vector<ViewShape>& shapes, size_t max_batch, double max_padding);

// The pixels a batch's canvas holds: views x largest height x largest
// width.
int64_t CanvasPixels(const std::vector<ViewShape>& shapes,
                     const std::vector<size_t>& batch);

}  // namespace sniper::inference

#endif  // SNIPER_INFERENCE_BATCH_PLAN_H_
