// File: ops/proposal_layer.h
//
// From RPN outputs to proposals per chip (SNIPER.md section 5): per chip,
// take the pre_nms_top_n highest-scoring anchors, decode their deltas, clip
// to the chip's valid area, drop boxes smaller than min_size, NMS at
// nms_threshold, keep the post_nms_top_n best. Batched over the chips of a
// batch; ATen tensor code plus ops' NMS, so it runs on CPU and CUDA.
//
//   scores  [B, A, H, W]       objectness (any monotone score: logits work)
//   deltas  [B, 4 * A, H, W]   box deltas, anchor-major (a * 4 + k)
//   anchors [H * W * A, 4]     GridAnchors order
//   sizes   [B, 2]             (height, width) of each chip's valid area
// Returns rois [R, 5] (chip index, x1, y1, x2, y2) and scores [R], grouped
// by chip, each chip's by decreasing score.
#ifndef SNIPER_OPS_PROPOSAL_LAYER_H_
#define SNIPER_OPS_PROPOSAL_LAYER_H_

#include <ATen/ATen.h>

#include <utility>

#include "ops/box_coder.h"

namespace sniper::ops {

struct ProposalOptions {
  int64_t pre_nms_top_n = 6000;
  int64_t post_nms_top_n = 300;
  double nms_threshold = 0.7;
  double min_size = 0.0;  // width and height, chip pixels
  // RPN deltas are unweighted in the reference (1, 1, 1, 1).
  BoxCoderOptions coder = {1.0, 1.0, 1.0, 1.0, std::log(1000.0 / 16.0)};
};

std::pair<at::Tensor, at::Tensor> GenerateProposals(
    const at::Tensor& scores, const at::Tensor& deltas,
    const at::Tensor& anchors, const at::Tensor& sizes,
    const ProposalOptions& options = {});

}  // namespace sniper::ops

#endif  // SNIPER_OPS_PROPOSAL_LAYER_H_
