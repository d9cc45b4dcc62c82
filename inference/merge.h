// File: inference/merge.h
//
// The last step of multi-scale inference: an image's detections pooled over
// its views and scales, merged by per-class NMS or Gaussian soft-NMS, the
// score threshold and the top max_detections. And the proposal budget of a
// window smaller than the image (AutoFocus's FocusChips).
#ifndef SNIPER_INFERENCE_MERGE_H_
#define SNIPER_INFERENCE_MERGE_H_

#include <torch/torch.h>

#include <cstdint>

#include "inference/options.h"
#include "ops/proposal_layer.h"

namespace sniper::inference {

// Detections of one image, original pixels, on the CPU.
struct ImageDetections {
  torch::Tensor boxes;   // [N, 4] float32 x1, y1, x2, y2
  torch::Tensor scores;  // [N] float32, decreasing
  torch::Tensor labels;  // [N] int64, contiguous labels
  // With the mask branch: [N, M, M] float32, each detection's mask
  // probabilities on a grid over its box (masks/paste.h puts them into the
  // image); undefined without it.
  torch::Tensor masks;
};

// Per-class NMS or soft-NMS, score threshold, top max_detections; masks
// (when pooled has them) follow their boxes.
ImageDetections MergeDetections(const ImageDetections& pooled,
                                const InferenceOptions& options);

// AutoFocus's proposal budget for a window covering `area_fraction` of its
// scaled image: `image`'s counts times the fraction, rounded up, at least
// `min_post_nms` after NMS (and as many before); 0 or a whole image: `image`.
ops::ProposalOptions ChipProposals(const ops::ProposalOptions& image,
                                   double area_fraction, int64_t min_post_nms);

}  // namespace sniper::inference

#endif  // SNIPER_INFERENCE_MERGE_H_
