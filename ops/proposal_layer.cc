#include "ops/proposal_layer.h"

#include <vector>

#include "ops/nms.h"

namespace sniper::ops {

std::pair<at::Tensor, at::Tensor> GenerateProposals(const at::Tensor& scores,
                                                    const at::Tensor& deltas,
                                                    const at::Tensor& anchors,
                                                    const at::Tensor& sizes,
                                                    const ProposalOptions& o) {
  TORCH_CHECK(scores.dim() == 4,
              "GenerateProposals: scores must be [B, A, H, W], got ",
              scores.sizes());
  const int64_t b = scores.size(0), a = scores.size(1), h = scores.size(2),
                w = scores.size(3);
  TORCH_CHECK(deltas.dim() == 4 && deltas.size(0) == b &&
                  deltas.size(1) == 4 * a && deltas.size(2) == h &&
                  deltas.size(3) == w,
              "GenerateProposals: deltas must be [", b, ", ", 4 * a, ", ", h,
              ", ", w, "], got ", deltas.sizes());
  TORCH_CHECK(anchors.dim() == 2 && anchors.size(0) == h * w * a &&
                  anchors.size(1) == 4,
              "GenerateProposals: anchors must be [", h * w * a,
              ", 4] (GridAnchors order), got ", anchors.sizes());
  TORCH_CHECK(sizes.dim() == 2 && sizes.size(0) == b && sizes.size(1) == 2,
              "GenerateProposals: sizes must be [", b, ", 2], got ",
              sizes.sizes());
  TORCH_CHECK(o.pre_nms_top_n > 0 && o.post_nms_top_n > 0,
              "GenerateProposals: top-n values must be > 0, got ",
              o.pre_nms_top_n, " and ", o.post_nms_top_n);
  TORCH_CHECK(
      scores.device() == deltas.device() && scores.device() == anchors.device(),
      "GenerateProposals: scores, deltas and anchors must share a "
      "device");
  // [B, H * W * A] and [B, H * W * A, 4] in anchor order.
  const at::Tensor s = scores.permute({0, 2, 3, 1}).reshape({b, -1});
  const at::Tensor d =
      deltas.view({b, a, 4, h, w}).permute({0, 3, 4, 1, 2}).reshape({b, -1, 4});
  const at::Tensor sizes_cpu = sizes.to(at::kCPU, at::kDouble);
  const int64_t k = std::min(o.pre_nms_top_n, s.size(1));
  std::vector<at::Tensor> rois, out_scores;
  for (int64_t i = 0; i < b; ++i) {
    const auto top = s[i].topk(k, 0, /*largest=*/true, /*sorted=*/true);
    const at::Tensor top_scores = std::get<0>(top);
    const at::Tensor idx = std::get<1>(top);
    at::Tensor boxes = DecodeBoxes(d[i].index_select(0, idx),
                                   anchors.index_select(0, idx), o.coder);
    boxes = ClipBoxes(boxes, sizes_cpu[i][0].item<double>(),
                      sizes_cpu[i][1].item<double>());
    const at::Tensor bw = boxes.select(1, 2) - boxes.select(1, 0);
    const at::Tensor bh = boxes.select(1, 3) - boxes.select(1, 1);
    // Keep boxes of positive size at least min_size (clipping can empty a
    // box that lies outside the chip).
    const at::Tensor ok =
        ((bw >= o.min_size) & (bh >= o.min_size) & (bw > 0) & (bh > 0))
            .nonzero()
            .view(-1);
    const at::Tensor kept_boxes = boxes.index_select(0, ok);
    const at::Tensor kept_scores = top_scores.index_select(0, ok);
    const at::Tensor keep = Nms(kept_boxes, kept_scores, o.nms_threshold)
                                .slice(0, 0, o.post_nms_top_n);
    const at::Tensor chosen = kept_boxes.index_select(0, keep);
    rois.push_back(at::cat({at::full({chosen.size(0), 1},
                                     static_cast<double>(i), chosen.options()),
                            chosen},
                           1));
    out_scores.push_back(kept_scores.index_select(0, keep));
  }
  if (b == 0) {
    return {at::empty({0, 5}, anchors.options()),
            at::empty({0}, scores.options())};
  }
  return {at::cat(rois, 0), at::cat(out_scores, 0)};
}

}  // namespace sniper::ops
